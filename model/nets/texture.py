"""TexGlo: UV texture estimation from a low-resolution person crop (RSC-Net Section 3.6).

An encoder-decoder with concatenative skip connections (RSTG's baseline) plus

* an **extra upsampling layer** before the output (``upsample=True``): the decoder's last
  stage works at twice the resolution of the top skip connection, so the UV map gets more
  detail than the encoder's first level holds;
* the **global context module** :class:`GlobalContext` at the bottleneck (``glo="sum"``, the
  paper's "Glo-S"; ``"concat"`` is the "Glo-C" ablation, ``"none"`` drops it): a 1x1 conv reduces
  the features, their global average pool and their flattening are concatenated, two fully
  connected layers mix all locations, the result is unflattened, a 1x1 conv restores the channels
  and it is fused with the input features by point-wise summation (or concatenation + 1x1 conv).

Input: ``(B, 3, H, W)`` crop in ``[0, 1]`` resized to ``input_size`` (default ``(128, 64)``);
output: ``(B, 3, U, U)`` UV texture in ``[0, 1]`` in the body model's UV layout (renderer texture
convention: row 0 = top = ``v = 1``), ``U = uv_size`` (128 or 256).

**Body mask** (``input_mask=True``): the network then also takes ``mask`` ``(B, 1, H, W)`` in
``[0, 1]``, the silhouette of the body mesh the texture will be draped on, in the crop's pixels
(the texture trainer renders the geometry cache's mesh, :class:`~model.inference.TexturePredictor`
the RSC-Net Predictor's). At the crop's own resolution the crop is composited over a flat grey,
``image * mask + mask_fill * (1 - mask)``, so a pixel with ``mask == 0`` cannot influence the
output; the composite and the mask are then resized together to ``input_size`` and the mask is fed
as a 4th input channel (it tells the body from a grey garment and gives the body's layout). With
``input_mask=False`` (the default, and what checkpoints without the key load as) the network is
exactly the unmasked 3-channel one and takes no mask.

Every conv block is two ``conv3x3 + BN + ReLU`` layers (the paper's implementation details).
The image is taller than wide while the UV map is square, so the bottleneck and the skip
features are bilinearly resampled to the decoder's square grid before use (the image-to-UV
mapping is not spatially aligned anyway; the global context module is what re-arranges content).

Sizes for the defaults (encoder strides 2): image ``128x64`` -> levels ``64x32, 32x16, 16x8, 8x4``;
bottleneck resampled to ``g x g`` with ``g = U / 16`` (``U / 8`` without the extra upsampling);
decoder ``2g, 4g, 8g`` with skips, then (extra layer) ``16g = U``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GLO_MODES", "ConvBlock", "GlobalContext", "TexGlo", "TexGloConfig"]

#: Fusion modes of the global context module.
GLO_MODES = ("none", "sum", "concat")


@dataclass(frozen=True)
class TexGloConfig:
    """Architecture of :class:`TexGlo`.

    Attributes:
        input_size: ``(H, W)`` crops are resized to.
        uv_size: side ``U`` of the output UV map (a multiple of 16 with ``upsample``, of 8 without).
        widths: channels of the encoder levels (one stride-2 conv block each).
        upsample: the extra upsampling layer before the output ("Up").
        glo: global context module fusion: ``"sum"`` (Glo-S), ``"concat"`` (Glo-C), ``"none"``.
        reduce_channels: channels after the module's 1x1 reduction.
        fc_dim: hidden size of its first fully connected layer.
        out_channels: channels of the extra upsampled stage.
        input_mask: mask the input with the body silhouette and feed the mask as a 4th channel
            (see the module docstring); ``forward`` then needs ``mask``.
        mask_fill: grey level in ``[0, 1]`` that replaces the pixels outside the mask.
    """

    input_size: tuple[int, int] = (128, 64)
    uv_size: int = 128
    widths: tuple[int, ...] = (32, 64, 128, 256)
    upsample: bool = True
    glo: str = "sum"
    reduce_channels: int = 32
    fc_dim: int = 512
    out_channels: int = 16
    input_mask: bool = False
    mask_fill: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.input_mask, bool):
            raise ValueError(f"input_mask must be true or false, got {self.input_mask!r}")
        if isinstance(self.mask_fill, bool) or not isinstance(self.mask_fill, (int, float)) or not 0.0 <= self.mask_fill <= 1.0:
            raise ValueError(f"mask_fill must be a number in [0, 1], got {self.mask_fill!r}")
        if self.glo not in GLO_MODES:
            raise ValueError(f"glo must be one of {GLO_MODES}, got {self.glo!r}")
        if len(self.widths) < 2 or min(self.widths) < 1:
            raise ValueError(f"widths needs at least two positive entries, got {self.widths}")
        levels = len(self.widths)
        div = 2 ** levels if self.upsample else 2 ** (levels - 1)
        if self.uv_size < div or self.uv_size % div:
            raise ValueError(f"uv_size must be a positive multiple of {div} for {levels} levels (upsample={self.upsample}), got {self.uv_size}")
        h, w = self.input_size
        if h % 2 ** levels or w % 2 ** levels:
            raise ValueError(f"input_size sides must be multiples of {2 ** levels}, got {self.input_size}")

    @property
    def bottleneck_grid(self) -> int:
        """Side ``g`` of the square bottleneck grid."""
        levels = len(self.widths)
        return self.uv_size // (2 ** levels if self.upsample else 2 ** (levels - 1))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TexGloConfig":
        d = dict(d)
        d["input_size"] = tuple(int(v) for v in d["input_size"])
        d["widths"] = tuple(int(v) for v in d["widths"])
        if "mask_fill" in d:
            d["mask_fill"] = float(d["mask_fill"])
        return cls(**d)

    @property
    def in_channels(self) -> int:
        """Channels of the encoder's input: RGB, plus the mask with ``input_mask``."""
        return 4 if self.input_mask else 3


