"""scripts/gpu_slim.sh: the tree that travels to the device keeps what a GPU stretch needs, drops the
rest, and comes back exactly as it was."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    files = {
        "model/train/trainer.py": "x = 1\n",
        "configs/train/long/gpu.yaml": "base: cpu.yaml\n",
        "checkpoints/rscnet-long/model.pt": "w" * 2000,
        "checkpoints/rscnet-cpu/model.pt": "v" * 300_000,
        "service/static/big.js": "s" * 200_000,
        "README.md": "readme\n",
        ".gitignore": "/runs/\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "gpu_slim.sh", repo / "scripts" / "gpu_slim.sh")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (repo / "runs").mkdir()
    (repo / "runs" / "ignored.pt").write_text("i" * 100)
    return repo


def _slim(repo: Path, verb: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "scripts/gpu_slim.sh", verb], cwd=repo, capture_output=True, text=True)


def test_on_keeps_the_stretch_and_drops_the_rest_off_restores(repo: Path) -> None:
    before = float(_slim(repo, "size").stdout.split()[0])
    on = _slim(repo, "on")
    assert on.returncode == 0, on.stderr
    tracked = set(_git(repo, "ls-files").split())
    assert tracked == {"model/train/trainer.py", "configs/train/long/gpu.yaml", "checkpoints/rscnet-long/model.pt", "scripts/gpu_slim.sh"}
    assert _git(repo, "ls-files", "--others", "--exclude-standard") == ""  # the dropped files are ignored, not untracked
    assert (repo / "checkpoints" / "rscnet-cpu" / "model.pt").is_file()  # still on disk
    after = float(_slim(repo, "size").stdout.split()[0])
    assert after < before and after < 0.1
    assert "already on" in _slim(repo, "on").stdout
    off = _slim(repo, "off")
    assert off.returncode == 0, off.stderr
    assert _git(repo, "status", "--porcelain") == ""
    assert "gpu_slim" not in (repo / ".git" / "info" / "exclude").read_text()
    assert float(_slim(repo, "size").stdout.split()[0]) == before


def test_on_refuses_uncommitted_changes(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    result = _slim(repo, "on")
    assert result.returncode == 1 and "commit or stash" in result.stderr
    assert len(_git(repo, "ls-files").split()) == 8


def test_usage(repo: Path) -> None:
    result = _slim(repo, "")
    assert result.returncode == 2 and "gpu_slim.sh on" in result.stdout
