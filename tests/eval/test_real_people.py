"""Tests for the real-people check: scoring maths, the committed set, its low-resolution views."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from eval_support import small_real_set

from model.body.joint_names import COCO17_NAMES, SMPL_JOINT_NAMES
from model.data.real_people import (
    COCO17_FROM_BLAZEPOSE33,
    DEFAULT_ROOT,
    MAX_CROP_SIDE,
    RealPerson,
    load_real_people,
    real_crop_at_height,
    restore_native,
    square_crop_box,
)
from model.eval.real_people import (
    FAILED_DETECTION_SCORE,
    RealPeopleConfig,
    detection_score,
    faces_camera,
    facing_shares,
    format_tables,
    knee_flexion_deg,
    knees_pass,
    normalised_error,
    place_skeleton_in_box,
)

LEFT_KNEE = SMPL_JOINT_NAMES.index("left_knee")
RIGHT_KNEE = SMPL_JOINT_NAMES.index("right_knee")


# ------------------------------------------------------------------------------ scoring maths
def test_normalised_error_is_mean_distance_over_height() -> None:
    gt = np.zeros((17, 2))
    pred = gt + np.array([3.0, 4.0])  # 5 px off everywhere
    valid = np.ones(17, bool)
    assert normalised_error(pred, gt, valid, 100.0) == pytest.approx(0.05)
    pred[0] = [30.0, 40.0]  # one joint 50 px off: mean (16 * 5 + 50) / 17
    assert normalised_error(pred, gt, valid, 100.0) == pytest.approx((16 * 5 + 50) / 17 / 100)


def test_normalised_error_ignores_invalid_joints_and_visibility_column() -> None:
    gt = np.zeros((17, 3))
    gt[:, 2] = 0.1  # visibility: not a coordinate
    pred = np.zeros((17, 2))
    pred[5:] = 1000.0  # far off, but masked
    valid = np.zeros(17, bool)
    valid[:5] = True
    assert normalised_error(pred, gt, valid, 50.0) == 0.0
    valid[5] = True
    assert normalised_error(pred, gt, valid, 50.0) == pytest.approx(1000 * math.sqrt(2) / 6 / 50)


def test_normalised_error_rejects_no_valid_joint_bad_height_and_shapes() -> None:
    gt = np.zeros((17, 2))
    with pytest.raises(ValueError, match="no valid"):
        normalised_error(gt, gt, np.zeros(17, bool), 10.0)
    with pytest.raises(ValueError, match="height"):
        normalised_error(gt, gt, np.ones(17, bool), 0.0)
    with pytest.raises(ValueError, match="shapes"):
        normalised_error(np.zeros((14, 2)), gt, np.ones(17, bool), 10.0)


def test_failed_detection_scores_half() -> None:
    gt = np.zeros((17, 2))
    valid = np.ones(17, bool)
    assert FAILED_DETECTION_SCORE == 0.5
    assert detection_score(None, gt, valid, 80.0) == 0.5
    detected = np.concatenate([gt + 8.0, np.ones((17, 1))], axis=1)  # [x, y, visibility]
    assert detection_score(detected, gt, valid, 80.0) == pytest.approx(8 * math.sqrt(2) / 80)


def test_knee_flexion_from_axis_angle_with_known_angles() -> None:
    pose = np.zeros((24, 3))
    pose[LEFT_KNEE] = [math.radians(30.0), 0.0, 0.0]
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    pose[RIGHT_KNEE] = axis * math.radians(95.0)
    pose[0] = [math.pi, 0.0, 0.0]  # the root does not count
    flexion = knee_flexion_deg(pose)
    np.testing.assert_allclose(flexion, [30.0, 95.0], atol=1e-9)
    # A batch, and a torch tensor, give the same.
    batch = torch.from_numpy(np.stack([pose, np.zeros((24, 3))]))
    np.testing.assert_allclose(knee_flexion_deg(batch), [[30.0, 95.0], [0.0, 0.0]], atol=1e-6)


def test_knee_flexion_wraps_vectors_longer_than_pi() -> None:
    pose = np.zeros((24, 3))
    pose[LEFT_KNEE] = [math.radians(350.0), 0.0, 0.0]  # = 10 degrees the other way
    pose[RIGHT_KNEE] = [0.0, math.radians(180.0), 0.0]
    np.testing.assert_allclose(knee_flexion_deg(pose), [10.0, 180.0], atol=1e-9)
    with pytest.raises(ValueError):
        knee_flexion_deg(np.zeros((17, 3)))


def test_knees_pass_needs_both_knees_under_the_limit() -> None:
    flexion = np.array([[5.0, 29.9], [5.0, 30.0], [31.0, 2.0], [0.0, 0.0]])
    assert knees_pass(flexion).tolist() == [True, False, False, True]
    assert knees_pass(np.array([40.0, 40.0]), limit=45.0)


def test_mean_skeleton_placement_fills_the_box_the_same_way() -> None:
    extent = (-0.3, -0.9, 0.3, 0.9)  # a 1.8 m body centred on 0
    kp = np.array([[0.0, -0.9], [0.0, 0.9], [-0.3, 0.0], [0.3, 0.0]])
    out = place_skeleton_in_box(kp, extent, (10.0, 20.0, 50.0, 180.0))
    np.testing.assert_allclose(out, [[35.0, 20.0], [35.0, 200.0], [5.0, 110.0], [65.0, 110.0]])
    # Scaling the box scales the placement about the box (no dependence on anything else).
    out2 = place_skeleton_in_box(kp, extent, (20.0, 40.0, 100.0, 360.0))
    np.testing.assert_allclose(out2, 2 * out)
    with pytest.raises(ValueError):
        place_skeleton_in_box(kp, (0.0, 1.0, 1.0, 1.0), (0, 0, 1, 1))


def test_config_validates_heights() -> None:
    assert RealPeopleConfig(heights=(64, 24)).heights == (64, 24)
    for bad in [(), (4,), (64, 64), (32.0,)]:
        with pytest.raises(ValueError):
            RealPeopleConfig(heights=bad)  # type: ignore[arg-type]


def test_format_tables_reports_every_height_and_the_pass_rate() -> None:
    result = {
        "checkpoint_id": "abc",
        "people": ["a", "b"],
        "full_body": [True, False],
        "heights": [32],
        "normaliser": "person box height",
        "error": {"network": {"native": [0.1, 0.3], "32": [0.2, 0.4]}, "mean_skeleton": [0.1, 0.2], "blazepose_degraded": {"32": [0.5, 0.1]}},
        "blazepose_failed": {"32": 1},
        "blazepose_source": {"file": "f.json", "model": "m", "command": "c"},
        "knees": {
            "people": ["a"], "full_body": [True], "scored_2d": [True], "pass_limit_deg": 30.0,
            "flexion_deg": {"native": [[5.0, 6.0]], "32": [[40.0, 2.0]]}, "pass": {"native": [True], "32": [False]},
        },
        "seated_knees": {
            "people": ["c"], "person_ids": ["c"], "full_body": [False], "bent_limit_deg": 45.0,
            "flexion_deg": {"native": [[90.0, 80.0]], "32": [[90.0, 20.0]]}, "bent": {"native": [True], "32": [False]},
        },
    }  # fmt: skip
    text = format_tables(result)
    assert "| c | c | no | 90 / 80 bent | 90 / 20 STRAIGHT |" in text and "| **seated rate** | | | 1/1 | 0/1 |" in text
    assert "| network | 0.200 | 0.300 |" in text
    assert "| network, full-body crops only | 0.100 | 0.200 |" in text
    assert "0.300 (1/2 failed)" in text
    assert "40 / 2 FAIL" in text and "| **pass rate** | | | | | 1/1 | 0/1 |" in text
    assert "2 crops of 2 people" in text
    assert "left and right labels swapped" not in text  # reports written before that row still render
    result["error"]["network_swapped"] = {"native": [0.05, 0.4], "32": [0.3, 0.5]}
    assert "| network, left and right labels swapped (crops closer to the truth swapped) | 0.225 (1/2 closer) | 0.400 (0/2 closer) |" in format_tables(result)


def test_format_tables_averages_a_persons_crops_first() -> None:
    result = {
        "checkpoint_id": "abc",
        "people": ["a1", "a2", "a3", "b"],
        "person_ids": ["a", "a", "a", "b"],
        "full_body": [True, True, True, False],
        "heights": [32],
        "normaliser": "person box height",
        "error": {
            "network": {"native": [0.1, 0.1, 0.1, 0.5], "32": [0.1, 0.2, 0.3, 0.6]},
            "mean_skeleton": [0.2, 0.2, 0.2, 0.4],
            "blazepose_degraded": {"32": [0.5, 0.5, 0.5, 0.1]},
        },
        "blazepose_failed": {"32": 3},
        "blazepose_source": {"file": "f.json", "model": "m", "command": "c"},
        "knees": {
            "people": ["a1", "a2"], "person_ids": ["a", "a"], "activity": ["walking", "walking"], "full_body": [True, True],
            "scored_2d": [True, True], "pass_limit_deg": 30.0,
            "flexion_deg": {"native": [[5.0, 6.0], [5.0, 6.0]], "32": [[5.0, 6.0], [5.0, 6.0]]},
            "pass": {"native": [True, True], "32": [True, True]},
        },
    }  # fmt: skip
    text = format_tables(result)
    assert "4 crops of 2 people, 3 full-body crops of 1 people" in text
    assert "| network | 0.200 | 0.300 |" in text  # crops weigh alike
    assert "| network, per person (a person's crops averaged first) | 0.300 | 0.400 |" in text  # (0.1 + 0.5) / 2, (0.2 + 0.6) / 2
    assert "| (i) mean skeleton, per person | 0.300 | 0.300 |" in text
    assert "| (ii) BlazePose, per person | - | 0.300 |" in text
    assert "| a2 | a | walking | yes | yes |" in text and "2 crops of 1 people" in text


# ------------------------------------------------------------------------------ the set
def test_blazepose_mapping_is_coco17_with_left_first() -> None:
    assert len(COCO17_FROM_BLAZEPOSE33) == len(COCO17_NAMES) == 17
    assert len(set(COCO17_FROM_BLAZEPOSE33)) == 17 and max(COCO17_FROM_BLAZEPOSE33) < 33
    # BlazePose: odd indices are the left side from the shoulders (11) down.
    for name, idx in zip(COCO17_NAMES, COCO17_FROM_BLAZEPOSE33):
        if idx >= 11:
            assert (idx % 2 == 1) == name.startswith("left"), name


def test_square_crop_box_is_centred_and_enlarged() -> None:
    assert square_crop_box((10, 20, 50, 100)) == (-25, 10, 120, 120)
    x0, y0, side, side2 = square_crop_box((0, 0, 200, 80), enlarge=1.5)
    assert side == side2 == 300 and (x0 + side / 2, y0 + side / 2) == (100, 40)
    with pytest.raises(ValueError):
        square_crop_box((0, 0, 0, 10))


def test_committed_set_has_20_people_with_valid_keypoints() -> None:
    people = load_real_people()
    assert len({p.person_id for p in people}) >= 20  # distinct identities, not crops
    everyone = load_real_people(usable_only=False)
    assert len(everyone) >= len(people)
    upright = {p.person_id for p in everyone if p.activity in ("standing", "walking")}
    assert len(upright) >= 10 and any(p.activity == "walking" and p.usable for p in everyone)
    for p in everyone:
        assert p.side <= MAX_CROP_SIDE and p.side == p.image().shape[0], p.id
        assert p.crop_side == min(p.crop_box[2], MAX_CROP_SIDE), p.id
    # Repeated frames of one person share an identity.
    assert len({p.person_id for p in everyone if p.id.startswith("skv_bikes_f1")}) == 1
    for p in people:
        assert p.review in ("ok", "partly") and p.num_valid >= 5, p.id
        assert p.crop_path.exists(), p.id
        kp = p.keypoints[p.valid, :2]
        assert np.isfinite(kp).all()
        assert (kp >= 0).all() and (kp <= p.side).all(), p.id  # valid joints lie in the crop
        bx, by, bw, bh = p.box_in_crop
        assert bw > 0 and bh == p.box_height and bx >= -1 and by >= -1, p.id
    one = people[0].image()
    assert one.shape == (people[0].side, people[0].side, 3) and one.dtype == np.uint8


def test_committed_blazepose_baseline_covers_every_scored_person() -> None:
    data = json.loads((DEFAULT_ROOT / "blazepose_degraded.json").read_text())
    assert {"model", "command", "keypoints"} <= set(data)
    for p in load_real_people():
        entry = data["keypoints"][p.id]
        for h in ("64", "48", "32", "24"):
            assert h in entry
            assert entry[h] is None or np.asarray(entry[h]).shape == (17, 3)


def test_real_crop_at_height_sizes_and_determinism() -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (90, 90, 3), generator=g, dtype=torch.uint8).numpy()
    small, scale = real_crop_at_height(image, 24)
    assert small.shape == (24, 24, 3) and small.dtype == np.uint8 and scale == pytest.approx(24 / 90)
    again, _ = real_crop_at_height(image, 24)
    np.testing.assert_array_equal(small, again)
    same, one = real_crop_at_height(image, 90)
    assert one == 1.0 and np.array_equal(same, image)
    # Antialiased: a fine checkerboard averages to grey instead of aliasing.
    checker = (np.indices((96, 96)).sum(0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, -1)
    grey, _ = real_crop_at_height(checker, 24)
    assert abs(float(grey.mean()) - 127.5) < 3 and float(grey.std()) < 10
    assert restore_native(small, 90).shape == (90, 90, 3)
    with pytest.raises(ValueError):
        real_crop_at_height(image[:, :80], 24)
    with pytest.raises(ValueError):
        real_crop_at_height(image, 0)


def _person(**kw) -> RealPerson:
    args = {
        "id": "x", "source": {"package": "p", "path": "f"}, "box": (100.0, 50.0, 200.0, 400.0), "crop_box": (60, 10, 480, 480),
        "activity": "standing", "full_body": True, "keypoints": np.zeros((17, 3), np.float32), "valid": np.ones(17, bool),
        "review": "ok", "crop_path": DEFAULT_ROOT / "none.png",
    }  # fmt: skip
    args.update(kw)
    return RealPerson(**args)  # type: ignore[arg-type]


def test_shrunk_crop_scales_the_box_and_defaults() -> None:
    full = _person()
    assert full.side == 480 and full.crop_scale == 1.0 and full.person_id == "x" and not full.isolate_box
    assert full.box_in_crop == (40.0, 40.0, 200.0, 400.0) and full.box_height == 400.0
    small = _person(crop_side=240, person_id="someone")
    assert small.side == 240 and small.crop_scale == 0.5 and small.person_id == "someone"
    assert small.box_in_crop == (20.0, 20.0, 100.0, 200.0) and small.box_height == 200.0
    with pytest.raises(ValueError, match="crop_side"):
        _person(crop_side=481)


def test_isolated_greys_everything_outside_the_box() -> None:
    image = np.full((240, 240, 3), 7, np.uint8)
    p = _person(crop_side=240)
    assert p.isolated(image) is image  # not marked: unchanged
    out = _person(crop_side=240, isolate_box=True).isolated(image, margin=0.1)
    # Box in the crop: x 20..120, y 20..220; margin 10 px across, 20 px down (clipped to the crop).
    assert out.shape == image.shape and (out[0:240, 10:130] == 7).all()
    assert (out[:, :10] == 128).all() and (out[:, 130:] == 128).all()


def test_real_crop_at_height_of_a_committed_person() -> None:
    person = load_real_people()[0]
    small, scale = real_crop_at_height(person, 32)
    assert small.shape == (32, 32, 3) and scale == pytest.approx(32 / person.side)


# ------------------------------------------------------------------------------ end to end (tiny net)
@pytest.fixture(scope="module")
def body():
    from model.body import load_body_model

    return load_body_model()


def test_mean_skeleton_is_a_front_view_upright_body(body) -> None:
    from model.eval.real_people import mean_skeleton

    kp, (x0, y0, x1, y1) = mean_skeleton(body)
    name = {n: i for i, n in enumerate(COCO17_NAMES)}
    assert kp.shape == (17, 2)
    assert kp[name["left_shoulder"], 0] > kp[name["right_shoulder"], 0]  # facing the camera: left at +x
    assert kp[name["nose"], 1] < kp[name["left_hip"], 1] < kp[name["left_ankle"], 1]  # y down
    assert x0 <= kp[:, 0].min() and kp[:, 0].max() <= x1 and y0 <= kp[:, 1].min() and kp[:, 1].max() <= y1
    assert 1.4 < y1 - y0 < 2.2  # a person's height in metres


def _small_set(tmp_path, ids: list[str]):
    """A copy of some committed people (entries, crops, BlazePose results) under tmp_path."""
    return small_real_set(tmp_path, ids)


def test_evaluate_real_people_with_a_mean_predictor(tmp_path, body) -> None:
    from model.eval.real_people import evaluate_real_people, mean_skeleton
    from model.inference import Predictor

    tiny = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
    predictor = Predictor.random_init(tiny, (224, 128, 64, 40, 24), device="cpu", seed=1, body=body, precision="fp32")
    for dec in (predictor.net.regressor.decpose, predictor.net.regressor.decshape, predictor.net.regressor.deccam):
        torch.nn.init.zeros_(dec.weight)
        torch.nn.init.zeros_(dec.bias)
    root = _small_set(tmp_path, ["skv_bikes_f110", "ocv_doc_multi_red", "ocv_doc_detect_test2", "skv_carphone_f000"])
    result = evaluate_real_people(predictor, RealPeopleConfig(heights=(32, 24), root=root))
    assert result["people"] == ["ocv_doc_multi_red", "skv_bikes_f110", "skv_carphone_f000"]  # the failed one is not 2D-scored
    for key in ("native", "32", "24"):
        scores = result["error"]["network"][key]
        assert len(scores) == 3 and all(0 <= s < 2 for s in scores)
    assert set(result["error"]["blazepose_degraded"]) == {"32", "24"}
    # the same keypoints with left and right labels swapped score differently (the skeleton is not its own swap)
    assert set(result["error"]["network_swapped"]) == {"native", "32", "24"}
    swapped, straight = result["error"]["network_swapped"]["32"], result["error"]["network"]["32"]
    assert len(swapped) == 3 and all(0 <= s < 2 for s in swapped) and all(abs(a - b) > 1e-4 for a, b in zip(swapped, straight))
    # The knee check takes every standing person, 2D-scored or not; the mean pose has straight knees.
    assert result["knees"]["people"] == ["ocv_doc_multi_red", "ocv_doc_detect_test2"]
    assert result["knees"]["scored_2d"] == [True, False]
    np.testing.assert_allclose(result["knees"]["flexion_deg"]["24"], 0.0, atol=1e-3)
    assert all(result["knees"]["pass"]["32"])
    # The counter-check takes every sitting person; the mean pose's straight knees are not seated.
    assert result["seated_knees"]["people"] == ["skv_carphone_f000"]
    assert result["seated_knees"]["bent"]["32"] == [False]
    # Front or back: answered for the people whose reviewed torso says it, the same for everyone by the mean pose.
    truth, answers = result["facing"]["truth"], result["facing"]["network"]["32"]
    assert truth[0] is False  # the red shirt is seen from behind
    assert [a is None for a in answers] == [t is None for t in truth]
    assert len({a for a in answers if a is not None}) == 1
    assert "## Front or back" in format_tables(result)
    # Baseline (i) does not depend on the network.
    kp, extent = mean_skeleton(body)
    p = load_real_people(root)[0]
    assert result["error"]["mean_skeleton"][0] == pytest.approx(
        normalised_error(place_skeleton_in_box(kp, extent, p.box_in_crop), p.keypoints, p.valid, p.box_height)
    )


def test_keypoint_source_is_validated() -> None:
    from model.eval.real_people import RealPeopleConfig

    assert RealPeopleConfig().keypoints == "projected" and RealPeopleConfig(keypoints="head").keypoints == "head"
    with pytest.raises(ValueError, match="keypoints"):
        RealPeopleConfig(keypoints="heatmaps")


def test_cut_person_box_keeps_the_box_pixels_and_says_where() -> None:
    from model.data.real_people import cut_person_box

    image = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    crop, (left, top) = cut_person_box(image, (4.5, 2.0, 6.0, 10.2))
    assert (left, top) == (4, 2) and crop.shape == (11, 7, 3)
    np.testing.assert_array_equal(crop, image[2:13, 4:11])
    crop, (left, top) = cut_person_box(image, (25.0, -3.0, 8.0, 6.0))  # sticks out: black there
    assert (left, top) == (25, -3) and crop.shape == (6, 8, 3)
    np.testing.assert_array_equal(crop[3:, :5], image[0:3, 25:30])
    assert not crop[:3].any() and not crop[:, 5:].any()


class _CentrePredictor:
    """Answers every crop's 17 keypoints at its centre; records what it was given."""

    def __init__(self) -> None:
        self.crops: list[np.ndarray] = []
        self.cut: list[bool] | None = None

    def predict(self, crops, batch_size=32, cut=None):  # noqa: ANN001, ANN201 - the Predictor's signature
        from types import SimpleNamespace

        self.crops, self.cut = list(crops), cut
        return [
            SimpleNamespace(keypoints2d_coco17=np.tile([[c.shape[1] / 2, c.shape[0] / 2]], (17, 1)), pose=np.zeros((24, 3)),
                            flip_disagreement=None)  # fmt: skip
            for c in crops
        ]


