"""Configuration of the networks, kept apart from the code that builds them.

Both dataclasses validate themselves on construction and round-trip through plain dictionaries
(``to_dict`` gives JSON/YAML-serialisable nested dicts; ``from_dict`` rejects unknown keys and
names them), so a network can be rebuilt from the config stored in a checkpoint:

>>> cfg = NetConfig.from_dict({"backbone": {"depth": 18}, "input_size": 128})
>>> NetConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BLOCKS_PER_STAGE", "HEADING_HEAD_MODES", "KEYPOINT_HEAD_MODES", "KEYPOINT_HEAD_STRIDES", "OUTPUT_STRIDES", "POOLINGS", "BackboneConfig", "FlatConfig", "NetConfig"]

#: Values of :attr:`NetConfig.keypoint_head`.
KEYPOINT_HEAD_MODES = ("off", "aux", "feed")
#: Values of :attr:`NetConfig.keypoint_head_stride`: 8 (layer2 + layer3, soft-argmax) or 4 (layer1-3 pyramid, peak).
KEYPOINT_HEAD_STRIDES = (8, 4)
#: Values of :attr:`NetConfig.heading_head`.
HEADING_HEAD_MODES = ("off", "aux", "decode")

#: Values of :attr:`NetConfig.pooling`.
POOLINGS = ("mean", "flatten")

#: Values of :attr:`BackboneConfig.output_stride`.
OUTPUT_STRIDES = (32, 16)

#: Residual blocks per stage (layer1..layer4) of the supported ResNet depths.
BLOCKS_PER_STAGE: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
}


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_keys(cls: type, data: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}.from_dict expects a mapping, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; known keys are {sorted(known)}")


class FlatConfig:
    """Mixin of flat (non-nested) config dataclasses: ``to_dict`` / ``from_dict`` rejecting unknown keys."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        _check_keys(cls, data)
        return cls(**data)


@dataclass(frozen=True)
class BackboneConfig:
    """ResNet backbone.

    Attributes:
        depth: 18, 34 (BasicBlock) or 50 (Bottleneck); the paper (like SPIN) uses 50.
        num_ranges: P, rows of the resolution-aware table ``alpha`` (one per resolution range; the
            paper has 5, see :mod:`model.geometry.resolution`).
        resolution_aware: ``True``: residual branches are scaled by ``alpha[range_index, block]``.
            ``False``: the plain baseline ResNet, which has no ``alpha`` parameter at all.
        output_stride: input pixels per cell of the last feature map. 32: the standard ResNet.
            16: layer4 keeps layer3's resolution (no stride; its 3x3 convolutions dilated by 2, so
            every weight sees the same extent of the image as at stride 32 and the parameters are
            the same tensors): a 64-px input ends on a 4x4 map instead of 2x2, for about 1.6x the
            network's work (DeepLab's "output stride").
    """

    depth: int = 50
    num_ranges: int = 5
    resolution_aware: bool = True
    output_stride: int = 32

    def __post_init__(self) -> None:
        if isinstance(self.depth, bool) or self.depth not in BLOCKS_PER_STAGE:
            raise ValueError(f"depth must be one of {sorted(BLOCKS_PER_STAGE)}, got {self.depth!r}")
        _check_int("num_ranges", self.num_ranges, 1)
        if not isinstance(self.resolution_aware, bool):
            raise ValueError(f"resolution_aware must be a bool, got {self.resolution_aware!r}")
        if isinstance(self.output_stride, bool) or self.output_stride not in OUTPUT_STRIDES:
            raise ValueError(f"output_stride must be one of {list(OUTPUT_STRIDES)}, got {self.output_stride!r}")

    @property
    def num_blocks(self) -> int:
        """Residual blocks in the network (columns of ``alpha``): 8 for ResNet-18, 16 for 34 and 50."""
        return sum(BLOCKS_PER_STAGE[self.depth])

    @property
    def feature_dim(self) -> int:
        """C, channels of the pooled feature: 512 (18, 34) or 2048 (50)."""
        return 2048 if self.depth == 50 else 512

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BackboneConfig":
        """Build from a mapping; missing keys take their defaults, unknown keys raise ``ValueError``."""
        _check_keys(cls, data)
        return cls(**dict(data))


