"""Tests for model.body.smpl_file: chumpy-free reading of SMPL model files.

No real SMPL file exists here (it is licensed), so the tests build a tiny
SMPL-like model (24 joints with SMPL's kinematic tree, 30 vertices) and write
it the ways the official files are written: a pickle whose arrays are
``chumpy`` objects (a fake ``chumpy`` package, importable only in the
subprocess that writes the pickle) with a ``scipy.sparse`` ``J_regressor``,
and a hand-assembled Python-2 pickle.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from model.body.smpl_file import (
    SMPL_DOWNLOAD_URL,
    SMPLFileError,
    SMPLUnpickler,
    build_smplx_smpl,
    find_smpl_file,
    load_smpl_pickle,
    read_smpl_file,
    write_smpl_npz,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
N_VERTS = 30
BASIC_MODEL = "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"


def make_model(n_verts: int = N_VERTS, n_shape: int = 300, seed: int = 0) -> dict[str, Any]:
    """A random but valid SMPL-like model; ``J_regressor`` is a csc matrix."""
    rng = np.random.default_rng(seed)
    weights = rng.random((n_verts, 24))
    weights /= weights.sum(axis=1, keepdims=True)
    j_reg = np.zeros((24, n_verts))
    for j in range(24):
        cols = rng.choice(n_verts, size=4, replace=False)
        j_reg[j, cols] = rng.random(4) + 0.1
    j_reg /= j_reg.sum(axis=1, keepdims=True)
    kintree = np.stack([np.array(SMPL_PARENTS, dtype=np.int64), np.arange(24, dtype=np.int64)])
    kintree[0, 0] = 4294967295  # what the official files store for "no parent"
    faces = np.stack([rng.permutation(n_verts)[:3] for _ in range(2 * n_verts - 4)]).astype(np.uint32)
    return {
        "v_template": rng.normal(size=(n_verts, 3)),
        "shapedirs": rng.normal(scale=0.01, size=(n_verts, 3, n_shape)),
        "posedirs": rng.normal(scale=0.01, size=(n_verts, 3, 207)),
        "J_regressor": sp.csc_matrix(j_reg),
        "weights": weights,
        "kintree_table": kintree,
        "f": faces,
    }


def dense(model: dict[str, Any]) -> dict[str, Any]:
    out = dict(model)
    out["J_regressor"] = model["J_regressor"].toarray()
    return out


def assert_helpful(exc: BaseException, *, path: Path | None = None) -> None:
    msg = str(exc)
    assert SMPL_DOWNLOAD_URL in msg
    assert "SMPL_NEUTRAL.pkl" in msg
    assert BASIC_MODEL in msg
    if path is not None:
        assert str(path) in msg


# --------------------------------------------------------------------------
# Fake chumpy, pickles written in a subprocess, read in a fresh one
# --------------------------------------------------------------------------

FAKE_CH = '''
import weakref
import numpy as np


class Ch(object):
    """Pickles like chumpy.ch.Ch: NEWOBJ + a state dict with the array under 'x'."""

    terms = ()
    dterms = ("x",)
    term_order = ("x",)

    def __new__(cls, *args, **kwargs):
        self = super(Ch, cls).__new__(cls)
        object.__setattr__(self, "_dirty_vars", set())
        object.__setattr__(self, "_itr", None)
        object.__setattr__(self, "_parents", weakref.WeakKeyDictionary())
        object.__setattr__(self, "_cache", {"r": None, "drs": weakref.WeakKeyDictionary()})
        object.__setattr__(self, "_make_dense", False)
        object.__setattr__(self, "_make_sparse", False)
        object.__setattr__(self, "_depends_on_deps", {})
        if cls is Ch and args:
            kwargs["x"] = np.asarray(args[0], np.float64)
        else:
            kwargs.update(zip(cls.term_order, args))
        for name, value in kwargs.items():
            if cls is not Ch and name in cls.dterms and not isinstance(value, Ch):
                value = Ch(value)
            object.__setattr__(self, name, value)
            self._dirty_vars.add(name)
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_parents"]
        del state["_cache"]
        return state

    def __setstate__(self, state):
        state["_parents"] = weakref.WeakKeyDictionary()
        state["_cache"] = {"r": None, "drs": weakref.WeakKeyDictionary()}
        object.__setattr__(self, "__dict__", state)

    def compute_r(self):
        return self.x

    @property
    def r(self):
        return self.compute_r()
'''

FAKE_REORDERING = '''
from .ch import Ch


class Permute(Ch):
    pass


class Select(Permute):
    terms = ("idxs", "preferred_shape")
    dterms = ("a",)
    term_order = ("a", "idxs", "preferred_shape")

    def compute_r(self):
        return self.a.r.ravel()[self.idxs].copy().reshape(self.preferred_shape)
'''

FAKE_CH_OPS = '''
from .ch import Ch


class add(Ch):
    dterms = ("a", "b")
    term_order = ("a", "b")

    def compute_r(self):
        return self.a.r + self.b.r
'''

WRITER = '''
import pickle, sys
import numpy as np
import scipy.sparse as sp
sys.path.insert(0, sys.argv[1])
from chumpy.ch import Ch
from chumpy.reordering import Select
from chumpy.ch_ops import add

ref = np.load(sys.argv[2])
j_flat = ref["J"].ravel()[::-1].copy()
model = {
    "v_template": Ch(ref["v_template"]),
    "shapedirs": Ch(ref["shapedirs"]),
    "posedirs": ref["posedirs"],
    "J_regressor": sp.csc_matrix(ref["J_regressor"]),
    "J_regressor_prior": sp.csc_matrix(ref["J_regressor"]),
    "weights": Ch(ref["weights"]),
    "weights_prior": add(Ch(ref["weights"] * 0.25), Ch(ref["weights"] * 0.75)),
    "J": Select(Ch(j_flat), np.arange(j_flat.size)[::-1].copy(), (24, 3)),
    "kintree_table": ref["kintree_table"],
    "f": ref["f"],
    "vert_sym_idxs": np.arange(ref["v_template"].shape[0]),
    "bs_style": "lbs",
    "bs_type": "lrotmin",
    "pose_training_info": {"nPoses": 1786, "nSubjects": 40},
}
assert np.array_equal(model["J"].r, ref["J"]) and np.allclose(model["weights_prior"].r, ref["weights"])
for protocol, path in ((2, sys.argv[3]), (0, sys.argv[4])):
    with open(path, "wb") as fh:
        pickle.dump(model, fh, protocol=protocol)
'''

READER = '''
import json, sys
try:
    import chumpy  # noqa: F401
    chumpy_importable = True
except ImportError:
    chumpy_importable = False
sys.path.insert(0, sys.argv[1])
import numpy as np
import torch
from model.body.smpl_file import build_smplx_smpl, read_smpl_file

ref = dict(np.load(sys.argv[2]))
expected = dict(ref)
expected["shapedirs"] = ref["shapedirs"][:, :, :10]
expected["J_regressor_prior"] = ref["J_regressor"]
expected["weights_prior"] = ref["weights"]
expected["vert_sym_idxs"] = np.arange(ref["v_template"].shape[0])
out = {"chumpy_importable": chumpy_importable, "files": {}}
for path in sys.argv[3:]:
    data = read_smpl_file(path)
    out["files"][path] = {
        "keys": sorted(data),
        "types": sorted({type(v).__module__ + "." + type(v).__name__ for v in data.values()}),
        "shapes": {k: list(v.shape) for k, v in data.items()},
        "dtypes": {k: str(v.dtype) for k, v in data.items()},
        "max_err": {k: float(np.max(np.abs(data[k] - expected[k]))) for k in expected},
    }
out["chumpy_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "chumpy")

data = read_smpl_file(sys.argv[3])
model = build_smplx_smpl(data, batch_size=2)
v_t = torch.from_numpy(data["v_template"]).float()
zero = model(betas=torch.zeros(2, 10), body_pose=torch.zeros(2, 69), global_orient=torch.zeros(2, 3))
out["vertices_shape"] = list(zero.vertices.shape)
out["joints_shape"] = list(zero.joints.shape)
out["zero_vertex_err"] = float((zero.vertices - v_t).abs().max())
j_expected = torch.from_numpy(data["J_regressor"] @ data["v_template"]).float()
out["zero_joint_err"] = float((zero.joints - j_expected).abs().max())
betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(0))
shaped = model(betas=betas, body_pose=torch.zeros(2, 69), global_orient=torch.zeros(2, 3))
blend = torch.einsum("vck,bk->bvc", torch.from_numpy(data["shapedirs"]).float(), betas)
out["shape_err"] = float((shaped.vertices - (v_t + blend)).abs().max())
gen = torch.Generator().manual_seed(1)
posed = model(betas=betas, body_pose=0.3 * torch.randn(2, 69, generator=gen),
              global_orient=0.3 * torch.randn(2, 3, generator=gen))
root = torch.einsum("jv,bvc->bjc", torch.from_numpy(data["J_regressor"]).float(), shaped.vertices)[:, 0]
out["posed_finite"] = bool(torch.isfinite(posed.vertices).all())
out["posed_moved"] = float((posed.vertices - shaped.vertices).abs().max())
out["posed_root_err"] = float((posed.joints[:, 0] - root).abs().max())
print(json.dumps(out))
'''


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def chumpy_pickles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Write the fake-chumpy pickles in one subprocess, read them in another."""
    root = tmp_path_factory.mktemp("chumpy_pickles")
    fake_site = root / "fake_site"
    (fake_site / "chumpy").mkdir(parents=True)
    (fake_site / "chumpy" / "__init__.py").write_text("")
    (fake_site / "chumpy" / "ch.py").write_text(FAKE_CH)
    (fake_site / "chumpy" / "reordering.py").write_text(FAKE_REORDERING)
    (fake_site / "chumpy" / "ch_ops.py").write_text(FAKE_CH_OPS)

    model = dense(make_model())
    model["J"] = model["J_regressor"] @ model["v_template"]
    ref = root / "reference.npz"
    np.savez(ref, **model)
    p2, p0 = root / "model_p2.pkl", root / "model_p0.pkl"
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(fake_site), str(ref), str(p2), str(p0)],
        cwd=root, env=_clean_env(), capture_output=True, text=True, timeout=60,
    )
    assert writer.returncode == 0, writer.stderr
    reader = subprocess.run(
        [sys.executable, "-c", READER, str(REPO_ROOT), str(ref), str(p2), str(p0)],
        cwd=root, env=_clean_env(), capture_output=True, text=True, timeout=120,
    )
    assert reader.returncode == 0, reader.stderr
    result = json.loads(reader.stdout.strip().splitlines()[-1])
    result["paths"] = [str(p2), str(p0)]
    result["pickle_bytes"] = p2.read_bytes()
    return result


