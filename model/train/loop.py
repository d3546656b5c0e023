"""The training loop every trainer configures: RSC-Net, video, ReID and texture.

A trainer subclasses :class:`TrainLoop` and says what is particular to it:

* :meth:`~TrainLoop.train_step` - one optimiser step (batch, forward, losses, backward, update);
* :meth:`~TrainLoop.lr` - the learning rate at :attr:`~TrainLoop.step`, set on
  :attr:`~TrainLoop.optimizer` before each step;
* :meth:`~TrainLoop.state` - the checkpoint dict (its format and entries are the trainer's; they
  are written by :func:`model.nets.checkpoint.save_checkpoint`, atomically);
* optionally :meth:`~TrainLoop.log_entry`, :meth:`~TrainLoop.on_start`,
  :meth:`~TrainLoop.on_step_end` and :meth:`~TrainLoop.save` (the RSC-Net trainer also writes its
  committed resume file there).

The loop does the rest the same way for all of them: threads and seeding (:meth:`~TrainLoop.seed`),
the step budget (the schedule's end, ``max_steps`` more steps or ``max_minutes`` of wall time), the
progress bar, the wall time of the steps (:attr:`~TrainLoop.wall_seconds`, and
:attr:`~TrainLoop.step_end_times` for benchmarks), ``<out_dir>/log.jsonl`` (every ``log_every``
steps and at the end), and ``<out_dir>/last.pt`` every ``checkpoint_every`` steps and after the
last step. Under data-parallel training only the main rank logs and saves.

Resuming is the trainer's: it restores :attr:`~TrainLoop.step` and :attr:`~TrainLoop.wall_seconds`
(with its own state) from :meth:`~TrainLoop.resume_path`'s file before :meth:`~TrainLoop.train`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.nets.checkpoint import load_checkpoint, save_checkpoint
from model.train.schedule import lr_factor

__all__ = ["LoopConfig", "StepOutcome", "TrainLoop"]


@dataclass(frozen=True)
class LoopConfig:
    """What the loop needs of a run.

    Attributes:
        name: progress-bar label.
        out_dir: where ``last.pt`` and ``log.jsonl`` go.
        total_steps: the schedule's length (the loop never goes past it).
        log_every, checkpoint_every: steps between log lines / periodic checkpoints.
        seed: seed of the global torch generator (:meth:`TrainLoop.seed`).
        threads: torch intra-op threads.
        max_steps: at most this many steps in one :meth:`TrainLoop.train` call (the initial value
            of :attr:`TrainLoop.max_steps`).
        max_minutes: stop (and checkpoint) after this many minutes of one call (likewise).
        show_progress: draw the progress bar (main rank only).
        is_main: this process logs and saves (rank 0).
        save_when_idle: write the final checkpoint even when a call took no step.
    """

    name: str
    out_dir: Path
    total_steps: int
    log_every: int
    checkpoint_every: int
    seed: int = 0
    threads: int = 1
    max_steps: int | None = None
    max_minutes: float | None = None
    show_progress: bool = True
    is_main: bool = True
    save_when_idle: bool = False


@dataclass
class StepOutcome:
    """What one step reports: its loss (progress bar) and the terms its log line carries."""

    loss: float
    terms: dict[str, float] = field(default_factory=dict)


class TrainLoop:
    """Base of the trainers (see the module docstring).

    Subclasses call ``super().__init__(loop_config)`` first (it sets the threads and seeds the
    global generator), then build their networks and set :attr:`optimizer`.
    """

    #: The optimiser whose learning rate follows :meth:`lr` (set by the subclass).
    optimizer: torch.optim.Optimizer

    def __init__(self, loop: LoopConfig) -> None:
        self.loop = loop
        self.out_dir = Path(loop.out_dir)
        self.show_progress = loop.show_progress and loop.is_main
        #: Step budget of the next :meth:`train` call (may be changed between calls).
        self.max_steps = loop.max_steps
        self.max_minutes = loop.max_minutes
        #: Optimiser steps done (restored on resume).
        self.step = 0
        #: Wall time of the steps so far, all calls (restored on resume).
        self.wall_seconds = 0.0
        #: ``time.perf_counter()`` at the end of each step of this process (benchmarks).
        self.step_end_times: list[float] = []
        torch.set_num_threads(loop.threads)
        self.seed()

    # ------------------------------------------------------------------ hooks
    def lr(self) -> float:
        """Learning rate at :attr:`step`."""
        raise NotImplementedError

    def train_step(self) -> StepOutcome:
        """One optimiser step at :attr:`step` (the loop counts it and times it)."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """The checkpoint dict written to ``last.pt``."""
        raise NotImplementedError

    def log_entry(self, outcome: StepOutcome, now: float) -> dict[str, Any]:
        """The ``log.jsonl`` line after a step (default: step, next learning rate, wall time, terms)."""
        return {"step": self.step, "lr": self.lr(), "wall_seconds": self.wall_seconds, **outcome.terms}

    def postfix(self, outcome: StepOutcome) -> dict[str, Any]:
        """Progress-bar fields after a step."""
        return {"loss": f"{outcome.loss:.3f}"}

    def on_start(self, end: int) -> None:
        """Called by :meth:`train` before the first step (``end``: the step it stops at)."""

    def on_step_end(self, outcome: StepOutcome, step_seconds: float, now: float) -> None:
        """Called after each step, once it is counted."""

    # ------------------------------------------------------------------ shared
    def seed(self, seed: int | None = None) -> None:
        """Seed the global torch generator (default: the run's seed)."""
        torch.manual_seed(self.loop.seed if seed is None else seed)

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / "last.pt"

    def resume_path(self, resume: bool) -> Path | None:
        """``<out_dir>/last.pt`` when resuming and it exists."""
        return self.checkpoint_path if resume and self.checkpoint_path.is_file() else None

    def warmup_cosine_lr(self, optim: Any) -> float:
        """``optim.lr`` at :attr:`step` under :func:`~model.train.schedule.lr_factor` (linear warm-up
        over ``optim.warmup_steps``, then a half cosine to 1 % at ``optim.steps``): the ReID and
        texture trainers' schedule."""
        return optim.lr * lr_factor(self.step, optim.steps, optim.warmup_steps)

    def seeded_generator_or_resume(
        self, resume: bool, seed: int, expected_format: str, what: str, net: torch.nn.Module, optimizer: torch.optim.Optimizer
    ) -> torch.Generator:
        """The trainer's data generator seeded with ``seed``, or, when resuming from
        ``<out_dir>/last.pt``, restored with the network and optimiser (:meth:`restore_module_state`)."""
        gen = torch.Generator().manual_seed(seed)
        path = self.resume_path(resume)
        if path is not None:
            self.restore_module_state(path, expected_format, what, net, optimizer, gen)
        return gen

    def restore_module_state(
        self, path: Path, expected_format: str, what: str, net: torch.nn.Module, optimizer: torch.optim.Optimizer, gen: torch.Generator
    ) -> dict[str, Any]:
        """Resume a trainer whose checkpoint holds ``model``, ``optimizer``, ``generator``, ``step``
        and ``train_seconds`` (ReID, texture): load them (strict) and return the checkpoint."""
        ckpt = load_checkpoint(path, expected_format=expected_format, what=what)
        net.load_state_dict(ckpt["model"], strict=True)
        optimizer.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        self.step, self.wall_seconds = int(ckpt["step"]), float(ckpt.get("train_seconds", 0.0))
        return ckpt

    def save(self) -> Path:
        """Write ``<out_dir>/last.pt`` (atomically)."""
        return save_checkpoint(self.state(), self.checkpoint_path)

    def write_log(self, entry: dict[str, Any]) -> None:
        """Append one line to ``<out_dir>/log.jsonl``."""
        with open(self.out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def end_step(self) -> int:
        """The step this call stops at: the schedule's end, or ``max_steps`` further."""
        total = self.loop.total_steps
        return total if self.max_steps is None else min(total, self.step + self.max_steps)

    def train(self) -> dict[str, Any]:
        """Run steps until :meth:`end_step` (or ``max_minutes``); returns the last log line."""
        cfg = self.loop
        end = self.end_step()
        deadline = None if self.max_minutes is None else time.perf_counter() + 60.0 * self.max_minutes
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.on_start(end)
        start = self.step
        last: dict[str, Any] = {}
        bar = tqdm(total=end, initial=self.step, desc=cfg.name, unit="step", disable=not self.show_progress)
        while self.step < end:
            if deadline is not None and time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            lr = self.lr()
            for group in self.optimizer.param_groups:  # a group may run at a multiple of the schedule
                group["lr"] = lr * group.get("lr_scale", 1.0)
            outcome = self.train_step()
            self.step += 1
            now = time.perf_counter()
            self.step_end_times.append(now)
            self.wall_seconds += now - t0
            self.on_step_end(outcome, now - t0, now)
            bar.update(1)
            bar.set_postfix(**self.postfix(outcome))
            if cfg.is_main and (self.step % cfg.log_every == 0 or self.step == end):
                last = self.log_entry(outcome, now)
                self.write_log(last)
            if cfg.is_main and self.step % cfg.checkpoint_every == 0 and self.step != end:
                self.save()
        bar.close()
        if cfg.is_main and (self.step > start or cfg.save_when_idle):
            self.save()
        return last