@pytest.mark.parametrize("framing", ["crop", "box", "square"])
def test_framings_give_the_network_the_box_and_map_keypoints_back(framing: str) -> None:
    from model.eval.real_people import predict_at

    people = [p for p in load_real_people() if p.id in ("skv_bikes_f110", "ocv_doc_multi_red")]
    fake = _CentrePredictor()
    kps, _, _ = predict_at(fake, people, 32, 8, framing=framing)  # type: ignore[arg-type]
    for p, crop, kp in zip(people, fake.crops, kps):
        x0, y0, w, h = p.box_in_crop
        scale = 32 / p.crop_side
        if framing == "crop":
            assert crop.shape[:2] == (32, 32)
            np.testing.assert_allclose(kp[0], [p.crop_side / 2, p.crop_side / 2])
            continue
        # The box (in the 32-px view) alone, or its square; the answer lands on the box's centre.
        long_side = max(w, h) * scale
        if framing == "square":
            assert crop.shape[0] == crop.shape[1] == round(long_side)
        else:
            assert abs(crop.shape[0] - h * scale) <= 2 and max(w * scale, 8) - 1 <= crop.shape[1] <= max(w * scale, 8) + 2
        np.testing.assert_allclose(kp[0], [x0 + w / 2, y0 + h / 2], atol=1.5 / scale)


