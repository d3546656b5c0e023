"""Pre-rendered synthetic samples in compressed shards, for fast training epochs.

``python -m model.data.shards --out data/shards/train --samples 20000 [--workers 2]``

A shard ``shard-00000.npz`` holds up to ``shard_size`` samples: clean crops as JPEG bytes
(``jpeg`` concatenated, ``jpeg_offsets (N+1,)``), silhouettes bit-packed (``silhouette``), and
every ground-truth array of :mod:`model.data.synthetic` stacked along the first axis. The folder's
``index.json`` records the sample count, the synthetic config, the body model id and the shard
files. :class:`ShardDataset` keeps the (small) shards in memory, decodes crops on access and
applies the same :class:`~model.data.dataset.ResolutionTransform` as the on-the-fly dataset, so
every epoch sees fresh degradations.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from model.data.dataset import ResolutionConfig, ResolutionTransform, worker_init
from model.data.synthetic import SyntheticConfig, SyntheticPeople, generator_for

INDEX_FILE = "index.json"
_NON_ARRAY = ("image", "silhouette")


class _CleanSamples(Dataset):
    """Clean rendered samples ``start .. start+length`` (used by the writer's loader)."""

    def __init__(self, config: SyntheticConfig, start: int, length: int) -> None:
        self.config, self.start, self.length = config, start, length
        self._people: SyntheticPeople | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Tensor]]:
        if self._people is None:
            self._people = SyntheticPeople(self.config)
        batch = self._people.generate([self.start + int(i) for i in indices])
        n = len(indices)
        return [{k: v[i].cpu() for k, v in batch.items()} for i in range(n)]


def _keep_list(samples: list[dict[str, Tensor]]) -> list[dict[str, Tensor]]:
    return samples


def _encode(samples: list[dict[str, Tensor]], quality: int) -> dict[str, np.ndarray]:
    blobs = []
    for s in samples:
        rgb = (s["image"].permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        blobs.append(buf.reshape(-1))
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([b.size for b in blobs])
    arrays: dict[str, np.ndarray] = {
        "jpeg": np.concatenate(blobs),
        "jpeg_offsets": offsets,
        "silhouette": np.packbits(np.stack([s["silhouette"][0].numpy() > 0.5 for s in samples]), axis=-1),
    }
    for key in samples[0]:
        if key not in _NON_ARRAY:
            arrays[key] = np.stack([s[key].numpy() for s in samples])
    return arrays


def write_shards(
    out_dir: str | os.PathLike[str],
    samples: int,
    config: SyntheticConfig = SyntheticConfig(),
    start: int = 0,
    shard_size: int = 1000,
    batch_size: int = 16,
    workers: int = 0,
    quality: int = 95,
    show_progress: bool = True,
) -> Path:
    """Render scenes ``start .. start+samples`` into shards under ``out_dir``; returns the index path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loader = DataLoader(
        _CleanSamples(config, start, samples),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        worker_init_fn=worker_init if workers > 0 else None,
        collate_fn=_keep_list,
    )
    files: list[str] = []
    pending: list[dict[str, Tensor]] = []
    body_id = None

    def flush() -> None:
        name = f"shard-{len(files):05d}.npz"
        np.savez_compressed(out / name, **_encode(pending, quality))
        files.append(name)
        pending.clear()

    with tqdm(total=samples, desc=f"rendering {out.name}", disable=not show_progress, unit="sample") as bar:
        for batch in loader:
            pending.extend(batch)
            bar.update(len(batch))
            while len(pending) >= shard_size:
                rest = pending[shard_size:]
                del pending[shard_size:]
                flush()
                pending.extend(rest)
    if pending:
        flush()
    from model.body import load_body_model

    body_id = load_body_model().info.model_id
    index = {
        "samples": samples,
        "start": start,
        "crop_size": config.crop_size,
        "seed": config.seed,
        "jpeg_quality": quality,
        "body_model": body_id,
        "synthetic_config": _jsonable(dataclasses.asdict(config)),
        "files": files,
    }
    path = out / INDEX_FILE
    path.write_text(json.dumps(index, indent=2))
    return path


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


class ShardDataset(Dataset):
    """Samples from a shard folder, with fresh degradations (see the module docstring).

    Args:
        root: folder written by :func:`write_shards`.
        resolution: resolutions per sample.
        keep_clean: also return the clean crop as ``image_hr``.
        limit: use only the first ``limit`` samples.
    """

    def __init__(self, root: str | os.PathLike[str], resolution: ResolutionConfig = ResolutionConfig(), keep_clean: bool = False, limit: int | None = None) -> None:
        self.root = Path(root)
        index_path = self.root / INDEX_FILE
        if not index_path.is_file():
            raise FileNotFoundError(f"no shard index at {index_path}; write shards with python -m model.data.shards")
        self.index = json.loads(index_path.read_text())
        self.transform = ResolutionTransform(resolution)
        self.keep_clean = keep_clean
        self.epoch = 0
        self._shards: list[dict[str, np.ndarray]] = []
        self._starts: list[int] = []
        total = 0
        for name in self.index["files"]:
            with np.load(self.root / name) as npz:
                shard = {k: npz[k] for k in npz.files}
            self._shards.append(shard)
            self._starts.append(total)
            total += len(shard["jpeg_offsets"]) - 1
        self.length = total if limit is None else min(total, int(limit))
        self.crop_size = int(self.index["crop_size"])

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_active_ranges(self, active: tuple[int, ...]) -> None:
        cfg = self.transform.config
        self.transform = ResolutionTransform(dataclasses.replace(cfg, active=tuple(active)))

    def clean(self, index: int) -> dict[str, Tensor]:
        """Sample ``index`` with its clean ``image`` (3, S, S) and no degradation."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range [0, {self.length})")
        k = int(np.searchsorted(self._starts, index, side="right")) - 1
        shard, j = self._shards[k], index - self._starts[k]
        off = shard["jpeg_offsets"]
        bgr = cv2.imdecode(shard["jpeg"][off[j] : off[j + 1]], cv2.IMREAD_COLOR)
        image = torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float() / 255.0
        s = self.crop_size
        sil = np.unpackbits(shard["silhouette"][j], axis=-1)[:, :s].astype(np.float32)
        sample: dict[str, Tensor] = {"image": image, "silhouette": torch.from_numpy(sil)[None]}
        for key, arr in shard.items():
            if key not in ("jpeg", "jpeg_offsets", "silhouette"):
                sample[key] = torch.from_numpy(np.array(arr[j]))
        return sample

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        sample = self.clean(index)
        gen = generator_for(int(self.index["seed"]), "shard-resolution", int(sample["index"]), self.epoch)
        return self.transform.apply(sample, gen, self.keep_clean)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.data.shards", description="Pre-render synthetic samples into shards.")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--samples", type=int, required=True, help="number of samples")
    parser.add_argument("--start", type=int, default=0, help="first scene index (keep train/test ranges disjoint)")
    parser.add_argument("--seed", type=int, default=SyntheticConfig.seed, help="synthetic base seed")
    parser.add_argument("--crop-size", type=int, default=SyntheticConfig.crop_size)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cfg = SyntheticConfig(crop_size=args.crop_size, seed=args.seed)
    path = write_shards(args.out, args.samples, cfg, args.start, args.shard_size, args.batch_size, args.workers, args.quality)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
