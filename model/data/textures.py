"""Procedural UV textures of clothed people for the body model's UV atlas.

Used for synthetic training images (albedo of the rendered person) and as identities for
re-identification: a texture is a deterministic function of the ``torch.Generator`` that drew it.

How it works:

* :class:`UVAtlas` is built once per body model and texture size (cached).  Every UV triangle is
  rasterised at the texel centres (the texture layout of :mod:`model.render.texturing`: row 0 is
  the top, ``v = 0`` the bottom row), giving per texel the body segment (skinning label of the
  nearest corner), the 3D position on the template (zero pose, mean shape) and coordinates
  derived from it: the position along each arm/leg (0 at the shoulder/hip joint, 1 at the
  elbow/knee, 2 at the wrist/ankle), an "along" and an "around" coordinate for stripes and
  checks, and a head-centred azimuth for the hairline.  Texels outside every triangle (UV
  gutters) take the attributes of the nearest covered texel, so bilinear lookups next to seams
  never mix in black.
* :meth:`TextureSampler.sample` draws an outfit (sleeve length, trousers/shorts/skirt, shoes,
  hairline, colours and patterns), turns the attributes into a region map (:data:`REGIONS`) with
  a handful of comparisons, and composes the albedo with vectorised float arithmetic.  Patterns
  are functions of the 3D template position (not of UV), so they run on across most UV seams
  (the "around" coordinate has one seam at the back).  Smooth noise comes from a bank of sums of
  random 3D plane waves evaluated once.  (``torch.where`` and gathers are avoided: on CPU they
  cost several times more than float arithmetic with 0/1 masks.)

Typical use::

    sampler = TextureSampler(load_body_model(), size=256)
    texture = sampler.sample(torch.Generator().manual_seed(7))            # (3, 256, 256) in [0, 1]
    texture, regions = sampler.sample_with_regions(generator)               # regions (256, 256)
    out = renderer.render(verts, body.faces, cams, texture=texture[None], face_uvs=body.face_uvs)
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch import Tensor

from model.body.joint_names import SMPL_JOINT_NAMES
from model.data.clothing import ClothingConfig, Outfit
from model.data.draws import BlockDraws
from model.data.photo_textures import PhotoPatchSampler
from model.data.pools import check_pool
from model.render.cameras import PerspectiveCameras
from model.render.rasterizer import RasterSettings, rasterize

#: Region labels of :meth:`TextureSampler.sample_with_regions` (index = label value).
REGIONS: tuple[str, ...] = (
    "none", "skin", "hair", "upper", "lower", "shoes", "socks", "headwear", "eyes", "lips", "brows", "mouth",
)  # fmt: skip
REGION = {name: i for i, name in enumerate(REGIONS)}

_J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}

# Body segment groups (skinning labels of SMPL_JOINT_NAMES).
_HEAD = ("head",)
_NECK = ("neck",)
_TORSO = ("pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar")
_ARM = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow")
_HAND = ("left_wrist", "right_wrist", "left_hand", "right_hand")
_LEG = ("left_hip", "right_hip", "left_knee", "right_knee")
_FOOT = ("left_ankle", "right_ankle", "left_foot", "right_foot")


# --------------------------------------------------------------------------------------------
# Colours (sRGB albedo in [0, 1]).

#: Skin tones from dark to light; a tone is a random point on this polyline plus a small jitter.
SKIN_TONES = np.array(
    [
        [0.20, 0.12, 0.09],
        [0.30, 0.19, 0.13],
        [0.42, 0.27, 0.18],
        [0.55, 0.37, 0.26],
        [0.67, 0.48, 0.36],
        [0.78, 0.60, 0.48],
        [0.87, 0.70, 0.60],
        [0.93, 0.79, 0.71],
    ],
    dtype=np.float64,
)

#: Hair colours and their weights.
HAIR_COLOURS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.04, 0.035, 0.03), 0.34),  # black
    ((0.12, 0.08, 0.055), 0.22),  # dark brown
    ((0.26, 0.17, 0.10), 0.14),  # brown
    ((0.45, 0.32, 0.19), 0.06),  # light brown
    ((0.72, 0.58, 0.36), 0.07),  # blond
    ((0.42, 0.18, 0.08), 0.04),  # auburn / red
    ((0.50, 0.49, 0.47), 0.07),  # grey
    ((0.80, 0.79, 0.76), 0.03),  # white
    ((0.35, 0.15, 0.40), 0.01),  # dyed purple
    ((0.15, 0.30, 0.55), 0.01),  # dyed blue
    ((0.80, 0.35, 0.55), 0.01),  # dyed pink
)

#: Clothing colours and their weights: dark and neutral colours dominate, saturated ones are rarer.
CLOTHING_COLOURS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.04, 0.04, 0.045), 0.16),  # black
    ((0.15, 0.15, 0.16), 0.09),  # charcoal
    ((0.35, 0.35, 0.36), 0.07),  # grey
    ((0.60, 0.60, 0.60), 0.05),  # light grey
    ((0.88, 0.88, 0.86), 0.08),  # white
    ((0.80, 0.76, 0.66), 0.03),  # cream
    ((0.07, 0.09, 0.20), 0.08),  # navy
    ((0.14, 0.22, 0.38), 0.06),  # denim blue
    ((0.33, 0.45, 0.62), 0.04),  # light blue
    ((0.60, 0.53, 0.40), 0.05),  # khaki / beige
    ((0.30, 0.21, 0.14), 0.05),  # brown
    ((0.28, 0.30, 0.18), 0.04),  # olive
    ((0.08, 0.20, 0.12), 0.03),  # dark green
    ((0.32, 0.06, 0.09), 0.03),  # burgundy
    ((0.70, 0.10, 0.10), 0.025),  # red
    ((0.85, 0.40, 0.08), 0.015),  # orange
    ((0.88, 0.75, 0.15), 0.015),  # yellow
    ((0.85, 0.50, 0.62), 0.015),  # pink
    ((0.35, 0.18, 0.48), 0.015),  # purple
    ((0.08, 0.45, 0.45), 0.015),  # teal
    ((0.25, 0.60, 0.20), 0.01),  # green
    ((0.10, 0.35, 0.80), 0.015),  # royal blue
)

#: Garment colours of the held-out appearance pool (:mod:`model.data.pools`): no entry is one of
#: :data:`CLOTHING_COLOURS`; dark and neutral colours still dominate.
HELDOUT_CLOTHING_COLOURS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.09, 0.06, 0.05), 0.14),  # near-black brown
    ((0.20, 0.19, 0.23), 0.09),  # slate
    ((0.45, 0.42, 0.38), 0.08),  # taupe
    ((0.74, 0.72, 0.66), 0.07),  # stone
    ((0.95, 0.93, 0.84), 0.05),  # ivory
    ((0.10, 0.14, 0.13), 0.08),  # dark teal-grey
    ((0.18, 0.12, 0.26), 0.05),  # aubergine
    ((0.45, 0.20, 0.12), 0.05),  # rust
    ((0.72, 0.55, 0.18), 0.05),  # mustard
    ((0.88, 0.50, 0.42), 0.04),  # coral
    ((0.62, 0.55, 0.78), 0.04),  # lavender
    ((0.05, 0.28, 0.40), 0.05),  # petrol
    ((0.55, 0.62, 0.45), 0.04),  # sage
    ((0.40, 0.05, 0.20), 0.03),  # plum
    ((0.95, 0.62, 0.70), 0.02),  # rose
    ((0.30, 0.45, 0.55), 0.05),  # steel blue
    ((0.52, 0.38, 0.30), 0.04),  # camel
)

#: Garment pattern kinds of each appearance pool (besides ``"plain"`` and ``"photo"``, which
#: both pools draw, with disjoint colour tables and photo files).
PATTERN_KINDS: dict[str, tuple[str, ...]] = {
    "train": ("stripes_across", "stripes_along", "checks", "print", "block"),
    "heldout": ("plaid", "camouflage"),
}

#: Shoe colours and their weights.
SHOE_COLOURS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.04, 0.04, 0.04), 0.40),
    ((0.85, 0.85, 0.83), 0.20),
    ((0.25, 0.16, 0.09), 0.15),
    ((0.45, 0.45, 0.47), 0.10),
    ((0.55, 0.42, 0.28), 0.07),
    ((0.10, 0.12, 0.25), 0.05),
    ((0.65, 0.12, 0.12), 0.03),
)

#: Camouflage colours (olive, brown, khaki, near-black).
_EARTHY = ((0.30, 0.31, 0.18), (0.20, 0.16, 0.10), (0.45, 0.40, 0.28), (0.08, 0.10, 0.07))

_IRIS_COLOURS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.16, 0.09, 0.05), 0.6),
    ((0.30, 0.20, 0.10), 0.2),
    ((0.25, 0.35, 0.50), 0.12),
    ((0.25, 0.35, 0.22), 0.08),
)


def _table(entries: tuple[tuple[tuple[float, float, float], float], ...]) -> tuple[np.ndarray, np.ndarray]:
    colours = np.array([c for c, _ in entries], dtype=np.float64)
    weights = np.array([w for _, w in entries], dtype=np.float64)
    return colours, np.cumsum(weights) / weights.sum()


_HAIR = _table(HAIR_COLOURS)
_CLOTH = _table(CLOTHING_COLOURS)
_CLOTH_HELDOUT = _table(HELDOUT_CLOTHING_COLOURS)
_SHOE = _table(SHOE_COLOURS)
_IRIS = _table(_IRIS_COLOURS)


def _jitter(colour: np.ndarray, r: BlockDraws, brightness: float = 0.12, hue: float = 0.04) -> np.ndarray:
    c = colour * (1.0 + r.u(-brightness, brightness)) + np.array([r.u(-hue, hue) for _ in range(3)]) * (0.3 + colour)
    return np.clip(c, 0.02, 0.95)


def _clothing_colour(r: BlockDraws, table: tuple[np.ndarray, np.ndarray] = _CLOTH) -> np.ndarray:
    colours, cum = table
    return _jitter(colours[r.pick(cum)], r)


def _contrasting(base: np.ndarray, r: BlockDraws, table: tuple[np.ndarray, np.ndarray] = _CLOTH) -> np.ndarray:
    """A second garment colour that differs visibly from ``base``."""
    for _ in range(6):
        mode = r.u()
        if mode < 0.3:
            c = np.full(3, 0.88) if base.mean() < 0.45 else np.full(3, 0.05)
            c = _jitter(c, r, 0.05, 0.02)
        elif mode < 0.45:  # lighter/darker shade of the same colour
            dark = base.mean() <= 0.35
            c = np.clip(base * 2.2 + 0.08 if dark else base * 0.45, 0.02, 0.95)
        else:
            c = _clothing_colour(r, table)
        if np.abs(c - base).sum() > 0.25:
            return c
    return np.clip(1.0 - base, 0.05, 0.95)


def _skin_colour(r: BlockDraws) -> np.ndarray:
    t = r.u() * (len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    c = SKIN_TONES[i] + (t - i) * (SKIN_TONES[i + 1] - SKIN_TONES[i])
    c = c * (1.0 + r.u(-0.06, 0.06))
    c = c + np.array([r.u(-0.02, 0.03), r.u(-0.02, 0.015), r.u(-0.02, 0.015)]) * c  # redness / yellowness
    return np.clip(c, 0.03, 0.95)


# --------------------------------------------------------------------------------------------
# The atlas: per-texel attributes of the body model's UV layout.


@dataclass(frozen=True)
class UVAtlas:
    """Per-texel attributes of a body model's UV layout at ``size x size`` (texture layout).

    All maps are ``(S, S)`` (``position`` ``(3, S, S)``) with row 0 the top of the texture
    (``v = 1``) and are defined on every texel: gutters hold the attributes of the nearest
    covered texel.

    Attributes:
        size: S.
        covered: texel centres inside some UV triangle.
        part: skinning segment (index into SMPL_JOINT_NAMES) of the nearest face corner.
        position: 3D template position (zero pose, mean shape; y up, facing +z, metres).
        eyes, mouth: texels of the separate eyeball / mouth-interior meshes.
        arm_t, leg_t: position along the arm / leg (0 shoulder/hip joint, 1 elbow/knee,
            2 wrist/ankle); 0 elsewhere.
        along, around: stripe coordinates in metres (height, or distance along the arm; and arc
            length around the torso / limb axis).
        head_phi: azimuth around the head's vertical axis (0 = facing forward, pi = back).
        landmarks: template measurements used by the outfit rules (metres): ``y_top`` (crown),
            ``y_eye``/``x_eye``/``z_eye``/``z_eyeball``, ``y_mouth``/``z_mouth``, ``y_head``/``z_head``
            (head joint), and the joint heights ``y_neck``, ``y_shoulder``, ``y_spine1``,
            ``y_pelvis``, ``y_hip``, ``y_knee``, ``y_ankle``.
        noise_low, noise_mid: ``(K, S, S)`` smooth unit-variance noise fields on the body surface
            (wavelengths ~0.25-0.8 m and ~0.06-0.18 m).
        grain: ``(2, S, S)`` per-texel fine noise (fabric grain).
    """

    size: int
    covered: Tensor
    part: Tensor
    position: Tensor
    eyes: Tensor
    mouth: Tensor
    arm_t: Tensor
    leg_t: Tensor
    along: Tensor
    around: Tensor
    head_phi: Tensor
    landmarks: dict
    noise_low: Tensor
    noise_mid: Tensor
    grain: Tensor

    def group(self, names: tuple[str, ...]) -> Tensor:
        """Texels whose segment is one of ``names``."""
        m = torch.zeros_like(self.covered)
        for n in names:
            m |= self.part == _J[n]
        return m


def _rasterize_uv(face_uvs: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Face index ``(S, S)`` (-1 outside) and barycentrics ``(S, S, 3)`` at the texel centres."""
    nf = face_uvs.shape[0]
    uv = face_uvs.reshape(-1, 2).double()
    # Camera with x = u, y = -v at depth 1: pixel (i, j) centre <-> u = (j + .5)/S, v = 1 - (i + .5)/S.
    verts = torch.stack([uv[:, 0], -uv[:, 1], torch.ones_like(uv[:, 0])], dim=-1)[None].float()
    faces = torch.arange(3 * nf).view(nf, 3)
    cam = PerspectiveCameras(
        focal=torch.tensor([[float(size), float(size)]]),
        principal=torch.tensor([[0.0, float(size)]]),
        image_size=(size, size),
    )
    frags = rasterize(verts, faces, cam, RasterSettings(cull_backfaces=False))
    return frags.face_index[0], frags.bary[0]


