"""Synthetic people: textured body renders with exact 3D ground truth, reproducible per index.

:class:`SyntheticPeople` turns a sample index into a rendered person crop. Each index seeds its own
generator, so a sample is the same whatever batch it is rendered in, on whichever worker. An
index picks an **identity** (shape and clothing texture, both derived from the identity's own
seed, so one identity looks the same in every sample) and draws a pose, viewpoint, framing,
lighting, background and occluder. Rendering is batched.

Ground truth per sample (crop side ``S``; camera frame is OpenCV, metres):

=====================  ==============  ==================================================
key                    shape           meaning
=====================  ==============  ==================================================
image                  (3, S, S)       clean render over the background, float in [0, 1]
silhouette             (1, S, S)       the person's full (amodal) silhouette, float 0/1
betas                  (10,)           shape
pose                   (24, 3)         axis-angle; joint 0 is the root in camera axes
cam_t                  (3,)            camera-frame translation of the body (pelvis joint)
focal                  ()              focal length in pixels (principal point S/2, S/2)
joints3d_smpl24        (24, 3)         camera frame (``cam_t`` included)
joints3d_coco17        (17, 3)
joints3d_lsp14         (14, 3)
keypoints2d_smpl24     (24, 3)         ``[x, y, visible]`` in crop pixels, visible = inside
keypoints2d_coco17     (17, 3)         the crop and not behind an occluder
keypoints2d_lsp14      (14, 3)
has_smpl, has_joints3d ()              1.0 (synthetic data has everything)
identity, family       ()              identity id, pose family index
index                  ()              sample index
=====================  ==============  ==================================================
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import Tensor

from model.body import BodyModel, BodyOutput, load_body_model
from model.data.appearance import BackgroundSampler, TextureSampler, sample_lights
from model.data.framing import FramingConfig, View, camera_root_rotation, concat_views, frame_person, sample_view
from model.data.poses import PosePrior, PosePriorConfig, sample_betas
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from model.render import Lights, MeshRenderer, PerspectiveCameras

KEYPOINT_LAYOUTS = ("smpl24", "coco17", "lsp14")


@dataclass(frozen=True)
class SyntheticConfig:
    """What the synthetic people look like.

    Attributes:
        crop_size: side S of the rendered crop (normally the network input size).
        seed: base seed; sample ``i`` uses a generator seeded from ``(seed, i)``.
        num_identities: identities (shape + texture) that samples draw from.
        texture_size: side of the UV texture.
        texture_cache: identities whose texture is kept in memory (LRU).
        betas_clip: betas ~ N(0, 1) clipped to this magnitude.
        occluder_prob: probability of an occluding box/ellipse in front of the person.
        ssaa: supersampling factor of the renderer (1 = off; the crops get degraded anyway).
        backgrounds: background sources (see :class:`BackgroundSampler`).
        framing: viewpoint and crop framing.
        poses: pose prior.
    """

    crop_size: int = 224
    seed: int = 0
    num_identities: int = 4000
    texture_size: int = 256
    texture_cache: int = 512
    betas_clip: float = 2.5
    occluder_prob: float = 0.15
    ssaa: int = 1
    backgrounds: tuple[str, ...] = ("procedural", "photos")
    framing: FramingConfig = field(default_factory=FramingConfig)
    poses: PosePriorConfig = field(default_factory=PosePriorConfig)

    def __post_init__(self) -> None:
        if not 16 <= self.crop_size <= 1024:
            raise ValueError(f"crop_size must be in [16, 1024], got {self.crop_size}")
        if self.num_identities < 1 or self.texture_cache < 1 or self.ssaa < 1:
            raise ValueError("num_identities, texture_cache and ssaa must be >= 1")
        if not 0.0 <= self.occluder_prob <= 1.0:
            raise ValueError(f"occluder_prob must be in [0, 1], got {self.occluder_prob}")
        if self.betas_clip <= 0:
            raise ValueError(f"betas_clip must be > 0, got {self.betas_clip}")


def derived_seed(*parts: int | str) -> int:
    """A 63-bit seed from a tuple of ints/strings (stable across processes and platforms)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def generator_for(*parts: int | str) -> torch.Generator:
    """A CPU generator seeded by :func:`derived_seed`."""
    return torch.Generator().manual_seed(derived_seed(*parts))


