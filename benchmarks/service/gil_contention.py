"""Why the service runs its network in a worker process: forward-pass time beside busy Python.

    python benchmarks/service/gil_contention.py [--checkpoint C] [--batch 8] [--passes 40]

Times ``Predictor.predict`` on one batch (one torch thread) alone, beside another *process*
running a Python loop, and beside a Python *thread* of the same process (with the default and a
0.5 ms GIL switch interval). A thread shares the GIL; a process does not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import threading
import time

import numpy as np
import torch

from service.settings import DEFAULT_CHECKPOINT


def _spin(stop) -> None:  # noqa: ANN001 - a threading or multiprocessing Event
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--passes", type=int, default=40)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from model.inference import Predictor

    predictor = Predictor.from_checkpoint(args.checkpoint)
    crops = [np.random.default_rng(i).integers(0, 255, (96, 48, 3), dtype=np.uint8) for i in range(args.batch)]

    def ms_per_pass() -> float:
        for _ in range(5):
            predictor.predict(crops, batch_size=args.batch)
        start = time.perf_counter()
        for _ in range(args.passes):
            predictor.predict(crops, batch_size=args.batch)
        return 1000.0 * (time.perf_counter() - start) / args.passes

    rows = [("alone", ms_per_pass())]
    stop = multiprocessing.Event()
    proc = multiprocessing.Process(target=_spin, args=(stop,))
    proc.start()
    rows.append(("beside a busy Python process", ms_per_pass()))
    stop.set()
    proc.join()
    default_interval = sys.getswitchinterval()
    for interval in (default_interval, 0.0005):
        sys.setswitchinterval(interval)
        halt = threading.Event()
        thread = threading.Thread(target=_spin, args=(halt,))
        thread.start()
        rows.append((f"beside a busy Python thread (switch interval {1000 * interval:g} ms)", ms_per_pass()))
        halt.set()
        thread.join()
    sys.setswitchinterval(default_interval)
    print(f"| batch {args.batch}, one torch thread | ms per pass |\n|---|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
