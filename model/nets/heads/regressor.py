"""HMR / SPIN iterative error-feedback regressor of SMPL-layout parameters and a weak-perspective camera.

The state ``theta = [pose 6D (24*6), betas (10), camera (3)]`` starts at the mean parameters and
is refined ``num_iterations`` times:

    ``x = cat(phi, theta)  ->  fc1 -> dropout -> fc2 -> dropout  ->  theta += [decpose, decshape, deccam](x)``

As in SPIN there is no non-linearity between ``fc1`` and ``fc2`` (only dropout, p=0.5), the
decoders are initialised with Xavier-uniform weights of gain 0.01 so that the first prediction
stays close to the mean, and the pose is regressed in the 6D representation of
:mod:`model.geometry.rotations` (first two columns of the rotation matrix, read from a
``(..., 3, 2)`` reshape, the layout SPIN uses). Unlike SPIN, the decoder biases start at zero, so a
freshly built regressor starts at the mean parameters up to the small random decoder weights.

The head always runs in float32: under autocast it disables autocast for itself and casts its
input, so pose, shape and camera never lose precision to bf16/fp16.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn

from model.body.model import NUM_BETAS, NUM_JOINTS, MeanParams
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix

__all__ = ["IterationOutput", "IterativeRegressor", "RegressorOutput", "mean_state_from_params"]

POSE_6D_DIM = NUM_JOINTS * 6
CAMERA_DIM = 3


class IterationOutput(NamedTuple):
    """Prediction after one refinement step (for deep supervision).

    Attributes:
        pose_rotmat: ``(B, 24, 3, 3)`` rotation matrices.
        betas: ``(B, num_betas)``.
        camera: ``(B, 3)`` weak-perspective ``[s, tx, ty]``.
    """

    pose_rotmat: Tensor
    betas: Tensor
    camera: Tensor


@dataclass
class RegressorOutput:
    """Final prediction of :class:`IterativeRegressor` (all float32).

    Attributes:
        pose_6d: ``(B, 24, 6)`` raw 6D pose (not orthonormalised), joint 0 = global orientation.
        pose_rotmat: ``(B, 24, 3, 3)`` rotation matrices from ``pose_6d`` (Gram-Schmidt).
        betas: ``(B, num_betas)`` shape coefficients.
        camera: ``(B, 3)`` weak-perspective camera ``[s, tx, ty]`` (see :mod:`model.geometry.camera`).
        iterations: one :class:`IterationOutput` per refinement step; the last equals the final
            prediction.
    """

    pose_6d: Tensor
    pose_rotmat: Tensor
    betas: Tensor
    camera: Tensor
    iterations: list[IterationOutput] = field(default_factory=list)


def mean_state_from_params(mean_params: MeanParams) -> Tensor:
    """The initial state vector ``[pose 6D (24*6), betas, camera (3)]`` (float32) of ``mean_params``.

    The axis-angle pose ``(24, 3)`` goes through rotation matrices (computed in float64) to 6D.
    """
    pose = torch.as_tensor(mean_params.pose, dtype=torch.float64).cpu()
    betas = torch.as_tensor(mean_params.betas, dtype=torch.float64).cpu()
    camera = torch.as_tensor(mean_params.camera, dtype=torch.float64).cpu()
    if pose.shape != (NUM_JOINTS, 3):
        raise ValueError(f"mean pose must be ({NUM_JOINTS}, 3) axis-angle, got {tuple(pose.shape)}")
    if betas.ndim != 1 or betas.numel() == 0:
        raise ValueError(f"mean betas must be (num_betas,), got {tuple(betas.shape)}")
    if camera.shape != (CAMERA_DIM,):
        raise ValueError(f"mean camera must be (3,) [s, tx, ty], got {tuple(camera.shape)}")
    pose_6d = matrix_to_rot6d(axis_angle_to_matrix(pose)).reshape(-1)
    return torch.cat([pose_6d, betas, camera]).float()


class IterativeRegressor(nn.Module):
    """Iterative regressor from pooled image features to pose, shape and camera.

    Args:
        feature_dim: C, width of the image feature ``phi``.
        mean_params: the initial state (see :class:`model.body.model.MeanParams`).
        num_iterations: refinement steps (HMR / SPIN: 3).
        hidden_dim: width of ``fc1`` and ``fc2`` (SPIN: 1024).
        dropout: dropout probability after ``fc1`` and after ``fc2`` (SPIN: 0.5).
        condition_dim: K, width of an optional per-sample condition (e.g. the cut flag of
            :attr:`~model.nets.config.NetConfig.cut_input`) read at every refinement step through
            ``condition`` (a ``K -> hidden_dim`` linear map without bias, added to ``fc1``'s output).
            Its weights start at zero, so a regressor given a condition answers what one without it
            answers until training moves them. 0: none.

    Buffers:
        mean_state: ``(24*6 + num_betas + 3,)`` the initial state; persistent, so it is saved with
            checkpoints and a loaded model keeps the mean it was trained from.
    """

    mean_state: Tensor

    def __init__(
        self,
        feature_dim: int,
        mean_params: MeanParams,
        *,
        num_iterations: int = 3,
        hidden_dim: int = 1024,
        dropout: float = 0.5,
        condition_dim: int = 0,
    ) -> None:
        super().__init__()
        if num_iterations < 1:
            raise ValueError(f"num_iterations must be >= 1, got {num_iterations}")
        mean_state = mean_state_from_params(mean_params)
        self.num_betas = mean_state.numel() - POSE_6D_DIM - CAMERA_DIM
        if self.num_betas != NUM_BETAS:
            raise ValueError(f"the body model has {NUM_BETAS} betas, mean_params has {self.num_betas}")
        self.feature_dim = feature_dim
        self.num_iterations = num_iterations
        state_dim = mean_state.numel()
        self.register_buffer("mean_state", mean_state)
        self.fc1 = nn.Linear(feature_dim + state_dim, hidden_dim)
        self.drop1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        self.drop2 = nn.Dropout(dropout)
        self.decpose = nn.Linear(hidden_dim, POSE_6D_DIM)
        self.decshape = nn.Linear(hidden_dim, self.num_betas)
        self.deccam = nn.Linear(hidden_dim, CAMERA_DIM)
        if condition_dim < 0:
            raise ValueError(f"condition_dim must be >= 0, got {condition_dim}")
        self.condition_dim = condition_dim
        self.condition: nn.Linear | None = None
        if condition_dim:
            self.condition = nn.Linear(condition_dim, hidden_dim, bias=False)
            nn.init.zeros_(self.condition.weight)
        self.reset_decoders()

    def reset_decoders(self) -> None:
        """Xavier-uniform decoder weights with gain 0.01 (SPIN), zero decoder biases."""
        for dec in (self.decpose, self.decshape, self.deccam):
            nn.init.xavier_uniform_(dec.weight, gain=0.01)
            nn.init.zeros_(dec.bias)

    def unconditioned_state_dict(self) -> dict[str, Tensor]:
        """The weights without the condition's: a regressor built without one and loaded with them
        answers exactly as this one does for a zero condition (e.g. the video module's copy of a
        single-frame regressor with a cut input: its frames are whole people)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("condition.")}

    def _split(self, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b = state.shape[0]
        pose_6d = state[:, :POSE_6D_DIM].reshape(b, NUM_JOINTS, 6)
        betas = state[:, POSE_6D_DIM : POSE_6D_DIM + self.num_betas]
        camera = state[:, POSE_6D_DIM + self.num_betas :]
        return pose_6d, betas, camera

    def forward(
        self,
        phi: Tensor,
        init_state: Tensor | None = None,
        num_iterations: int | None = None,
        condition: Tensor | None = None,
    ) -> RegressorOutput:
        """Regress parameters from features.

        Args:
            phi: ``(B, C)`` image features (any float dtype; cast to float32).
            init_state: optional ``(B, 24*6 + num_betas + 3)`` starting state (e.g. a previous
                frame's prediction); default: the mean state for every sample.
            num_iterations: override of the number of refinement steps.
            condition: ``(B, condition_dim)`` per-sample condition of a regressor built with
                ``condition_dim > 0``; ``None`` reads as zeros (e.g. the video module's frames, a
                whole person each).

        Returns:
            :class:`RegressorOutput`, float32.
        """
        if phi.ndim != 2 or phi.shape[1] != self.feature_dim:
            raise ValueError(f"phi must be (B, {self.feature_dim}), got {tuple(phi.shape)}")
        steps = self.num_iterations if num_iterations is None else int(num_iterations)
        if steps < 1:
            raise ValueError(f"num_iterations must be >= 1, got {steps}")
        b = phi.shape[0]
        if condition is not None and self.condition is None:
            raise ValueError("this regressor takes no condition (condition_dim=0)")
        if condition is not None and tuple(condition.shape) != (b, self.condition_dim):
            raise ValueError(f"condition must be ({b}, {self.condition_dim}), got {tuple(condition.shape)}")
        with torch.autocast(device_type=phi.device.type, enabled=False):
            phi = phi.float()
            shift = None if self.condition is None or condition is None else self.condition(condition.float())
            if init_state is None:
                state = self.mean_state.unsqueeze(0).expand(b, -1)
            else:
                if init_state.shape != (b, self.mean_state.numel()):
                    raise ValueError(
                        f"init_state must be ({b}, {self.mean_state.numel()}), got {tuple(init_state.shape)}"
                    )
                state = init_state.float()
            iterations: list[IterationOutput] = []
            for _ in range(steps):
                x = self.fc1(torch.cat([phi, state], dim=1))
                x = self.drop1(x if shift is None else x + shift)
                x = self.drop2(self.fc2(x))
                delta = torch.cat([self.decpose(x), self.decshape(x), self.deccam(x)], dim=1)
                state = state + delta
                pose_6d, betas, camera = self._split(state)
                iterations.append(IterationOutput(rot6d_to_matrix(pose_6d), betas, camera))
        pose_6d, betas, camera = self._split(state)
        last = iterations[-1]
        return RegressorOutput(
            pose_6d=pose_6d, pose_rotmat=last.pose_rotmat, betas=betas, camera=camera, iterations=iterations
        )

    def extra_repr(self) -> str:
        return (
            f"feature_dim={self.feature_dim}, num_iterations={self.num_iterations}, num_betas={self.num_betas}, "
            f"condition_dim={self.condition_dim}"
        )