def test_fake_pickle_really_references_chumpy(chumpy_pickles: dict[str, Any]) -> None:
    raw = chumpy_pickles["pickle_bytes"]
    assert b"chumpy.ch" in raw and b"chumpy.reordering" in raw and b"chumpy.ch_ops" in raw
    assert b"scipy.sparse" in raw
    assert b"copy_reg" in raw or b"__builtin__" in raw  # Python-2 names at protocol 2


def test_reads_chumpy_pickle_in_process_without_chumpy(chumpy_pickles: dict[str, Any]) -> None:
    assert chumpy_pickles["chumpy_importable"] is False
    assert chumpy_pickles["chumpy_loaded"] == []
    for path in chumpy_pickles["paths"]:
        info = chumpy_pickles["files"][path]
        assert info["types"] == ["numpy.ndarray"]
        assert set(info["keys"]) == {
            "v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f",
            "J", "J_regressor_prior", "weights_prior", "vert_sym_idxs",
        }  # strings and the dict were dropped
        shapes = info["shapes"]
        assert shapes["v_template"] == [N_VERTS, 3]
        assert shapes["shapedirs"] == [N_VERTS, 3, 10]  # cut from 300
        assert shapes["posedirs"] == [N_VERTS, 3, 207]
        assert shapes["J_regressor"] == [24, N_VERTS]
        assert shapes["weights"] == [N_VERTS, 24]
        assert shapes["kintree_table"] == [2, 24]
        assert shapes["f"][1] == 3
        assert info["dtypes"]["f"] == "int64" and info["dtypes"]["kintree_table"] == "int64"
        assert info["dtypes"]["v_template"] == "float64" and info["dtypes"]["J_regressor"] == "float64"
        for key, err in info["max_err"].items():
            assert err < 1e-12, (path, key, err)


