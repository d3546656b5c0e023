"""Resolution-aware ResNet-18/34/50 (the "R" of RSC-Net).

Every residual block ``k`` computes

    ``z_k = relu(shortcut(z_{k-1}) + alpha[i, k] * h_k(z_{k-1}))``

where ``h_k`` is the block's residual branch (conv-bn-relu-conv-bn for BasicBlock,
conv-bn-relu-conv-bn-relu-conv-bn for Bottleneck), ``shortcut`` is the identity or the 1x1
``downsample`` projection (never scaled) and ``i`` is the resolution range of the *sample*: the
table ``alpha`` of shape ``(P, num_blocks)`` (one row per range, initialised to 1) is indexed with
``range_index (B,)``, so one batch may mix ranges. With all of ``alpha`` equal to 1 the network is
exactly a standard ResNet. The plain baseline (``resolution_aware=False``) has no ``alpha`` at all
and ignores ``range_index``.

Module and parameter names follow torchvision's ``ResNet`` (``conv1``, ``bn1``, ``layer1.0.conv1``,
..., ``layer4.2.bn3``, ``layerN.0.downsample.0/1``) so ImageNet weights load with
:func:`load_torchvision_state_dict`; the classifier ``fc`` is not part of the backbone. Bottleneck
blocks put the stride on the 3x3 convolution (torchvision's "ResNet v1.5"), as the ImageNet weights
expect. The only extra state-dict entry is ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from model.nets.config import BLOCKS_PER_STAGE, BackboneConfig

__all__ = [
    "BackboneConfig",
    "BasicBlock",
    "Bottleneck",
    "IncompatibleStateDictError",
    "LoadReport",
    "ResolutionAwareResNet",
    "load_torchvision_state_dict",
]

_STAGE_WIDTHS = (64, 128, 256, 512)


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        in_ch, out_ch, kernel_size=3, stride=stride, padding=dilation, dilation=dilation, bias=False
    )


def _conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)


def _apply_scale(residual: Tensor, scale: Tensor | None) -> Tensor:
    """``residual * scale`` with ``scale (B,)`` broadcast over (C, H, W), in the residual's dtype.

    Casting the (float32) scale to the branch's dtype keeps bf16 activations bf16 under autocast
    (a float32 factor would silently promote the whole block to float32).
    """
    if scale is None:
        return residual
    return residual * scale.to(residual.dtype).view(-1, 1, 1, 1)


class _ResidualBlock(nn.Module):
    """A residual block: ``relu(shortcut(x) + scale * residual(x))``."""

    expansion = 1
    downsample: nn.Sequential | None
    relu: nn.ReLU

    def residual(self, x: Tensor) -> Tensor:
        """h(x): the residual branch, ``(B, C_in, H, W) -> (B, C_out, H/stride, W/stride)``."""
        raise NotImplementedError

    def forward(self, x: Tensor, scale: Tensor | None = None) -> Tensor:
        """``relu(shortcut(x) + scale * h(x))``; ``scale (B,)`` or ``None`` (= 1)."""
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(identity + _apply_scale(self.residual(x), scale))


class BasicBlock(_ResidualBlock):
    """Two 3x3 convolutions (ResNet-18/34). Output channels ``planes``."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1, dilation: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_ch, planes, stride, dilation[0])
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, dilation=dilation[1])
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != planes * self.expansion:
            self.downsample = nn.Sequential(
                _conv1x1(in_ch, planes * self.expansion, stride), nn.BatchNorm2d(planes * self.expansion)
            )

    def residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(_ResidualBlock):
    """1x1 - 3x3 (strided) - 1x1 bottleneck (ResNet-50). Output channels ``4 * planes``."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, dilation: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = _conv1x1(in_ch, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride, dilation[0])
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, out_ch)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(_conv1x1(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch))

    def residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


class ResolutionAwareResNet(nn.Module):
    """ResNet backbone whose residual branches are scaled per sample by ``alpha[range_index]``.

    Input images are expected already normalised (ImageNet mean/std); :class:`model.nets.RSCNet`
    does that. Any input size works (global average pooling); sizes >= 32 give a final feature map
    of at least 1x1 without degenerate padding-only convolutions.

    Attributes:
        config: the :class:`BackboneConfig` it was built from.
        feature_dim: C (512 for depths 18/34, 2048 for 50).
        alpha: ``(P, num_blocks)`` float32 parameter, present only when ``config.resolution_aware``.
            Column ``k`` belongs to the ``k``-th block counted through layer1..layer4 in order.
    """

    def __init__(self, config: BackboneConfig) -> None:
        super().__init__()
        if not isinstance(config, BackboneConfig):
            raise TypeError(f"config must be a BackboneConfig, got {type(config).__name__}")
        self.config = config
        block: type[_ResidualBlock] = Bottleneck if config.depth == 50 else BasicBlock
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_ch = 64
        stages = []
        #: Output channels of layer1..layer4 (ResNet-18/34: 64, 128, 256, 512).
        self.stage_channels: tuple[int, ...] = tuple(w * block.expansion for w in _STAGE_WIDTHS)
        for s, (width, count) in enumerate(zip(_STAGE_WIDTHS, BLOCKS_PER_STAGE[config.depth])):
            blocks = []
            # output_stride 16: layer4 drops its stride and dilates its 3x3 convolutions by 2 instead
            # ``dilation``: (the convolution where the stride would be, the later 3x3 ones); the first
            # block's strided position still sees layer3's grid, dilation 1, as in torchvision.
            dilated = s == 3 and config.output_stride == 16
            for b in range(count):
                stride = 2 if (s > 0 and b == 0 and not dilated) else 1
                dilation = ((1 if b == 0 else 2), 2) if dilated else (1, 1)
                blocks.append(block(in_ch, width, stride, dilation))
                in_ch = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.feature_dim = in_ch
        self.num_blocks = config.num_blocks
        if config.resolution_aware:
            self.alpha = nn.Parameter(torch.ones(config.num_ranges, self.num_blocks))
        else:
            self.register_parameter("alpha", None)
        self.reset_parameters()

    @property
    def resolution_aware(self) -> bool:
        return self.alpha is not None

    @property
    def num_ranges(self) -> int:
        return self.config.num_ranges

    def blocks(self) -> list[_ResidualBlock]:
        """The residual blocks in ``alpha``-column order."""
        return [blk for layer in (self.layer1, self.layer2, self.layer3, self.layer4) for blk in layer]

    def reset_parameters(self) -> None:
        """He (fan-out) init for convolutions, BN weight 1 / bias 0, ``alpha`` = 1 (torchvision's init)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.alpha is not None:
            with torch.no_grad():
                self.alpha.fill_(1.0)

    def block_scales(self, range_index: Tensor | None, batch_size: int) -> Tensor | None:
        """Per-sample scales ``alpha[range_index]``: ``(B, num_blocks)``, or ``None`` for the baseline.

        Raises:
            ValueError: ``range_index`` missing, not a ``(B,)`` integer tensor, or (CPU tensors
                only, to avoid a device sync) out of ``[0, P)``.
        """
        if self.alpha is None:
            return None
        if range_index is None:
            raise ValueError("a resolution-aware backbone needs range_index (B,) long")
        if range_index.shape != (batch_size,) or range_index.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"range_index must be a ({batch_size},) int64 tensor, "
                f"got {tuple(range_index.shape)} {range_index.dtype}"
            )
        if range_index.device.type == "cpu" and batch_size > 0:
            lo, hi = int(range_index.min()), int(range_index.max())
            if lo < 0 or hi >= self.num_ranges:
                raise ValueError(f"range_index values must lie in [0, {self.num_ranges}), got min {lo}, max {hi}")
        return self.alpha.index_select(0, range_index.to(self.alpha.device).long())

    def forward_stages(self, x: Tensor, range_index: Tensor | None = None) -> list[Tensor]:
        """The four stages' output maps ``[layer1, layer2, layer3, layer4]``.

        Args: as :meth:`forward_features`.

        Returns:
            maps of strides 4, 8, 16, 32 (16 for layer4 with ``output_stride`` 16):
            ``(B, 64|256, H/4, W/4)`` ... ``(B, 512|2048, H/32, W/32)`` (ceil), in the compute dtype.
        """
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got {tuple(x.shape)}")
        if self.conv1.weight.is_contiguous(memory_format=torch.channels_last) and not self.conv1.weight.is_contiguous():
            x = x.contiguous(memory_format=torch.channels_last)
        scales = self.block_scales(range_index, x.shape[0])
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        stages, k = [], 0
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for blk in layer:
                x = blk(x, None if scales is None else scales[:, k])
                k += 1
            stages.append(x)
        return stages

    def forward_features(self, x: Tensor, range_index: Tensor | None = None) -> Tensor:
        """Final feature map.

        Args:
            x: ``(B, 3, H, W)`` normalised images. Converted to channels_last when the network's
                weights are channels_last (``model.to(memory_format=torch.channels_last)``).
            range_index: ``(B,)`` int64 resolution range of each sample; ignored (may be ``None``)
                by the baseline.

        Returns:
            ``(B, C, ceil(H/r), ceil(W/r))``, ``r`` = ``config.output_stride`` (32 or 16), in the
            compute dtype (bf16 under bf16 autocast).
        """
        return self.forward_stages(x, range_index)[-1]

    def forward(self, x: Tensor, range_index: Tensor | None = None) -> Tensor:
        """Globally average-pooled features.

        Args:
            x: ``(B, 3, H, W)`` normalised images.
            range_index: ``(B,)`` int64 resolution range of each sample (see :meth:`forward_features`).

        Returns:
            phi: ``(B, C)`` float32 (pooling is done in float32, also under autocast).
        """
        return self.forward_features(x, range_index).float().mean(dim=(2, 3))

    @torch.no_grad()
    def copy_alpha_row(self, src: int, dst: int) -> None:
        """Initialise range ``dst``'s row of ``alpha`` with a copy of range ``src``'s row.

        Used by progressive training when a new (lower) resolution range is introduced. Optimizer
        state (e.g. Adam moments) of the row is not touched.
        """
        if self.alpha is None:
            raise RuntimeError("copy_alpha_row: this backbone is not resolution-aware (it has no alpha)")
        for name, value in (("src", src), ("dst", dst)):
            if not 0 <= int(value) < self.num_ranges:
                raise IndexError(f"copy_alpha_row: {name}={value} outside [0, {self.num_ranges})")
        self.alpha[int(dst)].copy_(self.alpha[int(src)])

    @torch.no_grad()
    def folded_state_dict(self, row: int) -> dict[str, Tensor]:
        """These weights as a plain ResNet (no ``alpha``) that answers as range ``row`` does.

        Each block's residual branch ends in a batch norm, so ``alpha[row, k] * h_k`` is ``h_k`` with that
        norm's weight and bias scaled by ``alpha[row, k]`` (exact in training and in evaluation mode: the
        normalisation itself does not change). The paper's baselines (Ba, HR-only) have no ``alpha``;
        this gives them the same start as a resolution-aware run, e.g. a long run's file read at its
        highest range (row 0) as the full-resolution network every model of Table 6 starts from.

        Returns:
            a state dict for ``ResolutionAwareResNet(config with resolution_aware=False)`` (strict).

        Raises:
            RuntimeError: the backbone has no ``alpha``; IndexError: ``row`` outside ``[0, P)``.
        """
        if self.alpha is None:
            raise RuntimeError("folded_state_dict: this backbone is not resolution-aware (it has no alpha)")
        if not 0 <= int(row) < self.num_ranges:
            raise IndexError(f"folded_state_dict: row {row} outside [0, {self.num_ranges})")
        state = {k: v for k, v in self.state_dict().items() if k != "alpha"}
        names = {module: name for name, module in self.named_modules()}
        for k, blk in enumerate(self.blocks()):
            last = blk.bn3 if isinstance(blk, Bottleneck) else blk.bn2
            for part in ("weight", "bias"):
                state[f"{names[last]}.{part}"] = getattr(last, part) * self.alpha[int(row), k]
        return state

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"depth={c.depth}, num_ranges={c.num_ranges}, resolution_aware={c.resolution_aware}, "
            f"output_stride={c.output_stride}"
        )


