"""Batched training augmentation that keeps the 3D ground truth consistent with the image.

Applied to a collated batch (``images (B, K, 3, S, S)``: the ``K`` resolutions of a sample get
the same augmentation, so the self-supervision targets stay the same picture):

* horizontal flip: image, 2D keypoints (x -> S - x and left/right permutation), pose (mirrored
  through the camera's x = 0 plane), 3D joints and camera translation (x -> -x);
* in-plane rotation about the crop centre (= the camera's optical axis): image and 2D keypoints
  rotate in the image, the root rotation, 3D joints and translation rotate about camera z;
* colour: per-channel gain (SPIN's pixel noise factor), brightness and contrast;
* appearance randomisation (off by default): grayscale (night and IR cameras) and random
  convolutions (RandConv, Xu et al., ICLR 2021: the image filtered by a random ``k x k`` kernel
  across its colour channels, standardised back to the image's own channel means and spreads and
  mixed with it by a uniform weight), which keep shapes and destroy the renderer's colours and
  textures, the part of a synthetic image that does not carry over to cameras;
* additive Gaussian noise.

Every draw comes from the given generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from model.body.joint_names import (
    COCO17_FLIP_PERMUTATION,
    LSP14_FLIP_PERMUTATION,
    SMPL_FLIP_PERMUTATION,
)
from model.body.parts import PART_FLIP_PERMUTATION
from model.body.symmetry import mirror_joints
from model.data.poses import mirror_pose
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

_FLIP = {"smpl24": SMPL_FLIP_PERMUTATION, "coco17": COCO17_FLIP_PERMUTATION, "lsp14": LSP14_FLIP_PERMUTATION}


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation strengths (set a probability or strength to 0 to disable).

    Attributes:
        flip_prob: probability of a horizontal flip.
        rotation_prob: probability of an in-plane rotation.
        rotation_deg: its maximum angle (uniform in +-rotation_deg).
        channel_gain: per-channel colour gain drawn in ``[1 - g, 1 + g]`` (SPIN: 0.4).
        brightness: additive brightness in ``[-b, b]``.
        contrast: contrast factor in ``[1 - c, 1 + c]`` about the image mean.
        noise_std: maximum standard deviation of additive Gaussian noise.
        grayscale_prob: probability of turning a sample grey (luminance in all three channels).
        random_conv_prob: probability of a random convolution.
        random_conv_max_kernel: largest kernel of a random convolution; sizes are drawn uniformly
            from the odd sizes ``1, 3, ..., random_conv_max_kernel``.
    """

    flip_prob: float = 0.5
    rotation_prob: float = 0.3
    rotation_deg: float = 20.0
    channel_gain: float = 0.3
    brightness: float = 0.1
    contrast: float = 0.2
    noise_std: float = 0.02
    grayscale_prob: float = 0.0
    random_conv_prob: float = 0.0
    random_conv_max_kernel: int = 5

    def __post_init__(self) -> None:
        if self.random_conv_max_kernel < 1 or self.random_conv_max_kernel % 2 == 0:
            raise ValueError(f"random_conv_max_kernel must be a positive odd number, got {self.random_conv_max_kernel}")
        for name in ("flip_prob", "rotation_prob", "grayscale_prob", "random_conv_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        for name in ("rotation_deg", "channel_gain", "brightness", "contrast", "noise_std"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


def _flip_batch(batch: dict[str, Tensor], mask: Tensor, size: int) -> None:
    if not mask.any():
        return
    sel = mask.nonzero().flatten()
    batch["images"][sel] = batch["images"][sel].flip(-1)
    for key in ("silhouette", "image_hr"):
        if key in batch:
            batch[key][sel] = batch[key][sel].flip(-1)
    if "parts" in batch:  # the mirrored body's left parts are the picture's right ones
        flip_classes = torch.tensor(PART_FLIP_PERMUTATION, dtype=torch.long)
        batch["parts"][sel] = flip_classes[batch["parts"][sel].flip(-1).long()].to(batch["parts"].dtype)
    if "pose" in batch:
        batch["pose"][sel] = mirror_pose(batch["pose"][sel])
    if "cam_t" in batch:
        batch["cam_t"][sel, 0] = -batch["cam_t"][sel, 0]
    for layout, perm in _FLIP.items():
        p = torch.tensor(perm)
        key2d, key3d = f"keypoints2d_{layout}", f"joints3d_{layout}"
        if key2d in batch:
            kp = batch[key2d][sel][:, p].clone()
            kp[..., 0] = size - kp[..., 0]
            batch[key2d][sel] = kp
        if key3d in batch:
            batch[key3d][sel] = mirror_joints(batch[key3d][sel], p)


def _rotate_batch(batch: dict[str, Tensor], angle: Tensor, size: int) -> None:
    """Rotate by ``angle`` (B,) radians, counter-clockwise as seen in the image."""
    if not (angle != 0).any():
        return
    c, s = torch.cos(angle), torch.sin(angle)
    # Points move by M = [[c, s], [-s, c]] (image axes, y down: counter-clockwise on screen), so
    # output pixel p samples the input at M^-1 p = [[c, -s], [s, c]] p (normalised coordinates
    # about the centre).
    theta = torch.zeros(angle.shape[0], 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = c, -s
    theta[:, 1, 0], theta[:, 1, 1] = s, c
    b, k = batch["images"].shape[:2]
    imgs = batch["images"].reshape(b * k, *batch["images"].shape[2:])
    grid = F.affine_grid(theta.repeat_interleave(k, 0).to(imgs.dtype), list(imgs.shape), align_corners=False)
    batch["images"] = F.grid_sample(imgs, grid, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(batch["images"].shape)
    for key in ("silhouette", "image_hr"):
        if key in batch:
            g = F.affine_grid(theta.to(batch[key].dtype), list(batch[key].shape), align_corners=False)
            batch[key] = F.grid_sample(batch[key], g, mode="bilinear", padding_mode="zeros", align_corners=False)
    if "parts" in batch:  # class labels: nearest, never blended
        parts = batch["parts"].float()
        g = F.affine_grid(theta, list(parts.shape), align_corners=False)
        batch["parts"] = F.grid_sample(parts, g, mode="nearest", padding_mode="zeros", align_corners=False).round().to(batch["parts"].dtype)
    # Points: image y is down, so a counter-clockwise image rotation is Rz(-angle) in camera axes.
    rz = axis_angle_to_matrix(torch.stack([torch.zeros_like(angle), torch.zeros_like(angle), -angle], -1))
    centre = size / 2.0
    # The body model turns the root about its rest pelvis, not about the camera origin: keep the
    # (unrotated) pelvis to move cam_t consistently with the joints.
    pelvis = batch["joints3d_smpl24"][:, 0].clone() if "joints3d_smpl24" in batch else None
    for layout in _FLIP:
        key2d, key3d = f"keypoints2d_{layout}", f"joints3d_{layout}"
        if key2d in batch:
            xy = batch[key2d][..., :2] - centre
            rot = torch.einsum("bij,bkj->bki", rz[:, :2, :2], xy) + centre
            inside = ((rot >= 0) & (rot < size)).all(-1).to(rot.dtype)
            batch[key2d] = torch.cat([rot, (batch[key2d][..., 2] * inside)[..., None]], -1)
        if key3d in batch:
            batch[key3d] = torch.einsum("bij,bkj->bki", rz, batch[key3d])
    if "cam_t" in batch:
        if pelvis is None:
            batch["cam_t"] = torch.einsum("bij,bj->bi", rz, batch["cam_t"])
        else:  # body(pose).pelvis = rest pelvis = pelvis - cam_t, whatever the root rotation
            batch["cam_t"] = torch.einsum("bij,bj->bi", rz, pelvis) - (pelvis - batch["cam_t"])
    if "pose" in batch:
        pose = batch["pose"].clone()
        pose[:, 0] = matrix_to_axis_angle(rz @ axis_angle_to_matrix(pose[:, 0]))
        batch["pose"] = pose


_LUMA = (0.299, 0.587, 0.114)


def grayscale(images: Tensor) -> Tensor:
    """``(..., 3, H, W)`` RGB -> the same shape, each channel the luminance (ITU-R BT.601)."""
    w = torch.tensor(_LUMA, dtype=images.dtype, device=images.device)
    luma = torch.einsum("...chw,c->...hw", images, w)
    return luma.unsqueeze(-3).expand_as(images).contiguous()


def random_convolution(images: Tensor, kernel: int, gen: torch.Generator) -> Tensor:
    """Filter samples ``(N, K, 3, S, S)`` by one random ``kernel x kernel`` convolution each (3 -> 3
    channels, Kaiming-normal weights; the ``K`` copies of a sample share it), standardised back to
    each sample's own channel means and standard deviations. Values may leave ``[0, 1]``."""
    n, k, c, h, w = images.shape
    std = 1.0 / math.sqrt(c * kernel * kernel)
    weight = torch.randn(n * c, c, kernel, kernel, generator=gen) * std
    x = images.permute(1, 0, 2, 3, 4).reshape(k, n * c, h, w)
    if kernel > 1:
        x = F.pad(x, [kernel // 2] * 4, mode="reflect")
    y = F.conv2d(x, weight.to(images.dtype), groups=n).reshape(k, n, c, h, w).permute(1, 0, 2, 3, 4)
    dims = (1, 3, 4)
    y = (y - y.mean(dim=dims, keepdim=True)) / y.std(dim=dims, keepdim=True).clamp_min(1e-4)
    return y * images.std(dim=dims, keepdim=True) + images.mean(dim=dims, keepdim=True)


def _randomise_appearance(imgs: Tensor, config: AugmentConfig, gen: torch.Generator, pick: Tensor) -> Tensor:
    b = imgs.shape[0]
    gray = (torch.rand(b, generator=gen) < config.grayscale_prob)[pick]
    conv = (torch.rand(b, generator=gen) < config.random_conv_prob)[pick]
    sizes = (torch.randint(0, config.random_conv_max_kernel // 2 + 1, (b,), generator=gen) * 2 + 1)[pick]
    mix = torch.rand(b, 1, 1, 1, 1, generator=gen)[pick]
    if gray.any():
        imgs = imgs.clone()
        imgs[gray] = grayscale(imgs[gray])
    if conv.any():
        imgs = imgs.clone()
        for kernel in sizes[conv].unique().tolist():
            sel = (conv & (sizes == kernel)).nonzero().flatten()
            filtered = random_convolution(imgs[sel], int(kernel), gen)
            imgs[sel] = mix[sel] * imgs[sel] + (1 - mix[sel]) * filtered
    return imgs


def augment_batch(batch: dict[str, Tensor], config: AugmentConfig, gen: torch.Generator, shared: Tensor | None = None) -> dict[str, Tensor]:
    """Augment a collated batch in place-safe fashion (tensors are cloned) and return it.

    ``batch["images"]`` is ``(B, K, 3, S, S)`` in ``[0, 1]``; ground-truth keys follow
    :mod:`model.data.synthetic` (missing keys are skipped, so real-data batches work too).
    ``shared`` (``(B,)`` long, optional): sample ``b`` takes the draws (flip, rotation, colour,
    noise level, grey, filter choice) of sample ``shared[b]`` -- e.g. a twin pair augmented alike
    (:func:`model.data.twins.partner_mask`). The same number of draws is taken either way.
    """
    out = {k: (v.clone() if isinstance(v, Tensor) else v) for k, v in batch.items()}
    b, _, _, size, _ = out["images"].shape
    pick = torch.arange(b) if shared is None else shared.reshape(b).long().cpu()
    flip = (torch.rand(b, generator=gen) < config.flip_prob)[pick]
    _flip_batch(out, flip, size)
    rotate = torch.rand(b, generator=gen) < config.rotation_prob
    angle = ((torch.rand(b, generator=gen) * 2 - 1) * math.radians(config.rotation_deg) * rotate)[pick]
    _rotate_batch(out, angle, size)
    gain = (1 + (torch.rand(b, 1, 3, 1, 1, generator=gen) * 2 - 1) * config.channel_gain)[pick]
    bright = ((torch.rand(b, 1, 1, 1, 1, generator=gen) * 2 - 1) * config.brightness)[pick]
    contrast = (1 + (torch.rand(b, 1, 1, 1, 1, generator=gen) * 2 - 1) * config.contrast)[pick]
    noise_std = (torch.rand(b, 1, 1, 1, 1, generator=gen) * config.noise_std)[pick]
    imgs = out["images"]
    if config.grayscale_prob > 0 or config.random_conv_prob > 0:  # no draws when off: old runs replay exactly
        imgs = _randomise_appearance(imgs, config, gen, pick)
    mean = imgs.mean(dim=(2, 3, 4), keepdim=True)
    imgs = (imgs - mean) * contrast + mean
    imgs = imgs * gain + bright
    imgs = imgs + torch.randn(imgs.shape, generator=gen) * noise_std
    out["images"] = imgs.clamp(0.0, 1.0)
    return out
