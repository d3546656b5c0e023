"""Twin-pair loss: what tells a body from its depth-mirror twin, asked of the network directly.

In a batch of twin pairs (:mod:`model.data.twins`: samples ``2p`` and ``2p + 1`` are a scene and the
same scene posed as its depth-mirror twin, degraded alike), the two crops share their outline and
differ only inside the figure. A network that reads only the outline answers both alike, and the
supervised loss then charges it the same whichever twin it leans to. This term charges the
*difference* between the two answers against the true difference:

``L_t = mean_{p, k} mean_j || (Ĵ_{2p,k,j} - Ĵ_{2p+1,k,j}) - (J_{2p,j} - J_{2p+1,j}) ||^2``

over the pairs ``p`` of the batch (consecutive samples whose scene indices are ``2n`` and ``2n + 1``;
other samples add nothing) and the resolutions ``k`` of each crop, with both skeletons pelvis-centred
in the camera frame, where the twins differ (depth flipped about the pelvis, left and right swapped).
Squared metres per coordinate, like ``L_b``'s joint term; unweighted: its weight is
``TotalLossConfig.twin_pair_weight``.
"""

from __future__ import annotations

from torch import Tensor

from model.data.twins import partner_mask
from model.losses.basic import pelvis_centre

__all__ = ["twin_pair_loss"]


def twin_pair_loss(pred_joints: Tensor, true_joints: Tensor, index: Tensor, hips: tuple[int, int]) -> Tensor:
    """Error of the predicted twin-to-twin difference of 3D joints.

    Args:
        pred_joints: ``(B, K, J, 3)`` predicted joints per sample and resolution (camera frame).
        true_joints: ``(B, J, 3)`` true joints (camera frame; any translation).
        index: ``(B,)`` scene indices; samples ``2p, 2p + 1`` with indices ``2n, 2n + 1`` are a pair.
        hips: ``(left_hip, right_hip)`` indices of the layout (pelvis = their midpoint).

    Returns:
        Scalar float32 loss; 0 (with a gradient path) when the batch holds no pair.
    """
    if pred_joints.ndim != 4 or true_joints.ndim != 3 or pred_joints.shape[0] != true_joints.shape[0]:
        raise ValueError(f"pred_joints must be (B, K, J, 3) and true_joints (B, J, 3), got {tuple(pred_joints.shape)} and {tuple(true_joints.shape)}")
    if pred_joints.shape[2:] != true_joints.shape[1:]:
        raise ValueError(f"joint layouts differ: {tuple(pred_joints.shape[2:])} vs {tuple(true_joints.shape[1:])}")
    pairs = partner_mask(index.to(pred_joints.device))
    b = 2 * pairs.shape[0]
    pred = pelvis_centre(pred_joints[:b].float(), hips)
    true = pelvis_centre(true_joints[:b].to(pred), hips)
    pred_diff = pred[0::2] - pred[1::2]  # (P, K, J, 3)
    true_diff = (true[0::2] - true[1::2])[:, None]  # (P, 1, J, 3)
    per_pair = (pred_diff - true_diff).square().flatten(1).mean(-1)  # (P,)
    weight = pairs.float()
    return (per_pair * weight).sum() / weight.sum().clamp_min(1.0)