@dataclass
class SceneParams:
    """Everything random about one sample, drawn before rendering (see :meth:`SyntheticPeople.sample_scene`)."""

    index: int
    identity: int
    family: int
    betas: Tensor  # (10,)
    body_pose: Tensor  # (24, 3) with the root in body axes (upright, facing +z)
    view: View
    background_seed: int
    light_seed: int
    occluder: tuple[float, ...] | None  # (kind, cx, cy, w, h, r, g, b) in crop fractions


class SyntheticPeople:
    """Renders synthetic person crops; see the module docstring for the outputs.

    Args:
        config: appearance, framing and pose settings.
        body: body model (default: the embedded free model). It must have UVs.
        device: where to render ("cpu" or "cuda").
    """

    def __init__(self, config: SyntheticConfig = SyntheticConfig(), body: BodyModel | None = None, device: str | torch.device = "cpu") -> None:
        self.config = config
        self.device = torch.device(device)
        self.body = (body or load_body_model()).to(self.device)
        if self.body.face_uvs is None:
            raise ValueError(f"body model {self.body.name!r} has no UVs; synthetic textures need the free model")
        self.pose_prior = PosePrior(config.poses)
        self.textures = TextureSampler(self.body, size=config.texture_size)
        self.backgrounds = BackgroundSampler(sources=config.backgrounds)
        self.renderer = MeshRenderer(ssaa=config.ssaa)
        self._texture_cache: OrderedDict[int, Tensor] = OrderedDict()

    # ----------------------------------------------------------------- identities
    def identity_betas(self, identity: int) -> Tensor:
        """(10,) shape of an identity."""
        gen = generator_for(self.config.seed, "identity-betas", identity)
        return sample_betas(1, gen, clip=self.config.betas_clip)[0]

    def identity_texture(self, identity: int) -> Tensor:
        """(3, T, T) clothing/skin texture of an identity (cached)."""
        cache = self._texture_cache
        if identity in cache:
            cache.move_to_end(identity)
            return cache[identity]
        tex = self.textures.sample(generator_for(self.config.seed, "identity-texture", identity))
        cache[identity] = tex
        if len(cache) > self.config.texture_cache:
            cache.popitem(last=False)
        return tex

    # ----------------------------------------------------------------- sampling
    def sample_scene(self, index: int, identity: int | None = None) -> SceneParams:
        """Draw the random parameters of sample ``index`` (optionally forcing its identity)."""
        cfg = self.config
        gen = generator_for(cfg.seed, "sample", index)
        ident = int(torch.randint(cfg.num_identities, (), generator=gen)) if identity is None else int(identity)
        poses = self.pose_prior.sample(1, gen)
        view = sample_view(cfg.framing, cfg.crop_size, gen)
        background_seed = int(torch.randint(2**62, (), generator=gen))
        light_seed = int(torch.randint(2**62, (), generator=gen))
        occluder = None
        if float(torch.rand((), generator=gen)) < cfg.occluder_prob:
            occluder = tuple(float(x) for x in torch.rand(8, generator=gen))
        return SceneParams(
            index=index,
            identity=ident,
            family=int(poses.family[0]),
            betas=self.identity_betas(ident),
            body_pose=poses.pose[0],
            view=view,
            background_seed=background_seed,
            light_seed=light_seed,
            occluder=occluder,
        )

    # ----------------------------------------------------------------- rendering
    @torch.no_grad()
    def render(self, scenes: list[SceneParams]) -> dict[str, Tensor]:
        """Render scenes in one batch; returns batched tensors (keys in the module docstring)."""
        cfg, dev, s = self.config, self.device, self.config.crop_size
        b = len(scenes)
        view = concat_views([sc.view for sc in scenes])
        betas = torch.stack([sc.betas for sc in scenes]).to(dev)
        pose = torch.stack([sc.body_pose for sc in scenes]).to(dev)
        root = camera_root_rotation(view.yaw, view.elevation, view.off_axis).to(dev) @ axis_angle_to_matrix(pose[:, 0])
        pose = pose.clone()
        pose[:, 0] = matrix_to_axis_angle(root)
        # One body-model call per sample: batched matmuls round differently for different batch
        # sizes, and a sample must not depend on the batch it is rendered in.
        parts = [self.body(betas[i : i + 1], pose[i : i + 1]) for i in range(b)]
        out = BodyOutput(**{f: torch.cat([getattr(o, f) for o in parts]) for f in ("vertices", "joints", "coco17", "lsp14")})
        focal = view.focal.to(dev)
        t = frame_person(out.vertices, focal, s, view.box_scale.to(dev), view.centre_offset.to(dev))
        verts = out.vertices + t[:, None]
        cams = PerspectiveCameras(
            focal=focal[:, None].expand(b, 2).contiguous(),
            principal=torch.full((b, 2), s / 2.0, device=dev),
            image_size=(s, s),
        )
        textures = torch.stack([self.identity_texture(sc.identity) for sc in scenes]).to(dev)
        backgrounds = torch.stack(
            [self.backgrounds.sample(generator_for(sc.background_seed), s, s) for sc in scenes]
        ).to(dev)
        lights = _cat_lights([sample_lights(1, generator_for(sc.light_seed)) for sc in scenes]).to(dev)
        rendered = self.renderer.render(
            verts, self.body.faces, cams, texture=textures, face_uvs=self.body.face_uvs, lights=lights, background=backgrounds
        )
        image = rendered.image.clamp(0.0, 1.0)
        occluded = torch.zeros(b, 1, s, s, dtype=torch.bool, device=dev)
        for i, sc in enumerate(scenes):
            if sc.occluder is not None:
                image[i], occluded[i, 0] = _draw_occluder(image[i], sc.occluder)
        result: dict[str, Tensor] = {
            "image": image,
            "silhouette": (rendered.mask > 0.5).float(),
            "betas": betas,
            "pose": pose,
            "cam_t": t,
            "focal": focal,
            "has_smpl": torch.ones(b, device=dev),
            "has_joints3d": torch.ones(b, device=dev),
            "identity": torch.tensor([sc.identity for sc in scenes]),
            "family": torch.tensor([sc.family for sc in scenes]),
            "index": torch.tensor([sc.index for sc in scenes]),
        }
        for layout in KEYPOINT_LAYOUTS:
            joints = out.keypoints(layout) + t[:, None]
            uv = cams.project(joints).uv
            inside = (uv >= 0).all(-1) & (uv < s).all(-1)
            px = uv.round().long().clamp(0, s - 1)
            hidden = occluded[torch.arange(b, device=dev)[:, None], 0, px[..., 1], px[..., 0]]
            visible = (inside & ~hidden).float()
            result[f"joints3d_{layout}"] = joints
            result[f"keypoints2d_{layout}"] = torch.cat([uv, visible[..., None]], dim=-1)
        return result

    def generate(self, indices: list[int]) -> dict[str, Tensor]:
        """Sample and render ``indices`` in one batch."""
        return self.render([self.sample_scene(int(i)) for i in indices])


