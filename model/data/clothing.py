"""Clothing and carried things that change a person's silhouette: geometry, not paint.

An identity's :class:`Outfit` is drawn with its texture (:class:`~model.data.textures.TextureSampler`,
so a skirt's geometry and its paint agree) and applied to the posed body by :class:`ClothingRig`:

* **skirts and dresses**: the thigh (and shin, for long skirts) vertices above the hem are moved
  onto a cone that spans both legs: each leg's own angle around its bone (0 outwards, pi inwards)
  is halved onto its side of the cone, so the inner thighs meet at the front and back centre
  lines and the gap between the legs closes; the cone widens by ``flare`` metres per thigh length,
  its section is an ellipse as wide as the legs are apart but only a little deeper than a leg
  (fabric stretched between spread legs), and it follows the posed hips, knees and ankles (it
  tilts with a walking stride and lies over the thighs when sitting);
* **coats**: the same cone, tighter, from the hips to the coat's hem, with the upper garment's
  colour painted down to the hem;
* **loose and padded garments**: torso and sleeve vertices pushed outwards along the vertex
  normals by ``puff`` metres (1 cm for a loose shirt, up to 5 cm for a padded jacket);
* **backpacks and bags**: extra closed meshes (rounded boxes, :data:`ACCESSORY_SLOTS`) appended
  to the body mesh: a backpack on the back in the frame of the spine3 / shoulder joints, a bag
  hanging (along gravity) at the hip from a shoulder, or below a hand. Absent accessories have
  all their vertices at one point, so their faces are degenerate and the rasteriser drops them;
  the mesh topology is the same for every sample and batching is unchanged.

The ground-truth joints and keypoints stay those of the body (the garments are offsets of its
surface, not a new body). The rendered ``silhouette`` of :class:`~model.data.synthetic.SyntheticPeople`
includes clothing and carried bags (what a person detector or segmenter outlines); the texture
network only reads UV textures and images, never the silhouette.

Accessory faces sample a reserved corner of the UV texture that no body face reaches
(:meth:`ClothingRig.paint_accessories` writes the accessory colours there at render time; the
identity's stored texture is not changed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from model.body.joint_names import SMPL_JOINT_NAMES

_J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}

#: Accessory mesh slots appended to the body mesh, in order.
ACCESSORY_SLOTS: tuple[str, ...] = ("backpack", "bag")

#: Bag kinds of :attr:`Outfit.bag`.
BAG_KINDS: tuple[str, ...] = ("shoulder", "hand")

#: Side of the reserved UV corner patch, as a fraction of the texture side.
_PATCH = 24.0 / 256.0


@dataclass(frozen=True)
class ClothingConfig:
    """How often silhouette-changing clothing and accessories appear (per identity).

    Attributes:
        coat_prob: long coat (cone from the hips to mid-thigh/knee) over trousers.
        padded_prob: padded / puffy jacket (torso and sleeves 2-5 cm thicker).
        loose_prob: loose top (up to 1.5 cm off the body); tight otherwise.
        skirt_geometry: give the texture's skirts and dresses their cone geometry.
        backpack_prob: backpack on the back.
        shoulder_bag_prob: bag hanging at the hip from a shoulder.
        hand_bag_prob: bag carried in one hand.
        front_cues: show the front as real people do (:class:`~model.data.textures.TextureSampler`):
            an open jacket's band of the layer beneath or a zip line down the front of a top, and the
            eyes' dark band across the face. Off (the default): the issue-14 generator, draw for draw.
    """

    coat_prob: float = 0.12
    padded_prob: float = 0.12
    loose_prob: float = 0.5
    skirt_geometry: bool = True
    backpack_prob: float = 0.18
    shoulder_bag_prob: float = 0.1
    hand_bag_prob: float = 0.07
    front_cues: bool = False

    def __post_init__(self) -> None:
        for name in ("coat_prob", "padded_prob", "loose_prob", "backpack_prob", "shoulder_bag_prob", "hand_bag_prob"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if self.coat_prob + self.padded_prob > 1.0:
            raise ValueError("coat_prob + padded_prob must be <= 1")
        if self.shoulder_bag_prob + self.hand_bag_prob > 1.0:
            raise ValueError("shoulder_bag_prob + hand_bag_prob must be <= 1")


@dataclass(frozen=True)
class Outfit:
    """The silhouette-changing part of an identity's clothing.

    Attributes:
        skirt_hem: skirt / dress hem as a leg coordinate (0 hip, 1 knee, 2 ankle), or ``None``.
        skirt_flare: extra cone radius per thigh length (metres).
        coat_hem: coat hem (leg coordinate), or ``None``.
        puff: outward offset of the upper garment (metres).
        sleeve: sleeve end as an arm coordinate (0 shoulder, 1 elbow, 2 wrist).
        backpack: ``(width, height, depth)`` in metres, or ``None``.
        bag: ``None`` or ``(kind, side)``: kind in :data:`BAG_KINDS`, side ``"left"``/``"right"``.
        bag_size: ``(width, height, thickness)`` in metres.
        backpack_rgb, bag_rgb: albedo of the accessories.
        recipe: the garment pattern kinds drawn (upper, then lower unless a dress).
        colours: upper and lower garment colours after jitter.
        front: what the front of the top shows: ``"open"`` (an open jacket or cardigan: a band of the
            layer beneath down the front), ``"placket"`` (a zip or button line) or ``None``.
    """

    skirt_hem: float | None = None
    skirt_flare: float = 0.0
    coat_hem: float | None = None
    puff: float = 0.0
    sleeve: float = 2.1
    backpack: tuple[float, float, float] | None = None
    bag: tuple[str, str] | None = None
    bag_size: tuple[float, float, float] = (0.3, 0.25, 0.08)
    backpack_rgb: tuple[float, float, float] = (0.1, 0.1, 0.1)
    bag_rgb: tuple[float, float, float] = (0.1, 0.1, 0.1)
    recipe: tuple[str, ...] = ()
    colours: tuple[tuple[float, ...], ...] = ()
    front: str | None = None


def _rounded_box(n_lon: int = 12, n_lat: int = 8, power: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """A closed superellipsoid with half-extents 1: vertices ``(N, 3)`` and faces ``(F, 3)``."""
    verts = [(0.0, 1.0, 0.0)]
    for i in range(1, n_lat):
        th = math.pi * i / n_lat
        for j in range(n_lon):
            ph = 2 * math.pi * j / n_lon
            sy = math.copysign(abs(math.cos(th)) ** power, math.cos(th))
            st = abs(math.sin(th)) ** power
            verts.append((st * math.copysign(abs(math.cos(ph)) ** power, math.cos(ph)), sy,
                          st * math.copysign(abs(math.sin(ph)) ** power, math.sin(ph))))  # fmt: skip
    verts.append((0.0, -1.0, 0.0))
    faces = []
    last = len(verts) - 1
    for j in range(n_lon):
        faces.append((0, 1 + (j + 1) % n_lon, 1 + j))
    for i in range(n_lat - 2):
        a, b = 1 + i * n_lon, 1 + (i + 1) * n_lon
        for j in range(n_lon):
            k = (j + 1) % n_lon
            faces += [(a + j, a + k, b + j), (a + k, b + k, b + j)]
    base = 1 + (n_lat - 2) * n_lon
    for j in range(n_lon):
        faces.append((base + j, base + (j + 1) % n_lon, last))
    return np.asarray(verts, np.float32), np.asarray(faces, np.int64)


def _smoothstep(x: Tensor, lo: float, hi: float) -> Tensor:
    t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _unit(x: Tensor) -> Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1e-8)


class ClothingRig:
    """Applies :class:`Outfit` geometry to posed bodies of one body model.

    Args:
        body: a :class:`~model.body.model.BodyModel` (its rest mesh and skinning labels give each
            vertex its garment coordinates once).
    """

    def __init__(self, body) -> None:
        with torch.no_grad():
            neutral = body.neutral()
        rest = neutral.vertices[0].double().cpu().numpy()
        joints = neutral.joints[0].double().cpu().numpy()
        labels = body.part_labels.cpu().numpy()
        self.num_body_vertices = rest.shape[0]
        self.body_faces = body.faces.cpu()
        left = rest[:, 0] > 0
        leg_parts = [_J[n] for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")]
        is_leg = np.isin(labels, leg_parts)
        leg_t = np.zeros(len(rest))
        for side, sel in (("left", left), ("right", ~left)):
            chain = joints[[_J[f"{side}_hip"], _J[f"{side}_knee"], _J[f"{side}_ankle"]]]
            t = _param(rest, chain)
            leg_t = np.where(sel, t, leg_t)
        arm_parts = [_J[n] for n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow")]
        is_arm = np.isin(labels, arm_parts + [_J[n] for n in ("left_wrist", "right_wrist", "left_hand", "right_hand")])
        arm_t = np.zeros(len(rest))
        for side, sel in (("left", left), ("right", ~left)):
            chain = joints[[_J[f"{side}_shoulder"], _J[f"{side}_elbow"], _J[f"{side}_wrist"]]]
            arm_t = np.where(sel, _param(rest, chain), arm_t)
        torso_parts = [_J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar")]
        is_torso = np.isin(labels, torso_parts)
        self.leg_t = torch.from_numpy(np.where(is_leg, leg_t, -1.0)).float()  # -1: not a leg vertex
        self.left = torch.from_numpy(left)
        self.arm_t = torch.from_numpy(np.where(is_arm, arm_t, 99.0)).float()
        self.torso = torch.from_numpy(is_torso & (rest[:, 1] > joints[_J["pelvis"], 1] - 0.12))
        self.is_leg = torch.from_numpy(is_leg)
        # faces that can carry a puffed garment (torso, arms, thighs and knees): normals only there
        puffable = self.torso | (self.arm_t < 2.3) | ((self.leg_t >= 0) & (self.leg_t < 1.2))
        self._puff_faces = self.body_faces[puffable[self.body_faces].any(1)]
        box_v, box_f = _rounded_box()
        self._box_v = torch.from_numpy(box_v)
        self._box_f = torch.from_numpy(box_f)
        nb = len(box_v)
        self.num_accessory_vertices = nb * len(ACCESSORY_SLOTS)
        faces = [self.body_faces] + [self._box_f + self.num_body_vertices + k * nb for k in range(len(ACCESSORY_SLOTS))]
        self.faces = torch.cat(faces)  # (F + Fa, 3)

    # ------------------------------------------------------------------------------------
    def face_uvs(self, body_face_uvs: Tensor) -> Tensor:
        """``(F + Fa, 3, 2)``: the body's face UVs, then the accessories' (each slot samples the
        centre of its half of the reserved corner patch)."""
        fa = self._box_f.shape[0]
        uvs = [body_face_uvs.cpu()]
        for k in range(len(ACCESSORY_SLOTS)):
            u = 1.0 - _PATCH / 2
            v = 1.0 - _PATCH * (0.25 + 0.5 * k)  # v = 1 is the top row
            uvs.append(torch.tensor([u, v]).expand(fa, 3, 2))
        return torch.cat(uvs).to(body_face_uvs.device).float()

    def paint_accessories(self, texture: Tensor, outfit: Outfit) -> Tensor:
        """Write the accessory colours into the reserved corner of ``texture`` ``(3, T, T)`` (in place)."""
        t = texture.shape[-1]
        p = max(4, round(_PATCH * t))
        half = p // 2
        like = {"dtype": texture.dtype, "device": texture.device}
        texture[:, :half, t - p :] = torch.tensor(outfit.backpack_rgb, **like).view(3, 1, 1)
        texture[:, half:p, t - p :] = torch.tensor(outfit.bag_rgb, **like).view(3, 1, 1)
        return texture

    # ------------------------------------------------------------------------------------
    def vertex_normals(self, verts: Tensor, faces: Tensor | None = None) -> Tensor:
        """``(V, 3)`` area-weighted unit normals of the body mesh ``verts`` ``(V, 3)`` from ``faces``
        (default: all body faces; vertices on none of them get a zero normal)."""
        f = (self.body_faces if faces is None else faces).to(verts.device)
        v0, v1, v2 = verts[f[:, 0]], verts[f[:, 1]], verts[f[:, 2]]
        fn = torch.cross(v1 - v0, v2 - v0, dim=-1)
        n = torch.zeros_like(verts)
        for k in range(3):
            n.index_add_(0, f[:, k], fn)
        return _unit(n)

    def dress(self, verts: Tensor, joints: Tensor, root: Tensor, up: Tensor, outfit: Outfit) -> Tensor:
        """Clothed vertices ``(V + Va, 3)`` of one posed body.

        Args:
            verts: ``(V, 3)`` posed body vertices (any frame).
            joints: ``(24, 3)`` posed joints (same frame).
            root: ``(3, 3)`` pelvis orientation (columns: body left, up, forward in that frame).
            up: ``(3,)`` world up (against gravity) in that frame; bags hang along ``-up``.
            outfit: what to wear.
        """
        v = verts
        leg_t, left = self.leg_t.to(v.device), self.left.to(v.device)
        if outfit.puff > 0:
            arm = self.arm_t.to(v.device) < outfit.sleeve
            w = (self.torso.to(v.device) | arm).float()
            if outfit.coat_hem is not None:
                w = torch.maximum(w, ((leg_t >= 0) & (leg_t < outfit.coat_hem)).float())
            v = v + self.vertex_normals(v, self._puff_faces) * (outfit.puff * w)[:, None]
        for hem, flare in ((outfit.skirt_hem, outfit.skirt_flare), (outfit.coat_hem, 0.35 * outfit.puff + 0.03)):
            if hem is not None:
                v = self._cone(v, joints, root, leg_t, left, float(hem), float(flare))
        acc = [self._backpack(v, joints, root, outfit), self._bag(joints, root, up, outfit)]
        return torch.cat([v] + acc)

    def _cone(self, v: Tensor, joints: Tensor, root: Tensor, leg_t: Tensor, left: Tensor, hem: float, flare: float) -> Tensor:
        """Move the leg vertices above ``hem`` onto a skirt cone spanning both legs."""
        sel = (leg_t >= 0) & (leg_t < hem)
        if not bool(sel.any()):
            return v
        idx = sel.nonzero().squeeze(1)
        t = leg_t[idx]
        is_left = left[idx]

        def along(side: str) -> Tensor:  # (n, 3) point of the side's leg chain at t
            hip, knee, ankle = joints[_J[f"{side}_hip"]], joints[_J[f"{side}_knee"]], joints[_J[f"{side}_ankle"]]
            tt = t[:, None]
            thigh = hip + tt.clamp(max=1.0) * (knee - hip)
            return thigh + (tt - 1.0).clamp(min=0.0) * (ankle - knee)

        pl, pr = along("left"), along("right")
        own = torch.where(is_left[:, None], pl, pr)
        centre = (pl + pr) * 0.5
        sep = pl - pr
        # towards the body's left; the pelvis axis where the legs cross or touch
        across = torch.where(sep.norm(dim=-1, keepdim=True) > 0.05, _unit(sep), root[:, 0][None].expand_as(sep))
        fwd = root[:, 2][None].expand_as(across)
        fwd = _unit(fwd - (fwd * across).sum(-1, keepdim=True) * across)
        out = torch.where(is_left[:, None], across, -across)
        d = v[idx] - own
        a, b = (d * out).sum(-1), (d * fwd).sum(-1)
        phi = torch.atan2(b, a)  # 0 outwards, +pi/2 forwards, +-pi inwards
        psi = math.pi / 2 - phi / 2  # 0 front centre, pi/2 outer side, pi back centre
        thigh_len = (joints[_J["left_knee"]] - joints[_J["left_hip"]]).norm()
        half_sep = (pl - pr).norm(dim=-1) * 0.5
        own_r = torch.sqrt(a * a + b * b) + flare * t.clamp(min=0) * thigh_len
        # elliptical section: as wide as the legs are apart, but only a little deeper than a leg
        across_r = half_sep + own_r
        fwd_r = own_r + 0.25 * half_sep
        target = centre + torch.sin(psi)[:, None] * across_r[:, None] * out + torch.cos(psi)[:, None] * fwd_r[:, None] * fwd
        height = d - a[:, None] * out - b[:, None] * fwd  # the part of d along the leg axis
        target = target + height
        w = _smoothstep(t, -0.05, 0.2)[:, None]
        v = v.clone()
        v[idx] = torch.lerp(v[idx], target, w)
        return v

    def _placed_box(self, centre: Tensor, axes: Tensor, half: Tensor) -> Tensor:
        """Box vertices ``(Nb, 3)``: unit superellipsoid scaled by ``half`` and rotated by ``axes``
        (columns x, y, z)."""
        box = self._box_v.to(centre.device) * half
        return centre + box @ axes.T

    def _hidden(self, joints: Tensor) -> Tensor:
        return joints[_J["pelvis"]].expand(self._box_v.shape[0], 3).clone()

    def _backpack(self, v: Tensor, joints: Tensor, root: Tensor, outfit: Outfit) -> Tensor:
        if outfit.backpack is None:
            return self._hidden(joints)
        w, h, dpt = outfit.backpack
        x = _unit(joints[_J["left_shoulder"]] - joints[_J["right_shoulder"]])
        y = _unit(joints[_J["neck"]] - joints[_J["spine2"]])
        y = _unit(y - (y * x).sum() * x)
        z = torch.cross(x, y, dim=0)  # forward
        spine3 = joints[_J["spine3"]]
        torso = v[self.torso.to(v.device)]
        near = torso[((torso - spine3) @ y).abs() < 0.12]  # the upper back, not the buttocks
        back = ((spine3 - near) @ z).max().clamp(min=0.05) if len(near) else torch.tensor(0.1)  # back behind spine3
        centre = spine3 - z * (back + dpt * 0.45) - y * (h * 0.35)
        return self._placed_box(centre, torch.stack([x, y, z], dim=1), torch.tensor([w, h, dpt], device=v.device) * 0.5)

    def _bag(self, joints: Tensor, root: Tensor, up: Tensor, outfit: Outfit) -> Tensor:
        if outfit.bag is None:
            return self._hidden(joints)
        kind, side = outfit.bag
        w, h, thick = outfit.bag_size
        down = -_unit(up)
        sign = 1.0 if side == "left" else -1.0
        x = _unit(root[:, 0] - (root[:, 0] * down).sum() * down) * sign  # outwards, horizontal
        z = _unit(torch.cross(down, x, dim=0))
        if kind == "shoulder":
            hip = joints[_J[f"{side}_hip"]]
            centre = hip + x * (0.1 + thick * 0.5) + down * (h * 0.1)
        else:
            hand = joints[_J[f"{side}_hand"]]
            centre = hand + down * (h * 0.5 + 0.04)
        axes = torch.stack([x, -down, z], dim=1)
        return self._placed_box(centre, axes, torch.tensor([thick, h, w], device=joints.device) * 0.5)


def _param(p: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """Position of points along a 3-joint chain: 0 at the first joint, 1 at the second, 2 at the third
    (nearest bone; extrapolated before the first and after the last joint)."""
    best_d = np.full(len(p), np.inf)
    best_t = np.zeros(len(p))
    for i in range(2):
        a, d = chain[i], chain[i + 1] - chain[i]
        s = ((p - a) @ d) / (d @ d)
        s = np.clip(s, -np.inf if i == 0 else 0.0, np.inf if i == 1 else 1.0)
        dist = np.linalg.norm(p - (a + s[:, None] * d), axis=1)
        better = dist < best_d
        best_d = np.where(better, dist, best_d)
        best_t = np.where(better, i + s, best_t)
    return best_t
