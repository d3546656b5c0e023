"""Per-image cost of the realistic degradation against an older ``model/data/degrade.py``.

``python benchmarks/data/degrade_cost.py --old-commit 7e49558 [--images 300] [--repeats 5]``

Times one image per call at 128 -> 32 -> 128 px on one thread, the old and the current module
interleaved (so machine load hits both alike), and prints the best and median of the repeats.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import cv2
import torch
import torch.nn.functional as F
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import model.data.degrade as current  # noqa: E402 - after the sys.path line above (run as a script)

#: Effects that both versions know, all on.
OLD_EVERY = {"blur_prob": 1.0, "defocus_prob": 1.0, "motion_blur_prob": 1.0, "noise_prob": 1.0, "jpeg_prob": 1.0}
NEW_EVERY = {
    **OLD_EVERY, "white_balance_prob": 1.0, "vignette_prob": 1.0, "low_light_prob": 0.5, "night_prob": 0.5,
    "interlace_prob": 1.0, "exposure_error_prob": 1.0, "sharpen_prob": 1.0, "clean_prob": 0.0,
}  # fmt: skip


def load_old(commit: str, workdir: Path) -> ModuleType:
    """``model/data/degrade.py`` as of ``commit``, imported under the name ``old_degrade``."""
    source = subprocess.run(["git", "show", f"{commit}:model/data/degrade.py"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    path = workdir / "old_degrade.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_degrade", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_degrade"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old-commit", default="7e49558", help="commit whose degrade.py is the baseline")
    parser.add_argument("--images", type=int, default=300, help="images per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of each case")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    g = torch.Generator().manual_seed(0)
    x = F.interpolate(torch.rand(args.images, 3, 16, 16, generator=g), size=(128, 128), mode="bilinear").clamp(0, 1)
    with tempfile.TemporaryDirectory() as tmp:
        old = load_old(args.old_commit, Path(tmp))
        cases = {
            "old realistic default": (old, old.DegradeConfig(mode="realistic")),
            "new realistic default": (current, current.DegradeConfig(mode="realistic")),
            "old every effect": (old, old.DegradeConfig(mode="realistic", **OLD_EVERY)),
            "new every effect": (current, current.DegradeConfig(mode="realistic", **NEW_EVERY)),
            "bicubic": (current, current.DegradeConfig()),
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        with tqdm(total=args.repeats * len(cases), desc="timing", unit="run") as bar:
            for _ in range(args.repeats):
                for name, (module, cfg) in cases.items():
                    module.degrade(x[:4], 32, 128, cfg, g)
                    t0 = time.perf_counter()
                    for i in range(args.images):
                        module.degrade(x[i], 32, 128, cfg, g)
                    times[name].append((time.perf_counter() - t0) / args.images * 1e3)
                    bar.update()
    print("| case | best ms/image | median ms/image |\n|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {min(t):.3f} | {sorted(t)[len(t) // 2]:.3f} |")


if __name__ == "__main__":
    main()
