"""BlazePose on the real-people set: pseudo-ground truth, contact sheet, degraded-crop baseline.

Runs in mediapipe's own environment (mediapipe 0.10.21 needs numpy<2)::

    python3.11 -m venv .venv-mediapipe
    .venv-mediapipe/bin/pip install mediapipe==0.10.21 "numpy<2" tqdm
    .venv-mediapipe/bin/python checks/real_people/blazepose.py pseudo-gt   # people.json keypoints + contact_sheet.png
    .venv-mediapipe/bin/python checks/real_people/blazepose.py degraded --heights 64,48,32,24

BlazePose-full (``model_complexity=1``, the model bundled in the wheel) in static image mode.
``pseudo-gt`` runs it on each native crop, maps its 33 landmarks to COCO-17
(:data:`model.data.real_people.COCO17_FROM_BLAZEPOSE33`), and merges the by-eye review of
``review.json`` (per person ``review`` and the joints found wrong): a joint is valid when
BlazePose's visibility is at least ``--min-visibility`` and the review did not reject it.
``degraded`` runs it on each crop resized to ``h`` px (:func:`real_crop_at_height`) and brought
back up to the native size bicubically (:func:`restore_native`), and writes
``blazepose_degraded.json`` for :mod:`model.eval.real_people` (baseline ii). A person marked
``isolate_box`` (neighbours too close) is given to BlazePose with everything outside its box
greyed, in both modes (:meth:`~model.data.real_people.RealPerson.isolated`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

_REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_REPO))  # the repository root: model.data.real_people


def _joint_names_without_torch() -> None:
    """Make ``model.body.joint_names`` importable here: ``model/body/__init__.py`` imports torch,
    which this environment lacks, so the pure-Python module is loaded from its file under an
    empty ``model.body`` package."""
    body = types.ModuleType("model.body")
    body.__path__ = [str(_REPO / "model" / "body")]
    sys.modules.setdefault("model.body", body)
    spec = importlib.util.spec_from_file_location("model.body.joint_names", _REPO / "model" / "body" / "joint_names.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["model.body.joint_names"] = module


_joint_names_without_torch()

from model.body.joint_names import COCO17_EDGES, COCO17_NAMES  # noqa: E402
from model.data.real_people import (  # noqa: E402
    COCO17_FROM_BLAZEPOSE33,
    DEFAULT_ROOT,
    RealPerson,
    load_real_people,
    real_crop_at_height,
    restore_native,
)

MODEL_COMPLEXITY = 1


class BlazePose:
    """mediapipe's BlazePose-full in static image mode; one call per crop."""

    def __init__(self, min_detection_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self.version = mp.__version__
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True,
            model_complexity=MODEL_COMPLEXITY,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
        )

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """``(H, W, 3)`` uint8 RGB -> ``(17, 3)`` COCO-17 ``[x, y, visibility]`` in its pixels, or None."""
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        lm = result.pose_landmarks.landmark
        return np.array([[lm[i].x * w, lm[i].y * h, lm[i].visibility] for i in COCO17_FROM_BLAZEPOSE33], np.float32)

    def close(self) -> None:
        self._pose.close()


