"""Synthetic video clips of one person seen by a CCTV camera, cropped like a tracker would.

:func:`render_sequence` turns a sequence index into a clip of ``T`` person crops with exact 3D
ground truth. Everything random is drawn from ``generator_for(people.config.seed, "sequence",
index)``, so a clip is reproducible per index, whatever worker renders it.

Scene (world frame of :mod:`model.data.motion`: metres, y up, ground plane y = 0):

* an identity of :class:`~model.data.synthetic.SyntheticPeople` (its betas and texture, so the
  same identity looks the same in clips and in single-frame samples);
* a motion clip (:func:`~model.data.motion.sample_clip`) grounded for those betas;
* a static camera ``camera_height`` above the ground, ``camera_distance`` (horizontal) away from
  the centre of the pelvis path, looking at it; its azimuth is mostly across the walking
  direction, so a walker crosses the view;
* or, with ``orbit_deg_range`` above zero, a **moving camera** (a broadcast or PTZ camera that
  travels around the scene while following the person): it keeps its height and distance, its
  azimuth sweeps a drawn angle in that range over the clip (either way round) and it aims at the
  person's pelvis in every frame, so the side of the body it sees changes steadily;
* one background image of the full virtual frame (``frame_size``) for the whole clip (a moving
  camera slides it sideways by the azimuth change) and fixed lights (in camera axes).

Per frame the posed body is projected into the full frame, a square box around its projected
bounding box (side ``max(w, h) * box_scale``, centred) is taken, as a tracker would, and the crop
is rendered at ``crop_size`` with the intrinsics of that sub-window. The background is the same
window of the frame's background image.

Ground truth per clip (``T`` frames, crop side ``S``; camera frame is OpenCV, metres). Keys
shared with :mod:`model.data.synthetic` mean the same, **except that the principal point of a
crop is not its centre** but ``principal`` (the full frame's principal point in crop pixels):

======================  ==============  =================================================
key                     shape           meaning
======================  ==============  =================================================
image                   (T, 3, S, S)    render over the background, float in [0, 1]
silhouette              (T, 1, S, S)    the person's silhouette, float 0/1
betas                   (T, 10)         shape (the same in every frame)
pose                    (T, 24, 3)      axis-angle; joint 0 is the root in camera axes
cam_t                   (T, 3)          ``body(betas, pose).joints + cam_t`` = camera-frame joints
focal                   (T,)            crop focal length in pixels
principal               (T, 2)          crop principal point ``(cx, cy)`` in crop pixels
joints3d_smpl24         (T, 24, 3)      camera frame
joints3d_coco17         (T, 17, 3)
joints3d_lsp14          (T, 14, 3)
keypoints2d_smpl24      (T, 24, 3)      ``[x, y, visible]`` in crop pixels, visible = inside
keypoints2d_coco17      (T, 17, 3)      the crop
keypoints2d_lsp14       (T, 14, 3)
crop_box                (T, 4)          ``(x0, y0, side, side)`` in full-frame pixels
has_smpl, has_joints3d  (T,)            1.0
identity, index         (T,)            identity id, sequence index
camera_rotation         (T, 3, 3)       world -> camera rotation ``R`` per frame (all equal for a
                                        static camera)
camera_translation      (T, 3)          world -> camera translation ``t``: ``X_cam = R X + t``
frame_focal             ()              focal length of the full frame in pixels
frame_principal         (2,)            principal point of the full frame (its centre)
fps                     ()              frames per second
======================  ==============  =================================================

:func:`render_identity_set` renders one identity in several single-frame poses and views (for
texture / re-identification training); :class:`SequenceDataset` wraps :func:`render_sequence`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from model.data.lighting import sample_lights
from model.data.motion import MotionClip, MotionConfig, ground_clip, sample_clip
from model.data.synthetic import KEYPOINT_LAYOUTS, SyntheticConfig, SyntheticPeople, generator_for
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from model.render import PerspectiveCameras

__all__ = ["SequenceConfig", "SequenceDataset", "look_at", "render_identity_set", "render_sequence"]


@dataclass(frozen=True)
class SequenceConfig:
    """What a synthetic CCTV clip looks like.

    Attributes:
        length: frames per clip (overrides ``motion.length``).
        fps: frames per second (overrides ``motion.fps``).
        crop_size: side S of the rendered person crops.
        frame_size: ``(H, W)`` of the virtual full camera frame in pixels.
        camera_height_range: camera height above the ground, metres.
        camera_distance_range: horizontal distance from the camera to the centre of the person's
            path, metres.
        focal_range: full-frame focal length in pixels (sampled log-uniformly).
        box_scale: crop side / longer side of the person's projected bounding box.
        cross_angle_deg: the camera's azimuth is perpendicular to the mean walking direction
            plus a uniform offset within +-this (180 = any azimuth).
        aim_jitter: the camera aims at the path centre plus a uniform ground offset within
            +-this many metres per axis (the person is not always in the frame's centre).
        box_jitter: per-frame tracker noise of the crop box: centre offset and log-scale,
            uniform within +-this fraction of the side (0 = exact boxes).
        orbit_deg_range: ``(lo, hi)`` degrees: the camera's azimuth sweeps an angle drawn
            uniformly in this range over the clip while it follows the person (``(0, 0)``: a
            static camera; clips of a static configuration draw exactly what they drew before).
        motion: motion clip settings (its ``length`` and ``fps`` are replaced by the above).
    """

    length: int = 16
    fps: float = 25.0
    crop_size: int = 64
    frame_size: tuple[int, int] = (480, 640)
    camera_height_range: tuple[float, float] = (2.5, 6.0)
    camera_distance_range: tuple[float, float] = (6.0, 20.0)
    focal_range: tuple[float, float] = (500.0, 1200.0)
    box_scale: float = 1.2
    cross_angle_deg: float = 60.0
    aim_jitter: float = 1.0
    box_jitter: float = 0.0
    orbit_deg_range: tuple[float, float] = (0.0, 0.0)
    motion: MotionConfig = field(default_factory=MotionConfig)

    def __post_init__(self) -> None:
        if int(self.length) != self.length or self.length < 1:
            raise ValueError(f"length must be a positive integer, got {self.length}")
        if not math.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if not 16 <= self.crop_size <= 1024:
            raise ValueError(f"crop_size must be in [16, 1024], got {self.crop_size}")
        h, w = self.frame_size
        if int(h) != h or int(w) != w or h < 16 or w < 16:
            raise ValueError(f"frame_size must be two integers >= 16, got {self.frame_size}")
        for name, lo_min in (("camera_height_range", 0.0), ("camera_distance_range", 0.5), ("focal_range", 1.0)):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo_min < lo <= hi):
                raise ValueError(f"{name} must be (lo, hi) with {lo_min} < lo <= hi, got {getattr(self, name)}")
        if not 0.5 <= self.box_scale <= 3.0:
            raise ValueError(f"box_scale must be in [0.5, 3], got {self.box_scale}")
        if not 0.0 <= self.cross_angle_deg <= 180.0:
            raise ValueError(f"cross_angle_deg must be in [0, 180], got {self.cross_angle_deg}")
        if not (math.isfinite(self.aim_jitter) and self.aim_jitter >= 0):
            raise ValueError(f"aim_jitter must be >= 0, got {self.aim_jitter}")
        if not 0.0 <= self.box_jitter <= 0.3:
            raise ValueError(f"box_jitter must be in [0, 0.3], got {self.box_jitter}")
        lo, hi = self.orbit_deg_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi <= 360.0):
            raise ValueError(f"orbit_deg_range must be (lo, hi) with 0 <= lo <= hi <= 360, got {self.orbit_deg_range}")

    @property
    def motion_config(self) -> MotionConfig:
        """``motion`` with this clip's length and fps."""
        return replace(self.motion, length=int(self.length), fps=float(self.fps))


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))


