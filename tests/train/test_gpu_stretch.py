"""The prepared GPU stretch command, run on the CPU with a tiny config (as the issue asks before the
real machine): it trains from the committed resume file and leaves the log and the new resume file,
split in parts the device tool can return, under $OUT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from model.nets.checkpoint import load_resume_file
from model.train.config import load_config
from model.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_stretch_script_resumes_and_returns_parts(tiny_config_file: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(tiny_config_file.read_text())
    data["stages"] = [{"ranges": [0, 1], "steps": 50}]
    data["runtime"]["resume_file"] = str(tmp_path / "committed" / "resume.pt")
    config_path = tmp_path / "gpu-tiny.yaml"
    config_path.write_text(yaml.safe_dump(data))
    first = Trainer(load_config(config_path), device="cpu", max_steps=1, show_progress=False)
    first.train()
    for f in Path(data["runtime"]["out_dir"]).iterdir():  # the device machine starts bare
        f.unlink()

    out = tmp_path / "OUT"
    env = {**os.environ, "CONFIG": str(config_path), "PYTHON": sys.executable, "OUT": str(out), "MINUTES": "0.05",
           "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(["bash", "scripts/gpu_stretch.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "resumed from the committed file" in (out / "train.log").read_text()
    assert (out / "log.jsonl").read_text().splitlines()[0].startswith('{"event": "resumed_from_file"')
    parts = sorted(out.glob("resume.part*"))
    assert parts
    joined = tmp_path / "joined.pt"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    resumed = load_resume_file(joined)
    assert resumed["step"] > 1
    assert [s["started_from"] for s in resumed["stretches"]] == ["new", "resume_file"]
    assert torch.equal(resumed["model"]["backbone.alpha"], load_resume_file(data["runtime"]["resume_file"])["model"]["backbone.alpha"])
