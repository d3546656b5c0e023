"""``python -m model.eval.real_facing``: does the predicted body face the camera as the real person does?

>>> python -m model.eval.real_facing --checkpoint checkpoints/rscnet-long/model.pt runs/long/step16500.pt \\
...     --heights 64,32 --out checkpoints/rscnet-long/eval/real_facing

Left and right follow from the facing: a body turned the wrong way puts every left limb where the
right one is, so a network that cannot tell a person's front from their back on real crops cannot
get the limbs right either. This pools the people of every committed real set (``--sets``) whose
reviewed shoulders and hips say clearly whether they face the camera
(:attr:`~model.data.real_people.RealPerson.facing`), brings each committed crop to each height as a
camera would (:func:`~model.data.real_people.real_crop_at_height`), and asks each checkpoint whether
its predicted body faces the camera (:func:`~model.eval.real_people.faces_camera`). Most real people
face the camera, so the table gives the share right among those facing it, among those seen from
behind, and their mean (50 % for a network that always answers the same). Writes
``OUT/REAL_FACING.md`` (printed too) and ``OUT/real_facing.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from model.data.real_people import DEFAULT_ROOT, RealPerson, load_real_people, real_crop_at_height
from model.eval.markdown import publish
from model.eval.real_people import cut_flags, display_path, faces_camera, facing_shares
from model.inference.predictor import Predictor

__all__ = ["REAL_SETS", "evaluate_real_facing", "facing_people", "format_real_facing", "main"]

#: The committed real-people sets (folders beside :data:`~model.data.real_people.DEFAULT_ROOT`).
REAL_SETS = tuple(DEFAULT_ROOT.parent / n for n in ("real_people", "real_people_b", "real_people_c", "real_people_d", "real_people_e"))


def facing_people(sets: Sequence[Path]) -> list[RealPerson]:
    """The usable people of ``sets`` whose facing is clear, in set and file order."""
    people = [p for root in sets for p in load_real_people(root) if p.facing is not None]
    if not people:
        raise ValueError(f"no real person with a clear facing under {[str(s) for s in sets]}")
    return people


def evaluate_real_facing(
    predictor: Predictor, people: Sequence[RealPerson], heights: Sequence[int], batch_size: int = 32
) -> dict[str, list[bool]]:
    """Per height (``"64"``, ...) the network's answer per person: does the predicted body face the camera?"""
    answers: dict[str, list[bool]] = {}
    for h in heights:
        crops = [real_crop_at_height(p, h)[0] for p in people]
        poses = np.stack([pr.pose for pr in predictor.predict(crops, batch_size=batch_size, cut=cut_flags(people))])
        answers[str(h)] = faces_camera(poses).tolist()
    return answers


def format_real_facing(result: dict[str, Any]) -> str:
    """Markdown table of :func:`main`'s JSON result."""
    truth = result["truth"]
    heights = [str(h) for h in result["heights"]]
    n_front = sum(truth)
    lines = [
        "# Front or back on real people: does the predicted body face the camera as the person does?",
        "",
        f"`{result['command']}`",
        "",
        f"{len(truth)} crops of {len(set(result['person_ids']))} people of {', '.join(result['sets'])} whose reviewed shoulders and"
        f" hips say it: {n_front} facing the camera, {len(truth) - n_front} seen from behind. Share answered right among each,"
        " and their mean (50 % for a constant answer).",
        "",
        "| checkpoint | id | " + " | ".join(f"{h} px: front / back / mean" for h in heights) + " |",
        "|---|---|" + "---|" * len(heights),
    ]
    for run in result["runs"]:
        cells = []
        for h in heights:
            s = facing_shares(run["answers"][h], truth)
            cells.append(f"{100 * s['front']:.0f} / {100 * s['back']:.0f} / **{100 * s['balanced']:.0f} %**")
        lines.append(f"| `{run['checkpoint']}` | {run['checkpoint_id']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.real_facing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", nargs="+", required=True, help="single-frame checkpoints")
    parser.add_argument("--sets", default=",".join(display_path(s) for s in REAL_SETS), help="real-set folders, comma-separated (default: the committed sets, REAL_SETS)")
    parser.add_argument("--heights", default="64,32", help="crop heights in pixels, comma-separated (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder for REAL_FACING.md and real_facing.json")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    heights = [int(h) for h in args.heights.split(",") if h.strip()]
    if not heights or any(not 8 <= h <= 4096 for h in heights):
        parser.error(f"--heights must be integers in [8, 4096], got {args.heights!r}")
    torch.set_num_threads(args.threads)
    sets = [Path(s.strip()) for s in args.sets.split(",") if s.strip()]
    people = facing_people(sets)
    runs = []
    for c in tqdm(args.checkpoint, desc="checkpoints", disable=args.no_progress):
        predictor = Predictor.from_checkpoint(c, device="cpu", precision="fp32")
        runs.append({"checkpoint": display_path(c), "checkpoint_id": predictor.checkpoint_id,
                     "answers": evaluate_real_facing(predictor, people, heights)})
    result = {
        "command": "python -m model.eval.real_facing " + " ".join(argv if argv is not None else sys.argv[1:]),
        "sets": [display_path(s) for s in sets], "heights": heights, "people": [p.id for p in people],
        "person_ids": [p.person_id for p in people], "truth": [bool(p.facing) for p in people], "runs": runs,
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "real_facing.json").write_text(json.dumps(result, indent=1) + "\n")
    publish(format_real_facing(result), args.out / "REAL_FACING.md")


if __name__ == "__main__":
    main()
