"""Textured 3D people from one crop: RSC-Net for the mesh, TexGlo for the UV texture.

>>> tp = TexturePredictor.from_checkpoint("checkpoints/texture/model.pt", Predictor.from_checkpoint(...))
>>> mesh = tp.texture(crop)        # crop: (H, W, 3) uint8 RGB
>>> mesh.vertices, mesh.faces, mesh.uvs, mesh.texture_image   # (V, 3) (F, 3) (F, 3, 2) (U, U, 3) uint8

What :meth:`TexturePredictor.predict_uv` does with a crop (the training inputs of
:mod:`model.train.texture` are square crops with the person centred): pad it to the square of side
``max(H, W)`` centred on it, **replicating its border pixels** (training crops have background
all round, never black bars), resize bicubically (antialiased) to ``S x S`` with ``S`` the side the
network was trained at (``data.crop_size`` of the checkpoint), then TexGlo resizes that to its
``input_size`` (default ``128 x 64``) and predicts the ``(U, U, 3)`` UV texture (row 0 = ``v = 1``,
the renderer's and :mod:`model.render.export`'s convention, so it plugs into GLB / OBJ as is).

The mesh comes from the RSC-Net :class:`~model.inference.Predictor` on the same crop: camera-frame
vertices of the original crop, the body model's faces and per-corner UVs (``face_uvs``).

A network trained with ``input_mask`` (:class:`~model.nets.texture.TexGloConfig`) sees only what
the body covers: the Predictor's mesh (run on the crop unless its predictions are passed) is
rasterised, like in training (:func:`model.data.identity.render_silhouette`: default
:class:`~model.render.MeshRenderer`, binary), into the same ``S x S`` square TexGlo gets, and masks
it. The Predictor pads the crop to the same ``P x P`` square with the same offsets
``(left, top) = ((P - W) // 2, (P - H) // 2)`` (zeros there, replicated borders here: only the
pixel values differ), and its :class:`~model.inference.Prediction` camera is that of the original
crop: focal ``f`` and principal point ``c`` in crop pixels (``c = (P/2 - left, P/2 - top)``). With
the corner-origin pixel convention a crop point ``u`` is at ``(u + (left, top)) * S / P`` in the
square, so the square's camera is ``f * S / P`` with principal point ``(c + (left, top)) * S / P``
(``= (S/2, S/2)``), which :func:`square_camera` computes. Padding is not the person: the mask is
0 there (:func:`crop_coverage`), as a training mask is 0 outside its image.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from model.body.model import BodyModel
from model.inference.crops import CropsRejected, check_crop
from model.inference.predictor import Prediction, Predictor
from model.nets.checkpoint import TEXTURE_FORMAT, load_texglo
from model.nets.texture import TexGlo
from model.render import MeshRenderer, PerspectiveCameras

__all__ = ["TEXTURE_FORMAT", "TexturePredictor", "TexturedMesh", "crop_coverage", "load_texglo", "square_camera", "square_offsets"]


def square_offsets(height: int, width: int) -> tuple[int, int, int]:
    """``(P, left, top)``: a ``height x width`` crop padded to the centred square of side ``P = max(H, W)``
    has its top-left pixel at column ``left = (P - W) // 2``, row ``top = (P - H) // 2`` (the Predictor's offsets)."""
    side = max(height, width)
    return side, (side - width) // 2, (side - height) // 2


def square_camera(prediction: Prediction, height: int, width: int, size: int) -> tuple[float, np.ndarray]:
    """``prediction``'s camera in the ``size x size`` square TexGlo gets from a ``height x width`` crop.

    Returns:
        ``(focal, principal)``: focal length in square pixels and the ``(2,)`` principal point
        ``(cx, cy)`` in square pixels (see the module docstring for the derivation).
    """
    side, left, top = square_offsets(height, width)
    scale = size / side
    principal = (np.asarray(prediction.principal, dtype=np.float64) + np.array([left, top], dtype=np.float64)) * scale
    return float(prediction.focal) * scale, principal


def crop_coverage(height: int, width: int, size: int) -> torch.Tensor:
    """``(1, size, size)`` float: the fraction of each pixel of the ``size x size`` square (see
    :func:`square_offsets`) that the original ``height x width`` crop covers (1 inside, 0 in the padding)."""
    side, left, top = square_offsets(height, width)
    scale = size / side
    edges = torch.arange(size, dtype=torch.float64)

    def overlap(start: int, length: int) -> torch.Tensor:
        lo, hi = start * scale, (start + length) * scale
        return ((edges + 1).clamp(max=hi) - edges.clamp(min=lo)).clamp(0.0, 1.0)

    return (overlap(top, height)[:, None] * overlap(left, width)[None, :]).float()[None]