class ConvBlock(nn.Sequential):
    """Two ``conv3x3 + BN + ReLU``; the first conv has ``stride``: ``(B, C_in, H, W) -> (B, C_out, H/s, W/s)``."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class GlobalContext(nn.Module):
    """Global context module ``G`` (paper Fig. 4(c)) on a ``(B, C, g, g)`` feature map.

    ``r = conv1x1(x)`` ``(B, c, g, g)``; ``z = [gap(r) (B, c), flatten(r) (B, c g^2)]``;
    ``y = FC2(ReLU(FC1(z)))`` ``(B, c g^2)``; ``u = conv1x1(unflatten(y))`` ``(B, C, g, g)``;
    output ``x + u`` (``fusion="sum"``) or ``conv1x1([x, u])`` (``fusion="concat"``), ``(B, C, g, g)``.
    """

    def __init__(self, channels: int, grid: int, reduce_channels: int = 32, fc_dim: int = 512, fusion: str = "sum") -> None:
        super().__init__()
        if fusion not in ("sum", "concat"):
            raise ValueError(f"fusion must be 'sum' or 'concat', got {fusion!r}")
        self.grid = int(grid)
        self.fusion = fusion
        c = int(reduce_channels)
        self.reduce = nn.Sequential(nn.Conv2d(channels, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        flat = c * self.grid * self.grid
        self.fc = nn.Sequential(nn.Linear(c + flat, fc_dim), nn.ReLU(inplace=True), nn.Linear(fc_dim, flat))
        self.restore = nn.Sequential(nn.Conv2d(c, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.fuse = nn.Conv2d(2 * channels, channels, 1) if fusion == "concat" else None

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        if (h, w) != (self.grid, self.grid):
            raise ValueError(f"GlobalContext expects a {self.grid}x{self.grid} map, got {h}x{w}")
        r = self.reduce(x)
        z = torch.cat([r.mean(dim=(2, 3)), r.flatten(1)], dim=1)
        y = self.fc(z).view(b, -1, self.grid, self.grid)
        u = self.restore(y)
        if self.fuse is None:
            return x + u
        return self.fuse(torch.cat([x, u], dim=1))


class TexGlo(nn.Module):
    """TexGlo texture network (see the module docstring): ``(B, 3, H, W)`` [+ mask ``(B, 1, H, W)``] ``-> (B, 3, U, U)``."""

    def __init__(self, config: TexGloConfig = TexGloConfig()) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        enc = []
        in_ch = config.in_channels
        for width in widths:
            enc.append(ConvBlock(in_ch, width, stride=2))
            in_ch = width
        self.encoder = nn.ModuleList(enc)
        g = config.bottleneck_grid
        self.glo = None
        if config.glo != "none":
            self.glo = GlobalContext(widths[-1], g, config.reduce_channels, config.fc_dim, fusion=config.glo)
        dec = []
        ch = widths[-1]
        for skip in reversed(widths[:-1]):
            dec.append(ConvBlock(ch + skip, skip))
            ch = skip
        self.decoder = nn.ModuleList(dec)
        self.up_block = ConvBlock(ch, config.out_channels) if config.upsample else None
        last = config.out_channels if config.upsample else ch
        self.head = nn.Conv2d(last, 3, 3, padding=1)
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), persistent=False)

    def prepare(self, images: Tensor) -> Tensor:
        """Resize ``(B, C, H, W)`` images to ``input_size`` (bilinear, antialiased when shrinking)."""
        if tuple(images.shape[-2:]) != tuple(self.config.input_size):
            shrink = images.shape[-2] > self.config.input_size[0] or images.shape[-1] > self.config.input_size[1]
            images = F.interpolate(images, size=self.config.input_size, mode="bilinear", align_corners=False, antialias=shrink)
        return images

    def network_input(self, images: Tensor, mask: Tensor | None = None) -> Tensor:
        """The normalised encoder input ``(B, C_in, h, w)`` at ``input_size`` (``C_in`` = :attr:`TexGloConfig.in_channels`).

        Args:
            images: ``(B, 3, H, W)`` float crops in ``[0, 1]``.
            mask: ``(B, 1, H, W)`` body silhouette in ``[0, 1]``; required with ``input_mask``,
                refused without it.

        Raises:
            ValueError: wrong shapes, a missing mask (``input_mask=True``) or an unexpected one.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        if not self.config.input_mask:
            if mask is not None:
                raise ValueError("this TexGlo network was built with input_mask=False and takes no mask")
            return (self.prepare(images) - self.mean) / self.std
        if mask is None:
            raise ValueError("this TexGlo network was built with input_mask=True: pass the body silhouette mask (B, 1, H, W) in [0, 1]")
        b, _, h, w = images.shape
        if tuple(mask.shape) != (b, 1, h, w):
            raise ValueError(f"mask must be (B, 1, H, W) = {(b, 1, h, w)} like the images, got {tuple(mask.shape)}")
        mask = mask.to(images.dtype)
        # Composite at the crop's resolution, before any resampling, so that background pixels
        # (mask 0) have exactly no weight in what the network sees.
        composite = images * mask + self.config.mask_fill * (1.0 - mask)
        x = self.prepare(torch.cat([composite, mask], dim=1))
        return torch.cat([(x[:, :3] - self.mean) / self.std, x[:, 3:] * 2.0 - 1.0], dim=1)

    def forward(self, images: Tensor, mask: Tensor | None = None) -> Tensor:
        """``images`` ``(B, 3, H, W)`` float in ``[0, 1]`` (and, with ``input_mask``, the body ``mask``
        ``(B, 1, H, W)`` in ``[0, 1]``, see :meth:`network_input`) -> UV texture ``(B, 3, U, U)`` in ``[0, 1]``."""
        x = self.network_input(images, mask)
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        g = self.config.bottleneck_grid
        x = F.interpolate(skips[-1], size=(g, g), mode="bilinear", align_corners=False)
        if self.glo is not None:
            x = self.glo(x)
        for block, skip in zip(self.decoder, reversed(skips[:-1])):
            side = x.shape[-1] * 2
            x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
            s = F.interpolate(skip, size=(side, side), mode="bilinear", align_corners=False)
            x = block(torch.cat([x, s], dim=1))
        if self.up_block is not None:
            side = x.shape[-1] * 2
            x = self.up_block(F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False))
        out = torch.sigmoid(self.head(x).float())
        u = self.config.uv_size
        if out.shape[-1] != u:  # without the extra upsampling layer: plain bilinear to the UV size
            out = F.interpolate(out, size=(u, u), mode="bilinear", align_corners=False)
        return out