def look_at(eye: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """World (y up) -> OpenCV camera (x right, y down, z forward) transform of a camera at ``eye``
    looking at ``target``, with no roll.

    Returns:
        ``(R (3, 3), t (3,))`` with ``X_cam = R @ X_world + t``.
    """
    eye, target = eye.double(), target.double()
    forward = target - eye
    forward = forward / forward.norm()
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    right = torch.linalg.cross(forward, up)
    if float(right.norm()) < 1e-6:
        raise ValueError("look_at: the camera looks straight up or down")
    right = right / right.norm()
    down = torch.linalg.cross(forward, right)
    rot = torch.stack([right, down, forward])
    return rot, -rot @ eye


def _camera(cfg: SequenceConfig, clip: MotionClip, g: torch.Generator) -> tuple[Tensor, Tensor, float, Tensor]:
    """The camera of ``clip``: ``(R (T, 3, 3), t (T, 3), focal, azimuth change (T,) radians)`` (float64).

    A static camera repeats one pose. A moving one (``orbit_deg_range``) draws its sweep after
    every draw of the static camera, so static clips are unchanged by the option.
    """
    n = clip.length
    path = clip.transl.double()
    centre = (path.amin(0) + path.amax(0)) / 2
    centre[1] = 0.0
    disp = path[-1] - path[0]
    if float(disp[[0, 2]].norm()) > 0.05:
        walk_dir = math.atan2(float(disp[0]), float(disp[2]))
    else:
        walk_dir = float(clip.heading.mean()) if clip.heading.numel() else 0.0
    side = 1.0 if float(torch.rand((), generator=g)) < 0.5 else -1.0
    azimuth = walk_dir + side * math.pi / 2 + math.radians(_u(g, -cfg.cross_angle_deg, cfg.cross_angle_deg))
    height = _u(g, *cfg.camera_height_range)
    distance = _u(g, *cfg.camera_distance_range)
    lo, hi = cfg.focal_range
    focal = math.exp(_u(g, math.log(lo), math.log(hi)))
    aim = centre + torch.tensor([_u(g, -cfg.aim_jitter, cfg.aim_jitter), 0.0, _u(g, -cfg.aim_jitter, cfg.aim_jitter)], dtype=torch.float64)
    aim[1] = 0.9  # about the pelvis height
    if cfg.orbit_deg_range[1] <= 0.0:
        eye = centre + torch.tensor([distance * math.sin(azimuth), height, distance * math.cos(azimuth)], dtype=torch.float64)
        rot, t = look_at(eye, aim)
        return rot.expand(n, 3, 3).clone(), t.expand(n, 3).clone(), focal, torch.zeros(n, dtype=torch.float64)
    sweep = math.radians(_u(g, *cfg.orbit_deg_range)) * (1.0 if float(torch.rand((), generator=g)) < 0.5 else -1.0)
    ramp = torch.linspace(-0.5, 0.5, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    rots, ts = [], []
    for k in range(n):
        az = azimuth + sweep * float(ramp[k])
        eye = centre + torch.tensor([distance * math.sin(az), height, distance * math.cos(az)], dtype=torch.float64)
        target = path[k].clone()
        target[1] = 0.9
        rot, t = look_at(eye, target)
        rots.append(rot)
        ts.append(t)
    return torch.stack(rots), torch.stack(ts), focal, sweep * (ramp - ramp[0])


def _crop_background(frame: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Windows ``boxes`` (T, 4) ``(x0, y0, side, side)`` of ``frame`` (3, H, W), resampled to ``size``.

    The frame is box-filtered first by roughly the downscale factor (less aliasing); outside the
    frame the border pixels are repeated.
    """
    _, h, w = frame.shape
    out = []
    for x0, y0, side, _ in boxes.tolist():
        k = max(1, int(side / size))
        src = F.avg_pool2d(frame[None], k, stride=1, padding=k // 2, count_include_pad=False)[..., :h, :w] if k > 1 else frame[None]
        centres = (torch.arange(size, dtype=torch.float32) + 0.5) * (side / size)
        xs = (x0 + centres) / w * 2 - 1
        ys = (y0 + centres) / h * 2 - 1
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None]
        out.append(F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)[0])
    return torch.stack(out)


@torch.no_grad()
def render_sequence(people: SyntheticPeople, index: int, config: SequenceConfig = SequenceConfig()) -> dict[str, Tensor]:
    """Render clip ``index`` (see the module docstring for the outputs); reproducible per index."""
    cfg, body, dev = config, people.body, people.device
    s, (fh, fw) = cfg.crop_size, cfg.frame_size
    g = generator_for(people.config.seed, "sequence", index)
    identity = int(torch.randint(people.config.num_identities, (), generator=g))
    betas = people.identity_betas(identity).float()
    clip_seed = int(torch.randint(2**62, (), generator=g))
    background_seed = int(torch.randint(2**62, (), generator=g))
    light_seed = int(torch.randint(2**62, (), generator=g))
    jitter = (torch.rand(cfg.length, 3, generator=g) * 2 - 1) * cfg.box_jitter
    clip = sample_clip(cfg.motion_config, generator_for(clip_seed))
    clip = ground_clip(replace(clip, pose=clip.pose.to(dev), transl=clip.transl.to(dev)), body, betas.to(dev))
    clip = replace(clip, pose=clip.pose.cpu(), transl=clip.transl.cpu())
    rot, trans, focal_full, turned = _camera(cfg, clip, g)
    n = clip.length

    # pose in world, then the per-frame world -> camera transform
    betas_t = betas[None].expand(n, -1).to(dev)
    world = body(betas_t, clip.pose.to(dev), clip.transl.to(dev))
    r32, t32 = rot.float().to(dev), trans.float().to(dev)

    def to_camera(x: Tensor) -> Tensor:
        return x @ r32.transpose(1, 2) + t32[:, None]

    verts = to_camera(world.vertices)
    root = rot @ axis_angle_to_matrix(clip.pose[:, 0].double())
    pose = clip.pose.clone()
    pose[:, 0] = matrix_to_axis_angle(root).float()
    pose = pose.to(dev)
    joints = {layout: to_camera(world.keypoints(layout)) for layout in KEYPOINT_LAYOUTS}
    cam_t = joints["smpl24"][:, 0] - body(betas_t, pose).joints[:, 0]

    # tracker-like square crop boxes in the full frame
    c_full = torch.tensor([fw / 2.0, fh / 2.0], device=dev)
    uv = focal_full * verts[..., :2] / verts[..., 2:].clamp_min(1e-3) + c_full
    lo, hi = uv.amin(1), uv.amax(1)
    side = (hi - lo).amax(1) * cfg.box_scale
    centre = (lo + hi) / 2
    jitter = jitter.to(dev)
    side = side * torch.exp(jitter[:, 2])
    centre = centre + jitter[:, :2] * side[:, None]
    origin = centre - side[:, None] / 2
    scale = s / side
    focal = focal_full * scale
    principal = (c_full - origin) * scale[:, None]
    cams = PerspectiveCameras(focal=focal[:, None].expand(n, 2).contiguous(), principal=principal, image_size=(s, s))
    crop_box = torch.cat([origin, side[:, None], side[:, None]], dim=1)

    frame_bg = people.backgrounds.sample(generator_for(background_seed), fh, fw)
    # a moving camera sees the frame's background slide sideways as its azimuth turns
    slide = torch.zeros_like(crop_box)
    slide[:, 0] = (focal_full * turned).float().to(dev)
    background = _crop_background(frame_bg, (crop_box + slide).cpu(), s).to(dev)
    lights = sample_lights(1, generator_for(light_seed)).to(dev)
    texture = people.identity_texture(identity)[None].to(dev)
    rendered = people.renderer.render(
        verts, body.faces, cams, texture=texture, face_uvs=body.face_uvs, lights=lights, background=background
    )
    result: dict[str, Tensor] = {
        "image": rendered.image.clamp(0.0, 1.0),
        "silhouette": (rendered.mask > 0.5).float(),
        "betas": betas_t.clone(),
        "pose": pose,
        "cam_t": cam_t,
        "focal": focal,
        "principal": principal,
        "crop_box": crop_box,
        "has_smpl": torch.ones(n, device=dev),
        "has_joints3d": torch.ones(n, device=dev),
        "identity": torch.full((n,), identity),
        "index": torch.full((n,), int(index)),
        "camera_rotation": r32,
        "camera_translation": t32,
        "frame_focal": torch.tensor(focal_full, dtype=torch.float32, device=dev),
        "frame_principal": c_full,
        "fps": torch.tensor(float(clip.fps)),
    }
    for layout, j in joints.items():
        kp = cams.project(j).uv
        inside = ((kp >= 0).all(-1) & (kp < s).all(-1)).float()
        result[f"joints3d_{layout}"] = j
        result[f"keypoints2d_{layout}"] = torch.cat([kp, inside[..., None]], dim=-1)
    return result


def render_identity_set(people: SyntheticPeople, identity: int, views: int, start_index: int = 0) -> dict[str, Tensor]:
    """One identity (shape and texture) in ``views`` different poses, viewpoints, framings and
    backgrounds: samples ``start_index .. start_index + views - 1`` of ``people`` with the identity
    forced. Same keys as :meth:`SyntheticPeople.render` (batch ``views``); meant for training
    texture / re-identification heads, where several looks at one person are needed.
    """
    if views < 1:
        raise ValueError(f"views must be >= 1, got {views}")
    return people.render([people.sample_scene(start_index + k, identity=identity) for k in range(views)])


class SequenceDataset(torch.utils.data.Dataset):
    """``length`` synthetic clips; item ``i`` is ``render_sequence(people, offset + i, config)``.

    The :class:`SyntheticPeople` is built lazily in the process that first needs it and is not
    pickled, so each DataLoader worker builds its own.

    Args:
        length: number of clips.
        config: clip settings.
        people_config: identity / appearance settings (its ``crop_size`` is set to the clip's).
        offset: index of item 0 (e.g. to keep validation clips apart from training ones).
    """

    def __init__(self, length: int, config: SequenceConfig = SequenceConfig(), people_config: SyntheticConfig | None = None, offset: int = 0) -> None:
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        self.length = int(length)
        self.config = config
        self.people_config = replace(people_config or SyntheticConfig(), crop_size=config.crop_size)
        self.offset = int(offset)
        self._people: SyntheticPeople | None = None

    @property
    def people(self) -> SyntheticPeople:
        if self._people is None:
            self._people = SyntheticPeople(self.people_config)
        return self._people

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not -self.length <= i < self.length:
            raise IndexError(f"index {i} out of range for {self.length} clips")
        return render_sequence(self.people, self.offset + (i % self.length), self.config)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_people"] = None
        return state