@dataclass(frozen=True)
class NetConfig:
    """The whole RSC-Net: backbone, iterative regressor and contrastive projection head.

    Attributes:
        backbone: see :class:`BackboneConfig` (a mapping is accepted and converted).
        regressor_iterations: refinement steps of the iterative regressor (HMR/SPIN: 3).
        regressor_hidden_dim: width of the regressor's two fully connected layers (SPIN: 1024).
        regressor_dropout: dropout probability after each of them (SPIN: 0.5).
        projection_hidden_dim: hidden width of the projection MLP; ``None`` = the feature width C
            (as in SimCLR / MoCo v2).
        projection_dim: output width of the projection MLP (SimCLR / MoCo v2: 128).
        input_size: S, side of the square images the network is given (pixels).
        keypoint_head: the 2D keypoint head on layer2 + layer3
            (:class:`~model.nets.heads.keypoints.KeypointHead`): ``"off"``; ``"aux"`` (its COCO-17
            keypoints are supervised, the regressor does not see them); ``"feed"`` (supervised and
            concatenated to the regressor's input).
        heading_head: the heading classifier on the last stage
            (:class:`~model.nets.heads.heading.HeadingHead`): ``"off"``; ``"aux"`` (its logits are
            supervised, the answer's root rotation is the regressor's); ``"decode"`` (supervised,
            and at inference the root rotation is turned about the camera's vertical axis to the
            head's heading, :func:`model.geometry.heading.with_heading`).
        heading_bins: K, bins of the heading head (12: 30 degrees each).
        keypoint_head_stride: the keypoint head's map: ``8`` (layer2 + layer3, answered by the
            expectation of each map, :class:`~model.nets.heads.keypoints.KeypointHead`) or ``4``
            (a pyramid over layer1-layer3, answered at each map's peak,
            :class:`~model.nets.heads.heatmaps.HeatmapHead`; made for ``loss.keypoint_head_loss:
            heatmap``).
        pooling: how the last feature map becomes the feature ``phi`` the regressor, the projection
            head and the video and texture modules read: ``"mean"`` (global average pooling, HMR /
            SPIN: ``(B, C)``, where anything is in the picture is lost and has to be coded into the
            channels) or ``"flatten"`` (the map's cells side by side, ``(B, C * cells)``: at a 64-px
            input and output stride 32, 2 x 2 cells, 2048 values for ResNet-18, each cell keeping
            its place).
        part_head: a body-part segmentation head (:class:`~model.nets.heads.parts.PartHead`, a
            stride-4 pyramid over layer1-layer3) answering each cell's class of
            :mod:`model.body.parts` (left and right apart, front and back apart): an auxiliary dense
            target that the inside of the figure decides and its outline does not. Off by default.
        cut_input: the regressor also reads a cut flag per crop: 1 when the person goes on beyond
            the crop (the frame's edge or something in front cuts them), 0 for a whole person
            (:meth:`~model.nets.rscnet.RSCNet.forward`'s ``cut``; in training the partial-view cut of
            :mod:`model.data.partial_view`, in the service the client's ``cut`` field). A learned
            vector, zero at the start, is added to the regressor's first layer, so a network
            initialised from one without the flag answers the same until training moves it. Off
            by default.
    """

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    regressor_iterations: int = 3
    regressor_hidden_dim: int = 1024
    regressor_dropout: float = 0.5
    projection_hidden_dim: int | None = None
    projection_dim: int = 128
    input_size: int = 224
    keypoint_head: str = "off"
    heading_head: str = "off"
    heading_bins: int = 12
    keypoint_head_stride: int = 8
    pooling: str = "mean"
    part_head: bool = False
    cut_input: bool = False

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.keypoint_head not in KEYPOINT_HEAD_MODES:
            raise ValueError(f"keypoint_head must be one of {KEYPOINT_HEAD_MODES}, got {self.keypoint_head!r}")
        if self.heading_head not in HEADING_HEAD_MODES:
            raise ValueError(f"heading_head must be one of {HEADING_HEAD_MODES}, got {self.heading_head!r}")
        _check_int("heading_bins", self.heading_bins, 2)
        if self.keypoint_head_stride not in KEYPOINT_HEAD_STRIDES or isinstance(self.keypoint_head_stride, bool):
            raise ValueError(f"keypoint_head_stride must be one of {KEYPOINT_HEAD_STRIDES}, got {self.keypoint_head_stride!r}")
        if isinstance(self.backbone, Mapping):
            object.__setattr__(self, "backbone", BackboneConfig.from_dict(self.backbone))
        if not isinstance(self.backbone, BackboneConfig):
            raise ValueError(f"backbone must be a BackboneConfig or a mapping, got {type(self.backbone).__name__}")
        _check_int("regressor_iterations", self.regressor_iterations, 1)
        _check_int("regressor_hidden_dim", self.regressor_hidden_dim, 1)
        dropout = self.regressor_dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"regressor_dropout must be a number in [0, 1), got {dropout!r}")
        object.__setattr__(self, "regressor_dropout", float(dropout))
        if self.projection_hidden_dim is not None:
            _check_int("projection_hidden_dim", self.projection_hidden_dim, 1)
        _check_int("projection_dim", self.projection_dim, 1)
        _check_int("input_size", self.input_size, 32)
        for flag in ("part_head", "cut_input"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be a bool, got {getattr(self, flag)!r}")

    @property
    def feature_cells(self) -> int:
        """Cells of the last feature map that ``phi`` keeps: 1 for ``"mean"`` pooling, else
        ``ceil(S / output_stride)`` squared."""
        if self.pooling == "mean":
            return 1
        side = -(-self.input_size // self.backbone.output_stride)
        return side * side

    @property
    def feature_dim(self) -> int:
        """Width of ``phi``: the backbone's channels times :attr:`feature_cells`."""
        return self.backbone.feature_dim * self.feature_cells

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (``backbone`` is a dict too)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NetConfig":
        """Build from a (nested) mapping; missing keys take their defaults.

        Raises:
            ValueError: unknown keys (at the top level or in ``backbone``; the message names them)
                or invalid values.
        """
        _check_keys(cls, data)
        return cls(**dict(data))
