"""The temporal module of RSC-Net's video model (paper Section 3.5): a GRU over per-frame features.

>>> net = TemporalRegressor(TemporalConfig(), load_body_model().mean_params)
>>> net.regressor.load_state_dict(rscnet.regressor.state_dict())   # start from the single-frame head
>>> out = net(phi, valid)          # phi (B, T, 512) from the frozen backbone, valid (B, T) bool
>>> out.pose_rotmat.shape, out.betas.shape, out.camera.shape      # (B, T, 24, 3, 3), (B, T, 10), (B, T, 3)

Per frame ``t`` the backbone's pooled feature ``phi_t`` goes through a 2-layer GRU whose output is
projected back to ``phi``'s width and added to it (residual, so a zero projection is the
single-frame model), then through the iterative regressor of :mod:`model.nets.heads.regressor`:

    ``g_t = phi_t + W GRU(phi_1..phi_t)``,   ``theta_t = Regressor(g_t)``

* **Causal by default** (``bidirectional=False``): frame ``t`` depends only on frames ``<= t``, so
  the model runs online. ``bidirectional=True`` reads the whole clip (offline use).
* **Initial state.** ``init_state="zeros"`` starts the GRU from zeros (the paper, VIBE); then the
  first frames of a clip see a state that has not yet read the person, and on a still input the
  output drifts for ~10 frames. ``init_state="first_frame"`` starts each layer from
  ``tanh(W phi_1)`` (the backward direction of a bidirectional GRU from the last frame), so the
  state describes the person from the first frame on.
* **GRU input.** ``gru_input="features"`` feeds the GRU ``phi_t`` (the paper, VIBE).
  ``gru_input="motion"`` feeds it the change ``phi_t - phi_{t-1}`` (zero at the first frame) and
  drops every bias of the GRU and the projection, with the state starting from zeros: on a still
  input every change is zero, so the state and the residual stay exactly zero and the answer *is*
  the single-frame answer, from the first frame on. Any filter whose weights sum to one (a moving
  average, the service's Gaussian) is such a function of the changes
  (``sum_k w_k phi_{t-k} - phi_t = -sum_k w_k (phi_t - phi_{t-k})``), so smoothing loses nothing;
  what the model can no longer do is move a still answer away from the single-frame one.
* **Any length >= 1.** :meth:`TemporalRegressor.forward_chunked` runs long sequences in chunks: the
  causal model carries the GRU state from chunk to chunk (identical to one pass); the
  bidirectional model runs overlapping windows and cross-fades their features linearly over the
  overlap, so there is no step at the joins.
* **Missing frames** (``valid[b, t] = False``, e.g. the tracker lost the person) are filled before
  the GRU by :func:`fill_missing_features`: the last valid feature (causal) or a linear
  interpolation between the neighbouring valid ones (bidirectional). Training drops frames at
  random so the model learns to bridge such gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from model.body.model import MeanParams
from model.nets.config import FlatConfig
from model.nets.heads.regressor import IterativeRegressor

__all__ = ["GRU_INPUTS", "INIT_STATES", "TemporalConfig", "TemporalEncoder", "TemporalOutput", "TemporalRegressor", "fill_missing_features"]

#: Ways to start the GRU state (:attr:`TemporalConfig.init_state`).
INIT_STATES = ("zeros", "first_frame")
#: What the GRU reads per frame (:attr:`TemporalConfig.gru_input`).
GRU_INPUTS = ("features", "motion")


@dataclass(frozen=True)
class TemporalConfig(FlatConfig):
    """Architecture of :class:`TemporalRegressor`.

    Attributes:
        feature_dim: C, width of the backbone feature ``phi`` (512 for ResNet-18/34).
        hidden_dim: GRU hidden size (VIBE: 1024; 512 keeps the served file small).
        num_layers: GRU layers (paper: 2).
        bidirectional: read the clip in both directions (offline); default causal.
        init_state: ``"zeros"`` or ``"first_frame"`` (see the module docstring).
        gru_input: ``"features"`` or ``"motion"`` (see the module docstring; ``"motion"`` needs
            ``init_state="zeros"``).
        dropout: dropout between the GRU layers.
        regressor_iterations, regressor_hidden_dim: the iterative regressor (as the single-frame one).
        chunk_size, chunk_overlap: frames per chunk and overlap of :meth:`TemporalRegressor.forward_chunked`.
    """

    feature_dim: int = 512
    hidden_dim: int = 512
    num_layers: int = 2
    bidirectional: bool = False
    init_state: str = "zeros"
    gru_input: str = "features"
    dropout: float = 0.0
    regressor_iterations: int = 3
    regressor_hidden_dim: int = 1024
    chunk_size: int = 64
    chunk_overlap: int = 16

    def __post_init__(self) -> None:
        for name in ("feature_dim", "hidden_dim", "num_layers", "regressor_iterations", "regressor_hidden_dim", "chunk_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not isinstance(self.bidirectional, bool):
            raise ValueError(f"bidirectional must be a bool, got {self.bidirectional!r}")
        if self.init_state not in INIT_STATES:
            raise ValueError(f"init_state must be one of {INIT_STATES}, got {self.init_state!r}")
        if self.gru_input not in GRU_INPUTS:
            raise ValueError(f"gru_input must be one of {GRU_INPUTS}, got {self.gru_input!r}")
        if self.gru_input == "motion" and self.init_state != "zeros":
            raise ValueError("gru_input='motion' needs init_state='zeros' (a state read off a frame is not zero on a still input)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {self.chunk_overlap}")


def fill_missing_features(phi: Tensor, valid: Tensor | None, causal: bool) -> Tensor:
    """Replace the features of missing frames.

    Args:
        phi: ``(B, T, C)`` per-frame features.
        valid: ``(B, T)`` bool, ``False`` where a frame is missing; ``None`` = all valid.
        causal: ``True``: the last valid frame's feature (the first valid one before it);
            ``False``: linear interpolation between the previous and the next valid frame (the
            nearest one at the ends).

    Returns:
        ``(B, T, C)``, equal to ``phi`` at valid frames.

    Raises:
        ValueError: a sequence has no valid frame.
    """
    if valid is None:
        return phi
    b, t, _ = phi.shape
    valid = valid.to(device=phi.device, dtype=torch.bool)
    if valid.shape != (b, t):
        raise ValueError(f"valid must be ({b}, {t}), got {tuple(valid.shape)}")
    if bool(valid.all()):
        return phi
    if not bool(valid.any(dim=1).all()):
        raise ValueError("every sequence needs at least one valid frame")
    steps = torch.arange(t, device=phi.device).expand(b, t)
    prev = torch.where(valid, steps, torch.full_like(steps, -1)).cummax(dim=1).values
    nxt = torch.where(valid, steps, torch.full_like(steps, t)).flip(1).cummin(dim=1).values.flip(1)
    first = valid.float().argmax(dim=1, keepdim=True).expand(b, t)
    last_ok = prev >= 0
    next_ok = nxt < t
    if causal:
        src = torch.where(last_ok, prev, first)
        return torch.gather(phi, 1, src[..., None].expand_as(phi))
    p = torch.where(last_ok, prev, nxt)
    n = torch.where(next_ok, nxt, prev)
    span = (n - p).clamp_min(1).to(phi.dtype)
    w = ((steps - p).to(phi.dtype) / span).clamp(0.0, 1.0)[..., None]
    gather = lambda idx: torch.gather(phi, 1, idx[..., None].expand_as(phi))  # noqa: E731
    return (1.0 - w) * gather(p) + w * gather(n)


class TemporalEncoder(nn.Module):
    """``phi (B, T, C) -> g (B, T, C)``: GRU, linear projection back to ``C``, residual add.

    The projection starts at zero, so an untrained encoder passes ``phi`` through unchanged and the
    video model starts as the single-frame model. With ``init_state="first_frame"`` a linear map
    (zero at the start) gives the initial state from the clip's end frames. With
    ``gru_input="motion"`` the GRU reads frame-to-frame changes and has no biases, so a still input
    gives ``g = phi`` exactly.
    """

    def __init__(self, config: TemporalConfig) -> None:
        super().__init__()
        self.config = config
        motion = config.gru_input == "motion"
        self.gru = nn.GRU(
            config.feature_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            bias=not motion,
        )
        directions = 2 if config.bidirectional else 1
        self.proj = nn.Linear(config.hidden_dim * directions, config.feature_dim, bias=not motion)
        nn.init.zeros_(self.proj.weight)
        if self.proj.bias is not None:
            nn.init.zeros_(self.proj.bias)
        self.directions = directions
        self.init: nn.Linear | None = None
        if config.init_state == "first_frame":
            self.init = nn.Linear(config.feature_dim, config.num_layers * directions * config.hidden_dim)
            nn.init.zeros_(self.init.weight)
            nn.init.zeros_(self.init.bias)

    def initial_state(self, phi: Tensor) -> Tensor | None:
        """The GRU state ``(layers * directions, B, H)`` a clip ``phi (B, T, C)`` starts from (``None``: zeros)."""
        if self.init is None:
            return None
        b = phi.shape[0]
        layers, d, hdim = self.config.num_layers, self.directions, self.config.hidden_dim
        h = torch.tanh(self.init(phi[:, 0])).view(b, layers, d, hdim)
        if d == 2:  # the backward direction starts from the last frame
            last = torch.tanh(self.init(phi[:, -1])).view(b, layers, d, hdim)
            h = torch.stack([h[:, :, 0], last[:, :, 1]], dim=2)
        return h.reshape(b, layers * d, hdim).transpose(0, 1).contiguous()

    def gru_input(self, phi: Tensor, previous: Tensor | None = None) -> Tensor:
        """What the GRU reads: ``phi (B, T, C)`` itself, or (``gru_input="motion"``) its change
        ``phi_t - phi_{t-1}``, where the frame before ``phi_1`` is ``previous (B, C)`` (a chunk's
        predecessor) or, when ``None``, ``phi_1`` itself (no change at the first frame)."""
        if self.config.gru_input == "features":
            return phi
        before = phi[:, :1] if previous is None else previous[:, None].to(phi.dtype)
        return phi - torch.cat([before, phi[:, :-1]], dim=1)

    def forward(self, phi: Tensor, hidden: Tensor | None = None, previous: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Args: ``phi (B, T, C)``; optional GRU state ``(layers * directions, B, H)`` to continue from
        (default: :meth:`initial_state`); optional ``previous (B, C)``, the feature of the frame
        before ``phi``'s first when continuing a clip (used by ``gru_input="motion"``).

        Returns: ``(g (B, T, C), final GRU state)``.
        """
        with torch.autocast(device_type=phi.device.type, enabled=False):
            x = phi.float()
            inp = self.gru_input(x, None if previous is None else previous.float())
            y, h = self.gru(inp, self.initial_state(x) if hidden is None else hidden)
            return x + self.proj(y), h