def upscaled(pose: BlazePose, rgb: np.ndarray, side: int) -> np.ndarray | None:
    """BlazePose on ``rgb`` enlarged (bicubic) to ``side`` px when it is smaller, keypoints in ``rgb``'s pixels.
    Its person detector misses whole people under ~200 px that it finds on the same picture enlarged."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale <= 1.0:
        return pose(rgb)
    kp = pose(cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC))
    if kp is not None:
        kp[:, :2] /= scale
    return kp


def pseudo_gt(root: Path, min_visibility: float, upscale_to: int = 0, min_detection: float = 0.5) -> None:
    """Keypoints of every native crop, merged with ``review.json``, into ``people.json``; with ``upscale_to``,
    crops smaller than that are enlarged to it for BlazePose (:func:`upscaled`); ``min_detection``: its person
    detector's confidence threshold."""
    data = json.loads((root / "people.json").read_text())
    review_file = root / "review.json"
    reviews: dict[str, Any] = json.loads(review_file.read_text()) if review_file.exists() else {}
    people = {p.id: p for p in load_real_people(root, usable_only=False)}
    pose = BlazePose(min_detection)
    for entry in tqdm(data["people"], desc="BlazePose native"):
        person = people[entry["id"]]
        kp = upscaled(pose, person.isolated(person.image()), upscale_to)
        rev = reviews.get(entry["id"], {})
        bad = set(rev.get("wrong_joints", []))
        unknown = bad - set(COCO17_NAMES)
        if unknown:
            raise ValueError(f"review.json {entry['id']}: unknown joints {sorted(unknown)}")
        if kp is None:
            entry["keypoints"], entry["valid"] = None, [False] * len(COCO17_NAMES)
            entry["review"] = "failed"
        else:
            entry["keypoints"] = np.round(kp, 2).tolist()
            entry["valid"] = [bool(kp[j, 2] >= min_visibility and name not in bad) for j, name in enumerate(COCO17_NAMES)]
            entry["review"] = rev.get("review", "partly" if bad else "ok")
        entry["review_note"] = rev.get("note", "not reviewed yet" if not rev else "")
    pose.close()
    data["pseudo_gt"] = {
        "model": f"mediapipe {pose.version} BlazePose-full (model_complexity={MODEL_COMPLEXITY}), static image mode",
        "valid_rule": f"visibility >= {min_visibility} and not rejected in review.json",
        **({"upscale_to": upscale_to} if upscale_to else {}),
        **({"min_detection_confidence": min_detection} if min_detection != 0.5 else {}),
    }
    (root / "people.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"keypoints of {len(data['people'])} crops written to {root / 'people.json'}")


def draw_skeleton(img: np.ndarray, kp: np.ndarray, valid: np.ndarray, scale: float) -> None:
    """Draw COCO-17 keypoints ``kp (17, >=2)`` (crop pixels, times ``scale`` on ``img``) in place:
    left blue, right red, centre green; bones between valid joints; invalid joints hollow."""

    def colour(name: str) -> tuple[int, int, int]:
        return (255, 90, 0) if name.startswith("left") else (0, 0, 255) if name.startswith("right") else (0, 200, 0)

    for a, b in COCO17_EDGES:
        if valid[a] and valid[b]:
            na, nb = COCO17_NAMES[a], COCO17_NAMES[b]
            c = colour(na) if na.split("_")[0] == nb.split("_")[0] else (0, 200, 0)
            cv2.line(img, (int(kp[a, 0] * scale), int(kp[a, 1] * scale)), (int(kp[b, 0] * scale), int(kp[b, 1] * scale)), c, 2)
    for j, name in enumerate(COCO17_NAMES):
        cv2.circle(img, (int(kp[j, 0] * scale), int(kp[j, 1] * scale)), 3, colour(name), -1 if valid[j] else 1)


def draw(person: RealPerson, tile: int) -> np.ndarray:
    """The crop at ``tile x tile`` with its person box (grey) and skeleton (left blue, right red,
    centre green; rejected joints as hollow circles)."""
    rgb = person.image()
    s = tile / person.side
    img = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (tile, tile), interpolation=cv2.INTER_AREA)
    bx, by, bw, bh = person.box_in_crop
    box_colour = (0, 200, 255) if person.isolate_box else (160, 160, 160)  # orange: BlazePose saw only the box
    cv2.rectangle(img, (int(bx * s), int(by * s)), (int((bx + bw) * s), int((by + bh) * s)), box_colour, 1)
    kp = person.keypoints
    if np.isfinite(kp).all():
        draw_skeleton(img, kp, person.valid, s)
    label = f"{person.id} [{person.review}]"
    cv2.rectangle(img, (0, tile - 14), (tile, tile), (0, 0, 0), -1)
    cv2.putText(img, label, (2, tile - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def contact_sheet(root: Path, tile: int, cols: int) -> Path:
    """Every person (failed ones included) with its skeleton, ``cols`` per row, to contact_sheet.png."""
    people = load_real_people(root, usable_only=False)
    tiles = [draw(p, tile) for p in tqdm(people, desc="contact sheet")]
    return save_sheet(tiles, cols, root / "contact_sheet.png")


def save_sheet(tiles: list[np.ndarray], cols: int, out: Path) -> Path:
    """Equal BGR ``tiles`` in rows of ``cols`` (the last row padded black) saved as a 256-colour PNG
    (the palette keeps the committed sheet small)."""
    from PIL import Image

    tiles = list(tiles)
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)])
    Image.fromarray(cv2.cvtColor(sheet, cv2.COLOR_BGR2RGB)).quantize(256).save(out, optimize=True)
    print(f"contact sheet {sheet.shape[1]}x{sheet.shape[0]} -> {out}")
    return out


