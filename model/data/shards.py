"""Pre-rendered synthetic samples in compressed shards, for fast training epochs.

``python -m model.data.shards --out data/shards/train --samples 300000 --crop-size 128 [--workers N]``

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
import multiprocessing as mp
import os
import platform
import sys
import time
import typing
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset
from tqdm import tqdm

from model.data.clothing import ClothingConfig
from model.data.dataset import ResolutionConfig, ResolutionTransform
from model.data.pose_families import FAMILIES
from model.data.synthetic import SyntheticConfig, SyntheticPeople, generator_for
from model.data.twins import pair_base

INDEX_FILE = "index.json"
_NON_ARRAY = ("image", "silhouette")


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


PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class RenderReport:
    """What :func:`write_shards` did.

    Attributes:
        index: path of the written ``index.json``.
        rendered: samples rendered by this call (shards found complete on disk are skipped).
        skipped: samples of shards that were already complete (a resumed run).
        seconds: wall time of this call.
        workers: rendering processes (0 = in the calling process).
        bytes: size of the shard folder on disk.
    """

    index: Path
    rendered: int
    skipped: int
    seconds: float
    workers: int
    bytes: int

    @property
    def samples_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0

    @property
    def samples_per_second_per_core(self) -> float:
        return self.samples_per_second / max(self.workers, 1)

    def markdown(self, command: str) -> str:
        """The run as a Markdown section (``command`` is what was run)."""
        per = max(self.workers, 1)
        return "\n".join([
            "## Training-set render",
            "",
            f"`{command}` on {os.cpu_count()} cores ({platform.processor() or platform.machine()}):",
            "",
            "| samples rendered | already on disk | wall time | samples/s | per process | processes | disk |",
            "|---|---|---|---|---|---|---|",
            (
                f"| {self.rendered} | {self.skipped} | {self.seconds / 60.0:.1f} min | {self.samples_per_second:.1f} "
                f"| {self.samples_per_second_per_core:.1f} | {per} | {self.bytes / 2**30:.2f} GiB |"
            ),
            "",
        ])  # fmt: skip

    def summary(self) -> str:
        rate = f"{self.samples_per_second:.1f} samples/s ({self.samples_per_second_per_core:.1f} per process, {max(self.workers, 1)} processes)"
        return (
            f"rendered {self.rendered} samples in {self.seconds / 60.0:.1f} min: {rate}; "
            f"{self.skipped} samples already on disk; folder {self.bytes / 2**30:.2f} GiB ({self.bytes / 2**20:.1f} MiB)"
        )


def _shard_name(k: int) -> str:
    return f"shard-{k:05d}.npz"


def _shard_range(k: int, start: int, samples: int, shard_size: int) -> range:
    lo = start + k * shard_size
    return range(lo, min(lo + shard_size, start + samples))


def _shard_complete(path: Path, indices: range) -> bool:
    """Whether ``path`` is a readable shard holding exactly the scenes ``indices``."""
    if not path.is_file():
        return False
    try:
        with np.load(path) as npz:
            idx = npz["index"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # a file cut short by an interruption
        return False
    return len(idx) == len(indices) and int(idx[0]) == indices.start and int(idx[-1]) == indices.stop - 1


_WORKER_PEOPLE: SyntheticPeople | None = None


def _worker_init(config: SyntheticConfig) -> None:
    global _WORKER_PEOPLE
    torch.set_num_threads(1)
    _WORKER_PEOPLE = SyntheticPeople(config)


def _render_shard(job: tuple[Path, int, range, int, int]) -> int:
    """Render one shard to a temporary file and move it into place (atomic); returns its sample count."""
    out, k, indices, batch_size, quality = job
    people = _WORKER_PEOPLE
    assert people is not None, "worker not initialised"
    samples: list[dict[str, Tensor]] = []
    for lo in range(indices.start, indices.stop, batch_size):
        batch = people.generate(list(range(lo, min(lo + batch_size, indices.stop))))
        samples.extend({key: v[i].cpu() for key, v in batch.items()} for i in range(len(batch["index"])))
    final = out / _shard_name(k)
    tmp = out / f".{final.name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **_encode(samples, quality))
    os.replace(tmp, final)
    return len(samples)


def _folder_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.iterdir() if p.is_file())


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
) -> RenderReport:
    """Render scenes ``start .. start+samples`` into shards under ``out_dir``.

    Shard ``k`` holds scenes ``start + k * shard_size ..`` (a fixed assignment, so the set is the
    same whatever the number of workers). ``workers`` processes render whole shards in parallel
    (0: the calling process), each written to a temporary file and moved into place, so an
    interrupted run leaves only complete shards: calling again with the same arguments renders
    only the missing ones. A ``plan.json`` written first refuses a resume with other arguments.
    ``index.json`` is written last; :class:`ShardDataset` needs it.
    """
    if samples < 1 or shard_size < 1 or batch_size < 1 or workers < 0:
        raise ValueError("samples, shard_size and batch_size must be >= 1 and workers >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from model.body import load_body_model

    body_id = load_body_model().info.model_id
    plan = {
        "samples": samples,
        "start": start,
        "shard_size": shard_size,
        "jpeg_quality": quality,
        "body_model": body_id,
        "synthetic_config": _jsonable(dataclasses.asdict(config)),
    }
    plan_path = out / PLAN_FILE
    if plan_path.is_file():
        previous = json.loads(plan_path.read_text())
        if not _same_plan(previous, json.loads(json.dumps(plan)), config):
            raise ValueError(f"{out} holds shards of another plan ({plan_path}); use a new folder or the same arguments")
    else:
        plan_path.write_text(json.dumps(plan, indent=2))
    n_shards = (samples + shard_size - 1) // shard_size
    ranges = [_shard_range(k, start, samples, shard_size) for k in range(n_shards)]
    todo = [k for k in range(n_shards) if not _shard_complete(out / _shard_name(k), ranges[k])]
    skipped = samples - sum(len(ranges[k]) for k in todo)
    jobs = [(out, k, ranges[k], batch_size, quality) for k in todo]
    t0 = time.perf_counter()
    with tqdm(total=samples, initial=skipped, desc=f"rendering {out.name}", disable=not show_progress, unit="sample") as bar:
        if workers == 0:
            _worker_init(config)
            for job in jobs:
                bar.update(_render_shard(job))
        else:
            ctx = mp.get_context("spawn")
            with ctx.Pool(workers, initializer=_worker_init, initargs=(config,)) as pool:
                for n in pool.imap_unordered(_render_shard, jobs):
                    bar.update(n)
    seconds = time.perf_counter() - t0
    index = {
        "samples": samples,
        "start": start,
        "crop_size": config.crop_size,
        "seed": config.seed,
        "jpeg_quality": quality,
        "body_model": body_id,
        "synthetic_config": plan["synthetic_config"],
        "files": [_shard_name(k) for k in range(n_shards)],
    }
    path = out / INDEX_FILE
    tmp = out / f".{INDEX_FILE}.tmp"
    tmp.write_text(json.dumps(index, indent=2))
    os.replace(tmp, path)
    rendered = samples - skipped
    return RenderReport(index=path, rendered=rendered, skipped=skipped, seconds=seconds, workers=workers, bytes=_folder_bytes(out))


def _same_plan(previous: Mapping[str, Any], plan: Mapping[str, Any], config: SyntheticConfig) -> bool:
    """Does a folder's plan describe this render? The generator is compared as a config, so a plan
    written before a field existed (its default reproduces that generator) still resumes."""
    if {k: v for k, v in previous.items() if k != "synthetic_config"} != {k: v for k, v in plan.items() if k != "synthetic_config"}:
        return False
    try:
        return config_from_json(SyntheticConfig, previous.get("synthetic_config", {})) == config
    except (TypeError, ValueError):
        return False


def config_from_json(cls: type, data: Mapping[str, Any]) -> Any:
    """Rebuild a (nested, frozen) config dataclass from its :func:`_jsonable` form: lists become
    tuples, nested dataclasses are rebuilt, and fields the mapping lacks (a folder written before
    they existed) keep their defaults, which reproduce the generator of that time."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        tp = hints[name]
        if isinstance(value, Mapping) and dataclasses.is_dataclass(tp):
            kwargs[name] = config_from_json(tp, value)  # type: ignore[arg-type]
        else:
            kwargs[name] = _tuples(value)
    return cls(**kwargs)