@dataclass
class TemporalOutput:
    """Per-frame predictions of :class:`TemporalRegressor` (float32).

    Attributes:
        features: ``(B, T, C)`` temporal features ``g`` fed to the regressor.
        pose_rotmat: ``(B, T, 24, 3, 3)``.
        pose_6d: ``(B, T, 24, 6)``.
        betas: ``(B, T, 10)``.
        camera: ``(B, T, 3)`` weak-perspective ``[s, tx, ty]``.
    """

    features: Tensor
    pose_rotmat: Tensor
    pose_6d: Tensor
    betas: Tensor
    camera: Tensor


class TemporalRegressor(nn.Module):
    """The video model: :class:`TemporalEncoder` + an :class:`IterativeRegressor`.

    Args:
        config: :class:`TemporalConfig`.
        mean_params: initial regressor state (the body model's mean parameters).
    """

    def __init__(self, config: TemporalConfig, mean_params: MeanParams) -> None:
        super().__init__()
        if not isinstance(config, TemporalConfig):
            raise TypeError(f"config must be a TemporalConfig, got {type(config).__name__}")
        self.config = config
        self.encoder = TemporalEncoder(config)
        self.regressor = IterativeRegressor(
            config.feature_dim,
            mean_params,
            num_iterations=config.regressor_iterations,
            hidden_dim=config.regressor_hidden_dim,
            dropout=0.0,
        )

    def _check(self, phi: Tensor) -> None:
        c = self.config.feature_dim
        if phi.ndim != 3 or phi.shape[-1] != c or phi.shape[1] < 1:
            raise ValueError(f"phi must be (B, T >= 1, {c}), got {tuple(phi.shape)}")

    def regress(self, features: Tensor) -> TemporalOutput:
        """The regressor on temporal features ``(B, T, C)``."""
        b, t, c = features.shape
        reg = self.regressor(features.reshape(b * t, c))
        return TemporalOutput(
            features=features,
            pose_rotmat=reg.pose_rotmat.reshape(b, t, 24, 3, 3),
            pose_6d=reg.pose_6d.reshape(b, t, 24, 6),
            betas=reg.betas.reshape(b, t, -1),
            camera=reg.camera.reshape(b, t, 3),
        )

    def forward(self, phi: Tensor, valid: Tensor | None = None) -> TemporalOutput:
        """Whole clips in one pass.

        Args:
            phi: ``(B, T, C)`` per-frame backbone features.
            valid: ``(B, T)`` bool, ``False`` for missing frames (see :func:`fill_missing_features`).
        """
        self._check(phi)
        phi = fill_missing_features(phi.float(), valid, causal=not self.config.bidirectional)
        features, _ = self.encoder(phi)
        return self.regress(features)

    def forward_chunked(self, phi: Tensor, valid: Tensor | None = None, chunk_size: int | None = None, overlap: int | None = None) -> TemporalOutput:
        """Like :meth:`forward` but over chunks of at most ``chunk_size`` frames (long sequences).

        The causal model carries the GRU state across chunks, which gives exactly the one-pass
        result. The bidirectional model runs windows of ``chunk_size`` frames that overlap by
        ``overlap`` and blends their features with linear ramps over each overlap.
        """
        self._check(phi)
        size = int(chunk_size or self.config.chunk_size)
        over = self.config.chunk_overlap if overlap is None else int(overlap)
        if size < 1 or not 0 <= over < size:
            raise ValueError(f"need chunk_size >= 1 and 0 <= overlap < chunk_size, got {size}, {over}")
        phi = fill_missing_features(phi.float(), valid, causal=not self.config.bidirectional)
        b, t, c = phi.shape
        if t <= size:
            return self.regress(self.encoder(phi)[0])
        if not self.config.bidirectional:
            hidden, parts = None, []
            for start in range(0, t, size):
                previous = phi[:, start - 1] if start > 0 else None
                g, hidden = self.encoder(phi[:, start : start + size], hidden, previous)
                parts.append(g)
            return self.regress(torch.cat(parts, dim=1))
        stride = size - over
        starts = list(range(0, t - size + 1, stride))
        if starts[-1] + size < t:
            starts.append(t - size)
        acc = phi.new_zeros(b, t, c)
        weight = phi.new_zeros(1, t, 1)
        for i, start in enumerate(starts):
            g, _ = self.encoder(phi[:, start : start + size])
            w = torch.ones(size, device=phi.device, dtype=phi.dtype)
            if i > 0:  # fade in over the overlap with the previous window
                lead = min(over, starts[i - 1] + size - start)
                if lead > 0:
                    w[:lead] = torch.arange(1, lead + 1, device=phi.device, dtype=phi.dtype) / (lead + 1)
            if i + 1 < len(starts):  # fade out over the overlap with the next window
                tail = min(over, start + size - starts[i + 1])
                if tail > 0:
                    w[size - tail :] = torch.minimum(
                        w[size - tail :], torch.arange(tail, 0, -1, device=phi.device, dtype=phi.dtype) / (tail + 1)
                    )
            acc[:, start : start + size] += g * w[None, :, None]
            weight[:, start : start + size] += w[None, :, None]
        return self.regress(acc / weight)