def test_build_smplx_smpl_in_fresh_process(chumpy_pickles: dict[str, Any]) -> None:
    r = chumpy_pickles
    assert r["vertices_shape"] == [2, N_VERTS, 3]
    assert r["joints_shape"] == [2, 24, 3]
    assert r["zero_vertex_err"] < 1e-6
    assert r["zero_joint_err"] < 1e-5
    assert r["shape_err"] < 1e-5
    assert r["posed_finite"] and r["posed_moved"] > 1e-3
    assert r["posed_root_err"] < 1e-5


# --------------------------------------------------------------------------
# A hand-assembled Python-2 pickle (latin-1 str data, numpy.core, old scipy)
# --------------------------------------------------------------------------


def _p2_str(raw: bytes) -> bytes:
    return (b"U" + bytes([len(raw)]) if len(raw) < 256 else b"T" + struct.pack("<i", len(raw))) + raw


def _p2_int(value: int) -> bytes:
    return b"K" + bytes([value]) if 0 <= value < 256 else b"J" + struct.pack("<i", value)


def _p2_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _p2_dict(pairs: dict[str, bytes]) -> bytes:
    return b"}(" + b"".join(_p2_str(k.encode()) + v for k, v in pairs.items()) + b"u"


def _p2_array(arr: np.ndarray) -> bytes:
    """An ndarray as Python 2 + numpy 1.x pickled it (data as a latin-1 str)."""
    arr = np.ascontiguousarray(arr)
    dtype = (
        b"cnumpy\ndtype\n" + _p2_tuple(_p2_str(arr.dtype.str[1:].encode()), _p2_int(0), _p2_int(1)) + b"R"
        + _p2_tuple(_p2_int(3), _p2_str(b"<"), b"NNN", _p2_int(-1), _p2_int(-1), _p2_int(0)) + b"b"
    )
    return (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        + _p2_tuple(b"cnumpy\nndarray\n", _p2_tuple(_p2_int(0)), _p2_str(b"b")) + b"R"
        + _p2_tuple(_p2_int(1), _p2_tuple(*(_p2_int(s) for s in arr.shape)), dtype, b"\x89", _p2_str(arr.tobytes()))
        + b"b"
    )