def _tuples(x: Any) -> Any:
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


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

    @property
    def synthetic_config(self) -> SyntheticConfig:
        """The generator the scenes were rendered with (:func:`config_from_json` of the index's record)."""
        return config_from_json(SyntheticConfig, self.index["synthetic_config"])

    def __len__(self) -> int:
        return self.length

    def families(self) -> np.ndarray:
        """``(len,)`` int64: each scene's pose family (an index into
        :data:`~model.data.pose_families.FAMILIES`), read without decoding any image."""
        return np.concatenate([shard["family"] for shard in self._shards]).astype(np.int64)[: self.length]

    def family_sampling_weights(self, weights: Mapping[str, float]) -> Tensor:
        """``(len,)`` float64 sampling weight of every scene: its family's entry in ``weights``
        (families not named weigh 1), for a :class:`torch.utils.data.WeightedRandomSampler`."""
        per_family = torch.tensor([float(weights.get(name, 1.0)) for name in FAMILIES], dtype=torch.float64)
        out = per_family[torch.from_numpy(self.families())]
        if float(out.sum()) <= 0.0:
            raise ValueError(f"family weights {dict(weights)} give every scene of {self.root} weight 0")
        return out

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

    @property
    def twin_pairs(self) -> bool:
        """Whether the scenes come in twin pairs (:attr:`SyntheticConfig.twin_pairs`): a pair is
        degraded alike (same resolutions, blur, noise, cut), so the two crops differ only in the pose."""
        return bool(self.index["synthetic_config"].get("twin_pairs", False))

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        sample = self.clean(index)
        scene = int(sample["index"])
        gen = generator_for(int(self.index["seed"]), "shard-resolution", pair_base(scene) if self.twin_pairs else scene, self.epoch)
        return self.transform.apply(sample, gen, self.keep_clean)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m model.data.shards",
        description="Pre-render synthetic samples into shards, on several processes; resumable (run the same command again).",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--samples", type=int, required=True, help="number of samples (distinct scenes)")
    parser.add_argument("--start", type=int, default=0, help="first scene index (keep train/test ranges disjoint)")
    parser.add_argument("--seed", type=int, default=SyntheticConfig.seed, help="synthetic base seed")
    parser.add_argument("--crop-size", type=int, default=SyntheticConfig.crop_size)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="rendering processes (default: one per core; 0 = this process)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality")
    parser.add_argument("--report", type=Path, default=None, help="also write the run's time, disk and speed as Markdown here")
    parser.add_argument("--front-cues", action="store_true",
                        help="show the front as real people do: open jackets, zip lines, the eyes' dark band (ClothingConfig.front_cues)")
    parser.add_argument("--twin-pairs", action="store_true",
                        help="scene 2n+1 is scene 2n posed as its depth-mirror twin (SyntheticConfig.twin_pairs; model/data/twins.py)")
    parser.add_argument("--part-maps", action="store_true",
                        help="also store each crop's visible body-part classes (SyntheticConfig.part_maps; model/body/parts.py)")
    parser.add_argument("--shading-gamma", type=float, default=SyntheticConfig.shading_gamma,
                        help="display gamma of the shading: 1 = the issue-14 generator, 2.2 = linear light as a camera records it (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if not 1.0 <= args.shading_gamma <= 3.0:
        parser.error(f"--shading-gamma must be in [1, 3], got {args.shading_gamma}")
    cfg = SyntheticConfig(crop_size=args.crop_size, seed=args.seed, clothing=ClothingConfig(front_cues=args.front_cues), shading_gamma=args.shading_gamma,
                          twin_pairs=args.twin_pairs, part_maps=args.part_maps)
    report = write_shards(args.out, args.samples, cfg, args.start, args.shard_size, args.batch_size, args.workers, args.quality)
    print(report.summary())
    print(f"wrote {report.index}")
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report.markdown(" ".join(["python -m model.data.shards", *(argv if argv is not None else sys.argv[1:])])))
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