def _cat_lights(lights: list[Lights]) -> Lights:
    return Lights(
        ambient=torch.cat([l.ambient for l in lights]),
        diffuse=torch.cat([l.diffuse for l in lights]),
        direction=torch.cat([l.direction for l in lights]),
    )


def _draw_occluder(image: Tensor, params: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    """Paint a box or ellipse over ``image`` (3, S, S); returns the image and the occluder mask.

    Occluders come from below or the side (cars, benches, other people, poles): their centre is
    in the lower two thirds of the crop and they cover 15-45 % of its side.
    """
    kind, cx, cy, w, h, r, g, bl = params
    s = image.shape[-1]
    cx, cy = cx * s, (0.35 + 0.65 * cy) * s
    half_w, half_h = (0.08 + 0.15 * w) * s, (0.08 + 0.15 * h) * s
    ys = torch.arange(s, device=image.device, dtype=image.dtype)[:, None] + 0.5
    xs = torch.arange(s, device=image.device, dtype=image.dtype)[None, :] + 0.5
    if kind < 0.5:
        mask = ((xs - cx).abs() < half_w) & ((ys - cy).abs() < half_h)
    else:
        mask = ((xs - cx) / half_w) ** 2 + ((ys - cy) / half_h) ** 2 < 1.0
    colour = torch.tensor([r, g, bl], device=image.device, dtype=image.dtype) * 0.8 + 0.1
    shade = 0.85 + 0.15 * (ys / s)  # a little vertical gradient so it is not a flat sticker
    painted = torch.where(mask, colour[:, None, None] * shade, image)
    return painted, mask

