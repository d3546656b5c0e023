"""A causal limit on how fast the body turns: no facing flip between two frames of a sequence.

A person seen by a camera turns by a few degrees per frame: a quick turn on the spot is ~15 degrees
per frame at 25 fps, ~40 at 10 fps. A network that reads the heading of a 24-64 px person weakly
answers, now and then, a body turned round by up to 180 degrees from one frame to the next (a
*facing flip*; :mod:`model.eval.video`), and neither the Gaussian filter nor the GRU removes every
one (the video model's card, "Facing flips"). This limit does, by construction: frame by frame, in
order, the output heading moves towards the model's heading by at most ``max_turn`` per frame
(``max_turn * k`` across a gap of ``k`` frames without a person), turning the root rotation about
the camera's vertical axis (:mod:`model.geometry.heading`); its tilt and roll, and every other joint,
are the model's own. A body whose forward axis is near the camera's vertical (a person lying under
a camera looking down) has no heading to limit: such a frame (:func:`~model.geometry.heading.heading_weight`
below :data:`MIN_HEADING_WEIGHT`) passes unchanged and the limit follows it.

It is causal (each output reads only earlier frames), so it fits a live stream as well as an
uploaded clip, and costs nothing next to the network. What it cannot do is tell which of two
headings is right: a body that faced the wrong way and then the right way now turns round over a
few frames instead of at once, so an output faces the wrong way on a frame or two more than the
model's own whenever the model's heading corrects itself by a jump; and a single frame turned round
is followed only by ``max_turn``. Measured on the turning-camera clips (``python -m model.eval.video
--max-turn``) and on real video (``python -m model.eval.video_real --max-turn``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from model.geometry.heading import angle_difference, heading_angle, heading_weight, rotation_about_y

__all__ = ["DEFAULT_MAX_TURN_DEG", "MIN_HEADING_WEIGHT", "limit_turn"]

#: The served limit, degrees per frame: half a flip (90 degrees), above any real person's turn
#: between two frames at 10 fps or more. Validation clips (people seed 27 182) put 30 and 45 degrees
#: within 0.2 points of each other on every facing measure (the video model's card).
DEFAULT_MAX_TURN_DEG = 45.0

#: Frames whose root has less heading than this (length of the forward axis' horizontal part) pass.
MIN_HEADING_WEIGHT = 0.3


def limit_turn(root: Tensor, max_turn_deg: float, valid: Tensor | None = None) -> Tensor:
    """Root rotations whose heading turns by at most ``max_turn_deg`` per frame (module docstring).

    Args:
        root: ``(..., T, 3, 3)`` root rotations (body -> camera frame), frames in order.
        max_turn_deg: the most the heading may turn from one frame to the next, degrees, ``> 0``.
        valid: ``(..., T)`` bool, ``False`` where a frame has no person (its rotation is returned as
            it is and the next valid frame may turn by ``max_turn_deg`` per frame since the last);
            default all valid.

    Returns:
        ``(..., T, 3, 3)`` rotations, same dtype: each valid frame's turned about the camera's y axis.
    """
    if root.ndim < 3 or root.shape[-2:] != (3, 3):
        raise ValueError(f"root must be (..., T, 3, 3), got {tuple(root.shape)}")
    if not max_turn_deg > 0 or not math.isfinite(max_turn_deg):
        raise ValueError(f"max_turn_deg must be a positive number, got {max_turn_deg!r}")
    if valid is None:
        valid = torch.ones(root.shape[:-2], dtype=torch.bool, device=root.device)
    elif valid.shape != root.shape[:-2]:
        raise ValueError(f"valid must be {tuple(root.shape[:-2])}, got {tuple(valid.shape)}")
    work = root.double()
    heading = heading_angle(work)
    has_heading = valid & (heading_weight(work) >= MIN_HEADING_WEIGHT)
    step = math.radians(max_turn_deg)
    out = heading.clone()
    last = heading[..., 0].clone()  # the limit's heading after the last frame that had one
    since = torch.zeros_like(last)  # frames since then
    started = torch.zeros(last.shape, dtype=torch.bool, device=root.device)
    for t in range(root.shape[-3]):
        since = since + 1
        reach = step * since
        limited = last + angle_difference(heading[..., t], last).clamp(min=-reach, max=reach)
        limited = torch.where(started, limited, heading[..., t])
        out[..., t] = torch.where(has_heading[..., t], limited, heading[..., t])
        # a frame without a heading but with a person resets the limit to it; one without a person does not
        seen = valid[..., t]
        last = torch.where(seen, out[..., t], last)
        since = torch.where(seen, torch.zeros_like(since), since)
        started = started | seen
    turn = torch.where(has_heading, angle_difference(out, heading), torch.zeros_like(out))
    return (rotation_about_y(turn) @ work).to(root.dtype)