def _p2_ch(arr: np.ndarray) -> bytes:
    state = {"x": _p2_array(arr), "_dirty_vars": b"c__builtin__\nset\n(](U\x01xetR", "_itr": b"N"}
    return b"cchumpy.ch\nCh\n)\x81" + _p2_dict(state) + b"b"


def _p2_csc(mat: sp.csc_matrix) -> bytes:
    state = {
        "_shape": _p2_tuple(*(_p2_int(s) for s in mat.shape)),
        "maxprint": _p2_int(50),
        "indices": _p2_array(mat.indices.astype(np.int32)),
        "indptr": _p2_array(mat.indptr.astype(np.int32)),
        "data": _p2_array(mat.data),
    }
    return b"cscipy.sparse.csc\ncsc_matrix\n)\x81" + _p2_dict(state) + b"b"


def test_reads_python2_style_pickle(tmp_path: Path) -> None:
    model = make_model(n_shape=10)
    body = _p2_dict({
        "v_template": _p2_ch(model["v_template"]),
        "shapedirs": _p2_ch(model["shapedirs"]),
        "posedirs": _p2_array(model["posedirs"]),
        "J_regressor": _p2_csc(model["J_regressor"]),
        "weights": _p2_ch(model["weights"]),
        "kintree_table": _p2_array(model["kintree_table"]),
        "f": _p2_array(model["f"]),
        "bs_style": _p2_str(b"lbs"),
    })
    path = tmp_path / BASIC_MODEL
    path.write_bytes(b"\x80\x02" + body + b".")
    data = read_smpl_file(path)
    for key, value in dense(model).items():
        np.testing.assert_array_equal(data[key], value)
    assert data["f"].dtype == np.int64
    assert set(data) == set(model)


def test_unpickler_maps_chumpy_forms() -> None:
    """Ch state given as a bare array, via copyreg, or as constructor args."""
    arr = np.arange(6.0).reshape(2, 3)
    bare = b"\x80\x02cchumpy.ch\nCh\n)\x81" + _p2_array(arr) + b"b."
    reduce_form = b"\x80\x02cchumpy.ch\nCh\n" + _p2_tuple(_p2_array(arr)) + b"R."
    reconstructor = (
        b"\x80\x02ccopy_reg\n_reconstructor\n" + _p2_tuple(b"cchumpy.ch\nCh\n", b"c__builtin__\nobject\n", b"N")
        + b"R" + _p2_dict({"x": _p2_array(arr)}) + b"b."
    )
    for raw in (bare, reduce_form, reconstructor):
        np.testing.assert_array_equal(load_smpl_pickle(io.BytesIO(raw)), arr)


