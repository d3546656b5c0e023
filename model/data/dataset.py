"""Torch datasets of synthetic people at several resolutions, reproducible per index.

Two sources share one transform:

* :class:`SyntheticDataset` renders samples on the fly (:class:`~model.data.synthetic.SyntheticPeople`);
* :class:`~model.data.shards.ShardDataset` reads pre-rendered samples (see :mod:`model.data.shards`).

:class:`ResolutionTransform` turns a clean crop into ``K`` degraded copies at different resolution
ranges (``images (K, 3, S, S)``, highest resolution first) — what the self-supervision and
contrastive losses need — drawing everything from a generator seeded by the sample index (and the
epoch, see :meth:`SyntheticDataset.set_epoch`). Both datasets implement ``__getitems__`` so a
``DataLoader`` renders a whole batch in one call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from model.data.degrade import DegradeConfig, degrade
from model.data.partial_view import PartialViewConfig, partial_view
from model.data.synthetic import SyntheticConfig, SyntheticPeople, generator_for
from model.geometry.resolution import ResolutionRanges


@dataclass(frozen=True)
class ResolutionConfig:
    """Which resolutions a training sample comes at.

    Attributes:
        ranges: the resolution ranges (row 0 = full resolution).
        out_size: network input size; every degraded crop is resized back to it.
        per_sample: ``K``, copies of each crop at distinct ranges (1 = one random range).
        active: the ranges in use (progressive training widens it stage by stage); None = all.
        degrade: degradation mode and parameters.
        partial_view: share and extent of partial views cut from the clean crop first
            (:mod:`model.data.partial_view`; off by default).
    """

    ranges: ResolutionRanges = field(default_factory=ResolutionRanges)
    out_size: int = 224
    per_sample: int = 1
    active: tuple[int, ...] | None = None
    degrade: DegradeConfig = field(default_factory=DegradeConfig)
    partial_view: PartialViewConfig = field(default_factory=PartialViewConfig)

    def __post_init__(self) -> None:
        if self.per_sample < 1:
            raise ValueError(f"per_sample must be >= 1, got {self.per_sample}")
        if not 16 <= self.out_size <= 1024:
            raise ValueError(f"out_size must be in [16, 1024], got {self.out_size}")
        if self.active is not None:
            active = tuple(sorted({int(i) for i in self.active}))
            if not active or active[0] < 0 or active[-1] >= self.ranges.num_ranges:
                raise ValueError(f"active ranges {self.active} must be a non-empty subset of 0..{self.ranges.num_ranges - 1}")
            object.__setattr__(self, "active", active)

    @property
    def active_ranges(self) -> tuple[int, ...]:
        return self.active if self.active is not None else tuple(range(self.ranges.num_ranges))


class ResolutionTransform:
    """Clean crop ``(3, H, W)`` -> ``images (K, 3, S, S)``, ``sizes (K,)``, ``range_index (K,)``.

    The ``K`` ranges are distinct, drawn from the active ones and sorted (highest resolution first);
    when ``K`` >= the number of active ranges every active range is used once. The full-resolution
    row keeps the crop clean (only resized to ``S``).
    """

    def __init__(self, config: ResolutionConfig) -> None:
        self.config = config

    def __call__(self, image: Tensor, gen: torch.Generator) -> dict[str, Tensor]:
        cfg = self.config
        active = torch.tensor(cfg.active_ranges)
        if cfg.per_sample >= active.numel():
            chosen = active
        else:
            chosen = active[torch.randperm(active.numel(), generator=gen)[: cfg.per_sample]].sort().values
        sizes = cfg.ranges.sample_sizes(chosen, gen)
        batch = image[None].expand(chosen.numel(), *image.shape)
        images = degrade(batch, sizes, cfg.out_size, cfg.degrade, gen)
        return {"images": images, "sizes": sizes, "range_index": chosen.to(torch.int64)}


    def apply(self, sample: dict[str, Tensor], gen: torch.Generator, keep_clean: bool = False) -> dict[str, Tensor]:
        """Replace a clean sample's ``image`` by its degraded resolutions (see the class docstring).

        A partial view (:func:`~model.data.partial_view.partial_view`, when configured) is cut
        from the clean crop first. When the crop side differs from ``out_size`` the 2D keypoints
        and the focal length are rescaled to the network input's pixels (exact for pixel-centre
        coordinates); the clean crop and the silhouette keep the crop's size.
        """
        sample = partial_view(sample, self.config.partial_view, gen)
        image = sample.pop("image")
        sample.update(self(image, gen))
        factor = self.config.out_size / image.shape[-1]
        if factor != 1.0:
            for key in [k for k in sample if k.startswith("keypoints2d_")]:
                kp = sample[key].clone()
                kp[..., :2] = kp[..., :2] * factor
                sample[key] = kp
            if "focal" in sample:
                sample["focal"] = sample["focal"] * factor
        if keep_clean:
            sample["image_hr"] = image
        return sample


def unbatch(batch: dict[str, Tensor]) -> list[dict[str, Tensor]]:
    """Split a dict of batched tensors into per-sample dicts."""
    n = len(next(iter(batch.values())))
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


class SyntheticDataset(Dataset):
    """On-the-fly synthetic samples: sample ``i`` of epoch ``e`` is scene ``e * length + i``.

    Args:
        length: samples per epoch.
        synthetic: rendering settings (crop size should be ``resolution.out_size`` or larger).
        resolution: resolutions per sample.
        keep_clean: also return the clean crop as ``image_hr`` (3, S, S).
        device: where to render (workers render on the CPU).
    """

    def __init__(
        self,
        length: int,
        synthetic: SyntheticConfig = SyntheticConfig(),
        resolution: ResolutionConfig = ResolutionConfig(),
        keep_clean: bool = False,
        device: str = "cpu",
    ) -> None:
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.length = length
        self.synthetic = synthetic
        self.transform = ResolutionTransform(resolution)
        self.keep_clean = keep_clean
        self.device = device
        self.epoch = 0
        self._people: SyntheticPeople | None = None  # built lazily: once per worker process

    @property
    def people(self) -> SyntheticPeople:
        if self._people is None:
            self._people = SyntheticPeople(self.synthetic, device=self.device)
        return self._people

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_active_ranges(self, active: tuple[int, ...]) -> None:
        """Restrict the resolution ranges (progressive training)."""
        cfg = self.transform.config
        self.transform = ResolutionTransform(dataclasses.replace(cfg, active=tuple(active)))

    def __len__(self) -> int:
        return self.length

    def scene_index(self, index: int) -> int:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range [0, {self.length})")
        return self.epoch * self.length + index

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Tensor]]:
        scenes = [self.scene_index(int(i)) for i in indices]
        batch = self.people.generate(scenes)
        samples = unbatch({k: v.cpu() for k, v in batch.items()})
        return [self.finish(sample) for sample in samples]

    def finish(self, sample: dict[str, Tensor]) -> dict[str, Tensor]:
        """Add the degraded resolutions to a clean sample (drops or keeps the clean crop)."""
        gen = generator_for(self.synthetic.seed, "resolution", int(sample["index"]))
        return self.transform.apply(sample, gen, self.keep_clean)


def worker_init(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: one torch thread per worker (2 cores oversubscribe fast)."""
    torch.set_num_threads(1)


def make_loader(dataset: Dataset, batch_size: int, workers: int = 0, shuffle: bool = True, seed: int = 0, **kwargs: Any) -> DataLoader:
    """A DataLoader with worker-safe settings (per-worker single thread, seeded shuffling).

    Samples do not depend on worker seeds (they are seeded by index), so results are the same for
    any number of workers. Workers are not persistent: each epoch's workers get a fresh copy of
    the dataset, so :meth:`SyntheticDataset.set_epoch` and ``set_active_ranges`` reach them.
    """
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        worker_init_fn=worker_init if workers > 0 else None,
        generator=gen,
        **kwargs,
    )
