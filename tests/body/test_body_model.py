"""The embedded free body model, BodyModel's outputs and load_body_model's path resolution."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from model.body import build_free
from model.body.joint_names import COCO17_NAMES, LSP14_NAMES, SMPL_FLIP_PERMUTATION, SMPL_JOINT_NAMES
from model.body.keypoints import SMPL_NUM_VERTICES, smpl_keypoint_regressors
from model.body.model import (
    EMBEDDED_MODEL_PATH,
    FREE_MODEL_NAME,
    BodyModel,
    file_sha256,
    load_body_model,
    resolve_body_model_path,
)
from model.body.smpl_file import SMPLFileError, write_smpl_npz
from model.geometry.rotations import axis_angle_to_matrix

#: sha256 of the committed free model; rebuilding with the default config must reproduce it.
EMBEDDED_SHA256 = "c396bc99c5ec44d60d448d783f216202a4f804c87907924dffc51cb74a3ff867"


@pytest.fixture(scope="module")
def body() -> BodyModel:
    return load_body_model()


def test_embedded_file_is_the_committed_build() -> None:
    assert file_sha256(EMBEDDED_MODEL_PATH) == EMBEDDED_SHA256


def test_output_shapes_and_metadata(body: BodyModel) -> None:
    out = body(torch.zeros(3, 10), torch.zeros(3, 24, 3), transl=torch.zeros(3, 3))
    v = body.num_vertices
    assert out.vertices.shape == (3, v, 3)
    assert out.joints.shape == (3, 24, 3)
    assert out.coco17.shape == (3, len(COCO17_NAMES), 3)
    assert out.lsp14.shape == (3, len(LSP14_NAMES), 3)
    assert body.faces.shape[1] == 3 and body.faces.max() < v
    assert body.face_uvs is not None and body.face_uvs.shape == (body.num_faces, 3, 2)
    assert 0.0 <= float(body.face_uvs.min()) and float(body.face_uvs.max()) <= 1.0
    assert body.name == FREE_MODEL_NAME
    assert body.info.model_id.startswith("free-smpl-layout:c396bc99")
    assert body.info.meta["layout"].endswith("not SMPL-compatible")
    assert out.keypoints("lsp14") is out.lsp14
    with pytest.raises(KeyError):
        out.keypoints("h36m")


def test_joint_regressor_rows_sum_to_one_and_zero_posedirs() -> None:
    with np.load(EMBEDDED_MODEL_PATH) as npz:
        for key in ("J_regressor", "coco17_regressor", "lsp14_regressor"):
            np.testing.assert_allclose(npz[key].sum(1), 1.0, atol=1e-5)
            assert npz[key].min() >= -1e-6, key
        assert not npz["posedirs"].any()
        np.testing.assert_allclose(npz["weights"].sum(1), 1.0, atol=1e-5)
        meta = json.loads(str(npz["meta"]))
    assert meta["heldout_joint_regressor_error_mm"] < 10.0
    assert meta["pca_explained_variance_10"] > 0.99


def test_zero_parameters_give_the_template(body: BodyModel) -> None:
    out = body.neutral()
    template = body.smpl.v_template
    torch.testing.assert_close(out.vertices[0], template, atol=1e-5, rtol=0)
    # pelvis at the origin, y up, feet at the bottom, head at the top, facing +z (nose in front)
    joints = out.joints[0]
    assert joints[0].abs().max() < 1e-3
    height = float(template[:, 1].max() - template[:, 1].min())
    assert 1.5 < height < 2.0
    nose = out.coco17[0, COCO17_NAMES.index("nose")]
    head = joints[SMPL_JOINT_NAMES.index("head")]
    assert nose[2] > head[2] + 0.03
    assert joints[SMPL_JOINT_NAMES.index("left_ankle"), 1] < -0.7


def test_left_is_plus_x(body: BodyModel) -> None:
    joints = body.neutral().joints[0]
    for name in SMPL_JOINT_NAMES:
        if name.startswith("left_"):
            assert joints[SMPL_JOINT_NAMES.index(name), 0] > 0.02, name
            right = joints[SMPL_JOINT_NAMES.index("right_" + name[5:])]
            torch.testing.assert_close(right[0], -joints[SMPL_JOINT_NAMES.index(name), 0], atol=2e-3, rtol=0)


def test_rotation_matrices_equal_axis_angle_and_transl(body: BodyModel) -> None:
    gen = torch.Generator().manual_seed(0)
    betas = torch.randn(2, 10, generator=gen)
    pose = 0.3 * torch.randn(2, 24, 3, generator=gen)
    transl = torch.randn(2, 3, generator=gen)
    a = body(betas, pose, transl)
    b = body(betas, axis_angle_to_matrix(pose), transl)
    c = body(betas, pose)
    torch.testing.assert_close(a.vertices, b.vertices, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.joints, c.joints + transl[:, None], atol=1e-5, rtol=0)
    torch.testing.assert_close(a.coco17, c.coco17 + transl[:, None], atol=1e-4, rtol=0)


def test_elbow_bend_moves_only_the_forearm(body: BodyModel) -> None:
    pose = torch.zeros(1, 24, 3)
    pose[0, SMPL_JOINT_NAMES.index("left_elbow")] = torch.tensor([0.0, 0.0, math.pi / 2])
    bent, rest = body(torch.zeros(1, 10), pose), body.neutral()
    moved = (bent.joints - rest.joints).norm(dim=-1)[0] > 1e-4
    expected = {"left_wrist", "left_hand"}
    assert {SMPL_JOINT_NAMES[j] for j in torch.nonzero(moved).flatten().tolist()} == expected
    forearm = float((rest.joints[0, 20] - rest.joints[0, 18]).norm())
    torch.testing.assert_close((bent.joints[0, 20] - bent.joints[0, 18]).norm(), torch.tensor(forearm), atol=1e-4, rtol=0)


def test_betas_change_shape_but_not_the_layout(body: BodyModel) -> None:
    betas = torch.zeros(2, 10)
    betas[0, 0], betas[1, 0] = -2.0, 2.0
    out = body(betas, torch.zeros(2, 24, 3))
    heights = out.vertices[..., 1].amax(1) - out.vertices[..., 1].amin(1)
    assert (heights[0] - heights[1]).abs() > 0.05  # the first component changes the size a lot


def test_mean_params_stand_upright_in_camera_axes(body: BodyModel) -> None:
    mp = body.mean_params
    assert mp.pose.shape == (24, 3) and mp.betas.shape == (10,) and mp.camera.shape == (3,)
    out = body(mp.betas[None], mp.pose[None])
    joints = out.joints[0]
    # OpenCV camera axes: y down, so the head is at negative y, the person faces -z (the camera)
    assert joints[SMPL_JOINT_NAMES.index("head"), 1] < -0.4
    assert out.coco17[0, 0, 2] < joints[SMPL_JOINT_NAMES.index("head"), 2]
    wrists = joints[[SMPL_JOINT_NAMES.index("left_wrist"), SMPL_JOINT_NAMES.index("right_wrist")]]
    assert (wrists[:, 1] > 0.0).all()  # hands hang below the pelvis


def test_flip_permutation_is_an_involution() -> None:
    perm = torch.tensor(SMPL_FLIP_PERMUTATION)
    assert torch.equal(perm[perm], torch.arange(24))


def test_bf16_autocast_keeps_float32_vertices(body: BodyModel) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = body(torch.zeros(1, 10, dtype=torch.bfloat16), torch.zeros(1, 24, 3))
    assert out.vertices.dtype == torch.float32


def test_bad_inputs_raise_clear_errors(body: BodyModel) -> None:
    with pytest.raises(ValueError, match="betas"):
        body(torch.zeros(1, 11), torch.zeros(1, 24, 3))
    with pytest.raises(ValueError, match="pose"):
        body(torch.zeros(1, 10), torch.zeros(1, 23, 3))
    with pytest.raises(ValueError, match="transl"):
        body(torch.zeros(1, 10), torch.zeros(1, 24, 3), torch.zeros(2, 3))


def test_resolution_of_paths(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMPL_MODEL_DIR", raising=False)
    assert resolve_body_model_path(None) == EMBEDDED_MODEL_PATH
    assert resolve_body_model_path("free") == EMBEDDED_MODEL_PATH
    monkeypatch.setenv("SMPL_MODEL_DIR", str(tmp_path))
    with pytest.raises(SMPLFileError, match="SMPL_NEUTRAL.pkl"):
        load_body_model()
    with pytest.raises(SMPLFileError, match="does not exist"):
        load_body_model(tmp_path / "missing.pkl")


def _fake_smpl_arrays(num_v: int = SMPL_NUM_VERTICES) -> dict[str, np.ndarray]:
    """A tiny-shaped but SMPL-sized model: a random cloud with a valid kinematic tree."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=(num_v, 3)) * 0.2
    weights = np.eye(24)[np.arange(num_v) % 24]  # rigid skinning, every segment used
    j_reg = rng.random((24, num_v))
    j_reg /= j_reg.sum(1, keepdims=True)
    parents = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
    kintree = np.array([[2**32 - 1 if p < 0 else p for p in parents], list(range(24))], dtype=np.int64)
    return {
        "v_template": v,
        "shapedirs": rng.normal(size=(num_v, 3, 300)) * 1e-3,
        "posedirs": np.zeros((num_v, 3, 207)),
        "J_regressor": j_reg,
        "weights": weights,
        "kintree_table": kintree,
        "f": rng.integers(0, num_v, size=(100, 3)),
    }


