"""Weights of the full RSC-Net objective: ``L = L_b + 0.1 L_s + 0.1 L_f`` (paper defaults), plus
an optional adversarial pose prior ``w_p L_adv`` (HMR's, not in the paper; off by default).

Every number that scales a loss is a field here or in
:class:`model.losses.basic.BasicLossConfig`; the loss functions add no
hidden factors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from model.losses.basic import BasicLossConfig

__all__ = ["KEYPOINT_HEAD_LOSSES", "LossWeights", "TotalLossConfig", "combine_losses"]

#: Values of :attr:`TotalLossConfig.keypoint_head_loss`.
KEYPOINT_HEAD_LOSSES = ("coordinates", "heatmap")


def _default_output_weights() -> dict[str, float]:
    # RSC-Net's official trainer weighs the consistency of each output like the
    # supervised terms: pose (rotation matrices) 1, betas 0.001, camera 1e-4.
    return {"rotmat": 1.0, "betas": 0.001, "cam": 1e-4}


@dataclass(frozen=True)
class TotalLossConfig:
    """Weights and settings of ``L = overall_scale * (L_b + w_s L_s + w_f L_f + w_p L_adv + w_k L_kp + w_h L_h + w_t L_t + w_q L_q)``.

    Attributes:
        basic: weights inside ``L_b`` (Eq. 8).
        self_supervision_weight: ``w_s`` (paper: 0.1).
        contrastive_weight: ``w_f`` (paper: 0.1).
        self_supervision_mode: ``"directional"`` (Eq. 10), ``"symmetric"``
            (SS-o) or ``"highest"`` (SS-h).
        self_supervision_output_weights: per-output weights when ``L_s`` is
            applied to several outputs with
            :func:`model.losses.self_supervision.output_self_supervision_loss`
            (keys are the trainer's output names).
        contrastive_kind: ``"infonce"`` (Eq. 11-12), ``"mse"`` (MS) or ``"cosine"`` (CD).
        contrastive_mode: resolution pairs of ``L_f`` (same choices as ``L_s``).
        tau: InfoNCE temperature (paper: 0.1).
        queue_size: negatives kept in the queue (paper: 8192).
        projection_dim: size of the projected features in the queue (128).
        normalize_by_resolutions: divide pair weights by ``K`` (official code).
        pose_prior_weight: ``w_p``, weight of the adversarial pose prior's generator term
            (:class:`~model.nets.pose_discriminator.PoseDiscriminator`, least-squares GAN); 0 = off.
            HMR weighs it 1 against a keypoint loss weighted 60, i.e. ~0.017 of the keypoint term.
        keypoint_head_weight: ``w_k``, weight of the 2D keypoint head's loss (the ``keypoints2d``
            term of :func:`~model.losses.basic.keypoints2d_loss` on the head's COCO-17 keypoints;
            only with ``net.keypoint_head`` on); 0 = off.
        keypoint_head_loss: how the keypoint head is supervised: ``"coordinates"`` (the ``keypoints2d``
            term on its keypoints) or ``"heatmap"`` (each map's softmax against a Gaussian around the
            true point, :func:`~model.losses.heatmap.heatmap_loss`; made for ``net.keypoint_head_stride: 4``).
        keypoint_heatmap_sigma: the Gaussian's standard deviation in map cells (``"heatmap"`` only).
        heading_head_weight: ``w_h``, weight of the heading head's cross-entropy
            (:func:`~model.losses.heading.heading_loss`; only with ``net.heading_head`` on); 0 = off.
        part_head_weight: ``w_q``, weight of the part head's cross-entropy
            (:func:`~model.losses.parts.part_loss`; only with ``net.part_head`` on and shards rendered
            with part maps); 0 = off.
        twin_pair_weight: ``w_t``, weight of the twin-pair loss (:func:`~model.losses.twin_pairs.twin_pair_loss`:
            the predicted difference between a scene and its depth-mirror twin against the true one;
            only batches of twin-pair shards hold pairs); 0 = off.
        overall_scale: factor on the whole loss (SPIN and the official code
            use 60; 1 here -- with Adam it barely matters).
    """

    basic: BasicLossConfig = field(default_factory=BasicLossConfig)
    self_supervision_weight: float = 0.1
    contrastive_weight: float = 0.1
    self_supervision_mode: str = "directional"
    self_supervision_output_weights: dict[str, float] = field(default_factory=_default_output_weights)
    contrastive_kind: str = "infonce"
    contrastive_mode: str = "directional"
    tau: float = 0.1
    queue_size: int = 8192
    projection_dim: int = 128
    normalize_by_resolutions: bool = False
    pose_prior_weight: float = 0.0
    keypoint_head_weight: float = 0.0
    keypoint_head_loss: str = "coordinates"
    keypoint_heatmap_sigma: float = 1.0
    heading_head_weight: float = 0.0
    twin_pair_weight: float = 0.0
    part_head_weight: float = 0.0
    overall_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("self_supervision_weight", "contrastive_weight", "pose_prior_weight", "keypoint_head_weight", "heading_head_weight", "twin_pair_weight", "part_head_weight", "overall_scale"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.keypoint_head_loss not in KEYPOINT_HEAD_LOSSES:
            raise ValueError(f"keypoint_head_loss must be one of {KEYPOINT_HEAD_LOSSES}, got {self.keypoint_head_loss!r}")
        if not self.keypoint_heatmap_sigma > 0:
            raise ValueError(f"keypoint_heatmap_sigma must be > 0, got {self.keypoint_heatmap_sigma}")


LossWeights = TotalLossConfig
"""Alias of :class:`TotalLossConfig`."""


def combine_losses(
    basic: Tensor,
    self_supervision: Tensor | None,
    contrastive: Tensor | None,
    config: TotalLossConfig = TotalLossConfig(),
    pose_prior: Tensor | None = None,
    keypoint_head: Tensor | None = None,
    heading_head: Tensor | None = None,
    twin_pair: Tensor | None = None,
    part_head: Tensor | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """``overall_scale * (L_b + w_s L_s + w_f L_f + w_p L_adv + w_k L_kp + w_h L_h + w_t L_t + w_q L_q)``; a ``None`` term counts as 0.

    Returns:
        ``(total, terms)`` with the unweighted floats ``basic``, ``self_supervision``,
        ``contrastive``, ``pose_prior``, ``keypoint_head``, ``heading_head``, ``twin_pair``, ``part_head`` (the last five when given) and the
        weighted ``total``.
    """
    total = basic
    terms = {"basic": float(basic.detach()), "self_supervision": 0.0, "contrastive": 0.0}
    weighted = (
        ("self_supervision", self_supervision, config.self_supervision_weight),
        ("contrastive", contrastive, config.contrastive_weight),
        ("pose_prior", pose_prior, config.pose_prior_weight),
        ("keypoint_head", keypoint_head, config.keypoint_head_weight),
        ("heading_head", heading_head, config.heading_head_weight),
        ("twin_pair", twin_pair, config.twin_pair_weight),
        ("part_head", part_head, config.part_head_weight),
    )
    for name, value, weight in weighted:
        if value is not None:
            total = total + weight * value
            terms[name] = float(value.detach())
    total = config.overall_scale * total
    terms["total"] = float(total.detach())
    return total, terms
