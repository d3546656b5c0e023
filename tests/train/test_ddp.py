"""torchrun with two CPU processes (gloo): both ranks end with identical weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


@pytest.mark.slow
def test_two_process_ddp_ranks_agree(tiny_config_file: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(tiny_config_file.read_text())
    data["data"]["synthetic_length"] = 8
    tiny_config_file.write_text(yaml.safe_dump(data))
    out = Path(data["runtime"]["out_dir"])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[2])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "model.train", "--config", str(tiny_config_file), "--max-steps", "2", "--device", "cpu", "--no-progress"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2 and ranks[0]["step"] == ranks[1]["step"] == 2
    assert ranks[0]["param_checksum"] == pytest.approx(ranks[1]["param_checksum"], rel=0, abs=1e-9)
    assert (out / "last.pt").is_file()