class IncompatibleStateDictError(RuntimeError):
    """A state dict does not match the backbone; the message lists the offending keys."""


@dataclass
class LoadReport:
    """What :func:`load_torchvision_state_dict` did.

    Attributes:
        loaded: keys copied into the model.
        newly_initialised: model keys the checkpoint cannot have and that keep their initial value
            (``alpha``).
        defaulted: ``*.num_batches_tracked`` counters absent from old checkpoints (set to 0; they
            do not affect the network's output).
        dropped: checkpoint keys deliberately not loaded (the classifier ``fc.*`` with ``ignore_fc``).
    """

    loaded: list[str] = field(default_factory=list)
    newly_initialised: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"loaded {len(self.loaded)} tensors; newly initialised {self.newly_initialised}; "
            f"defaulted {len(self.defaulted)} num_batches_tracked; dropped {self.dropped}"
        )


def _shorten(keys: list[str], limit: int = 20) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_torchvision_state_dict(
    model: ResolutionAwareResNet, state_dict: dict[str, Tensor], *, ignore_fc: bool = True
) -> LoadReport:
    """Load a torchvision ``resnet{18,34,50}`` state dict (e.g. ImageNet weights) into ``model``.

    Loading is strict: every backbone tensor must come from the checkpoint and every checkpoint
    tensor must land in the backbone, with matching shapes. The only exceptions, all reported in
    the returned :class:`LoadReport`, are ``alpha`` (not in torchvision checkpoints; keeps its
    initial value 1), ``*.num_batches_tracked`` (missing from old checkpoints; set to 0) and, when
    ``ignore_fc`` is set, the classifier ``fc.weight`` / ``fc.bias`` (the backbone has no
    classifier). With ``ignore_fc=False`` a checkpoint carrying ``fc.*`` is refused.

    A leading ``"module."`` (from ``DataParallel``) is not stripped: pass clean keys.

    Raises:
        IncompatibleStateDictError: missing or unexpected keys, or shape mismatches; the message
            names each of them. The model is left unchanged.
    """
    own = model.state_dict()
    report = LoadReport()
    given = dict(state_dict)
    if ignore_fc:
        report.dropped = sorted(k for k in given if k.startswith("fc."))
        for k in report.dropped:
            del given[k]
    report.newly_initialised = sorted(k for k in own if k == "alpha" and k not in given)
    report.defaulted = sorted(k for k in own if k.endswith(".num_batches_tracked") and k not in given)
    missing = sorted(set(own) - set(given) - set(report.newly_initialised) - set(report.defaulted))
    unexpected = sorted(set(given) - set(own))
    mismatched = sorted(
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in given.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    )
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {_shorten(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_shorten(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches ({len(mismatched)}): {_shorten(mismatched)}")
    if problems:
        raise IncompatibleStateDictError(
            f"cannot load state dict into ResNet-{model.config.depth} backbone: " + "; ".join(problems)
        )
    for k in report.defaulted:
        given[k] = torch.zeros_like(own[k])
    result = model.load_state_dict(given, strict=False)
    leftover = sorted(set(result.missing_keys) - set(report.newly_initialised))
    if leftover or result.unexpected_keys:  # cannot happen after the checks above
        raise IncompatibleStateDictError(f"load failed: missing {leftover}, unexpected {result.unexpected_keys}")
    report.loaded = sorted(k for k in given if k in own)
    return report