def test_framing_is_validated() -> None:
    assert RealPeopleConfig().framing == "crop" and RealPeopleConfig(framing="box").framing == "box"
    with pytest.raises(ValueError, match="framing"):
        RealPeopleConfig(framing="loose")
    from model.eval.real_people import frame_person

    image = np.zeros((32, 32, 3), np.uint8)
    assert frame_person(image, (4.0, 2.0, 10.0, 20.0), "crop")[0] is image
    cut, offset = frame_person(image, (4.0, 2.0, 3.0, 20.0), "box")  # 3 px wide: widened to 8 about its centre
    assert cut.shape[:2] == (20, 8) and offset == (2, 2)
    with pytest.raises(ValueError, match="framing"):
        frame_person(image, (4.0, 2.0, 10.0, 20.0), "loose")


def _facing_person(ls: float, rs: float, lh: float, rh: float, valid: bool = True) -> RealPerson:
    """A person whose shoulders stand at y 100 and hips at y 200 (torso 100 px), at the given x."""
    kp = np.zeros((17, 3), np.float32)
    for name, x, y in (("left_shoulder", ls, 100), ("right_shoulder", rs, 100), ("left_hip", lh, 200), ("right_hip", rh, 200)):
        kp[COCO17_NAMES.index(name)] = (x, y, 1.0)
    v = np.ones(17, bool)
    v[COCO17_NAMES.index("right_hip")] = valid
    return _person(keypoints=kp, valid=v)


