"""Shards: write, read back (same GT as a fresh render, JPEG-close crops, exact silhouettes), index."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from model.body import load_body_model
from model.data.clothing import ClothingConfig
from model.data.dataset import ResolutionConfig
from model.data.degrade import DegradeConfig
from model.data.pose_families import FAMILIES
from model.data.shards import INDEX_FILE, ShardDataset, _jsonable, config_from_json, write_shards
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.geometry.resolution import ResolutionRanges

S = 64
N = 5
CONFIG = SyntheticConfig(crop_size=S, seed=3)
RES = ResolutionConfig(ranges=ResolutionRanges((64, 48, 32, 24)), out_size=S, per_sample=2, degrade=DegradeConfig(mode="realistic"))
START = 20  # scene index of the first sample
CHECK = [1, 2, 4]  # shards hold [0, 1], [2, 3], [4]: ends of each


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("shards")
    # batch_size 3 does not divide shard_size 2: exercises splitting batches across shards.
    report = write_shards(out, N, CONFIG, start=START, shard_size=2, batch_size=3, show_progress=False)
    assert report.index == out / INDEX_FILE
    assert (report.rendered, report.skipped) == (N, 0) and report.bytes > 0
    return out


@pytest.fixture(scope="module")
def fresh() -> dict[str, torch.Tensor]:
    return SyntheticPeople(CONFIG).generate([START + i for i in CHECK])


def test_files_and_index(shard_dir) -> None:
    files = sorted(p.name for p in shard_dir.glob("shard-*.npz"))
    assert files == ["shard-00000.npz", "shard-00001.npz", "shard-00002.npz"]
    index = json.loads((shard_dir / INDEX_FILE).read_text())
    assert index["files"] == files
    assert index["samples"] == N and index["start"] == START
    assert index["crop_size"] == S and index["seed"] == 3 and index["jpeg_quality"] == 95
    assert index["body_model"] == load_body_model().info.model_id
    assert index["synthetic_config"]["crop_size"] == S and index["synthetic_config"]["seed"] == 3
    assert index["synthetic_config"]["framing"]["focal_range"] == list(CONFIG.framing.focal_range)
    sizes = []
    for name in files:
        with np.load(shard_dir / name) as npz:
            sizes.append(len(npz["jpeg_offsets"]) - 1)
            assert npz["silhouette"].dtype == np.uint8  # bit-packed
            assert npz["silhouette"].shape[1:] == (S, S // 8)
            assert npz["index"].dtype == np.int64
    assert sizes == [2, 2, 1]


def test_clean_matches_fresh_render(shard_dir, fresh: dict[str, torch.Tensor]) -> None:
    data = ShardDataset(shard_dir, RES)
    assert len(data) == N and data.crop_size == S
    for row, i in enumerate(CHECK):
        sample = data.clean(i)
        assert set(sample) == set(fresh), set(sample) ^ set(fresh)
        for key, value in fresh.items():
            got = sample[key]
            assert got.shape == value[row].shape, key
            if key == "image":
                assert got.dtype == torch.float32 and got.min() >= 0 and got.max() <= 1
                assert (got - value[row]).abs().mean() < 0.03, "JPEG crop too far from the render"
            else:
                assert got.dtype == value[row].dtype, key
                assert torch.equal(got, value[row]), key  # GT arrays and silhouettes are exact
        assert int(sample["index"]) == START + i


def test_getitem_degrades_reproducibly(shard_dir) -> None:
    data = ShardDataset(shard_dir, RES, keep_clean=True)
    a, b = data[3], data[3]
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert a["images"].shape == (2, 3, S, S) and a["image_hr"].shape == (3, S, S)
    ri = a["range_index"].tolist()
    assert ri == sorted(set(ri))
    assert torch.equal(a["joints3d_smpl24"], data.clean(3)["joints3d_smpl24"])
    # A new epoch: same GT, fresh degradations.
    data.set_epoch(1)
    c = data[3]
    assert torch.equal(c["joints3d_smpl24"], a["joints3d_smpl24"])
    assert torch.equal(c["image_hr"], a["image_hr"])
    assert not (torch.equal(c["images"], a["images"]) and torch.equal(c["sizes"], a["sizes"]))
    data.set_active_ranges((3,))
    assert data[3]["range_index"].tolist() == [3]


def test_limit_and_bounds(shard_dir) -> None:
    data = ShardDataset(shard_dir, RES, limit=3)
    assert len(data) == 3
    with pytest.raises(IndexError):
        data.clean(3)
    with pytest.raises(IndexError):
        data.clean(-1)
    assert len(ShardDataset(shard_dir, RES, limit=100)) == N


def test_families_and_family_sampling_weights(shard_dir, fresh: dict[str, torch.Tensor]) -> None:
    data = ShardDataset(shard_dir, RES)
    families = data.families()
    assert families.shape == (N,) and families.dtype == np.int64
    assert [int(families[i]) for i in CHECK] == fresh["family"].tolist()
    assert all(int(families[i]) == int(data.clean(i)["family"]) for i in range(N))
    first = FAMILIES[int(families[0])]
    weights = data.family_sampling_weights({first: 0.25})
    assert weights.shape == (N,)
    assert weights.tolist() == [0.25 if int(f) == int(families[0]) else 1.0 for f in families]
    with pytest.raises(ValueError, match="weight 0"):
        data.family_sampling_weights({name: 0.0 for name in FAMILIES})
    assert len(ShardDataset(shard_dir, RES, limit=3).families()) == 3


def test_missing_folder_message(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no shard index at .*index\.json.*python -m model\.data\.shards"):
        ShardDataset(tmp_path / "nope")


def test_resume_renders_only_missing_shards_and_matches(shard_dir, tmp_path) -> None:
    """An interrupted run (a shard missing, another cut short) is completed by the same call, bit for bit."""
    out = tmp_path / "resume"
    out.mkdir()
    for name in ("plan.json", "shard-00000.npz", "shard-00002.npz"):
        (out / name).write_bytes((shard_dir / name).read_bytes())
    (out / "shard-00001.npz").write_bytes((shard_dir / "shard-00001.npz").read_bytes()[:100])  # cut short
    report = write_shards(out, N, CONFIG, start=START, shard_size=2, batch_size=3, show_progress=False)
    assert (report.rendered, report.skipped) == (2, 3)
    for name in ("shard-00000.npz", "shard-00001.npz", "shard-00002.npz"):
        with np.load(out / name) as a, np.load(shard_dir / name) as b:
            assert set(a.files) == set(b.files)
            for key in a.files:
                assert np.array_equal(a[key], b[key]), (name, key)
    assert json.loads((out / INDEX_FILE).read_text()) == json.loads((shard_dir / INDEX_FILE).read_text())


def test_resume_with_another_plan_is_refused(shard_dir, tmp_path) -> None:
    out = tmp_path / "other"
    out.mkdir()
    (out / "plan.json").write_bytes((shard_dir / "plan.json").read_bytes())
    with pytest.raises(ValueError, match="another plan"):
        write_shards(out, N + 1, CONFIG, start=START, shard_size=2, show_progress=False)


def test_a_plan_written_before_a_generator_field_existed_still_resumes(shard_dir, tmp_path) -> None:
    out = tmp_path / "older"
    out.mkdir()
    plan = json.loads((shard_dir / "plan.json").read_text())
    del plan["synthetic_config"]["shading_gamma"], plan["synthetic_config"]["clothing"]["front_cues"]
    (out / "plan.json").write_text(json.dumps(plan))
    report = write_shards(out, N, CONFIG, start=START, shard_size=2, batch_size=3, show_progress=False)
    assert report.rendered == N  # accepted: its defaults are the generator it was written with
    with pytest.raises(ValueError, match="another plan"):  # but not for another generator
        write_shards(out, N, dataclasses.replace(CONFIG, shading_gamma=2.2), start=START, shard_size=2, show_progress=False)


def test_worker_processes_write_the_same_shards(shard_dir, tmp_path) -> None:
    """Shards rendered by a spawned worker process equal those of the calling process."""
    out = tmp_path / "workers"
    report = write_shards(out, 2, CONFIG, start=START, shard_size=2, batch_size=3, workers=1, show_progress=False)
    assert report.workers == 1 and report.rendered == 2
    with np.load(out / "shard-00000.npz") as a, np.load(shard_dir / "shard-00000.npz") as b:
        for key in ("index", "pose", "joints3d_coco17", "jpeg"):
            assert np.array_equal(a[key], b[key]), key


def test_the_index_gives_back_the_generator(shard_dir) -> None:
    """The scenes' generator is rebuilt from the index (nested configs, tuples); a record written before a
    field existed keeps that field's default, the generator of its time."""
    assert ShardDataset(shard_dir).synthetic_config == CONFIG
    variant = SyntheticConfig(crop_size=S, seed=3, clothing=ClothingConfig(front_cues=True), shading_gamma=2.2)
    record = json.loads(json.dumps(_jsonable(dataclasses.asdict(variant))))
    assert config_from_json(SyntheticConfig, record) == variant
    del record["shading_gamma"], record["clothing"]["front_cues"]
    assert config_from_json(SyntheticConfig, record) == SyntheticConfig(crop_size=S, seed=3)
    with pytest.raises(ValueError, match="no fields"):
        config_from_json(SyntheticConfig, {"colour": 1})


def test_cli_flags_choose_the_generator(tmp_path) -> None:
    from model.data.shards import main

    main(["--out", str(tmp_path / "s"), "--samples", "1", "--crop-size", "32", "--workers", "0", "--front-cues", "--shading-gamma", "2.2"])
    config = ShardDataset(tmp_path / "s").synthetic_config
    assert config.clothing.front_cues and config.shading_gamma == 2.2 and config.crop_size == 32
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "t"), "--samples", "1", "--shading-gamma", "0.5"])
