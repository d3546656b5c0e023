"""The shared training loop on a toy trainer: budget, learning rate, logs, checkpoints, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from model.nets.checkpoint import load_checkpoint
from model.train.loop import LoopConfig, StepOutcome, TrainLoop

TOY_FORMAT = "rscnet-reid/1"  # any known format; the loop does not care which


class Toy(TrainLoop):
    def __init__(self, out: Path, resume: bool = False, **loop: Any) -> None:
        super().__init__(LoopConfig(name="toy", out_dir=out, total_steps=5, log_every=2, checkpoint_every=2, show_progress=False, **loop))
        self.net = torch.nn.Linear(2, 1)
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=1.0)
        self.seen_lr: list[float] = []
        self.saves = 0
        path = self.resume_path(resume)
        if path is not None:
            ckpt = load_checkpoint(path, expected_format=TOY_FORMAT)
            self.net.load_state_dict(ckpt["model"])
            self.step, self.wall_seconds = int(ckpt["step"]), float(ckpt["wall_seconds"])

    def lr(self) -> float:
        return 0.1 / (1 + self.step)

    def train_step(self) -> StepOutcome:
        self.seen_lr.append(self.optimizer.param_groups[0]["lr"])
        loss = self.net(torch.ones(1, 2)).square().mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return StepOutcome(loss=float(loss.detach()), terms={"total": float(loss.detach())})

    def state(self) -> dict[str, Any]:
        return {"format": TOY_FORMAT, "model": self.net.state_dict(), "net_config": {}, "step": self.step, "wall_seconds": self.wall_seconds}

    def save(self) -> Path:
        self.saves += 1
        return super().save()


def test_loop_runs_logs_checkpoints_and_resumes(tmp_path: Path) -> None:
    first = Toy(tmp_path, max_steps=3)
    last = first.train()
    assert first.step == 3 and len(first.step_end_times) == 3 and first.wall_seconds > 0
    assert first.seen_lr == [0.1, 0.05, 0.1 / 3]  # set before each step from the step count
    assert first.saves == 2  # periodic at step 2, final at step 3
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 3] and last == lines[-1] and last["lr"] == 0.1 / 4

    second = Toy(tmp_path, resume=True)
    assert second.step == 3 and torch.equal(second.net.weight, first.net.weight)
    second.train()
    assert second.step == 5 and second.saves == 2  # periodic at step 4, final at the end (5)
    assert load_checkpoint(tmp_path / "last.pt", expected_format=TOY_FORMAT)["step"] == 5
    idle = Toy(tmp_path, resume=True)
    assert idle.train() == {} and idle.saves == 0  # nothing left to do: no step, no save
    assert Toy(tmp_path, resume=True, save_when_idle=True).train() == {}


def test_loop_stops_at_max_minutes(tmp_path: Path) -> None:
    toy = Toy(tmp_path, max_minutes=0.0)
    toy.train()
    assert toy.step == 0 and not (tmp_path / "last.pt").exists()
    toy.max_minutes = None
    toy.max_steps = 1
    toy.train()
    assert toy.step == 1 and (tmp_path / "last.pt").is_file()