# --------------------------------------------------------------------------
# Forbidden globals
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name", "arg"),
    [
        ("posix", "system", "touch {marker}"),
        ("os", "system", "touch {marker}"),
        ("builtins", "eval", "open({marker!r}, 'w').close()"),
        ("__builtin__", "getattr", "x"),
        ("numpy", "load", "{marker}"),
        ("subprocess", "call", "touch {marker}"),
        ("chumpyx.evil", "run", "x"),
    ],
)
def test_forbidden_global_is_refused_and_not_run(tmp_path: Path, module: str, name: str, arg: str) -> None:
    marker = tmp_path / "pwned"
    call = f"c{module}\n{name}\n(V{arg.format(marker=str(marker))}\ntR".encode()
    # Bury it inside a dict, next to a harmless array, as an attacker would.
    raw = b"(dp0\nVv_template\n" + call + b"s."
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(raw)
    shown = f"forbidden global '{module.replace('__builtin__', 'builtins')}.{name}'"
    with pytest.raises(pickle.UnpicklingError, match=re.escape(shown)) as info:
        read_smpl_file(path)
    assert isinstance(info.value, SMPLFileError)
    assert str(path) in str(info.value)
    assert not marker.exists()

    with pytest.raises(pickle.UnpicklingError, match="forbidden global"):
        SMPLUnpickler(io.BytesIO(raw)).load()
    assert not marker.exists()


# --------------------------------------------------------------------------
# Helpful errors
# --------------------------------------------------------------------------


def _pickle(tmp_path: Path, obj: Any, name: str = "SMPL_NEUTRAL.pkl") -> Path:
    path = tmp_path / name
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)
    return path


def test_missing_file_message(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "SMPL_NEUTRAL.pkl"
    with pytest.raises(SMPLFileError, match="does not exist") as info:
        read_smpl_file(path)
    assert_helpful(info.value, path=path)


def test_garbage_file_message(tmp_path: Path) -> None:
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(b"this is not a pickle")
    with pytest.raises(SMPLFileError) as info:
        read_smpl_file(path)
    assert_helpful(info.value, path=path)


def _drop(key: str):
    def edit(m: dict[str, Any]) -> None:
        del m[key]
    return edit


def _set(key: str, fn):
    def edit(m: dict[str, Any]) -> None:
        m[key] = fn(m[key])
    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_drop("posedirs"), "missing key"),
        (_set("posedirs", lambda a: a[:, :, :200]), "'posedirs' has shape"),
        (_set("J_regressor", lambda a: a[:23]), "'J_regressor' has shape"),
        (_set("shapedirs", lambda a: a[:, :, :5]), "shape components"),
        (_set("shapedirs", lambda a: a[:-1]), "'shapedirs' has shape"),
        (_set("weights", lambda a: a[:, :23]), "'weights' has shape"),
        (_set("v_template", lambda a: a[:, :2]), "'v_template' has shape"),
        (_set("kintree_table", lambda a: a[:, ::-1].copy()), "kintree_table"),
        (_set("f", lambda a: a + N_VERTS), "'f' indexes vertices"),
        (_set("v_template", lambda a: np.full_like(a, np.nan)), "NaN"),
        (_set("weights", lambda a: "lbs"), "'weights' is not numeric"),
    ],
)
def test_wrong_content_message(tmp_path: Path, edit, expected: str) -> None:
    model = make_model()
    edit(model)
    path = _pickle(tmp_path, model)
    with pytest.raises(SMPLFileError, match=expected) as info:
        read_smpl_file(path)
    assert_helpful(info.value, path=path)


def test_not_a_dict_message(tmp_path: Path) -> None:
    path = _pickle(tmp_path, [1, 2, 3])
    with pytest.raises(SMPLFileError, match="expected a dict") as info:
        read_smpl_file(path)
    assert_helpful(info.value, path=path)


def test_num_betas(tmp_path: Path) -> None:
    path = _pickle(tmp_path, make_model(n_shape=300))
    assert read_smpl_file(path, num_betas=300)["shapedirs"].shape == (N_VERTS, 3, 300)
    path10 = _pickle(tmp_path, make_model(n_shape=10), name="ten.pkl")
    with pytest.raises(SMPLFileError, match="need at least 16"):
        read_smpl_file(path10, num_betas=16)
    with pytest.raises(SMPLFileError, match="need at least 16"):
        build_smplx_smpl(read_smpl_file(path10), num_betas=16)


