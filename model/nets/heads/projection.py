"""Projection head of the contrastive (feature scale-consistency) loss.

RSC-Net compares the features ``phi`` of the same person at different resolutions through a
2-layer MLP, as in SimCLR / MoCo v2: ``Linear(C, hidden) -> ReLU -> Linear(hidden, out_dim)``
(no batch norm). The output is **not** normalised: the contrastive loss L2-normalises it (cosine
similarity), so the head can also be inspected or reused un-normalised.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Module):
    """Two-layer MLP ``(B, C) -> (B, out_dim)``.

    Args:
        in_dim: C, width of the backbone feature.
        hidden_dim: hidden width; ``None`` = ``in_dim`` (SimCLR / MoCo v2).
        out_dim: output width (default 128).
    """

    def __init__(self, in_dim: int, hidden_dim: int | None = None, out_dim: int = 128) -> None:
        super().__init__()
        hidden_dim = in_dim if hidden_dim is None else hidden_dim
        self.in_dim, self.hidden_dim, self.out_dim = in_dim, hidden_dim, out_dim
        self.fc1 = nn.Linear(in_dim, hidden_dim)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden_dim, out_dim)

    def forward(self, phi: Tensor) -> Tensor:
        """Project features.

        Args:
            phi: ``(B, in_dim)`` features.

        Returns:
            ``(B, out_dim)`` un-normalised embeddings, float32 (cast back from the autocast dtype,
            so the loss's normalisation and temperature scaling run in full precision).
        """
        if phi.ndim != 2 or phi.shape[1] != self.in_dim:
            raise ValueError(f"phi must be (B, {self.in_dim}), got {tuple(phi.shape)}")
        return self.fc2(self.relu(self.fc1(phi))).float()

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, hidden_dim={self.hidden_dim}, out_dim={self.out_dim}"
