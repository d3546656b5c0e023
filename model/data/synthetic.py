"""Synthetic people: textured body renders with exact 3D ground truth, reproducible per index.

:class:`SyntheticPeople` turns a sample index into a rendered person crop. Each index seeds its own
generator, so a sample is the same whatever batch it is rendered in, on whichever worker. An
index picks an **identity** (shape and clothing texture, both derived from the identity's own
seed, so one identity looks the same in every sample) and draws a pose, viewpoint, framing,
lighting, background and occluder. Rendering is batched.

What is in the scene besides the person (issue 14, surveillance realism):

* **clothing that changes the silhouette** (:mod:`model.data.clothing`): skirts and coats as cones
  between the legs, loose and padded tops, backpacks and bags as extra meshes, drawn per identity
  with its texture (:meth:`SyntheticPeople.identity_outfit`);
* **occluders** (:mod:`model.data.occluders`): cars, poles, railings, fences, bins, benches and
  clutter, some with photo surface detail;
* **a second person** (another identity, pose and outfit) beside, behind or in front of the
  person, rendered with the same camera and composited by depth; unlabelled;
* **photo textures** (:mod:`model.data.photo_textures`) on garments and occluders, and photo
  backgrounds, when photos are installed (procedural surfaces otherwise);
* **appearance pools** (:mod:`model.data.pools`): ``appearance_pool="heldout"`` draws textures,
  backgrounds, photos and body shapes that the default ``"train"`` pool never draws.

The ``silhouette`` is the clothed person with carried bags (what a person segmenter outlines),
amodal: occluders and the second person do not cut it. The crop frames the clothed person. A
keypoint is visible when it projects inside the crop, no occluder covers its pixel and the second
person's surface at its pixel is not in front of the joint (nearer the camera than its depth).

Ground truth per sample (crop side ``S``; camera frame is OpenCV, metres):

=====================  ==============  ==================================================
key                    shape           meaning
=====================  ==============  ==================================================
image                  (3, S, S)       clean render over the background, float in [0, 1]
silhouette             (1, S, S)       the clothed person's amodal silhouette, float 0/1
parts                  (1, S, S)       uint8 visible body-part class (``config.part_maps`` only; model.body.parts)
betas                  (10,)           shape
pose                   (24, 3)         axis-angle; joint 0 is the root in camera axes
cam_t                  (3,)            camera-frame translation of the body (pelvis joint)
focal                  ()              focal length in pixels (principal point S/2, S/2)
joints3d_smpl24        (24, 3)         camera frame (``cam_t`` included)
joints3d_coco17        (17, 3)
joints3d_lsp14         (14, 3)
keypoints2d_smpl24     (24, 3)         ``[x, y, visible]`` in crop pixels, visible = inside
keypoints2d_coco17     (17, 3)         the crop, not behind an occluder or the second person
keypoints2d_lsp14      (14, 3)
has_smpl, has_joints3d ()              1.0 (synthetic data has everything)
identity, family       ()              identity id, pose family index
index                  ()              sample index
=====================  ==============  ==================================================
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

from model.body import BodyModel, BodyOutput, load_body_model
from model.body.parts import face_part_classes
from model.data.appearance import BackgroundSampler, TextureSampler
from model.data.clothing import ClothingConfig, ClothingRig, Outfit
from model.data.framing import FramingConfig, View, camera_root_rotation, concat_views, frame_person, sample_view
from model.data.lighting import sample_scene_lights
from model.data.occluders import OccluderConfig, draw_occluder
from model.data.photo_textures import PhotoPatchSampler
from model.data.pools import APPEARANCE_POOLS, sample_pool_betas
from model.data.poses import PosePrior, PosePriorConfig, sample_betas
from model.data.twins import pair_base, twin_scene
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
        occluder_prob: probability of an occluder (car, pole, railing, ...) in front of the person.
        second_person_prob: probability of a second, unlabelled person partly in the crop.
        garment_photo_prob: share of patterned garments made from a photo patch (when photos exist).
        appearance_pool: ``"train"`` or ``"heldout"`` (see :mod:`model.data.pools`).
        photo_dirs: photo directories for backgrounds, garments and occluders; ``None`` = the
            installed ones, ``()`` = none (everything procedural).
        ssaa: supersampling factor of the renderer (1 = off; the crops get degraded anyway).
        backgrounds: background sources (see :class:`BackgroundSampler`).
        framing: viewpoint and crop framing.
        poses: pose prior.
        occluders: which occluders appear.
        clothing: how often coats, padded jackets, bags and backpacks appear, and whether the front
            shows as on real people (``clothing.front_cues``).
        shading_gamma: display gamma the renderer shades the textures' colours with
            (:func:`~model.render.shading.lambert`): 1 (the issue-14 generator) darkens shadows and
            dim light more than a camera does; 2.2 shades in linear light, as a camera records it.
        twin_pairs: scene ``2n + 1`` is scene ``2n`` posed as its depth-mirror twin, placed where
            scene ``2n`` was framed (:mod:`model.data.twins`): pairs that differ only inside the figure.
        part_maps: also return ``parts``, the visible body-part class of every pixel
            (:mod:`model.body.parts`: left and right apart, front and back apart; 0 where the body
            does not show).
    """

    crop_size: int = 224
    seed: int = 0
    num_identities: int = 4000
    texture_size: int = 256
    texture_cache: int = 512
    betas_clip: float = 2.5
    occluder_prob: float = 0.3
    second_person_prob: float = 0.2
    garment_photo_prob: float = 0.2
    appearance_pool: str = "train"
    photo_dirs: tuple[str, ...] | None = None
    ssaa: int = 1
    backgrounds: tuple[str, ...] = ("procedural", "photos")
    framing: FramingConfig = field(default_factory=FramingConfig)
    poses: PosePriorConfig = field(default_factory=PosePriorConfig)
    occluders: OccluderConfig = field(default_factory=OccluderConfig)
    clothing: ClothingConfig = field(default_factory=ClothingConfig)
    shading_gamma: float = 1.0
    twin_pairs: bool = False
    part_maps: bool = False

    def __post_init__(self) -> None:
        if not 1.0 <= self.shading_gamma <= 3.0:
            raise ValueError(f"shading_gamma must be in [1, 3], got {self.shading_gamma}")
        if not 16 <= self.crop_size <= 1024:
            raise ValueError(f"crop_size must be in [16, 1024], got {self.crop_size}")
        if self.num_identities < 1 or self.texture_cache < 1 or self.ssaa < 1:
            raise ValueError("num_identities, texture_cache and ssaa must be >= 1")
        if not 0.0 <= self.occluder_prob <= 1.0:
            raise ValueError(f"occluder_prob must be in [0, 1], got {self.occluder_prob}")
        for name in ("second_person_prob", "garment_photo_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.appearance_pool not in APPEARANCE_POOLS:
            raise ValueError(f"appearance_pool must be one of {APPEARANCE_POOLS}, got {self.appearance_pool!r}")
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
    occluder: tuple[str, int] | None  # (kind, seed) for draw_occluder
    second: SecondPerson | None = None
    cam_t: Tensor | None = None  # (3,) camera-frame pelvis position; None: framed by ``view``


@dataclass
class SecondPerson:
    """Another person in the scene (unlabelled), placed relative to the main one.

    ``lateral`` is the offset of its pelvis across the image in crop widths at the main person's
    depth (|lateral| 0.2-0.9: partly in the crop, or largely in front of the person), ``depth`` the offset along the ground away from
    the camera in metres (negative: in front), ``yaw`` its turn relative to the main person.
    """

    identity: int
    body_pose: Tensor  # (24, 3), root in body axes
    lateral: float
    depth: float
    yaw: float


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
        pool = config.appearance_pool
        self.patches = PhotoPatchSampler(pool, photo_dirs=config.photo_dirs)
        self.textures = TextureSampler(
            self.body, size=config.texture_size, pool=pool, photos=self.patches,
            photo_prob=config.garment_photo_prob, clothing=config.clothing,
        )  # fmt: skip
        self.backgrounds = BackgroundSampler(sources=config.backgrounds, photo_dirs=config.photo_dirs, pool=pool)
        self.renderer = MeshRenderer(ssaa=config.ssaa, shading_gamma=config.shading_gamma)
        self.clothing = ClothingRig(self.body)
        self.faces = self.clothing.faces.to(self.device)
        self.face_uvs = self.clothing.face_uvs(self.body.face_uvs).to(self.device)
        #: ``(F,)`` part class of every face for ``parts`` (carried accessories: 0), or ``None``.
        self.face_parts: Tensor | None = None
        if config.part_maps:
            body_parts = face_part_classes(self.body)
            extra = self.faces.shape[0] - body_parts.shape[0]
            self.face_parts = torch.cat([body_parts, body_parts.new_zeros(extra)]).to(self.device)
        self._texture_cache: OrderedDict[int, tuple[Tensor, Outfit]] = OrderedDict()

    # ----------------------------------------------------------------- identities
    def identity_betas(self, identity: int) -> Tensor:
        """(10,) shape of an identity."""
        cfg = self.config
        if cfg.appearance_pool == "train":
            gen = generator_for(cfg.seed, "identity-betas", identity)
            return sample_betas(1, gen, clip=cfg.betas_clip)[0]
        gen = generator_for(cfg.seed, "heldout-identity-betas", identity)
        return sample_pool_betas(gen, cfg.betas_clip, "heldout")

    def identity_texture(self, identity: int) -> Tensor:
        """(3, T, T) clothing/skin texture of an identity (cached)."""
        return self._identity_look(identity)[0]

    def identity_outfit(self, identity: int) -> Outfit:
        """The identity's silhouette-changing clothing and bags (drawn with its texture)."""
        return self._identity_look(identity)[1]

    def _identity_look(self, identity: int) -> tuple[Tensor, Outfit]:
        cache = self._texture_cache
        if identity in cache:
            cache.move_to_end(identity)
            return cache[identity]
        key = "identity-texture" if self.config.appearance_pool == "train" else "heldout-identity-texture"
        look = self.textures.sample_with_outfit(generator_for(self.config.seed, key, identity))
        cache[identity] = look
        if len(cache) > self.config.texture_cache:
            cache.popitem(last=False)
        return look

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
        u = torch.rand(3, generator=gen).tolist()
        if u[0] < cfg.occluder_prob:
            occluder = (cfg.occluders.pick(u[1]), int(torch.randint(2**62, (), generator=gen)))
        second = None
        if u[2] < cfg.second_person_prob:
            other = int(torch.randint(cfg.num_identities, (), generator=gen))
            place = torch.rand(4, generator=gen).tolist()
            side = 1.0 if place[0] < 0.5 else -1.0
            second = SecondPerson(
                identity=other,
                body_pose=self.pose_prior.sample(1, gen).pose[0],
                lateral=side * (0.2 + 0.7 * place[1]),
                depth=-1.5 + 4.5 * place[2],  # 1.5 m in front .. 3 m behind
                yaw=2.0 * math.pi * place[3],
            )
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
            second=second,
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
        # World up in camera axes (for bags hanging and for standing the second person on the ground).
        up = camera_root_rotation(torch.zeros_like(view.yaw), view.elevation, view.off_axis).to(dev)[:, :, 1]
        looks = [self._identity_look(sc.identity) for sc in scenes]
        clothed = torch.stack(
            [self.clothing.dress(out.vertices[i], out.joints[i], root[i], up[i], looks[i][1]) for i in range(b)]
        )
        focal = view.focal.to(dev)
        t = frame_person(clothed, focal, s, view.box_scale.to(dev), view.centre_offset.to(dev))
        placed = [i for i, sc in enumerate(scenes) if sc.cam_t is not None]
        if placed:  # a scene placed where another was framed (e.g. a pose against its mirror twin)
            t = t.clone()
            t[placed] = torch.stack([scenes[i].cam_t for i in placed]).to(t)
        verts = clothed + t[:, None]
        cams = PerspectiveCameras(
            focal=focal[:, None].expand(b, 2).contiguous(),
            principal=torch.full((b, 2), s / 2.0, device=dev),
            image_size=(s, s),
        )
        textures = torch.stack([tex for tex, _ in looks]).to(dev)
        for i in range(b):
            self.clothing.paint_accessories(textures[i], looks[i][1])
        backgrounds = torch.stack(
            [self.backgrounds.sample(generator_for(sc.background_seed), s, s) for sc in scenes]
        ).to(dev)
        lights = _cat_lights([sample_scene_lights(1, generator_for(sc.light_seed))[0] for sc in scenes]).to(dev)
        rendered = self.renderer.render(
            verts, self.faces, cams, texture=textures, face_uvs=self.face_uvs, lights=lights, background=backgrounds,
            face_labels=self.face_parts,
        )
        image = rendered.image.clamp(0.0, 1.0)
        silhouette = rendered.mask > 0.5
        other_depth = self._add_second_people(scenes, image, silhouette, rendered.depth, verts, out.joints + t[:, None], view, up, cams, lights)
        occluded = torch.zeros(b, s, s, dtype=torch.bool, device=dev)
        for i, sc in enumerate(scenes):
            if sc.occluder is not None:
                kind, seed = sc.occluder
                colour, mask = draw_occluder(kind, generator_for(seed), s, cfg.occluders, self.patches)
                mask = mask.to(dev)
                image[i] = torch.where(mask, colour.to(dev), image[i])
                occluded[i] = mask
        result: dict[str, Tensor] = {
            "image": image,
            "silhouette": silhouette.float(),
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
        if rendered.part_map is not None:  # what shows of the body: not behind an occluder or another person
            shown = (rendered.part_map.clamp_min(0) * (~occluded & torch.isinf(other_depth))).to(torch.uint8)
            result["parts"] = shown[:, None]
        for layout in KEYPOINT_LAYOUTS:
            joints = out.keypoints(layout) + t[:, None]
            uv = cams.project(joints).uv
            inside = (uv >= 0).all(-1) & (uv < s).all(-1)
            px = uv.round().long().clamp(0, s - 1)
            rows = torch.arange(b, device=dev)[:, None]
            hidden = occluded[rows, px[..., 1], px[..., 0]] | (other_depth[rows, px[..., 1], px[..., 0]] < joints[..., 2])
            visible = (inside & ~hidden).float()
            result[f"joints3d_{layout}"] = joints
            result[f"keypoints2d_{layout}"] = torch.cat([uv, visible[..., None]], dim=-1)
        return result

    def _add_second_people(
        self,
        scenes: list[SceneParams],
        image: Tensor,
        silhouette: Tensor,
        depth: Tensor,
        verts: Tensor,
        joints: Tensor,
        view: View,
        up: Tensor,
        cams: PerspectiveCameras,
        lights: Lights,
    ) -> Tensor:
        """Render the scenes' second people and composite them by depth into ``image`` (in place).

        Args:
            scenes: the batch.
            image: ``(B, 3, S, S)`` rendered main people.
            silhouette: ``(B, 1, S, S)`` bool main silhouettes.
            depth: ``(B, S, S)`` main surface depth (0 off the person).
            verts: ``(B, V', 3)`` clothed main vertices in the camera frame.
            joints: ``(B, 24, 3)`` main joints in the camera frame.
            view, up, cams, lights: the batch's views, world up ``(B, 3)``, cameras and lights.
        Returns:
            ``(B, S, S)`` depth of the second person where it is drawn over the main one's place
            (in front of the main surface, or where the main person is absent); ``inf`` elsewhere.
        """
        b, s, dev = len(scenes), self.config.crop_size, image.device
        other_depth = torch.full((b, s, s), float("inf"), device=dev)
        idx = [i for i, sc in enumerate(scenes) if sc.second is not None]
        if not idx:
            return other_depth
        o_verts, o_tex = [], []
        for i in idx:
            sp = scenes[i].second
            assert sp is not None
            tex, outfit = self._identity_look(sp.identity)
            o_pose = sp.body_pose[None].to(dev).clone()
            sl = slice(i, i + 1)
            o_root = camera_root_rotation(view.yaw[sl] + sp.yaw, view.elevation[sl], view.off_axis[sl]).to(dev)
            o_root = o_root @ axis_angle_to_matrix(o_pose[:, 0])
            o_pose[:, 0] = matrix_to_axis_angle(o_root)
            o = self.body(self.identity_betas(sp.identity)[None].to(dev), o_pose)
            ov = self.clothing.dress(o.vertices[0], o.joints[0], o_root[0], up[i], outfit) - o.joints[0, 0]
            ground = camera_root_rotation(view.yaw[sl] * 0, view.elevation[sl], view.off_axis[sl]).to(dev)[0]
            pelvis = joints[i, 0]
            z = float(pelvis[2])
            lateral = sp.lateral * s * z / float(cams.focal[i, 0])
            away = max(sp.depth, -0.5 * z)  # never closer than half way to the camera
            ov = ov + pelvis + ground[:, 0] * lateral - ground[:, 2] * away
            # stand both on the same ground: align their lowest points along world up
            ov = ov + up[i] * ((verts[i] @ up[i]).min() - (ov @ up[i]).min())
            o_verts.append(ov)
            o_tex.append(self.clothing.paint_accessories(tex.clone(), outfit))
        sel = torch.tensor(idx, device=dev)
        o_cams = PerspectiveCameras(focal=cams.focal[sel], principal=cams.principal[sel], image_size=(s, s))
        o_lights = Lights(ambient=lights.ambient[sel], diffuse=lights.diffuse[sel], direction=lights.direction[sel])
        o = self.renderer.render(
            torch.stack(o_verts), self.faces, o_cams, texture=torch.stack(o_tex).to(dev), face_uvs=self.face_uvs, lights=o_lights
        )
        for k, i in enumerate(idx):
            drawn = o.mask[k, 0] > 0.5
            front = drawn & (~silhouette[i, 0] | (o.depth[k] < depth[i]))
            image[i] = torch.where(front, o.image[k].clamp(0.0, 1.0), image[i])
            other_depth[i] = torch.where(front, o.depth[k], other_depth[i])
        return other_depth

    def generate(self, indices: list[int]) -> dict[str, Tensor]:
        """Sample and render ``indices`` in one batch (with ``config.twin_pairs``: see :meth:`generate_twin_pairs`)."""
        if self.config.twin_pairs:
            return self.generate_twin_pairs(indices)
        return self.render([self.sample_scene(int(i)) for i in indices])

    def generate_twin_pairs(self, indices: list[int]) -> dict[str, Tensor]:
        """Render ``indices`` as twin pairs: ``2n`` is scene ``2n``'s draw, ``2n + 1`` the same draw posed
        as its depth-mirror twin and placed where ``2n`` was framed (:func:`~model.data.twins.twin_scene`).
        Each pair's scene is rendered once however many of its two indices are asked for."""
        bases = sorted({pair_base(i) for i in indices})
        scenes = [self.sample_scene(b) for b in bases]
        truth = self.render(scenes)
        twins = [replace(twin_scene(sc), index=sc.index + 1, cam_t=t) for sc, t in zip(scenes, truth["cam_t"])]
        twin = self.render(twins)
        row = {b: k for k, b in enumerate(bases)}
        picks = [(twin if int(i) % 2 else truth, row[pair_base(i)]) for i in indices]
        return {key: torch.stack([src[key][k] for src, k in picks]) for key in truth}


def _cat_lights(lights: list[Lights]) -> Lights:
    return Lights(
        ambient=torch.cat([l.ambient for l in lights]),
        diffuse=torch.cat([l.diffuse for l in lights]),
        direction=torch.cat([l.direction for l in lights]),
    )