# --------------------------------------------------------------------------
# find_smpl_file
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    ["SMPL_NEUTRAL.pkl", BASIC_MODEL, "SMPL_NEUTRAL.npz", "smpl/SMPL_NEUTRAL.pkl", f"smpl/{BASIC_MODEL}"],
)
def test_find_smpl_file_in_directory(tmp_path: Path, relative: str) -> None:
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"")
    (tmp_path / "SMPL_MALE.pkl").write_bytes(b"")  # not the neutral model: ignored
    assert find_smpl_file(tmp_path) == target
    assert find_smpl_file(str(tmp_path)) == target


def test_find_smpl_file_prefers_smpl_neutral(tmp_path: Path) -> None:
    for name in ("SMPL_NEUTRAL.npz", BASIC_MODEL, "SMPL_NEUTRAL.pkl"):
        (tmp_path / name).write_bytes(b"")
    assert find_smpl_file(tmp_path) == tmp_path / "SMPL_NEUTRAL.pkl"
    (tmp_path / "SMPL_NEUTRAL.pkl").unlink()
    assert find_smpl_file(tmp_path) == tmp_path / BASIC_MODEL


def test_find_smpl_file_returns_a_file_as_is(tmp_path: Path) -> None:
    path = tmp_path / "SMPL_FEMALE.pkl"
    path.write_bytes(b"")
    assert find_smpl_file(path) == path


def test_find_smpl_file_messages(tmp_path: Path) -> None:
    (tmp_path / "smpl_neutral.pkl.txt").write_bytes(b"")
    with pytest.raises(SMPLFileError) as info:
        find_smpl_file(tmp_path)
    msg = str(info.value)
    assert_helpful(info.value, path=tmp_path)
    for name in ("SMPL_NEUTRAL.pkl", BASIC_MODEL, "SMPL_NEUTRAL.npz"):
        assert str(tmp_path / name) in msg and str(tmp_path / "smpl" / name) in msg
    with pytest.raises(SMPLFileError, match="does not exist") as info:
        find_smpl_file(tmp_path / "missing")
    assert_helpful(info.value)


# --------------------------------------------------------------------------
# npz
# --------------------------------------------------------------------------


def test_npz_round_trip(tmp_path: Path) -> None:
    model = make_model(n_shape=300)
    model["J"] = model["J_regressor"] @ model["v_template"]
    path = write_smpl_npz(model, tmp_path / "SMPL_NEUTRAL.npz")
    with np.load(path, allow_pickle=False) as npz:  # chumpy- and pickle-free
        assert npz["shapedirs"].shape == (N_VERTS, 3, 300)
        assert npz["J_regressor"].shape == (24, N_VERTS)
    assert find_smpl_file(tmp_path) == path
    assert [p.name for p in tmp_path.iterdir()] == ["SMPL_NEUTRAL.npz"]  # no temp file left
    data = read_smpl_file(path)
    for key, value in dense(model).items():
        expected = value[:, :, :10] if key == "shapedirs" else value
        np.testing.assert_array_equal(data[key], expected)
    assert data["f"].dtype == np.int64
    np.testing.assert_array_equal(read_smpl_file(path, num_betas=300)["shapedirs"], model["shapedirs"])

    # What read_smpl_file returns can be written again (uncompressed here).
    again = write_smpl_npz(data, tmp_path / "copy.npz", compressed=False)
    for key, value in read_smpl_file(again).items():
        np.testing.assert_array_equal(value, data[key])


def test_write_smpl_npz_validates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.npz"):
        write_smpl_npz(make_model(), tmp_path / "SMPL_NEUTRAL.pkl")
    bad = make_model()
    del bad["weights"]
    with pytest.raises(SMPLFileError, match="missing key"):
        write_smpl_npz(bad, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    model = dense(make_model())
    path = tmp_path / "SMPL_NEUTRAL.npz"
    np.savez(path, **model, extra=np.array([{"a": 1}], dtype=object))
    with pytest.raises(SMPLFileError, match="pickled objects") as info:
        read_smpl_file(path)
    assert_helpful(info.value, path=path)