def test_real_smpl_layout_file_loads_with_derived_keypoints(tmp_path) -> None:
    path = write_smpl_npz(_fake_smpl_arrays(), tmp_path / "smpl" / "SMPL_NEUTRAL.npz")
    body = load_body_model(tmp_path)  # directory search finds smpl/SMPL_NEUTRAL.npz
    assert body.name == "smpl" and body.face_uvs is None and body.num_vertices == SMPL_NUM_VERTICES
    out = body(torch.zeros(2, 10), torch.zeros(2, 24, 3))
    assert out.coco17.shape == (2, 17, 3) and out.lsp14.shape == (2, 14, 3)
    # COCO limbs are SMPL joints, the nose is SMPL vertex 332
    torch.testing.assert_close(out.coco17[:, COCO17_NAMES.index("left_knee")], out.joints[:, 4])
    torch.testing.assert_close(out.coco17[:, 0], out.vertices[:, 332])
    assert body.info.sha256 == file_sha256(path)


def test_smpl_keypoints_need_smpl_topology() -> None:
    with pytest.raises(ValueError, match="6890"):
        smpl_keypoint_regressors(np.zeros((100, 3)), np.ones((100, 24)) / 24)


def test_build_is_deterministic_on_a_small_sample(tmp_path) -> None:
    pytest.importorskip("anny")
    cfg = build_free.BuildConfig(samples=40, held_out=10, batch=50)
    a = build_free.build(cfg, show_progress=False)
    b = build_free.build(cfg, show_progress=False)
    for key in ("v_template", "shapedirs", "J_regressor", "weights", "f", "face_uvs", "lsp14_regressor"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_allclose(a["J_regressor"].sum(1), 1.0, atol=1e-6)
    # betas ~ N(0, 1): shapedirs are scaled by the components' standard deviations, decreasing
    norms = np.linalg.norm(a["shapedirs"].reshape(-1, 10), axis=0)
    assert np.all(np.diff(norms) <= 1e-6)


def test_bone_mapping_covers_every_anny_bone() -> None:
    anny = pytest.importorskip("anny")
    labels = list(anny.Anny().bone_labels)
    seg = build_free.bone_segments(labels)
    assert seg.min() >= 0 and set(seg.tolist()) == set(range(24))


def _random_pose(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    betas = torch.randn(n, 10, generator=g)
    rotmat = axis_angle_to_matrix(0.5 * torch.randn(n, 24, 3, generator=g))
    return betas, rotmat, torch.randn(n, 3, generator=g)


def test_forward_equals_smplx_lbs(body: BodyModel) -> None:
    betas, rotmat, transl = _random_pose(3, 0)
    out = body(betas, rotmat, transl)
    ref = body.smpl(betas=betas, global_orient=rotmat[:, :1], body_pose=rotmat[:, 1:], transl=transl, pose2rot=False)
    torch.testing.assert_close(out.vertices, ref.vertices, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.joints, ref.joints[:, :24], atol=1e-6, rtol=0)


def test_keypoints_only_equals_forward_on_the_free_model(body: BodyModel) -> None:
    assert not body.has_pose_blendshapes
    betas, rotmat, _ = _random_pose(5, 1)
    out, kp = body(betas, rotmat), body.keypoints_only(betas, rotmat)
    assert not hasattr(kp, "vertices")
    for layout in ("smpl24", "coco17", "lsp14"):
        torch.testing.assert_close(kp.keypoints(layout), out.keypoints(layout), atol=1e-5, rtol=0)
    torch.testing.assert_close(body.joints_only(betas, rotmat), out.joints, atol=1e-5, rtol=0)


def test_pose_blendshapes_are_applied_and_keypoints_only_falls_back(tmp_path) -> None:
    arrays = _fake_smpl_arrays()
    arrays["posedirs"] = np.random.default_rng(0).normal(0.0, 0.01, arrays["posedirs"].shape).astype(np.float32)
    body = load_body_model(write_smpl_npz(arrays, tmp_path / "SMPL_NEUTRAL.npz"))
    assert body.has_pose_blendshapes
    betas, rotmat, _ = _random_pose(2, 2)
    out = body(betas, rotmat)
    ref = body.smpl(betas=betas, global_orient=rotmat[:, :1], body_pose=rotmat[:, 1:], pose2rot=False)
    torch.testing.assert_close(out.vertices, ref.vertices, atol=1e-6, rtol=0)
    kp = body.keypoints_only(betas, rotmat)
    torch.testing.assert_close(kp.coco17, out.coco17)


def test_keypoint_caches_made_under_inference_mode_still_train() -> None:
    body = load_body_model()  # a new instance: its caches are built by the first call below
    betas, rotmat, _ = _random_pose(2, 3)
    with torch.inference_mode():
        body.keypoints_only(betas, rotmat)
    betas = betas.clone().requires_grad_(True)
    body.keypoints_only(betas, rotmat).lsp14.sum().backward()
    body.joints_only(betas, rotmat).sum().backward()
    assert betas.grad is not None and torch.isfinite(betas.grad).all()
