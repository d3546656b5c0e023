"""Single-crop inference: person crops in, 3D pose, shape, camera and 2D keypoints out.

>>> predictor = Predictor.from_checkpoint("runs/rscnet/served.pt")     # or Predictor.random_init()
>>> [pred] = predictor.predict([crop])       # crop: (H, W, 3) uint8 RGB person crop, any size
>>> pred.keypoints2d_coco17                  # (17, 2) in the crop's own pixel coordinates
>>> pred.to_dict()                           # JSON-ready

What :meth:`Predictor.predict` does with each crop
--------------------------------------------------
1. Checks it (:func:`model.inference.crops.check_crop`): ``uint8``, ``(H, W, 3)`` RGB, both sides in
   ``[MIN_SIDE, MAX_SIDE]``; any refused crop raises :class:`CropsRejected` (a :class:`ValueError`)
   naming its index and carrying each refused crop's reason (a client error for the service).
2. Pads it with **zeros** (black, like the border of the training crops, see
   :mod:`model.data.real`) to the square of side ``P = max(H, W)`` centred on it: ``left = (P - W) // 2``
   columns on the left, ``top = (P - H) // 2`` rows on top.
3. Picks the resolution range (row of the backbone's ``alpha``) from the crop's size
   ``P = max(H, W)`` with :meth:`ResolutionRanges.index`.
4. Resizes the square bicubically (antialiased, clamped to ``[0, 1]``) to the network input size
   ``S`` (the same resampling as training's :func:`model.data.degrade.bicubic_resize`).
5. Runs the network in batches of ``batch_size`` under :func:`torch.inference_mode`, with the
   precision chosen at construction (see below), then poses the body model in float32. With
   ``flip_test=True`` each input also runs mirrored and the two answers are merged
   (:mod:`model.inference.flip_test`; twice the network work).

Cameras and pixel coordinates
-----------------------------
The weak-perspective camera ``[s, tx, ty]`` becomes the translation
``t = [tx, ty, 2 f_S / (S s)]`` with SPIN's focal ``f_S = focal_for_size(S)`` and the principal
point at the centre of the network input (:func:`model.geometry.camera.crop_camera`,
as in training). The same ``t`` is the camera of the *original* crop with the focal
``focal = f_S * P / S`` (= ``focal_for_size(P)``) and the principal point at the centre of the padded
square, ``principal = (P/2 - left, P/2 - top)`` in original-crop pixels. 2D keypoints are projected
on the network input and mapped back: ``u_crop = u_net * P / S - left``, ``v_crop = v_net * P / S - top``,
in the project's pixel convention (x right, y down, origin at the top-left corner of the top-left
pixel, pixel centres at ``+0.5``; see :mod:`model.geometry.camera`). 3D joints are in that camera
frame (metres, OpenCV axes), i.e. body-model joints plus ``t``.

Precision
---------
``precision="auto"`` uses bf16 autocast on CUDA (fp16 where the GPU lacks bf16) and on CPUs with
native bf16 (AVX-512 BF16 / AMX), else fp32. ``"fp32"``, ``"bf16"`` and ``"fp16"`` (CUDA only) force
one. The backbone is channels_last; the regressor head and the body model always compute in float32
and every output is float32.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from model.body.joint_names import COCO17_FLIP_PERMUTATION
from model.body.model import BodyModel, load_body_model
from model.geometry.camera import crop_camera, focal_for_size
from model.geometry.resolution import PAPER_RANGES, ResolutionRanges
from model.geometry.rotations import matrix_to_axis_angle
from model.inference.crops import CropsRejected, check_crop
from model.inference.flip_test import flip_disagreement, flip_images, merge_flipped, merge_flipped_keypoints
from model.nets.checkpoint import load_rscnet
from model.nets.config import NetConfig
from model.nets.rscnet import RSCNet, RSCNetOutput
from model.runtime import (
    PRECISIONS,
    autocast,
    cpu_supports_bf16,
    resolve_device,
    resolve_precision,
)

__all__ = [
    "PRECISIONS",
    "CropGeometry",
    "Prediction",
    "Predictor",
    "TensorPrediction",
    "cpu_supports_bf16",
]


@dataclass
class Prediction:
    """The prediction for one crop (numpy float32 arrays).

    Attributes:
        betas: ``(10,)`` shape coefficients.
        pose: ``(24, 3)`` axis-angle joint rotations, joint 0 = global orientation (camera axes).
        camera_weak: ``(3,)`` weak-perspective camera ``[s, tx, ty]`` of the padded square crop.
        translation: ``(3,)`` camera translation ``[tx, ty, tz]`` (metres) for ``focal``/``principal``.
        focal: focal length in pixels of the original crop (SPIN's ``focal_for_size(max(H, W))``).
        principal: ``(2,)`` principal point in original-crop pixels (centre of the padded square).
        joints3d_smpl24: ``(24, 3)`` SMPL joints in the camera frame (metres, translation included).
        joints3d_coco17: ``(17, 3)`` COCO keypoints in the camera frame.
        keypoints2d_coco17: ``(17, 2)`` COCO keypoints in original-crop pixels ``(x, y)``.
        resolution_index: resolution range row used (0 = full resolution).
        input_size: the original crop's size ``max(H, W)`` in pixels.
        vertices: ``(V, 3)`` mesh vertices in the camera frame, or ``None`` unless asked for.
        phi: ``(C,)`` pooled backbone feature.
        flip_disagreement: with the flip test only (else ``None``): the mean distance in metres
            between the SMPL-24 joints of the crop's answer and of its mirror image's answer mapped
            back (root rotation included, no translation) -- a confidence signal: the larger, the
            less reliable the answer (:mod:`model.inference.flip_test`).
        keypoints2d_head_coco17: ``(17, 2)`` COCO keypoints of the network's 2D keypoint head in
            original-crop pixels, when the network has one (``NetConfig.keypoint_head``), else ``None``.
    """

    betas: np.ndarray
    pose: np.ndarray
    camera_weak: np.ndarray
    translation: np.ndarray
    focal: float
    principal: np.ndarray
    joints3d_smpl24: np.ndarray
    joints3d_coco17: np.ndarray
    keypoints2d_coco17: np.ndarray
    resolution_index: int
    input_size: int
    vertices: np.ndarray | None
    phi: np.ndarray
    flip_disagreement: float | None = None
    keypoints2d_head_coco17: np.ndarray | None = None

    def geometry(self) -> CropGeometry:
        """The crop geometry this prediction was made with (padding offsets from ``principal``)."""
        left = int(round(self.input_size / 2.0 - float(self.principal[0])))
        top = int(round(self.input_size / 2.0 - float(self.principal[1])))
        return CropGeometry(int(self.input_size), left, top, int(self.resolution_index))

    def to_dict(self) -> dict[str, Any]:
        """Plain Python numbers and (nested) lists, ready for ``json.dumps``."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                out[name] = value.tolist()
            elif isinstance(value, (np.integer, int)) and not isinstance(value, bool):
                out[name] = int(value)
            elif isinstance(value, (np.floating, float)):
                out[name] = float(value)
            else:
                out[name] = value
        return out


@dataclass
class TensorPrediction:
    """Batched output of :meth:`Predictor.predict_tensor` (float32 tensors on the predictor's device).

    Joints and vertices are in the body model's frame (the global orientation applied, no
    translation); add ``translation[:, None]`` to put them in the camera frame of the network input.

    Attributes:
        phi: ``(B, C)`` pooled feature.
        pose_rotmat: ``(B, 24, 3, 3)``.
        pose_6d: ``(B, 24, 6)``.
        betas: ``(B, 10)``.
        camera: ``(B, 3)`` weak-perspective ``[s, tx, ty]``.
        translation: ``(B, 3)`` with ``focal_for_size(S)`` and the principal point ``(S/2, S/2)``.
        smpl24, coco17, lsp14: ``(B, 24|17|14, 3)`` joints.
        vertices: ``(B, V, 3)`` or ``None``.
        flip_disagreement: ``(B,)`` metres, with the flip test only (see :class:`Prediction`).
        head_keypoints2d: ``(B, 17, 2)`` COCO-17 keypoints of the 2D keypoint head in network-input
            pixels, or ``None`` (no head).
    """

    phi: Tensor
    pose_rotmat: Tensor
    pose_6d: Tensor
    betas: Tensor
    camera: Tensor
    translation: Tensor
    smpl24: Tensor
    coco17: Tensor
    lsp14: Tensor
    vertices: Tensor | None = None
    flip_disagreement: Tensor | None = None
    head_keypoints2d: Tensor | None = None

    def keypoints(self, layout: str) -> Tensor:
        """Joints of a layout: ``"smpl24"``, ``"coco17"`` or ``"lsp14"``."""
        if layout not in ("smpl24", "coco17", "lsp14"):
            raise KeyError(f"unknown keypoint layout {layout!r}; expected smpl24, coco17 or lsp14")
        return getattr(self, layout)


@dataclass(frozen=True)
class CropGeometry:
    """Where a network input came from: the crop was padded to a ``side x side`` square, its
    top-left corner at ``(left, top)`` in that square, and ran with resolution row ``range_index``.

    :meth:`Prediction.geometry` recovers it from a prediction.
    """

    side: int
    left: int
    top: int
    range_index: int


@dataclass(frozen=True)
class _Prepared:
    """One validated crop, ready for the network."""

    image: Tensor  # (3, S, S) float in [0, 1] on the device
    range_index: int
    side: int  # P = max(H, W)
    left: int
    top: int


class Predictor:
    """RSC-Net plus the body model, ready to predict on person crops.

    Build with :meth:`from_checkpoint` (a trained network) or :meth:`random_init` (an untrained one
    with the same interface, e.g. for the service before a checkpoint exists).

    Args:
        net: the network (put in eval mode and moved to ``device``).
        body: the body model it was trained with.
        ranges: resolution ranges; one per row of the backbone's ``alpha``.
        device: ``None``: CUDA when available, else the CPU.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA), see the module docstring.
        channels_last: NHWC convolutions (default on).
        checkpoint_path: where the weights came from (``None`` for random weights).
        checkpoint_id: a short identifier of the weights (shown by the service).
        is_trained: whether the weights are trained.
        flip_test: also run every input mirrored and merge the two answers
            (:mod:`model.inference.flip_test`).
    """

    def __init__(
        self,
        net: RSCNet,
        body: BodyModel,
        ranges: ResolutionRanges,
        *,
        device: str | torch.device | None = None,
        precision: str = "auto",
        channels_last: bool = True,
        checkpoint_path: str | os.PathLike[str] | None = None,
        checkpoint_id: str | None = None,
        is_trained: bool = False,
        flip_test: bool = False,
    ) -> None:
        if not isinstance(net, RSCNet):
            raise TypeError(f"net must be an RSCNet, got {type(net).__name__}")
        if net.backbone.resolution_aware and net.num_ranges != ranges.num_ranges:
            raise ValueError(
                f"the network has {net.num_ranges} resolution rows but {ranges.num_ranges} ranges were given "
                f"(bounds {ranges.bounds})"
            )
        self._device = resolve_device(device)
        self._precision = resolve_precision(precision, self._device)
        self._net = net.eval().to(self._device)
        if channels_last:
            self._net = self._net.to(memory_format=torch.channels_last)
        self._body = body.eval().to(self._device)
        self._ranges = ranges
        self._checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self._checkpoint_id = checkpoint_id or ("untrained" if not is_trained else "unknown")
        self._is_trained = bool(is_trained)
        if not isinstance(flip_test, bool):
            raise TypeError(f"flip_test must be a bool, got {flip_test!r}")
        self._flip_test = flip_test

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        device: str | torch.device | None = None,
        body: BodyModel | None = None,
        *,
        precision: str = "auto",
        channels_last: bool = True,
        flip_test: bool = False,
    ) -> Predictor:
        """Load a (training or served, fp16) RSC-Net checkpoint of :mod:`model.nets.checkpoint`.

        Args:
            path: the checkpoint file.
            device: ``None``: CUDA when available, else the CPU.
            body: the body model; default :func:`load_body_model` (``$SMPL_MODEL_DIR`` or the
                embedded free model). It must be the one the checkpoint was trained with.
            precision, channels_last, flip_test: see :class:`Predictor`.

        Raises:
            CheckpointError: (a ``ValueError``) unreadable checkpoint, inconsistent entries, or
                weights that do not match the network exactly (strict loading).
            ValueError: the checkpoint was trained with another body model (both ids are named).
        """
        body = load_body_model() if body is None else body
        loaded = load_rscnet(path, body)
        net, ranges = loaded.net, loaded.ranges
        return cls(
            net,
            body,
            ranges,
            device=device,
            precision=precision,
            channels_last=channels_last,
            checkpoint_path=loaded.path,
            checkpoint_id=loaded.checkpoint_id,
            is_trained=True,
            flip_test=flip_test,
        )

    @classmethod
    def random_init(
        cls,
        net_config: NetConfig | Mapping[str, Any] | None = None,
        resolution_bounds: Sequence[int] = PAPER_RANGES,
        device: str | torch.device | None = None,
        seed: int = 0,
        *,
        body: BodyModel | None = None,
        precision: str = "auto",
        channels_last: bool = True,
        flip_test: bool = False,
    ) -> Predictor:
        """An untrained predictor (deterministic for a ``seed``; the global RNG is left untouched).

        With freshly initialised decoders the regressor starts at the mean parameters, so the
        predictions are close to the mean body.
        """
        if net_config is None:
            config = NetConfig()
        elif isinstance(net_config, NetConfig):
            config = net_config
        else:
            config = NetConfig.from_dict(net_config)
        ranges = ResolutionRanges(tuple(resolution_bounds))
        body = load_body_model() if body is None else body
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = RSCNet(config, body.mean_params)
        return cls(
            net,
            body,
            ranges,
            device=device,
            precision=precision,
            channels_last=channels_last,
            checkpoint_id=f"untrained-seed{seed}",
            is_trained=False,
            flip_test=flip_test,
        )

    # ------------------------------------------------------------------ properties
    @property
    def net(self) -> RSCNet:
        return self._net

    @property
    def body_model(self) -> BodyModel:
        return self._body

    @property
    def model_id(self) -> str:
        """The body model's id, ``name:sha256[:16]``."""
        return self._body.info.model_id

    @property
    def name(self) -> str:
        """The body model's name (``"free-smpl-layout"`` or ``"smpl"``)."""
        return self._body.name

    @property
    def input_size(self) -> int:
        """S, side of the square network input."""
        return self._net.config.input_size

    @property
    def ranges(self) -> ResolutionRanges:
        return self._ranges

    @property
    def is_trained(self) -> bool:
        return self._is_trained

    @property
    def checkpoint_path(self) -> Path | None:
        return self._checkpoint_path

    @property
    def checkpoint_id(self) -> str:
        """``sha256[:16]`` of the checkpoint file, or ``"untrained-seed<N>"``."""
        return self._checkpoint_id

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def flip_test(self) -> bool:
        """Whether every input also runs mirrored and the answers are merged."""
        return self._flip_test

    @property
    def precision(self) -> str:
        """The precision in use (``"auto"`` resolved)."""
        return self._precision

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (for logs and the service's info endpoint)."""
        return {
            "body_model": {"name": self.name, "model_id": self.model_id},
            "checkpoint": None if self._checkpoint_path is None else str(self._checkpoint_path),
            "checkpoint_id": self._checkpoint_id,
            "is_trained": self._is_trained,
            "input_size": self.input_size,
            "resolution_bounds": list(self._ranges.bounds),
            "backbone_depth": self._net.config.backbone.depth,
            "device": str(self._device),
            "precision": self._precision,
            "flip_test": self._flip_test,
            "cut_input": self.cut_input,
        }

    # ------------------------------------------------------------------ low level
    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        return autocast(self._precision, self._device)

    @property
    def cut_input(self) -> bool:
        """Whether the network reads a cut flag per crop (:attr:`model.nets.config.NetConfig.cut_input`);
        without it, the ``cut`` of :meth:`predict` and :meth:`predict_tensor` is not used."""
        return bool(self._net.config.cut_input)

    def _cut_tensor(self, cut: Tensor | Sequence[bool] | None, n: int) -> Tensor | None:
        """``cut`` as an ``(n,)`` float tensor on the device, or ``None`` (no flags, or a network
        without a cut input)."""
        if cut is None or not self.cut_input:
            return None
        flags = torch.as_tensor(cut).reshape(-1).to(self._device, torch.float32)
        if flags.numel() != n:
            raise ValueError(f"cut must have {n} entries, one per crop, got {flags.numel()}")
        if bool(((flags != 0) & (flags != 1)).any()):
            raise ValueError("cut flags must be 0/1 (False/True)")
        return flags

    def _run(self, images: Tensor, range_index: Tensor, include_vertices: bool, cut: Tensor | None = None) -> TensorPrediction:
        if self._flip_test:  # originals and mirrors in one call
            images, range_index = flip_images(images), torch.cat([range_index, range_index])
            cut = None if cut is None else torch.cat([cut, cut])  # a mirror is cut where its original is
        with self._autocast():  # the backbone goes channels_last itself when its weights are
            net_out: RSCNetOutput = self._net(images, range_index, cut)
        head = net_out.keypoints2d
        if not self._flip_test:
            out = self.decode(net_out.phi, net_out.pose_rotmat, net_out.pose_6d, net_out.betas, net_out.camera, include_vertices)
        else:
            merged = merge_flipped(net_out.pose_rotmat, net_out.betas, net_out.camera)
            phi = net_out.phi[: merged.betas.shape[0]]  # the original crop's feature (see flip_test)
            out = self.decode(phi, merged.pose_rotmat, merged.pose_6d, merged.betas, merged.camera, include_vertices)
            out.flip_disagreement = flip_disagreement(self._body.keypoints_only, net_out.pose_rotmat, net_out.betas)
            head = None if head is None else merge_flipped_keypoints(head, COCO17_FLIP_PERMUTATION)
        if head is not None:
            out.head_keypoints2d = self._head_pixels(head)
        return out

    def _head_pixels(self, normalised: Tensor) -> Tensor:
        """Keypoint-head output ``2 u / S - 1`` -> network-input pixels ``u``."""
        return (normalised.float() + 1.0) * (self.input_size / 2.0)

    def decode(
        self, phi: Tensor, pose_rotmat: Tensor, pose_6d: Tensor, betas: Tensor, camera: Tensor, include_vertices: bool = False
    ) -> TensorPrediction:
        """Regressor outputs ``(B, ...)`` -> :class:`TensorPrediction` (body model, camera translation).

        Used for the single-frame network's outputs and for any head that predicts the same
        parameters from the same features (the temporal module of :mod:`model.inference.sequence`).
        """
        s = self.input_size
        # Without vertices the keypoints come from the folded regressors (no mesh skinning).
        body = self._body if include_vertices else self._body.keypoints_only
        posed = body(betas.float(), pose_rotmat.float())
        translation, _ = crop_camera(camera.float(), s)
        return TensorPrediction(
            phi=phi.float(),
            pose_rotmat=pose_rotmat.float(),
            pose_6d=pose_6d.float(),
            betas=betas.float(),
            camera=camera.float(),
            translation=translation,
            smpl24=posed.joints,
            coco17=posed.coco17,
            lsp14=posed.lsp14,
            vertices=posed.vertices if include_vertices else None,  # type: ignore[attr-defined]
        )

    def predict_tensor(
        self,
        images: Tensor,
        range_index: Tensor | Sequence[int],
        include_vertices: bool = False,
        cut: Tensor | Sequence[bool] | None = None,
    ) -> TensorPrediction:
        """The network and the body model on ready-made network inputs (evaluation).

        Args:
            images: ``(B, 3, S, S)`` float RGB in ``[0, 1]``, any device (moved to the predictor's).
            range_index: ``(B,)`` resolution rows.
            include_vertices: also return ``(B, V, 3)`` vertices.
            cut: ``(B,)`` per-image cut flags (the person goes on beyond the image), read by a
                network with a cut input (:attr:`cut_input`); ``None``: every person whole.

        Returns:
            :class:`TensorPrediction` on the predictor's device.
        """
        if not isinstance(images, Tensor) or not images.is_floating_point():
            raise TypeError("images must be a float tensor (B, 3, S, S) in [0, 1]")
        s = self.input_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise ValueError(f"images must be (B, 3, {s}, {s}), got {tuple(images.shape)}")
        idx = torch.as_tensor(range_index, dtype=torch.int64).reshape(-1)
        if idx.numel() != images.shape[0]:
            raise ValueError(f"range_index must have {images.shape[0]} entries, got {idx.numel()}")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self._ranges.num_ranges):
            raise ValueError(f"range_index must be in [0, {self._ranges.num_ranges}), got {idx.tolist()}")
        flags = self._cut_tensor(cut, images.shape[0])
        with torch.inference_mode():
            return self._run(images.to(self._device, torch.float32), idx.to(self._device), include_vertices, flags)

    def features(self, images: Tensor, range_index: Tensor | Sequence[int]) -> Tensor:
        """Backbone features ``phi (B, C)`` of ready-made network inputs (those of :meth:`predict_tensor`)."""
        return self.predict_tensor(images, range_index).phi

    # ------------------------------------------------------------------ crops
    def _prepare(self, crop: np.ndarray) -> _Prepared:
        """Pad, pick the range and resize one crop already checked by :meth:`_check`."""
        h, w, _ = crop.shape
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        if not (crop.flags.c_contiguous and crop.flags.writeable):  # torch.from_numpy wants both
            crop = np.array(crop, order="C")
        x = torch.from_numpy(crop).to(self._device).permute(2, 0, 1)
        square = torch.zeros((3, side, side), dtype=torch.float32, device=self._device)
        square[:, top : top + h, left : left + w] = x.float() / 255.0
        s = self.input_size
        if side == s:
            image = square
        else:
            image = F.interpolate(square[None], size=(s, s), mode="bicubic", align_corners=False, antialias=True)[0]
            image = image.clamp_(0.0, 1.0)
        return _Prepared(image, self._ranges.index(side), side, left, top)

    def predict(
        self,
        crops: Sequence[np.ndarray],
        include_vertices: bool = False,
        batch_size: int = 32,
        cut: Sequence[bool] | None = None,
    ) -> list[Prediction]:
        """Predict on person crops.

        Args:
            crops: ``(H, W, 3)`` uint8 RGB crops of any size in ``[MIN_SIDE, MAX_SIDE]`` (a
                ``(N, H, W, 3)`` array is taken as ``N`` crops).
            include_vertices: also return the mesh vertices of each crop.
            batch_size: crops per network call.
            cut: one flag per crop: the person goes on beyond the crop (the frame's edge or
                something in front cuts them). Read by a network with a cut input
                (:attr:`cut_input`); ``None``: every person whole.

        Returns:
            One :class:`Prediction` per crop, in order.

        Raises:
            CropsRejected: bad crops (a :class:`ValueError`; the message names the first one's
                index, ``rejections`` each one's reason); nothing is computed.
            ValueError: a bad ``batch_size``.
        """
        if isinstance(crops, np.ndarray):
            if crops.ndim != 4:
                raise ValueError(f"crops: pass a list of (H, W, 3) arrays or one (N, H, W, 3) array, got shape {crops.shape}")
            crops = list(crops)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        crops = list(crops)
        # Validate every crop before any work, so bad ones fail fast and cheaply, each with its reason.
        rejected = {i: r for i, crop in enumerate(crops) if (r := check_crop(crop)) is not None}
        if rejected:
            raise CropsRejected(rejected)
        flags = self._cut_tensor(cut, len(crops))
        results: list[Prediction] = []
        with torch.inference_mode():
            for start in range(0, len(crops), batch_size):
                prepared = [self._prepare(c) for c in crops[start : start + batch_size]]
                images = torch.stack([p.image for p in prepared])
                idx = torch.tensor([p.range_index for p in prepared], dtype=torch.int64, device=self._device)
                part = None if flags is None else flags[start : start + batch_size]
                out = self._run(images, idx, include_vertices, part)
                geometry = [CropGeometry(p.side, p.left, p.top, p.range_index) for p in prepared]
                results.extend(self.to_predictions(out, geometry))
        return results

    def to_predictions(self, out: TensorPrediction, geometry: Sequence[CropGeometry]) -> list[Prediction]:
        """Per-crop :class:`Prediction` objects from a batched output and where each crop came from.

        Args:
            out: outputs for ``B`` network inputs (vertices are returned when ``out`` has them).
            geometry: ``B`` entries: the original crop's padded side, padding offsets and range row.
        """
        if len(geometry) != out.betas.shape[0]:
            raise ValueError(f"{out.betas.shape[0]} outputs but {len(geometry)} crop geometries")
        s = self.input_size
        f_net = float(focal_for_size(s))
        t, kp_net = crop_camera(out.camera, s, out.coco17)
        side = torch.tensor([g.side for g in geometry], dtype=torch.float32, device=t.device)
        offset = torch.tensor([[g.left, g.top] for g in geometry], dtype=torch.float32, device=t.device)
        scale = (side / s)[:, None, None]
        kp = kp_net * scale - offset[:, None, :]
        principal_crop = side[:, None] / 2.0 - offset
        pose_aa = matrix_to_axis_angle(out.pose_rotmat)
        tt = t[:, None, :]
        arrays = {
            "betas": out.betas,
            "pose": pose_aa,
            "camera_weak": out.camera,
            "translation": t,
            "principal": principal_crop,
            "joints3d_smpl24": out.smpl24 + tt,
            "joints3d_coco17": out.coco17 + tt,
            "keypoints2d_coco17": kp,
            "phi": out.phi,
        }
        if out.vertices is not None:
            arrays["vertices"] = out.vertices + tt
        if out.flip_disagreement is not None:
            arrays["flip_disagreement"] = out.flip_disagreement
        if out.head_keypoints2d is not None:
            arrays["keypoints2d_head_coco17"] = out.head_keypoints2d * scale - offset[:, None, :]
        host = {k: v.detach().float().cpu().numpy() for k, v in arrays.items()}
        return [
            Prediction(
                betas=host["betas"][j],
                pose=host["pose"][j],
                camera_weak=host["camera_weak"][j],
                translation=host["translation"][j],
                focal=f_net * g.side / s,
                principal=host["principal"][j],
                joints3d_smpl24=host["joints3d_smpl24"][j],
                joints3d_coco17=host["joints3d_coco17"][j],
                keypoints2d_coco17=host["keypoints2d_coco17"][j],
                resolution_index=g.range_index,
                input_size=g.side,
                vertices=host["vertices"][j] if "vertices" in host else None,
                phi=host["phi"][j],
                flip_disagreement=float(host["flip_disagreement"][j]) if "flip_disagreement" in host else None,
                keypoints2d_head_coco17=host["keypoints2d_head_coco17"][j] if "keypoints2d_head_coco17" in host else None,
            )
            for j, g in enumerate(geometry)
        ]

    def __repr__(self) -> str:
        return (
            f"Predictor(body={self.model_id}, checkpoint={self._checkpoint_id}, input_size={self.input_size}, "
            f"bounds={self._ranges.bounds}, device={self._device}, precision={self._precision}, flip_test={self._flip_test})"
        )

