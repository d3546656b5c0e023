"""Feature caches of rendered, degraded clips: what the video model trains and is evaluated on.

:func:`build_feature_cache` renders synthetic CCTV clips (:mod:`model.data.sequences`) at a frozen
backbone's input size, degrades each clip to given person sizes (:func:`model.data.degrade.degrade`)
and keeps the backbone's per-frame feature ``phi`` with the clips' ground truth. The backbone is
anything with ``input_size``, ``ranges`` and ``features(images, range_index)``:
:class:`model.nets.frozen.FrozenBackbone` (training) or :class:`model.inference.Predictor`
(evaluation), which compute the same features.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor
from tqdm import tqdm

from model.data.degrade import DegradeConfig, degrade
from model.data.sequences import SequenceConfig, render_sequence
from model.data.synthetic import SyntheticConfig, SyntheticPeople, generator_for
from model.geometry.resolution import ResolutionRanges

__all__ = ["GT_KEYS", "FeatureBackbone", "build_feature_cache", "clip_sequence_config"]

#: Ground-truth keys kept in a feature cache, per frame.
GT_KEYS = ("pose", "joints3d_lsp14", "joints3d_smpl24", "keypoints2d_smpl24")


class FeatureBackbone(Protocol):
    """What :func:`build_feature_cache` needs of a frozen single-frame network."""

    @property
    def input_size(self) -> int: ...

    @property
    def ranges(self) -> ResolutionRanges: ...

    def features(self, images: Tensor, range_index: Tensor | list[int]) -> Tensor: ...


def clip_sequence_config(length: int, crop_size: int, box_jitter: float, orbit_deg_range: tuple[float, float] = (0.0, 0.0)) -> SequenceConfig:
    return SequenceConfig(length=length, crop_size=crop_size, box_jitter=box_jitter, orbit_deg_range=orbit_deg_range)


@torch.inference_mode()
def build_feature_cache(
    backbone: FeatureBackbone,
    people_seed: int,
    clips: int,
    offset: int,
    clip_length: int,
    sizes: Tensor,
    degrade_config: DegradeConfig,
    box_jitter: float = 0.0,
    progress: bool = True,
    desc: str = "video features",
    orbit: Tensor | None = None,
    orbit_deg_range: tuple[float, float] = (60.0, 180.0),
) -> dict[str, Tensor]:
    """Render clips, degrade them and extract the frozen network's features.

    Args:
        backbone: the frozen single-frame network (its input size is the render size).
        people_seed: :class:`SyntheticConfig` seed of the identities and scenes.
        clips: number of clips; clip ``i`` is sequence ``offset + i``.
        clip_length: frames per clip.
        sizes: ``(clips, K)`` crop sizes in pixels: clip ``i`` degraded to each ``sizes[i, k]``.
        degrade_config: degradation settings; draws are seeded per clip and degradation.
        box_jitter: tracker noise of the crop boxes.
        orbit: ``(clips,)`` bool, clips seen by a moving camera whose azimuth sweeps an angle in
            ``orbit_deg_range`` (degrees) while it follows the person; ``None``: all static.

    Returns:
        ``phi (N, K, T, C)`` float16, ``sizes`` / ``range_index (N, K)``, ``betas (N, 10)`` and the
        per-frame ground truth ``pose (N, T, 24, 3)``, ``joints3d_* (N, T, J, 3)`` (camera frame,
        metres), ``keypoints2d_* (N, T, J, 3)`` in network-input pixels.
    """
    s = backbone.input_size
    people = SyntheticPeople(SyntheticConfig(crop_size=s, seed=people_seed))
    seq_cfg = clip_sequence_config(clip_length, s, box_jitter)
    orbit_cfg = clip_sequence_config(clip_length, s, box_jitter, orbit_deg_range)
    k = sizes.shape[1]
    out: dict[str, list[Tensor]] = {key: [] for key in ("phi", "betas", *GT_KEYS)}
    for i in tqdm(range(clips), desc=desc, unit="clip", disable=not progress):
        moving = orbit is not None and bool(orbit[i])
        clip = render_sequence(people, offset + i, orbit_cfg if moving else seq_cfg)
        images = clip["image"].cpu()
        phis = []
        for j in range(k):
            size = int(sizes[i, j])
            low = degrade(images, size, s, degrade_config, generator_for(people_seed, "video-degrade", offset + i, j), share_draws=True)
            row = backbone.ranges.index(size)
            phis.append(backbone.features(low, [row] * low.shape[0]).to("cpu", torch.float16))
        out["phi"].append(torch.stack(phis))
        out["betas"].append(clip["betas"][0].cpu())
        for key in GT_KEYS:
            out[key].append(clip[key].cpu().float())
    data = {key: torch.stack(v) for key, v in out.items()}
    data["sizes"] = sizes.to(torch.int64)
    data["orbit"] = torch.zeros(clips, dtype=torch.bool) if orbit is None else orbit.to(torch.bool).clone()
    data["range_index"] = torch.tensor([[backbone.ranges.index(int(x)) for x in row] for row in sizes.tolist()], dtype=torch.int64)
    return data