def _relative(path: Path) -> str:
    """``path`` as written from the repository root when it lies inside it (else absolute)."""
    try:
        return str(path.resolve().relative_to(_REPO))
    except ValueError:
        return str(path.resolve())


def degraded(root: Path, heights: list[int]) -> None:
    """BlazePose on each usable crop at each height (restored to native size) -> blazepose_degraded.json."""
    people = load_real_people(root)
    pose = BlazePose()
    results: dict[str, dict[str, Any]] = {}
    for person in tqdm(people, desc="BlazePose degraded"):
        native = person.image()
        results[person.id] = {}
        for h in heights:
            small, _ = real_crop_at_height(native, h)
            kp = pose(person.isolated(restore_native(small, person.side)))
            results[person.id][str(h)] = None if kp is None else np.round(kp, 2).tolist()
    pose.close()
    out = {
        "what": "BlazePose on each crop resized to h px (Pillow bicubic, antialiased) and back up to the native side "
        "(bicubic); COCO-17 [x, y, visibility] in native crop pixels, null = no detection",
        "model": f"mediapipe {pose.version} BlazePose-full (model_complexity={MODEL_COMPLEXITY}), static image mode",
        "command": ".venv-mediapipe/bin/python checks/real_people/blazepose.py"
        + ("" if root.resolve() == DEFAULT_ROOT.resolve() else f" --root {_relative(root)}")
        + " degraded --heights "
        + ",".join(str(h) for h in heights),
        "heights": heights,
        "keypoints": results,
    }
    path = root / "blazepose_degraded.json"
    path.write_text(json.dumps(out) + "\n")
    failed = {h: sum(results[p][str(h)] is None for p in results) for h in heights}
    print(f"{len(people)} people; failed detections per height: {failed} -> {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    gt = sub.add_parser("pseudo-gt", help="keypoints of the native crops into people.json, then the contact sheet")
    gt.add_argument("--min-visibility", type=float, default=0.5, help="BlazePose visibility for a valid joint")
    gt.add_argument("--upscale-to", type=int, default=0,
                    help="enlarge crops smaller than this (px, bicubic) before BlazePose (default: off, as sets A-D)")
    gt.add_argument("--min-detection", type=float, default=0.5,
                    help="BlazePose's person-detection confidence threshold (default: %(default)s, as sets A-D)")
    sheet = sub.add_parser("sheet", help="only redraw contact_sheet.png")
    for p in (gt, sheet):
        p.add_argument("--tile", type=int, default=150, help="tile side in the contact sheet (pixels)")
        p.add_argument("--cols", type=int, default=6, help="tiles per row")
    deg = sub.add_parser("degraded", help="BlazePose on the crops at low heights -> blazepose_degraded.json")
    deg.add_argument("--heights", default="64,48,32,24", help="comma-separated crop heights in pixels")
    args = parser.parse_args(argv)
    if args.command == "pseudo-gt":
        pseudo_gt(args.root, args.min_visibility, args.upscale_to, args.min_detection)
        contact_sheet(args.root, args.tile, args.cols)
    elif args.command == "sheet":
        contact_sheet(args.root, args.tile, args.cols)
    else:
        degraded(args.root, [int(h) for h in args.heights.split(",") if h.strip()])


if __name__ == "__main__":
    main()
