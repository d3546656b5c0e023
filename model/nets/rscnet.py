"""RSC-Net: resolution-aware ResNet + iterative SMPL regressor + contrastive projection head.

>>> net = RSCNet(NetConfig(), load_body_model().mean_params)
>>> out = net(images, range_index)      # images (B, 3, 224, 224) in [0, 1], range_index (B,) long
>>> out.pose_rotmat.shape, out.betas.shape, out.camera.shape   # (B, 24, 3, 3), (B, 10), (B, 3)
>>> z = net.project(out.phi)            # (B, 128), for the contrastive loss

Input convention: RGB float images in ``[0, 1]`` (not ImageNet-normalised). The network
subtracts the ImageNet mean and divides by the ImageNet std itself (constant, non-persistent
buffers), so callers never normalise and the ImageNet-pretrained backbone sees what it expects.

Precision: the network runs in channels_last (``net.to(memory_format=torch.channels_last)``) and
under ``torch.autocast(..., dtype=torch.bfloat16)``; the backbone then computes in bf16 while the
pooled feature ``phi``, the regressor outputs and the projection are float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from model.body.model import MeanParams
from model.geometry.heading import heading_from_logits, with_heading
from model.geometry.rotations import matrix_to_rot6d
from model.nets.backbones.resnet import (
    IncompatibleStateDictError,
    LoadReport,
    ResolutionAwareResNet,
    load_torchvision_state_dict,
)
from model.nets.config import NetConfig
from model.nets.heads.heading import HeadingHead
from model.nets.heads.heatmaps import HeatmapHead
from model.nets.heads.keypoints import KeypointHead
from model.nets.heads.parts import PartHead
from model.nets.heads.projection import ProjectionHead
from model.nets.heads.regressor import IterationOutput, IterativeRegressor

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "RSCNet", "RSCNetOutput"]

#: Keypoints of the keypoint head: COCO-17.
NUM_HEAD_KEYPOINTS = 17
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: The cut input's weights (:attr:`NetConfig.cut_input`): a source without them starts them at zero.
CUT_INPUT_KEY = "regressor.condition.weight"


@dataclass
class RSCNetOutput:
    """Output of :class:`RSCNet` (all float32).

    Attributes:
        phi: ``(B, D)`` pooled backbone feature (input of the regressor and of :meth:`RSCNet.project`;
            ``D`` = :attr:`RSCNet.feature_dim`, C with mean pooling).
        pose_rotmat: ``(B, 24, 3, 3)`` SMPL-layout joint rotations, joint 0 = global orientation.
        betas: ``(B, 10)`` shape coefficients.
        camera: ``(B, 3)`` weak-perspective camera ``[s, tx, ty]`` of the crop.
        pose_6d: ``(B, 24, 6)`` raw 6D pose the rotations come from.
        iterations: per-refinement-step predictions of the regressor (deep supervision).
        keypoints2d: ``(B, 17, 2)`` COCO-17 keypoints of the keypoint head in normalised crop
            coordinates ``2 u / S - 1``, or ``None`` (``config.keypoint_head == "off"``).
        keypoint_logits: ``(B, 17, H, W)`` the keypoint head's heatmap logits (``H = S / stride``),
            or ``None``.
        heading_logits: ``(B, K)`` logits of the heading head over its bins, or ``None``
            (``config.heading_head == "off"``).
        part_logits: ``(B, 21, S / 4, S / 4)`` the part head's per-cell class logits
            (:mod:`model.body.parts`), or ``None`` (``config.part_head`` off).
    """

    phi: Tensor
    pose_rotmat: Tensor
    betas: Tensor
    camera: Tensor
    pose_6d: Tensor
    iterations: list[IterationOutput] = field(default_factory=list)
    keypoints2d: Tensor | None = None
    heading_logits: Tensor | None = None
    keypoint_logits: Tensor | None = None
    part_logits: Tensor | None = None


class RSCNet(nn.Module):
    """The RSC-Net network.

    Args:
        config: :class:`NetConfig`.
        mean_params: initial state of the regressor, normally ``load_body_model().mean_params``.

    Submodules: ``backbone`` (:class:`ResolutionAwareResNet`; its resolution table is
    ``backbone.alpha``), ``regressor`` (:class:`IterativeRegressor`), ``projection``
    (:class:`ProjectionHead`).
    """

    pixel_mean: Tensor
    pixel_std: Tensor

    def __init__(self, config: NetConfig, mean_params: MeanParams) -> None:
        super().__init__()
        if not isinstance(config, NetConfig):
            raise TypeError(f"config must be a NetConfig, got {type(config).__name__}")
        self.config = config
        self.backbone = ResolutionAwareResNet(config.backbone)
        c = config.feature_dim
        self.keypoint_head: KeypointHead | HeatmapHead | None = None
        if config.keypoint_head != "off":
            widths = self.backbone.stage_channels
            head = HeatmapHead if config.keypoint_head_stride == 4 else KeypointHead
            self.keypoint_head = head(tuple(widths[i] for i in head.STAGES), NUM_HEAD_KEYPOINTS)
        self.heading_head: HeadingHead | None = None
        if config.heading_head != "off":
            self.heading_head = HeadingHead(self.backbone.feature_dim, config.heading_bins)
        self.part_head: PartHead | None = None
        if config.part_head:
            self.part_head = PartHead(tuple(self.backbone.stage_channels[i] for i in PartHead.STAGES))
        feed = NUM_HEAD_KEYPOINTS * 2 if config.keypoint_head == "feed" else 0
        self.regressor = IterativeRegressor(
            c + feed,
            mean_params,
            num_iterations=config.regressor_iterations,
            hidden_dim=config.regressor_hidden_dim,
            dropout=config.regressor_dropout,
            condition_dim=1 if config.cut_input else 0,
        )
        self.projection = ProjectionHead(c, config.projection_hidden_dim, config.projection_dim)
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def feature_dim(self) -> int:
        """Width of ``phi``: C (512 for ResNet-18/34, 2048 for ResNet-50) with mean pooling, C times
        the last map's cells with ``pooling: flatten``."""
        return self.config.feature_dim

    def pool(self, last: Tensor) -> Tensor:
        """``phi`` float32 from the last feature map ``(B, C, h, w)``: ``(B, C)`` (mean) or
        ``(B, C * h * w)`` (flatten, cell by cell in row-major order, channels within a cell)."""
        if self.config.pooling == "mean":
            return last.float().mean(dim=(2, 3))
        if last.shape[2] * last.shape[3] != self.config.feature_cells:
            raise ValueError(f"flatten pooling expects {self.config.feature_cells} cells, got {tuple(last.shape[2:])}")
        return last.float().permute(0, 2, 3, 1).flatten(1)

    @property
    def num_ranges(self) -> int:
        return self.backbone.num_ranges

    def normalize(self, images: Tensor) -> Tensor:
        """``(images - ImageNet mean) / ImageNet std``; ``(B, 3, S, S)`` in [0, 1] -> same shape."""
        return (images - self.pixel_mean.to(images.dtype)) / self.pixel_std.to(images.dtype)

    def extract(self, images: Tensor, range_index: Tensor | None) -> Tensor:
        """Only the pooled feature ``phi (B, D)`` float32 (e.g. for the contrastive branch; see :meth:`pool`)."""
        self._check_images(images)
        return self.pool(self.backbone.forward_features(self.normalize(images), range_index))

    def forward(self, images: Tensor, range_index: Tensor | None, cut: Tensor | None = None) -> RSCNetOutput:
        """Predict pose, shape and camera.

        Args:
            images: ``(B, 3, S, S)`` float RGB in ``[0, 1]``, ``S = config.input_size`` (low-resolution
                crops are resized to S beforehand).
            range_index: ``(B,)`` int64 resolution range of each sample (row of ``backbone.alpha``,
                see :func:`model.geometry.resolution.resolution_index`); may be ``None`` only for the
                baseline (``resolution_aware=False``).
            cut: ``(B,)`` float cut flag (1: the person goes on beyond the crop, 0: whole; see
                :attr:`NetConfig.cut_input`); ``None`` reads as all zeros. Only a network built with
                ``cut_input`` takes it.

        Returns:
            :class:`RSCNetOutput`. With ``config.heading_head == "decode"`` and the network in eval
            mode, the root rotation (``pose_rotmat[:, 0]``, ``pose_6d[:, 0]``) is turned about the
            camera's vertical axis to the heading head's answer (its probability-weighted circular
            mean); in training mode it is always the regressor's, which the losses supervise.
        """
        self._check_images(images)
        condition = self._cut_condition(cut, images.shape[0], images.device)
        stages = self.backbone.forward_stages(self.normalize(images), range_index)
        phi = self.pool(stages[-1])
        keypoints, keypoint_logits = None, None
        if self.keypoint_head is not None:
            keypoint_logits = self.keypoint_head.heatmap_logits(*(stages[i] for i in self.keypoint_head.STAGES))
            keypoints = self.keypoint_head.decode(keypoint_logits)
        heading = None if self.heading_head is None else self.heading_head(stages[-1])
        parts = None if self.part_head is None else self.part_head(*(stages[i] for i in self.part_head.STAGES))
        reg = self.regressor(
            phi if self.config.keypoint_head != "feed" else torch.cat([phi, keypoints.flatten(1)], dim=1), condition=condition
        )
        pose_rotmat, pose_6d = reg.pose_rotmat, reg.pose_6d
        if heading is not None and self.config.heading_head == "decode" and not self.training:
            root = with_heading(pose_rotmat[:, 0].float(), heading_from_logits(heading))
            pose_rotmat = torch.cat([root[:, None].to(pose_rotmat.dtype), pose_rotmat[:, 1:]], dim=1)
            pose_6d = torch.cat([matrix_to_rot6d(root)[:, None].to(pose_6d.dtype), pose_6d[:, 1:]], dim=1)
        return RSCNetOutput(
            keypoints2d=keypoints,
            keypoint_logits=keypoint_logits,
            heading_logits=heading,
            part_logits=parts,
            phi=phi,
            pose_rotmat=pose_rotmat,
            betas=reg.betas,
            camera=reg.camera,
            pose_6d=pose_6d,
            iterations=reg.iterations,
        )

    def _cut_condition(self, cut: Tensor | None, batch: int, device: torch.device) -> Tensor | None:
        """The regressor's ``(B, 1)`` condition from ``cut``, or ``None`` (no flags, which the
        regressor reads as zeros, or a network without :attr:`NetConfig.cut_input`)."""
        if not self.config.cut_input:
            if cut is not None:
                raise ValueError("this network has no cut input (NetConfig.cut_input is off); pass cut=None")
            return None
        if cut is None:
            return None
        if tuple(cut.shape) != (batch,):
            raise ValueError(f"cut must be ({batch},), got {tuple(cut.shape)}")
        return cut.to(device=device, dtype=torch.float32).reshape(batch, 1)

    def project(self, phi: Tensor) -> Tensor:
        """Projection head for the contrastive loss: ``(B, D) -> (B, projection_dim)`` float32,
        not normalised (the loss normalises)."""
        return self.projection(phi)

    def copy_alpha_row(self, src: int, dst: int) -> None:
        """See :meth:`ResolutionAwareResNet.copy_alpha_row`."""
        self.backbone.copy_alpha_row(src, dst)

    def load_imagenet_backbone(self, state_dict: dict[str, Tensor], *, ignore_fc: bool = True) -> LoadReport:
        """Load torchvision ResNet weights into the backbone (see :func:`load_torchvision_state_dict`)."""
        return load_torchvision_state_dict(self.backbone, state_dict, ignore_fc=ignore_fc)

    def initialise_from(self, state_dict: dict[str, Tensor]) -> LoadReport:
        """Start from another RSC-Net's weights, e.g. an HR-only model (the paper initialises every
        model, baselines included, with the parameters of a network trained on full-resolution data).

        Strict like :func:`load_torchvision_state_dict`: every tensor of this network must come from
        ``state_dict`` and every tensor there must land here, with matching shapes. The one
        exceptions are ``backbone.alpha`` when the source is a plain ResNet and this network is
        resolution-aware: it keeps its initial value 1 (reported as newly initialised), which
        leaves the network's output unchanged; and a whole keypoint head (``keypoint_head: aux``)
        or heading head (``heading_head``) or part head (``part_head``) the source lacks, which starts from its initialisation
        (reported as newly initialised); and the cut input (``cut_input``, ``regressor.condition``)
        the source lacks, which starts at zero and so leaves the output unchanged. A source
        ``alpha`` this network cannot hold (a plain target) is refused rather than dropped.

        Raises:
            IncompatibleStateDictError: missing, unexpected or mismatched keys (all named); the
                network is left unchanged.
        """
        prefix = "backbone."
        backbone = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
        heads = {k: v for k, v in state_dict.items() if not k.startswith(prefix)}
        own_heads = {k: v for k, v in self.state_dict().items() if not k.startswith(prefix)}
        missing, unexpected = sorted(set(own_heads) - set(heads)), sorted(set(heads) - set(own_heads))
        # A keypoint or heading head the source lacks as a whole starts from its initialisation
        # (reported); nothing else may.
        new_head: list[str] = []
        for head in ("keypoint_head.", "heading_head.", "part_head."):
            absent = [k for k in missing if k.startswith(head)]
            if absent and len(absent) == len([k for k in own_heads if k.startswith(head)]):
                new_head += absent
        new_head += [k for k in missing if k == CUT_INPUT_KEY]  # zero-initialised: same output
        missing = [k for k in missing if k not in new_head]
        heads = {**heads, **{k: own_heads[k] for k in new_head}}
        problems = [f"missing keys: {missing}"] if missing else []
        if unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        mismatched = [k for k in heads if k in own_heads and tuple(heads[k].shape) != tuple(own_heads[k].shape)]
        if mismatched:
            problems.append(f"shape mismatches: {mismatched}")
        if problems:
            raise IncompatibleStateDictError("cannot initialise the RSC-Net heads: " + "; ".join(problems))
        report = load_torchvision_state_dict(self.backbone, backbone, ignore_fc=False)
        self.load_state_dict({**{prefix + k: v for k, v in self.backbone.state_dict().items()}, **heads}, strict=True)
        report.loaded = [prefix + k for k in report.loaded] + sorted(k for k in heads if k not in new_head)
        report.newly_initialised = [prefix + k for k in report.newly_initialised] + new_head
        return report

    def with_new_inputs(self, state_dict: dict[str, Tensor]) -> tuple[dict[str, Tensor], list[str]]:
        """``state_dict`` completed with the zero weights of an input this network reads and its source
        did not (the cut input, :attr:`NetConfig.cut_input`): loaded strictly, the network then answers
        as the source did. Returns the completed dict and the names added (e.g. a long run's
        next stretch that adds the input to the committed resume file's network)."""
        if self.config.cut_input and CUT_INPUT_KEY not in state_dict:
            return {**state_dict, CUT_INPUT_KEY: torch.zeros_like(self.state_dict()[CUT_INPUT_KEY])}, [CUT_INPUT_KEY]
        return dict(state_dict), []

    def _check_images(self, images: Tensor) -> None:
        s = self.config.input_size
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != s or images.shape[3] != s:
            raise ValueError(f"images must be (B, 3, {s}, {s}) (config.input_size={s}), got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"images must be float in [0, 1], got dtype {images.dtype}")
