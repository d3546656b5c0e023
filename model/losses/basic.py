"""Basic supervised loss ``L_b`` (RSC-Net, Eq. 8), following SPIN's choices.

``L_b = L_params + lambda_1 * L_3D + lambda_2 * L_2D`` with
``L_params = w_pose * L_pose + w_betas * L_betas``. Every weight lives in
:class:`BasicLossConfig`; nothing is rescaled anywhere else.

Terms (each an *unweighted* mean; choices taken from SPIN's ``train/trainer.py``,
which RSC-Net's official trainer keeps unchanged):

* ``pose``: MSE between predicted and ground-truth **rotation matrices**
  ``(B, 24, 3, 3)``, averaged over the 24 x 9 entries and over the samples
  with ``has_smpl``. (SPIN converts the ground-truth axis-angle pose with
  Rodrigues and uses ``nn.MSELoss`` on the matrices of the valid samples.)
* ``betas``: MSE over the 10 shape coefficients of the samples with
  ``has_smpl``; weight 0.001 as in SPIN (``beta_loss_weight``).
* ``joints3d``: both skeletons are centred on their own pelvis, the mean of
  the two hip joints (``hips`` index pair, as in SPIN and
  :data:`model.body.joint_names.HIPS`); squared error per coordinate times the
  joint confidence, averaged over *all* joints and coordinates (SPIN does not
  divide by the sum of confidences) and over the samples with ``has_joints3d``.
  Weight 5 (SPIN's ``keypoint_loss_weight``).
* ``keypoints2d``: keypoints are normalised to ``[-1, 1]`` by the crop size,
  ``u_n = 2 u / S - 1`` (SPIN's convention: projections are divided by
  ``img_res / 2`` around the crop centre); squared error per coordinate times
  the visibility/confidence, averaged over all keypoints and coordinates and
  over the samples with ``has_keypoints2d`` (all samples by default, as in
  SPIN). Weight 5.
* ``global_orient`` and ``joints3d_camera`` (optional, off by default): the root rotation
  alone, and the camera-frame joint error beside a body-frame one (see
  :class:`BasicLossConfig`).
* ``either_twin`` (optional, off by default): the articulation terms (``pose`` and body-frame
  ``joints3d``) score each sample against whichever of the truth and its mirror twin (left and
  right swapped) is nearer -- one picture fits both almost equally well, and a network that cannot
  tell them apart otherwise answers their average. The root rotation and the 2D keypoints keep the
  true labels, so they decide which twin fits the picture.
* ``camera_reg`` (optional, off by default): SPIN's regulariser
  ``exp(-10 s)^2`` on the predicted weak-perspective scale ``s``, which keeps
  the camera in front of the body; SPIN uses weight 1, RSC-Net's official
  trainer drops it. It is not part of Eq. 8, hence weight 0 here.

Not included (weight 0 in SPIN and RSC-Net): SPIN's per-vertex L1 shape loss.
RSC-Net's official code also regresses the camera translation against a
fitted one (weight 1e-4); that is not in Eq. 8 and is left out.

Masking: a per-sample mask ``m_b`` (``has_smpl`` etc.) and optional
per-sample weights ``w_b`` give ``term = sum_b w_b m_b e_b / max(sum_b m_b, 1)``
where ``e_b`` is the sample's mean error. With ``w = 1`` this is exactly
SPIN's "select the valid samples, then ``.mean()``". Per-sample weights are
plain multipliers (weights of 2 double the term); they are not renormalised.
Missing supervision contributes exactly zero to value and gradient, also when
the ground truth holds NaN placeholders, and a batch with no valid sample
gives 0 (never NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from model.body.symmetry import mirror_joints, mirror_rotmat
from model.geometry.rotations import axis_angle_to_matrix

__all__ = [
    "BasicLossConfig",
    "BasicPrediction",
    "BasicTarget",
    "basic_loss",
    "keypoints2d_loss",
    "masked_sample_mean",
    "normalize_keypoints",
    "pelvis_centre",
]


@dataclass(frozen=True)
class BasicLossConfig:
    """Weights of the basic loss (defaults: SPIN / RSC-Net Eq. 8 with lambda_1 = lambda_2 = 5).

    Attributes:
        pose_weight: weight of the rotation-matrix MSE (SPIN ``pose_loss_weight`` = 1).
        betas_weight: weight of the betas MSE (SPIN ``beta_loss_weight`` = 0.001).
        joints3d_weight: lambda_1, weight of the pelvis-centred 3D joint loss (5).
        keypoints2d_weight: lambda_2, weight of the normalised 2D keypoint loss (5).
        camera_reg_weight: weight of SPIN's ``exp(-10 s)^2`` camera-scale
            regulariser (SPIN: 1; not in Eq. 8, so 0 by default).
        camera_reg_sharpness: the 10 in ``exp(-10 s)``.
        joints3d_frame: where the 3D joints are compared. ``"camera"`` (SPIN): pelvis-centred in
            the camera frame, so the term also judges the global orientation. ``"body"``: each
            skeleton is first turned back by its own global orientation (the prediction by its
            predicted root rotation, the ground truth by its own; samples without ``has_smpl`` use
            the predicted one for both, which is the camera-frame error), so the term judges only
            the articulation and the shape. Why: with headings uniform over 360 degrees, a network
            that cannot yet tell the heading lowers the camera-frame error by folding the limbs
            towards the body's centre (the mean of a skeleton over unknown headings) -- a
            crouch. The global orientation keeps its supervision from the root rotation
            (``pose``) and the 2D keypoints.
        global_orient_weight: weight of an extra MSE on the root rotation matrix alone (9 entries;
            term ``global_orient``). In ``pose`` the root is one joint of 24; this term lets the
            global orientation -- which the body-frame joint term no longer judges -- weigh as much
            as the whole articulation. 0 (SPIN) by default.
        joints3d_camera_weight: with ``joints3d_frame: body``, weight of the camera-frame 3D joint
            error as a second term (``joints3d_camera``), so that the heading is judged by the
            joints again at a lower weight than the articulation. 0 by default; must be 0 in the
            camera frame (the main term already is that error).
        either_twin: score the articulation (``pose`` of joints 1-23 and the body-frame
            ``joints3d``) against the nearer of the truth and its mirror twin, per sample, on their
            weighted sum (see the module docstring); needs ``joints3d_frame: body`` and the joint
            layout's left/right permutation (``basic_loss(flip_permutation=...)``). Off by default.
        keypoints2d_per_visible: average each sample's 2D error over its visible keypoints (summed
            confidence) instead of over all of them (SPIN). With SPIN's mean a partial view -- six of
            31 keypoints in the crop -- weighs a fifth of a whole person in the 2D term, the only term
            that tells the network how large to draw a body the crop cuts (the body-frame 3D terms do not
            see the camera). Off by default.
    """

    pose_weight: float = 1.0
    betas_weight: float = 0.001
    joints3d_weight: float = 5.0
    keypoints2d_weight: float = 5.0
    camera_reg_weight: float = 0.0
    camera_reg_sharpness: float = 10.0
    joints3d_frame: str = "camera"
    global_orient_weight: float = 0.0
    joints3d_camera_weight: float = 0.0
    either_twin: bool = False
    keypoints2d_per_visible: bool = False

    def __post_init__(self) -> None:
        if self.joints3d_frame not in ("camera", "body"):
            raise ValueError(f"joints3d_frame must be 'camera' or 'body', got {self.joints3d_frame!r}")
        if self.global_orient_weight < 0 or self.joints3d_camera_weight < 0:
            raise ValueError("global_orient_weight and joints3d_camera_weight must be >= 0")
        if self.joints3d_camera_weight and self.joints3d_frame != "body":
            raise ValueError("joints3d_camera_weight is a second term of joints3d_frame 'body'; in the camera frame use joints3d_weight")
        if self.either_twin and self.joints3d_frame != "body":
            raise ValueError("either_twin compares articulations: it needs joints3d_frame 'body'")


@dataclass
class BasicPrediction:
    """Network outputs for one resolution.

    Attributes:
        rotmat: ``(B, 24, 3, 3)`` predicted SMPL joint rotations.
        betas: ``(B, 10)`` predicted shape coefficients.
        joints3d: ``(B, K, 3)`` predicted joints in any frame (pelvis-centred
            inside the loss), same layout as the ground truth.
        keypoints2d: ``(B, K2, 2)`` projected joints in crop pixels (see
            :mod:`model.geometry.camera`), same layout as the ground truth.
        cam_scale: ``(B,)`` weak-perspective scale ``s``; only needed when
            ``camera_reg_weight > 0``.
    """

    rotmat: Tensor
    betas: Tensor
    joints3d: Tensor | None = None
    keypoints2d: Tensor | None = None
    cam_scale: Tensor | None = None


@dataclass
class BasicTarget:
    """Ground truth and availability masks.

    Attributes:
        pose: ``(B, 24, 3)`` axis-angle (or ``(B, 72)``) or ``(B, 24, 3, 3)``
            rotation matrices.
        betas: ``(B, 10)``.
        has_smpl: ``(B,)`` 0/1 (or bool): pose and betas are valid.
        joints3d: ``(B, K, 3)`` joints, or ``(B, K, 4)`` with a confidence in
            the last column.
        has_joints3d: ``(B,)`` 0/1: 3D joints are valid.
        keypoints2d: ``(B, K2, 3)`` ``[x, y, visibility/confidence]`` in crop
            pixels.
        joints3d_conf: ``(B, K)`` per-joint confidence; overrides a 4th column;
            ``None`` and no 4th column means 1.
        has_keypoints2d: ``(B,)`` 0/1; ``None`` means every sample (SPIN).
    """

    pose: Tensor
    betas: Tensor
    has_smpl: Tensor
    joints3d: Tensor | None = None
    has_joints3d: Tensor | None = None
    keypoints2d: Tensor | None = None
    joints3d_conf: Tensor | None = None
    has_keypoints2d: Tensor | None = None


def masked_sample_mean(per_sample: Tensor, mask: Tensor | None, weights: Tensor | None = None) -> Tensor:
    """``sum_b w_b m_b e_b / max(sum_b m_b, 1)``; masked samples give exactly 0 (even if NaN).

    Args:
        per_sample: ``(B,)`` per-sample losses.
        mask: ``(B,)`` bool / 0-1 validity, ``None`` = all valid.
        weights: ``(B,)`` per-sample multipliers, ``None`` = 1.

    Returns:
        ``()`` tensor.
    """
    if mask is None:
        valid = torch.ones_like(per_sample, dtype=torch.bool)
    else:
        valid = mask.to(device=per_sample.device).reshape(per_sample.shape) > 0
    value = per_sample if weights is None else per_sample * weights.to(per_sample).reshape(per_sample.shape)
    value = torch.where(valid, value, torch.zeros_like(value))
    count = valid.sum().clamp(min=1).to(per_sample.dtype)
    return value.sum() / count


def normalize_keypoints(uv: Tensor, crop_size: float | Tensor) -> Tensor:
    """Crop pixels -> SPIN's normalised coordinates ``2 u / S - 1`` (in ``[-1, 1]`` inside the crop).

    Args:
        uv: ``(B, K, 2)`` pixel coordinates.
        crop_size: crop side ``S``: a number or a ``(B,)`` tensor.

    Returns:
        ``(B, K, 2)`` normalised coordinates.
    """
    size = torch.as_tensor(crop_size, dtype=uv.dtype, device=uv.device)
    if size.dim() == 1:
        size = size[:, None, None]
    return 2.0 * uv / size - 1.0


def keypoints2d_loss(
    pred: Tensor, target: Tensor, crop_size: float | Tensor, has: Tensor | None = None, sample_weights: Tensor | None = None,
    per_visible: bool = False,
) -> Tensor:
    """The ``keypoints2d`` term: SPIN's confidence-weighted squared error of normalised keypoints.

    Args:
        pred: ``(B, K, 2)`` predicted keypoints in crop pixels.
        target: ``(B, K, 3)`` ``[x, y, visibility/confidence]`` in crop pixels.
        crop_size: crop side ``S`` (a number or ``(B,)``).
        has: ``(B,)`` 0/1 samples with 2D keypoints; ``None`` = all.
        sample_weights: optional ``(B,)`` multipliers.
        per_visible: divide each sample's summed error by its summed confidence instead of by ``K``
            (see :attr:`BasicLossConfig.keypoints2d_per_visible`); equal for a sample whose keypoints
            all have confidence 1.

    Returns:
        scalar: the mean over keypoints and coordinates (or over the visible ones), then over the valid samples.
    """
    batch = pred.shape[0]
    gt = target.to(pred)
    conf = gt[..., 2]
    has_2d = _sample_mask(has, batch, pred.device)
    point_ok = has_2d[:, None] & (conf != 0)
    gt_uv = _sanitize(gt[..., :2], point_ok)
    conf = _sanitize(conf, point_ok)
    err = (normalize_keypoints(pred, crop_size) - normalize_keypoints(gt_uv, crop_size)).square()
    err = torch.where(point_ok[..., None], err, torch.zeros_like(err))
    if per_visible:
        per_sample = (conf[..., None] * err).flatten(1).sum(-1) / (err.shape[-1] * conf.sum(-1)).clamp_min(1.0)
    else:
        per_sample = (conf[..., None] * err).flatten(1).mean(-1)
    return masked_sample_mean(per_sample, has_2d, sample_weights)


def _sample_mask(mask: Tensor | None, batch: int, device: torch.device) -> Tensor:
    if mask is None:
        return torch.ones(batch, dtype=torch.bool, device=device)
    return mask.to(device=device).reshape(batch) > 0


def _sanitize(target: Tensor, valid: Tensor) -> Tensor:
    """Replace entries of invalid samples/joints by 0 so that NaN placeholders never reach a gradient."""
    while valid.dim() < target.dim():
        valid = valid[..., None]
    return torch.where(valid, target, torch.zeros_like(target))


def _pose_to_rotmat(pose: Tensor, batch: int) -> Tensor:
    if pose.shape[-2:] == (3, 3):
        return pose.reshape(batch, -1, 3, 3)
    return axis_angle_to_matrix(pose.reshape(batch, -1, 3))


def pelvis_centre(joints: Tensor, hips: tuple[int, int]) -> Tensor:
    """``(..., J, 3)`` joints minus the midpoint of the two hip joints ``hips``."""
    pelvis = 0.5 * (joints[..., hips[0], :] + joints[..., hips[1], :])
    return joints - pelvis[..., None, :]


def basic_loss(
    pred: BasicPrediction,
    target: BasicTarget,
    crop_size: float | Tensor,
    config: BasicLossConfig = BasicLossConfig(),
    hips: tuple[int, int] | None = None,
    sample_weights: Tensor | None = None,
    flip_permutation: tuple[int, ...] | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """Basic loss ``L_b`` of one resolution (see the module docstring for each term).

    Terms whose prediction or target is ``None``, or whose weight is 0, are
    skipped (reported as 0).

    Args:
        pred: network outputs.
        target: ground truth and masks.
        crop_size: crop side in pixels of the image the keypoints refer to
            (a number or ``(B,)``); keypoints are normalised by it.
        config: weights.
        hips: ``(left_hip, right_hip)`` indices in the 3D joint layout
            (e.g. ``HIPS["coco17"]``); required for the 3D joint term.
        sample_weights: ``(B,)`` optional per-sample multipliers.
        flip_permutation: the 3D joint layout's left/right swap (``config.either_twin`` only).

    Returns:
        ``(total, terms)``: the weighted scalar and a dict of *unweighted*
        float terms ``pose``, ``global_orient``, ``betas``, ``joints3d``,
        ``joints3d_camera``, ``keypoints2d``, ``camera_reg`` plus the weighted ``total``
        (with ``either_twin`` also ``twin_share``: the share of samples scored against the twin).
    """
    rotmat = pred.rotmat
    batch = rotmat.shape[0]
    device = rotmat.device
    zero = rotmat.new_zeros(())
    terms: dict[str, Tensor] = {}

    # SMPL parameters.
    has_smpl = _sample_mask(target.has_smpl, batch, device)
    gt_rotmat = _sanitize(_pose_to_rotmat(target.pose.to(rotmat), batch), has_smpl)
    if gt_rotmat.shape != rotmat.shape:
        raise ValueError(
            f"basic_loss: target pose gives rotations {tuple(gt_rotmat.shape)}, prediction {tuple(rotmat.shape)}"
        )
    pose_err = (rotmat.reshape(batch, -1) - gt_rotmat.reshape(batch, -1)).square().mean(-1)
    pose_err_twin = None
    if config.either_twin:
        if flip_permutation is None:
            raise ValueError("basic_loss: either_twin needs the joint layout's flip_permutation")
        gt_twin = torch.cat([gt_rotmat[:, :1], mirror_rotmat(gt_rotmat)[:, 1:]], dim=1)
        pose_err_twin = (rotmat.reshape(batch, -1) - gt_twin.reshape(batch, -1)).square().mean(-1)
    terms["pose"] = masked_sample_mean(pose_err, has_smpl, sample_weights)
    terms["global_orient"] = zero
    if config.global_orient_weight != 0:
        root_err = (rotmat[:, 0] - gt_rotmat[:, 0]).square().flatten(1).mean(-1)
        terms["global_orient"] = masked_sample_mean(root_err, has_smpl, sample_weights)
    gt_betas = _sanitize(target.betas.to(pred.betas), has_smpl)
    betas_err = (pred.betas - gt_betas).square().mean(-1)
    terms["betas"] = masked_sample_mean(betas_err, has_smpl, sample_weights)

    # 3D joints, pelvis-centred.
    joint_err = joint_err_twin = has_3d = None
    terms["joints3d"] = zero
    terms["joints3d_camera"] = zero
    if pred.joints3d is not None and target.joints3d is not None and config.joints3d_weight != 0:
        if hips is None:
            raise ValueError("basic_loss: `hips` (left, right) indices are required for the 3D joint loss")
        gt = target.joints3d.to(pred.joints3d)
        conf = target.joints3d_conf
        if conf is None and gt.shape[-1] == 4:
            conf = gt[..., 3]
        gt = gt[..., :3]
        conf = torch.ones_like(gt[..., 0]) if conf is None else conf.to(gt)
        has_3d = _sample_mask(target.has_joints3d, batch, device)
        gt = _sanitize(gt, has_3d)
        conf = _sanitize(conf, has_3d)
        pred_c, gt_c = pelvis_centre(pred.joints3d, hips), pelvis_centre(gt, hips)

        def per_sample_error(p: Tensor, g: Tensor, c: Tensor) -> Tensor:
            return (c[..., None] * (p - g).square()).flatten(1).mean(-1)

        if config.joints3d_frame == "body":
            if config.joints3d_camera_weight != 0:
                terms["joints3d_camera"] = masked_sample_mean(per_sample_error(pred_c, gt_c, conf), has_3d, sample_weights)
            root_pred = rotmat[:, 0].to(pred_c)
            root_gt = torch.where(has_smpl[:, None, None], gt_rotmat[:, 0].to(pred_c), root_pred)
            # row vectors: x_body = R^T x  <=>  x_body^T = x^T R
            pred_c, gt_c = pred_c @ root_pred, gt_c @ root_gt
        joint_err = per_sample_error(pred_c, gt_c, conf)
        if pose_err_twin is not None:
            if len(flip_permutation) != gt_c.shape[1]:
                raise ValueError(f"basic_loss: flip_permutation has {len(flip_permutation)} joints, the 3D joints {gt_c.shape[1]}")
            # the sagittal mirror in the body frame; each joint keeps its own confidence
            joint_err_twin = per_sample_error(pred_c, mirror_joints(gt_c, flip_permutation), conf[:, list(flip_permutation)])

    if pose_err_twin is not None:  # each sample scored against the nearer of the truth and its twin
        score, score_twin = config.pose_weight * pose_err, config.pose_weight * pose_err_twin
        if joint_err is not None and joint_err_twin is not None:
            zeros = torch.zeros_like(joint_err)
            score = score + torch.where(has_3d, config.joints3d_weight * joint_err, zeros)
            score_twin = score_twin + torch.where(has_3d, config.joints3d_weight * joint_err_twin, zeros)
        chosen = has_smpl & (score_twin < score).detach()
        pose_err = torch.where(chosen, pose_err_twin, pose_err)
        if joint_err is not None and joint_err_twin is not None:
            joint_err = torch.where(chosen, joint_err_twin, joint_err)
        terms["pose"] = masked_sample_mean(pose_err, has_smpl, sample_weights)
        terms["twin_share"] = masked_sample_mean(chosen.float(), has_smpl)
    if joint_err is not None:
        terms["joints3d"] = masked_sample_mean(joint_err, has_3d, sample_weights)

    # 2D keypoints, normalised to [-1, 1] by the crop size.
    terms["keypoints2d"] = zero
    if pred.keypoints2d is not None and target.keypoints2d is not None and config.keypoints2d_weight != 0:
        terms["keypoints2d"] = keypoints2d_loss(
            pred.keypoints2d, target.keypoints2d, crop_size, target.has_keypoints2d, sample_weights, config.keypoints2d_per_visible,
        )

    # SPIN's camera-scale regulariser (off by default).
    terms["camera_reg"] = zero
    if config.camera_reg_weight != 0:
        if pred.cam_scale is None:
            raise ValueError("basic_loss: camera_reg_weight > 0 needs pred.cam_scale")
        reg = torch.exp(-config.camera_reg_sharpness * pred.cam_scale.reshape(batch)).square()
        terms["camera_reg"] = masked_sample_mean(reg, None, sample_weights)

    total = (
        config.pose_weight * terms["pose"]
        + config.global_orient_weight * terms["global_orient"]
        + config.betas_weight * terms["betas"]
        + config.joints3d_weight * terms["joints3d"]
        + config.joints3d_camera_weight * terms["joints3d_camera"]
        + config.keypoints2d_weight * terms["keypoints2d"]
        + config.camera_reg_weight * terms["camera_reg"]
    )
    floats = {name: float(value.detach()) for name, value in terms.items()}
    floats["total"] = float(total.detach())
    return total, floats
