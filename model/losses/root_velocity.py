"""Root angular-velocity loss of the video model: how fast the body turns, frame to frame.

The heading of a person seen from a camera changes by a few degrees per frame (a person turning on
the spot, a camera going round them), so a predicted root rotation that swings by more than that
between two frames -- a *facing flip* -- is wrong however right either frame is on its own. The
per-frame losses (``L_b``) do not see this: they ask each frame to be right, and a network that is
wrong on the first frames of a clip lowers them most by jumping to the right answer in one frame.
The acceleration loss on joints sees it, but weakly: it grows with the square of the joints' jump,
which saturates at a body's width, so one 180-degree jump costs about as much as two 90-degree ones.

This loss compares the change of the root rotation in the camera frame between consecutive
frames, ``D_t = R_t R_{t-1}^T``, with the true change, by the squared geodesic angle

``L_rv = mean_{b, t} angle(D^pred_{b,t} (D^true_{b,t})^T)^2``   (rad^2),

which grows with the square of the angle all the way to pi: one 180-degree jump costs 9.9, four
45-degree steps 2.5, so a correction spread over frames costs less than a jump.

With a ``margin`` the angle is first reduced by it (``max(angle - margin, 0)^2``): a change within
``margin`` of the true one is free, so only jumps are priced and the per-frame losses alone decide
how closely the heading follows the frames (without it the loss also asks for the true angular
velocity, which a network unsure of the heading meets best by hardly turning at all).
"""

from __future__ import annotations

from torch import Tensor

from model.geometry.rotations import rotation_angle

__all__ = ["root_velocity_loss"]

def root_velocity_loss(pred_root: Tensor, true_root: Tensor, margin: float = 0.0) -> Tensor:
    """``L_rv`` (module docstring) of a batch of windows.

    Args:
        pred_root: ``(B, T, 3, 3)`` predicted root rotations (body -> camera), ``T >= 2``.
        true_root: ``(B, T, 3, 3)`` true root rotations.
        margin: free angle (radians, ``>= 0``) between the predicted and the true change.

    Returns:
        Scalar float32 loss, the mean over the ``B * (T - 1)`` frame pairs of the squared angle
        (rad^2, less ``margin``) between the predicted and the true frame-to-frame change.
    """
    if pred_root.ndim != 4 or pred_root.shape[-2:] != (3, 3) or pred_root.shape != true_root.shape:
        raise ValueError(
            f"pred_root and true_root must both be (B, T, 3, 3), got {tuple(pred_root.shape)} and {tuple(true_root.shape)}"
        )
    if pred_root.shape[1] < 2:
        raise ValueError(f"need at least two frames, got T = {pred_root.shape[1]}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    p, g = pred_root.float(), true_root.float()
    step_pred = p[:, 1:] @ p[:, :-1].transpose(-1, -2)
    step_true = g[:, 1:] @ g[:, :-1].transpose(-1, -2)
    angle = rotation_angle(step_pred @ step_true.transpose(-1, -2))
    return (angle - margin).clamp_min(0.0).square().mean()