@dataclass
class TexturedMesh:
    """A textured body mesh for one crop.

    Attributes:
        vertices: ``(V, 3)`` float32 camera-frame vertices of the crop (metres, OpenCV axes).
        faces: ``(F, 3)`` int64.
        uvs: ``(F, 3, 2)`` float32 per-corner UVs (``v = 0`` = bottom row of the texture).
        texture_image: ``(U, U, 3)`` uint8 UV texture (row 0 = top).
        prediction: the RSC-Net prediction (pose, shape, camera) the mesh comes from.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    texture_image: np.ndarray
    prediction: Prediction


class TexturePredictor:
    """TexGlo plus an RSC-Net :class:`Predictor` (see the module docstring).

    Args:
        net: the texture network.
        predictor: RSC-Net predictor giving the mesh (its body model must be the checkpoint's and have UVs).
        crop_size: side the crops are resized to before TexGlo (the training ``x_H`` side).
        checkpoint_path, checkpoint_id, name: where the weights came from and the ablation's name.
        info: extra JSON-ready facts (geometry source, steps) for the service's ``/v1/models``.
    """

    def __init__(
        self,
        net: TexGlo,
        predictor: Predictor,
        crop_size: int = 128,
        *,
        checkpoint_path: str | os.PathLike[str] | None = None,
        checkpoint_id: str = "unknown",
        name: str = "TexGlo",
        info: Mapping[str, Any] | None = None,
    ) -> None:
        body = predictor.body_model
        if body.face_uvs is None:
            raise ValueError(f"body model {body.name!r} has no UV map; texture output needs the free-smpl-layout model")
        self._net = net.eval().to(predictor.device)
        self._predictor = predictor
        self._renderer = MeshRenderer()  # as the trainer's: ssaa 1, a binary silhouette
        self._crop_size = int(crop_size)
        self._path = None if checkpoint_path is None else Path(checkpoint_path)
        self._id = checkpoint_id
        self._name = name
        self._info = dict(info or {})

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str], predictor: Predictor) -> TexturePredictor:
        """Load a TexGlo checkpoint (training ``last.pt`` or the served fp16 file) for ``predictor``.

        Raises:
            ValueError: unreadable checkpoint, or trained with another body model than ``predictor``'s.
        """
        net, ckpt = load_texglo(path, predictor.device)
        body: BodyModel = predictor.body_model
        entry = ckpt["body_model"]
        if not isinstance(entry, Mapping) or entry.get("sha256") != body.info.sha256:
            raise ValueError(
                f"texture checkpoint {path} was trained with body model {entry.get('model_id') if isinstance(entry, Mapping) else entry}, "
                f"but the loaded body model is {body.info.model_id}"
            )
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
        info = {
            "name": ckpt.get("name", "TexGlo"),
            "steps": int(ckpt.get("step", 0)),
            "geometry": ckpt.get("geometry"),
            "uv_size": int(ckpt["net_config"]["uv_size"]),
            "input_size": list(ckpt["net_config"]["input_size"]),
            "glo": ckpt["net_config"]["glo"],
            "upsample": bool(ckpt["net_config"]["upsample"]),
            "input_mask": bool(ckpt["net_config"].get("input_mask", False)),
        }
        return cls(net, predictor, int(ckpt["data"]["crop_size"]), checkpoint_path=path, checkpoint_id=digest, name=str(info["name"]), info=info)

    # ------------------------------------------------------------------ properties
    @property
    def net(self) -> TexGlo:
        return self._net

    @property
    def predictor(self) -> Predictor:
        return self._predictor

    @property
    def checkpoint_id(self) -> str:
        """``sha256[:16]`` of the checkpoint file."""
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @property
    def uv_size(self) -> int:
        return self._net.config.uv_size

    @property
    def input_mask(self) -> bool:
        """Whether the network sees the crop masked by the body silhouette (``input_mask`` of its config)."""
        return self._net.config.input_mask

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (for ``/v1/models``)."""
        return {"checkpoint": None if self._path is None else str(self._path), "checkpoint_id": self._id, "crop_size": self._crop_size, **self._info}

    # ------------------------------------------------------------------ inference
    def _square(self, crop: np.ndarray) -> torch.Tensor:
        """``(3, S, S)`` float: ``crop`` padded to its square replicating the border, resized to ``S``."""
        h, w, _ = crop.shape
        side, left, top = square_offsets(h, w)
        x = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float()[None] / 255.0
        if side != h or side != w:
            x = F.pad(x, (left, side - w - left, top, side - h - top), mode="replicate")
        s = self._crop_size
        if side != s:
            x = F.interpolate(x, size=(s, s), mode="bicubic", align_corners=False, antialias=True).clamp_(0.0, 1.0)
        return x[0]

    def _predictions(self, crops: Sequence[np.ndarray], predictions: Sequence[Prediction] | None) -> list[Prediction]:
        """``predictions`` checked against ``crops`` (one with vertices per crop), or the Predictor run on them."""
        if predictions is None:
            return self._predictor.predict(list(crops), include_vertices=True)
        predictions = list(predictions)
        if len(predictions) != len(crops):
            raise ValueError(f"{len(crops)} crops but {len(predictions)} predictions")
        if any(p.vertices is None for p in predictions):
            raise ValueError("the predictions need their mesh vertices (Predictor.predict(..., include_vertices=True))")
        return predictions

    def silhouettes(self, crops: Sequence[np.ndarray], predictions: Sequence[Prediction] | None = None) -> torch.Tensor:
        """The input masks of ``crops``: ``(B, 1, S, S)`` float in ``[0, 1]`` on the predictor's device.

        The silhouette of each crop's predicted mesh rendered in the ``S x S`` square :meth:`predict_uv`
        feeds TexGlo (:func:`square_camera`), the same rasterisation as the trainer's input masks,
        times :func:`crop_coverage`: where the mesh reaches into the padding (replicated border
        pixels, not the person) the mask is 0, as a training mask is outside its image.

        Args:
            crops: ``(H, W, 3)`` uint8 crops (already checked).
            predictions: the Predictor's predictions on ``crops`` with vertices; ``None`` runs it.
        """
        crops = list(crops)
        preds = self._predictions(crops, predictions)
        s, dev = self._crop_size, self._predictor.device
        cams = [square_camera(p, c.shape[0], c.shape[1], s) for p, c in zip(preds, crops)]
        focal = torch.tensor([[f, f] for f, _ in cams], dtype=torch.float32, device=dev)
        principal = torch.tensor(np.stack([c for _, c in cams]), dtype=torch.float32, device=dev)
        verts = torch.from_numpy(np.stack([np.asarray(p.vertices, dtype=np.float32) for p in preds])).to(dev)
        cameras = PerspectiveCameras(focal=focal, principal=principal, image_size=(s, s))
        mask = self._renderer.silhouette(verts, self._predictor.body_model.faces, cameras)
        inside = torch.stack([crop_coverage(c.shape[0], c.shape[1], s) for c in crops]).to(dev)
        return mask * inside

    def predict_uv(
        self, crops: Sequence[np.ndarray], batch_size: int = 16, predictions: Sequence[Prediction] | None = None
    ) -> list[np.ndarray]:
        """UV textures ``(U, U, 3)`` uint8 for ``(H, W, 3)`` uint8 crops (sides in ``[MIN_SIDE, MAX_SIDE]``).

        ``predictions``: the Predictor's predictions (with vertices) on these crops, used for the
        input mask of an ``input_mask`` network (ignored otherwise); ``None`` runs the Predictor.

        Raises:
            CropsRejected: (a ``ValueError``) bad crops, checked by :func:`~model.inference.crops.check_crop`
                like the predictor's (the message names the first index).
            ValueError: ``predictions`` that do not match the crops or lack vertices.
        """
        crops = list(crops)
        rejections = {i: r for i, c in enumerate(crops) if (r := check_crop(c)) is not None}
        if rejections:
            raise CropsRejected(rejections)
        preds = self._predictions(crops, predictions) if self.input_mask else None
        out: list[np.ndarray] = []
        dev = self._predictor.device
        with torch.inference_mode():
            for start in range(0, len(crops), batch_size):
                chunk = crops[start : start + batch_size]
                x = torch.stack([self._square(c) for c in chunk]).to(dev)
                mask = None if preds is None else self.silhouettes(chunk, preds[start : start + batch_size])
                tex = self._net(x, mask).float().clamp(0, 1)
                arr = (tex.permute(0, 2, 3, 1).cpu().numpy() * 255.0).round().astype(np.uint8)
                out.extend(list(arr))
        return out

    def texture(self, crop: np.ndarray) -> TexturedMesh:
        """``texture(crop) -> (vertices, faces, uvs, texture image)`` for one ``(H, W, 3)`` uint8 crop."""
        [pred] = self._predictor.predict([crop], include_vertices=True)
        [tex] = self.predict_uv([crop], predictions=[pred])
        body = self._predictor.body_model
        assert pred.vertices is not None and body.face_uvs is not None
        return TexturedMesh(
            vertices=pred.vertices,
            faces=body.faces.cpu().numpy().astype(np.int64),
            uvs=body.face_uvs.cpu().numpy().astype(np.float32),
            texture_image=tex,
            prediction=pred,
        )

    def __repr__(self) -> str:
        return f"TexturePredictor(name={self._name!r}, checkpoint={self._id}, uv_size={self.uv_size}, predictor={self._predictor!r})"