def test_facing_reads_the_reviewed_shoulders_and_hips() -> None:
    assert _facing_person(140, 100, 130, 110).facing is True  # the person's left on the image's right
    assert _facing_person(100, 140, 110, 130).facing is False  # seen from behind
    assert _facing_person(120, 100, 130, 110).facing is None  # span 20 px < 0.35 x 100 px: a side view
    assert _facing_person(140, 100, 110, 130).facing is None  # shoulders and hips disagree
    assert _facing_person(140, 100, 130, 110, valid=False).facing is None  # a hip the review did not keep


def test_facing_shares_give_a_constant_answer_half() -> None:
    truth = [True, True, True, False, None]
    always_front = facing_shares([True] * 5, truth)
    assert always_front == {"front": 1.0, "back": 0.0, "balanced": 0.5, "n_front": 3, "n_back": 1}
    assert facing_shares([True, False, True, True, False], truth)["balanced"] == pytest.approx(1 / 3)


def test_faces_camera_from_the_root_rotation() -> None:
    pose = np.zeros((2, 24, 3), np.float32)
    pose[1, 0] = (0.0, math.pi, 0.0)  # turned round: the body's forward +z now points at the camera
    assert faces_camera(pose).tolist() == [False, True]


def test_cut_flags_tell_which_people_go_on_beyond_their_photo() -> None:
    from model.eval.real_people import cut_flags, predict_at

    people = load_real_people()
    flags = cut_flags(people)
    assert flags == [not p.full_body for p in people] and any(flags) and not all(flags)
    fake = _CentrePredictor()
    predict_at(fake, people[:4], 32, 8)  # type: ignore[arg-type]
    assert fake.cut == flags[:4]
    predict_at(fake, people[:4], 32, 8, tell_cut=False)  # type: ignore[arg-type]
    assert fake.cut is None  # a client that sends no flags