def _components(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    rows = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    cols = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, num_vertices))
    return connected_components(adj, directed=False)[1]


def _chain_param(p: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """Position of points ``(N, 3)`` along a joint chain ``(k, 3)``: bone ``i`` spans ``[i, i+1]``.

    Each point is projected on its nearest bone; the first bone extends below 0 and the last
    beyond ``k - 1``.
    """
    best_d = np.full(len(p), np.inf)
    best_t = np.zeros(len(p))
    nb = len(chain) - 1
    for i in range(nb):
        a, d = chain[i], chain[i + 1] - chain[i]
        s = ((p - a) @ d) / (d @ d)
        s = np.clip(s, -np.inf if i == 0 else 0.0, np.inf if i == nb - 1 else 1.0)
        dist = np.linalg.norm(p - (a + s[:, None] * d), axis=1)
        better = dist < best_d
        best_d = np.where(better, dist, best_d)
        best_t = np.where(better, i + s, best_t)
    return best_t


def _wave_bank(pos: np.ndarray, count: int, wavelengths: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """``count`` smooth fields on points ``(N, 3)``: sums of 6 random plane waves, unit variance."""
    waves = 6
    d = rng.normal(size=(count * waves, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    lam = np.exp(rng.uniform(math.log(wavelengths[0]), math.log(wavelengths[1]), size=count * waves))
    k = torch.from_numpy((d * (2 * math.pi / lam)[:, None]).T.astype(np.float32))  # (3, K*W)
    phase = torch.from_numpy(rng.uniform(0, 2 * math.pi, size=count * waves).astype(np.float32))
    p = torch.from_numpy(pos.astype(np.float32))
    acc = torch.sin(p @ k + phase).view(len(pos), count, waves).sum(-1).T  # (K, N)
    return (acc / acc.std(dim=1, keepdim=True)).numpy()


def build_atlas(body, size: int = 256) -> UVAtlas:
    """Compute the :class:`UVAtlas` of ``body`` (a :class:`~model.body.model.BodyModel` with UVs)."""
    if getattr(body, "face_uvs", None) is None:
        raise ValueError(f"body model {body.name!r} has no UVs; procedural textures need a UV layout")
    s = int(size)
    with torch.no_grad():
        neutral = body.neutral()
    verts = neutral.vertices[0].double().cpu().numpy()
    joints = neutral.joints[0].double().cpu().numpy()
    faces = body.faces.cpu().numpy()
    labels = body.part_labels.cpu().numpy()

    face_index, bary = _rasterize_uv(body.face_uvs.detach().cpu(), s)
    covered = (face_index >= 0).numpy()
    # Nearest covered texel for every texel (identity on covered ones): fills the UV gutters.
    near = ndimage.distance_transform_edt(~covered, return_distances=False, return_indices=True)
    fi = face_index.numpy()[near[0], near[1]]  # (S, S) face of every texel
    bc = bary.numpy()[near[0], near[1]].astype(np.float64)  # (S, S, 3)
    corners = faces[fi]  # (S, S, 3)
    pos = (bc[..., None] * verts[corners]).sum(-2)  # (S, S, 3)
    part = labels[np.take_along_axis(corners, bc.argmax(-1)[..., None], -1)[..., 0]]

    comp = _components(faces, len(verts))
    main = np.bincount(comp).argmax()
    comp_texel = comp[corners[..., 0]]
    eyes = np.zeros((s, s), bool)
    mouth = np.zeros((s, s), bool)
    eye_centres = []
    eye_ids: list[int] = []
    mouth_y = None
    for c in np.unique(comp):
        if c == main:
            continue
        centre = verts[comp == c].mean(0)
        if abs(centre[0]) > 0.01:
            eyes |= comp_texel == c
            eye_centres.append(centre)
            eye_ids.append(int(c))
        else:
            mouth |= comp_texel == c
            mouth_y = float(centre[1])

    head_v = verts[labels == _J["head"]]
    y_top = float(head_v[:, 1].max())
    j_head = joints[_J["head"]]
    if eye_centres:
        y_eye = float(np.mean([c[1] for c in eye_centres]))
        x_eye = float(np.mean([abs(c[0]) for c in eye_centres]))
    else:  # typical proportions when the mesh has no eyeballs
        y_eye = float(j_head[1] + 0.27 * (y_top - j_head[1]))
        x_eye = 0.032
    z_eye = float(head_v[np.abs(head_v[:, 1] - y_eye) < 0.01][:, 2].max()) if len(head_v) else 0.1
    if mouth_y is None:
        mouth_y = y_eye - 0.75 * (y_top - y_eye)
    near_mouth = head_v[(np.abs(head_v[:, 1] - mouth_y) < 0.008) & (np.abs(head_v[:, 0]) < 0.01)]
    z_mouth = float(near_mouth[:, 2].max()) if len(near_mouth) else z_eye
    z_eyeball = float(verts[np.isin(comp, eye_ids), 2].max()) if eye_ids else z_eye
    lm = {
        "y_top": y_top,
        "y_eye": y_eye,
        "x_eye": x_eye,
        "z_eye": z_eye,
        "y_mouth": float(mouth_y),
        "z_mouth": z_mouth,
        "z_eyeball": z_eyeball,
        "z_head": float(j_head[2]),
        "y_head": float(j_head[1]),
        "y_neck": float(joints[_J["neck"], 1]),
        "y_shoulder": float(joints[_J["left_shoulder"], 1]),
        "y_spine1": float(joints[_J["spine1"], 1]),
        "y_pelvis": float(joints[_J["pelvis"], 1]),
        "y_hip": float(joints[_J["left_hip"], 1]),
        "y_knee": float(joints[_J["left_knee"], 1]),
        "y_ankle": float(joints[_J["left_ankle"], 1]),
    }

    flat = pos.reshape(-1, 3)
    left = flat[:, 0] > 0
    arm_t = np.where(
        left,
        _chain_param(flat, joints[[_J["left_shoulder"], _J["left_elbow"], _J["left_wrist"]]]),
        _chain_param(flat, joints[[_J["right_shoulder"], _J["right_elbow"], _J["right_wrist"]]]),
    )
    leg_t = np.where(
        left,
        _chain_param(flat, joints[[_J["left_hip"], _J["left_knee"], _J["left_ankle"]]]),
        _chain_param(flat, joints[[_J["right_hip"], _J["right_knee"], _J["right_ankle"]]]),
    )
    part_flat = part.reshape(-1)
    is_arm = np.isin(part_flat, [_J[n] for n in _ARM + _HAND])
    is_leg = np.isin(part_flat, [_J[n] for n in _LEG + _FOOT])
    arm_t = np.where(is_arm, arm_t, 0.0)
    leg_t = np.where(is_leg, leg_t, 0.0)

    # Stripe coordinates: along = height (torso, legs, head) or distance along the arm; around =
    # arc length around the torso / leg / arm axis (front = 0).
    x, y, z = flat[:, 0], flat[:, 1], flat[:, 2]
    sh = joints[_J["left_shoulder"]]
    along = np.where(is_arm, sh[1] - (np.abs(x) - sh[0]), y)
    around_torso = 0.15 * np.arctan2(x, z - joints[_J["spine2"], 2])
    knee_x = np.where(left, joints[_J["left_knee"], 0], joints[_J["right_knee"], 0])
    around_leg = 0.075 * np.arctan2(x - knee_x, z - joints[_J["left_knee"], 2])
    around_arm = 0.045 * np.arctan2(y - sh[1], z - sh[2]) * np.sign(x)
    thigh_or_below = is_leg & (y < joints[_J["pelvis"], 1] - 0.12)
    around = np.where(is_arm, around_arm, np.where(thigh_or_below, around_leg, around_torso))
    head_phi = np.abs(np.arctan2(x, z - j_head[2]))

    rng = np.random.default_rng(20240611)
    noise_low = _wave_bank(flat, 6, (0.25, 0.8), rng)
    noise_mid = _wave_bank(flat, 6, (0.06, 0.18), rng)
    grain = rng.normal(size=(2, s, s)).astype(np.float32)
    grain = ndimage.uniform_filter(grain, size=(1, 2, 2)) * 2.0

    def t(a: np.ndarray, dtype=torch.float32) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)

    return UVAtlas(
        size=s,
        covered=torch.from_numpy(covered),
        part=t(part.reshape(s, s), torch.long),
        position=t(pos.transpose(2, 0, 1)),
        eyes=torch.from_numpy(eyes),
        mouth=torch.from_numpy(mouth),
        arm_t=t(arm_t.reshape(s, s)),
        leg_t=t(leg_t.reshape(s, s)),
        along=t(along.reshape(s, s)),
        around=t(around.reshape(s, s)),
        head_phi=t(head_phi.reshape(s, s)),
        landmarks=lm,
        noise_low=t(noise_low.reshape(-1, s, s)),
        noise_mid=t(noise_mid.reshape(-1, s, s)),
        grain=t(grain),
    )


_ATLAS_CACHE: dict[tuple[str, int], UVAtlas] = {}
_ATLAS_LOCK = threading.Lock()


def get_atlas(body, size: int = 256) -> UVAtlas:
    """:func:`build_atlas`, cached per body model file and size."""
    if getattr(body, "face_uvs", None) is None:
        raise ValueError(f"body model {getattr(body, 'name', '?')!r} has no UVs; procedural textures need a UV layout")
    key = (f"{body.info.sha256}:{body.num_vertices}", int(size))
    with _ATLAS_LOCK:
        atlas = _ATLAS_CACHE.get(key)
        if atlas is None:
            atlas = build_atlas(body, size)
            _ATLAS_CACHE[key] = atlas
    return atlas


# --------------------------------------------------------------------------------------------
# The sampler.


def _rgb(c: np.ndarray | tuple[float, float, float]) -> Tensor:
    return torch.tensor(np.asarray(c, dtype=np.float32)).view(3, 1, 1)


def _fract(x: Tensor) -> Tensor:
    """``x - floor(x)`` in ``[0, 1)`` (``torch.frac`` keeps the sign of negative numbers)."""
    return x - torch.floor(x)


def _smoothstep(x: Tensor, lo: float, hi: float) -> Tensor:
    t = ((x - lo) / max(hi - lo, 1e-6)).clamp_(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class TextureSampler:
    """Draws random clothed-person UV textures for one body model.

    Args:
        body: a :class:`~model.body.model.BodyModel` with UVs (the embedded free model has them).
        size: texture side S (256 or 512; any size works).

    :meth:`sample` returns a ``(3, S, S)`` float32 albedo in ``[0, 1]`` in the renderer's texture
    layout (row 0 = top = ``v = 1``); pass ``texture[None]`` with ``body.face_uvs`` to
    :meth:`MeshRenderer.render`.  The result depends only on the generator's state.
    """

    def __init__(
        self,
        body,
        size: int = 256,
        pool: str = "train",
        photos: PhotoPatchSampler | None = None,
        photo_prob: float = 0.2,
        clothing: ClothingConfig = ClothingConfig(),
    ) -> None:
        self.size = int(size)
        self.pool = check_pool(pool)
        if photos is not None and photos.pool != pool:
            raise ValueError(f"photo patches of the {photos.pool!r} pool given to a {pool!r} texture sampler")
        if not 0.0 <= photo_prob <= 1.0:
            raise ValueError(f"photo_prob must be in [0, 1], got {photo_prob}")
        self.photos = photos
        self.photo_prob = float(photo_prob)
        self.clothing = clothing
        self._table = _CLOTH if pool == "train" else _CLOTH_HELDOUT
        self.atlas = get_atlas(body, self.size)
        a = self.atlas
        extra = a.eyes | a.mouth
        self._head = a.group(_HEAD) & ~extra
        self._neck = a.group(_NECK)
        self._torso = a.group(_TORSO)
        self._arm = a.group(_ARM)
        self._hand = a.group(_HAND)
        self._leg = a.group(_LEG)
        self._foot = a.group(_FOOT)
        self._x = a.position[0]
        self._y = a.position[1]
        self._z = a.position[2]
        self._absx = self._x.abs()
        lm = a.landmarks
        self._front = self._z > 0.0
        # Static face features.
        face_front = self._head & (a.head_phi < 0.9)
        dx_eye = (self._absx - lm["x_eye"]).abs()
        self._brows = (
            face_front
            & (dx_eye < 0.021)
            & (self._y > lm["y_eye"] + 0.014 + 0.25 * dx_eye)
            & (self._y < lm["y_eye"] + 0.023 + 0.25 * dx_eye)
            & (self._z > lm["z_eye"] - 0.03)
        )
        self._lips = (
            face_front
            & (self._absx < 0.024 - 0.25 * (self._y - lm["y_mouth"]).abs())
            & ((self._y - lm["y_mouth"]).abs() < 0.011)
            & (self._z > lm["z_mouth"] - 0.012)
        )
        # the eye sockets: at 32-64 px a face reads as a light oval crossed by a dark band at the eyes
        # (brows, lashes, the sockets' shadow), the cue a face detector keys on; the back of the head
        # has none
        self._eye_band = (
            face_front
            & (dx_eye < 0.03)
            & ((self._y - lm["y_eye"] - 0.004).abs() < 0.013)
            & (self._z > lm["z_eye"] - 0.035)
        )
        self._iris = a.eyes & (self._z > lm["z_eyeball"] - 0.006)
        self._pupil = a.eyes & (self._z > lm["z_eyeball"] - 0.0025)
        self._features = {
            name: torch.nonzero(mask.reshape(-1)).squeeze(1)
            for name, mask in (
                ("brows", self._brows),
                ("lips", self._lips),
                ("sclera", a.eyes),
                ("iris", self._iris),
                ("pupil", self._pupil),
                ("mouth", a.mouth),
            )
        }
        self._feature_region = {
            "brows": REGION["brows"], "lips": REGION["lips"], "sclera": REGION["eyes"],
            "iris": REGION["eyes"], "pupil": REGION["eyes"], "mouth": REGION["mouth"],
        }  # fmt: skip
        self._cheek = self._head & (a.head_phi < 1.3)
        self._ears = (
            self._head
            & ((a.head_phi - 1.55).abs() < 0.45)
            & (self._y < lm["y_eye"] + 0.025)
            & (self._y > lm["y_mouth"])
        )

    # ----------------------------------------------------------------------------------------
    @property
    def covered(self) -> Tensor:
        """``(S, S)`` bool: texels inside some UV triangle."""
        return self.atlas.covered

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """One texture ``(3, S, S)`` float32 in ``[0, 1]``."""
        return self._sample(generator, want_regions=False)[0]

    def sample_with_outfit(self, generator: torch.Generator | None = None) -> tuple[Tensor, Outfit]:
        """One texture and the :class:`~model.data.clothing.Outfit` (garment geometry, bags) drawn with it."""
        texture, _, outfit = self._sample(generator, want_regions=False)
        return texture, outfit

    def sample_with_regions(self, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """One texture and its region map ``(S, S)`` uint8 (values index :data:`REGIONS`)."""
        texture, regions, _ = self._sample(generator, want_regions=True)
        assert regions is not None
        return texture, regions

    def sample_batch(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` textures ``(n, 3, S, S)``."""
        out = torch.empty(n, 3, self.size, self.size)
        for i in range(n):
            out[i] = self._sample(generator, want_regions=False)[0]
        return out

    # ----------------------------------------------------------------------------------------
    def _noise(self, r: BlockDraws, bank: Tensor) -> Tensor:
        i = r.index(bank.shape[0])
        j = (i + 1 + r.index(bank.shape[0] - 1)) % bank.shape[0]
        ang = r.u(0.0, 2.0 * math.pi)
        return bank[i] * math.cos(ang) + bank[j] * math.sin(ang)

    def _pattern(self, r: BlockDraws, base: np.ndarray, upper: bool, recipe: list[str]) -> Tensor:
        """A garment's albedo over the whole map: ``(3, S, S)`` or ``(3, 1, 1)`` for solid colours.

        Upper garments: 45% plain, lower garments 80%; the rest a photo patch (when the pool has
        photos, :attr:`photo_prob` of them) or one of the pool's :data:`PATTERN_KINDS`. The kind
        drawn is appended to ``recipe``.
        """
        a = self.atlas
        c0 = _rgb(base)
        table = self._table
        if r.u() < (0.45 if upper else 0.8):  # plain, sometimes with fabric grain (denim, heather)
            recipe.append("plain")
            if r.chance(0.35):
                return c0 + (0.25 * c0 + 0.02) * r.u(0.1, 0.35) * a.grain[r.index(2)]
            return c0
        photo = r.chance(self.photo_prob)
        photo_seed = int(r.u() * 2**62)
        if photo and self.photos is not None and self.photos.available:
            recipe.append("photo")
            return self.photos.fabric(torch.Generator().manual_seed(photo_seed), a.around, a.along, c0)
        kinds = [k for k in PATTERN_KINDS[self.pool] if upper or k != "print"]
        kind = kinds[r.index(len(kinds))]
        recipe.append(kind)
        c1 = _rgb(_contrasting(base, r, table))
        if kind == "stripes_across":  # rings around the body and limbs
            period = math.exp(r.u(math.log(0.012), math.log(0.12)))
            bit = _fract(a.along * (1.0 / period) + r.u(0.0, 50.0)) < r.u(0.15, 0.6)
            return torch.addcmul(c0, c1 - c0, bit.float())
        if kind == "stripes_along":
            period = math.exp(r.u(math.log(0.012), math.log(0.08)))
            bit = _fract(a.around * (1.0 / period) + r.u(0.0, 50.0)) < r.u(0.1, 0.5)
            return torch.addcmul(c0, c1 - c0, bit.float())
        if kind == "checks":
            period = math.exp(r.u(math.log(0.015), math.log(0.07)))
            b1 = _fract(a.along * (1.0 / period) + r.u(0.0, 50.0)) < 0.5
            b2 = _fract(a.around * (1.0 / period) + r.u(0.0, 50.0)) < 0.5
            return torch.addcmul(c0, c1 - c0, (b1 ^ b2).float())
        if kind == "plaid":  # two band sets blended over the base, plus thin lines
            c2 = _rgb(_contrasting(base, r, table))
            period = r.u(0.04, 0.12)
            b1 = (_fract(a.along * (1.0 / period) + r.u(0.0, 50.0)) < r.u(0.2, 0.45)).float()
            b2 = (_fract(a.around * (1.0 / period) + r.u(0.0, 50.0)) < r.u(0.2, 0.45)).float()
            w = r.u(0.4, 0.7)
            out = torch.addcmul(c0, (c1 - c0) * w, b1)
            out = torch.addcmul(out, (c2 - c0) * w, b2)
            if r.chance(0.6):
                line = (_fract(a.along * (1.0 / period) + 0.7) < 0.06) | (
                    _fract(a.around * (1.0 / period) + 0.7) < 0.06
                )
                out = torch.addcmul(out, _rgb(_contrasting(base, r, table)) - out, line.float())
            return out
        if kind == "camouflage":  # smooth noise quantised into 3-4 colours
            earthy = [np.array(c) for c in _EARTHY]
            if r.chance(0.6):
                cols = [_jitter(earthy[(k + r.index(4)) % 4], r, 0.1, 0.02) for k in range(4)]
            else:
                cols = [base, _contrasting(base, r, table), _contrasting(base, r, table), np.clip(base * 0.5, 0.02, 1)]
            n = self._noise(r, a.noise_mid)
            out = _rgb(cols[0]).expand(3, self.size, self.size)
            for k, thr in enumerate((-0.5, 0.2, 0.9)):
                out = torch.addcmul(out, _rgb(cols[k + 1]) - out, (n > thr + r.u(-0.2, 0.2)).float())
            return out
        if kind == "print":  # print / logo on the chest or back
            centre_y = self.atlas.landmarks["y_shoulder"] - r.u(0.08, 0.2)
            half_h, half_w = r.u(0.03, 0.09), r.u(0.03, 0.12)
            side = self._front if r.chance(0.75) else ~self._front
            box = ((self._y - centre_y).abs() < half_h) & (self._absx < half_w) & side
            if r.chance(0.35):  # round badge
                box = side & (((self._y - centre_y) ** 2 + self._x**2) < half_h**2)
            out = torch.addcmul(c0, c1 - c0, box.float())
            if r.chance(0.5):  # lettering-like bars inside the print
                bars = (
                    box
                    & (_fract(self._y * (1.0 / r.u(0.012, 0.03))) < 0.45)
                    & (_fract(self._x * (1.0 / r.u(0.01, 0.04)) + 0.3) < 0.7)
                )
                out = torch.addcmul(out, _rgb(_contrasting(base, r, table)) - out, bars.float())
            return out
        # colour block: a band across the chest / thighs, or a yoke
        lo = r.u(-0.5, 0.45)
        band = (self._y > lo) & (self._y < lo + r.u(0.05, 0.25))
        return torch.addcmul(c0, c1 - c0, band.float())

    def _sample(self, generator: torch.Generator | None, want_regions: bool) -> tuple[Tensor, Tensor | None, Outfit]:
        a = self.atlas
        lm = a.landmarks
        r = BlockDraws(generator, block=128)
        y = self._y
        s = self.size

        # ---- the outfit -------------------------------------------------------------------
        dress = r.chance(0.07)
        p = r.u()
        if p < 0.1:
            sleeve = r.u(-0.2, -0.02)  # sleeveless
        elif p < 0.52:
            sleeve = r.u(0.3, 0.75)  # short sleeves
        elif p < 0.6:
            sleeve = r.u(1.1, 1.6)  # three-quarter
        else:
            sleeve = r.u(2.02, 2.2)  # long
        p = r.u()
        skirt = dress or p < 0.1
        if skirt:
            leg = r.u(0.35, 1.5)
        elif p < 0.62:
            leg = 2.2  # trousers to the shoes
        elif p < 0.84:
            leg = r.u(0.3, 0.85)  # shorts
        else:
            leg = r.u(1.25, 1.75)  # capri / cropped
        # silhouette-changing garments (their geometry: model.data.clothing)
        cc = self.clothing
        q = r.u()
        coat = not skirt and q < cc.coat_prob
        padded = not skirt and not coat and q < cc.coat_prob + cc.padded_prob
        if coat or padded:
            sleeve = r.u(2.02, 2.2)
        coat_hem = r.u(0.35, 1.1) if coat else None
        if coat:
            puff = r.u(0.01, 0.03)
        elif padded:
            puff = r.u(0.02, 0.05)
        else:
            puff = r.u(0.0, 0.015) if r.chance(cc.loose_prob) else 0.0
        skirt_flare = r.u(0.0, 0.35) if dress or r.chance(0.5) else r.u(0.0, 0.1)
        waist = r.u(lm["y_pelvis"] - 0.06, lm["y_spine1"] + 0.02) if not dress else lm["y_spine1"]
        lower = (self._torso & (y < waist)) | ((self._leg | self._foot) & (a.leg_t < leg) & (y < waist))
        upper = ((self._torso | self._leg) & (y >= waist)) | (self._arm & (a.arm_t < sleeve))
        if dress:
            lower = lower | ((self._leg | self._foot) & (a.leg_t < leg))
        if coat_hem is not None:
            upper = upper | ((self._leg | self._foot) & (a.leg_t < coat_hem))
        # neckline: crew, V or scoop; rarely a turtleneck
        if r.chance(0.05):
            upper = upper | (self._neck & (y < lm["y_neck"] + r.u(0.0, 0.05)))
        else:
            y_nl = lm["y_neck"] - r.u(0.005, 0.035)
            depth = r.u(0.0, 0.12) if r.chance(0.4) else 0.0
            width = r.u(0.04, 0.1)
            cut = y > y_nl - depth * (1.0 - self._absx / width).clamp(min=0.0) * self._front.float()
            upper = upper & ~(self._torso & cut)
        # the front of a top: an open jacket, cardigan or overshirt shows the layer beneath in a band
        # down the front (wider at the chest: lapels); a closed one often shows its zip or button
        # placket as a line. Both only on the front, where real people show them (ClothingConfig.front_cues).
        front_torso = self._torso & self._front
        opening = placket = None
        if cc.front_cues and sleeve > 1.0 and r.chance(0.55 if coat or padded else 0.3):
            half = r.u(0.025, 0.08)
            lapel = r.u(0.0, 0.8) * ((y - waist) / max(lm["y_neck"] - waist, 1e-3)).clamp(0.0, 1.0)
            opening = front_torso & (self._absx < half * (1.0 + lapel))
        elif cc.front_cues and r.chance(0.35):
            placket = front_torso & (self._absx < r.u(0.004, 0.01))
        # shoes and socks
        q = r.u()
        shoe_h = r.u(-0.01, 0.03) if q < 0.72 else (r.u(0.03, 0.06) if q < 0.88 else r.u(0.06, 0.16))
        shoes = (self._foot | self._leg) & (y < lm["y_ankle"] + shoe_h)
        socks = None
        if leg < 1.9 and r.chance(0.5):
            socks = (self._foot | self._leg) & (y < lm["y_ankle"] + shoe_h + r.u(0.03, 0.15))
        # hair
        h = lm["y_top"] - lm["y_eye"]
        hair = None
        if not r.chance(0.05):  # not bald
            y_front = lm["y_eye"] + h * (r.u(0.15, 0.3) if r.chance(0.12) else r.u(0.3, 0.55))
            style = r.u()
            if style < 0.5:  # short
                y_back = lm["y_eye"] - h * r.u(0.25, 0.75)
            elif style < 0.8:  # medium: down to the nape
                y_back = lm["y_mouth"] - h * r.u(0.0, 0.4)
            else:  # long: also falls on the upper back
                y_back = lm["y_neck"] - r.u(0.0, 0.03)
            phi0 = r.u(0.85, 1.15)
            thr = y_front + (y_back - y_front) * _smoothstep(a.head_phi, phi0, phi0 + r.u(0.3, 0.7))
            hair = (self._head | self._neck) & (y > thr)
            # in front of the ears hair stops at the sideburns (long hair: at the mouth, further back)
            sideburn = self._cheek & (y < lm["y_eye"] - h * r.u(0.0, 0.3))
            if style >= 0.8:
                sideburn = (sideburn & (a.head_phi < 1.1)) | (self._cheek & (y < lm["y_mouth"]))
            hair = hair & ~sideburn
            if style < 0.5:
                hair = hair & ~self._ears
            elif style >= 0.8:
                w = r.u(0.06, 0.14)
                length = r.u(0.0, 0.25)
                hair = hair | (
                    (self._torso | self._neck)
                    & ~self._front
                    & (self._absx < w)
                    & (y > lm["y_shoulder"] + 0.06 - length)
                )
        headwear = None
        if r.chance(0.08):
            headwear = (
                self._head & (y > lm["y_eye"] + h * r.u(0.35, 0.6)) & ((a.head_phi > 0.9) | (y > lm["y_eye"] + h * 0.3))
            )

        # ---- colours ------------------------------------------------------------------------
        skin = _skin_colour(r)
        hair_rgb = _HAIR[0][r.pick(_HAIR[1])] * (1.0 + r.u(-0.1, 0.1))
        table = self._table
        recipe: list[str] = []
        upper_rgb = _clothing_colour(r, table)
        lower_rgb = (
            upper_rgb
            if dress
            else (
                _jitter(np.array([0.12, 0.18, 0.33]), r)
                if (self.pool == "train" and not skirt and r.chance(0.3))
                else _clothing_colour(r, table)
            )
        )
        shoe_rgb = _jitter(_SHOE[0][r.pick(_SHOE[1])], r, 0.1, 0.02)
        sock_rgb = _jitter(np.array((0.88, 0.88, 0.86) if r.chance(0.5) else (0.05, 0.05, 0.05)), r, 0.1, 0.02)
        iris_rgb = _IRIS[0][r.pick(_IRIS[1])]

        # ---- composition --------------------------------------------------------------------
        tex = torch.addcmul(_rgb(skin), _rgb(skin), self._noise(r, a.noise_low), value=0.04)
        upper_tex = self._pattern(r, upper_rgb, upper=True, recipe=recipe)
        lower_tex = upper_tex if dress else self._pattern(r, lower_rgb, upper=False, recipe=recipe)

        layers: list[tuple[Tensor, Tensor | None, int]] = [
            (lower, lower_tex, REGION["lower"]),
            (upper, upper_tex, REGION["upper"]),
        ]
        if opening is not None:
            q = r.u()
            inner = (
                _jitter(np.full(3, 0.86), r, 0.12, 0.02) if q < 0.45
                else _jitter(np.full(3, 0.06), r, 0.3, 0.02) if q < 0.65
                else _contrasting(upper_rgb, r, table)
            )  # fmt: skip
            if np.abs(inner - upper_rgb).sum() < 0.25:  # a white shirt under a white jacket shows nothing
                inner = _contrasting(upper_rgb, r, table)
            layers.append((upper & opening, _rgb(inner), REGION["upper"]))
        if placket is not None:
            line = np.clip(upper_rgb * 0.45, 0.02, 1.0) if upper_rgb.mean() > 0.3 else _contrasting(upper_rgb, r, table)
            layers.append((upper & placket, _rgb(line), REGION["upper"]))
        if socks is not None:
            layers.append((socks, _rgb(sock_rgb), REGION["socks"]))
        layers.append((shoes, _rgb(shoe_rgb), REGION["shoes"]))
        if hair is not None:
            hair_tex = torch.addcmul(_rgb(hair_rgb), _rgb(hair_rgb * 0.12 + 0.005), self._noise(r, a.noise_mid))
            hair_tex = torch.addcmul(hair_tex, _rgb(hair_rgb * 0.1 + 0.005), a.grain[r.index(2)])
            layers.append((hair, hair_tex, REGION["hair"]))
        if headwear is not None:
            layers.append((headwear, _rgb(_clothing_colour(r, table)), REGION["headwear"]))
        regions = torch.full((s, s), float(REGION["skin"])) if want_regions else None
        for mask, value, label in layers:
            m = mask.float()
            tex = torch.lerp(tex, value.expand(3, s, s) if value.shape[-1] == 1 else value, m)
            if regions is not None:
                regions = torch.lerp(regions, torch.full_like(regions, float(label)), m)
        # small fixed face features: written through precomputed texel indices (cheap)
        brow_rgb = skin * 0.5 if hair is None else np.minimum(skin * 0.6, 0.5 * skin + 0.5 * hair_rgb)
        lip_rgb = np.clip(skin * np.array([0.85, 0.68, 0.68]) + np.array([0.03, 0.0, 0.0]), 0, 1)
        features = (
            ("brows", brow_rgb),
            ("lips", lip_rgb),
            ("sclera", (0.82, 0.80, 0.77)),
            ("iris", iris_rgb),
            ("pupil", (0.02, 0.02, 0.02)),
            ("mouth", (0.30, 0.08, 0.08)),
        )
        if cc.front_cues:
            tex = torch.where(self._eye_band, tex * r.u(0.6, 0.8), tex)
        flat = tex.view(3, -1)
        for name, rgb in features:
            idx = self._features[name]
            flat[:, idx] = torch.tensor(np.asarray(rgb, dtype=np.float32))[:, None]
            if regions is not None:
                regions.view(-1)[idx] = float(self._feature_region[name])
        # shading variation (folds, dirt, wear): smooth multiplicative noise
        tex = tex * (1.0 + r.u(0.02, 0.1) * self._noise(r, a.noise_low))
        tex = tex.clamp_(0.0, 1.0)
        if regions is not None:
            regions = regions.round().to(torch.uint8)
        # carried things: a backpack and / or a bag
        backpack = None
        if r.chance(cc.backpack_prob):
            backpack = (r.u(0.24, 0.36), r.u(0.3, 0.46), r.u(0.12, 0.24))
        q = r.u()
        bag = None
        if q < cc.shoulder_bag_prob + cc.hand_bag_prob:
            bag = ("shoulder" if q < cc.shoulder_bag_prob else "hand", "left" if r.chance(0.5) else "right")
        dark = np.array([0.05, 0.05, 0.06])
        backpack_rgb = _jitter(dark, r, 0.3, 0.03) if r.chance(0.55) else _clothing_colour(r, table)
        bag_rgb = _jitter(np.array([0.2, 0.12, 0.07]), r, 0.3, 0.05) if r.chance(0.4) else _clothing_colour(r, table)
        outfit = Outfit(
            skirt_hem=float(leg) if skirt and cc.skirt_geometry else None,
            skirt_flare=skirt_flare,
            coat_hem=coat_hem,
            puff=puff,
            sleeve=sleeve,
            backpack=backpack,
            bag=bag,
            bag_size=(r.u(0.22, 0.38), r.u(0.18, 0.32), r.u(0.05, 0.11)),
            backpack_rgb=tuple(float(c) for c in backpack_rgb),
            bag_rgb=tuple(float(c) for c in bag_rgb),
            recipe=tuple(recipe),
            colours=(tuple(float(c) for c in upper_rgb), tuple(float(c) for c in lower_rgb)),
            front="open" if opening is not None else "placket" if placket is not None else None,
        )
        return tex, regions, outfit
