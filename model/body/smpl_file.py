"""Read licensed SMPL model files without chumpy.

SMPL is licensed: the model files are **not** shipped with this project. Each
user downloads them from https://smpl.is.tue.mpg.de after accepting the SMPL
licence, e.g. ``basicModel_neutral_lbs_10_207_0_v1.0.0.pkl`` (SMPLify's
gender-neutral model, often renamed ``SMPL_NEUTRAL.pkl``), ``SMPL_MALE.pkl``,
``SMPL_FEMALE.pkl`` or the SMPL v1.1 files with 300 shape components.

Why a custom reader
-------------------
The official ``.pkl`` files are Python-2 pickles whose arrays are partly
``chumpy`` objects (``chumpy.ch.Ch`` and, in some files, ``chumpy.ch_ops`` or
``chumpy.reordering`` expression nodes) and whose ``J_regressor`` is a
``scipy.sparse.csc_matrix``. Loading them with ``pickle`` needs chumpy, which
no longer imports on numpy >= 1.24. :class:`SMPLUnpickler` maps every class
from the ``chumpy`` package to a stand-in that records what was pickled, and
:func:`load_smpl_pickle` turns the stand-ins into plain ``numpy`` arrays
afterwards; chumpy is never imported.

A pickle is a program, so :class:`SMPLUnpickler` resolves only an allow-list
of globals (numpy array/dtype/scalar reconstruction, ``copyreg._reconstructor``,
a few builtin container types, ``_codecs.encode``, the ``scipy.sparse``
matrix classes and the chumpy stand-ins). Any other global raises
:class:`pickle.UnpicklingError` naming it, before anything runs.

Sparse matrices
---------------
``scipy.sparse`` matrices (``csc``/``csr``/``coo``) are never instantiated
from the pickle either: they are captured by a stand-in and returned as
**dense** ``numpy`` arrays (``J_regressor`` is 24 x 6890, about 1.3 MB dense).

smplx
-----
smplx 0.1.28's ``smplx.SMPL`` always reads its model with ``pickle.load``:
given a directory it opens ``SMPL_<GENDER>.pkl`` inside it (the ``ext``
keyword is accepted but ignored by ``SMPL``; only SMPL-H, SMPL-X, MANO and
FLAME honour ``ext='npz'``), given a file it unpickles that file. So
``smplx.SMPL(model_path='model.npz', ext='npz')`` does **not** work, and
neither does ``smplx.create(..., model_type='smpl', ext='npz')``; an
official ``.pkl`` only works where chumpy imports. What does work is passing
the arrays through ``data_struct`` (any object with the attributes
``v_template``, ``shapedirs``, ``posedirs``, ``J_regressor``, ``weights``,
``kintree_table`` and ``f``): then ``model_path`` is not read at all, and
smplx accepts dense or sparse ``J_regressor`` and slices ``shapedirs`` to
``num_betas`` itself. :func:`build_smplx_smpl` does that, and
:func:`write_smpl_npz` writes a chumpy-free ``.npz`` that
:func:`read_smpl_file` reads back, so a converted file can be used as
``build_smplx_smpl(read_smpl_file("SMPL_NEUTRAL.npz"))``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pathlib
import pickle
import tempfile
import types
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import smplx
    import torch

__all__ = [
    "NUM_JOINTS",
    "NUM_POSE_BASIS",
    "REQUIRED_KEYS",
    "SEARCH_NAMES",
    "SMPL_DOWNLOAD_URL",
    "SMPLFileError",
    "SMPLUnpickler",
    "SMPLUnpicklingError",
    "build_smplx_smpl",
    "find_smpl_file",
    "load_smpl_pickle",
    "read_smpl_file",
    "write_smpl_npz",
]

SMPL_DOWNLOAD_URL = "https://smpl.is.tue.mpg.de"
"""Where SMPL must be downloaded from (after accepting its licence)."""

NUM_JOINTS = 24
"""Number of SMPL joints (root + 23 body joints)."""

NUM_POSE_BASIS = 9 * (NUM_JOINTS - 1)
"""Number of pose-corrective blend shapes in SMPL (207)."""

MIN_SHAPE_COMPONENTS = 10
"""Every SMPL file carries at least 10 shape components."""

REQUIRED_KEYS = (
    "v_template",
    "shapedirs",
    "posedirs",
    "J_regressor",
    "weights",
    "kintree_table",
    "f",
)
"""Keys :func:`read_smpl_file` always returns."""

SEARCH_NAMES = (
    "SMPL_NEUTRAL.pkl",
    "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl",
    "SMPL_NEUTRAL.npz",
)
"""File names :func:`find_smpl_file` looks for in a directory, in order."""

_EXPECTED_FILES = "'basicModel_neutral_lbs_10_207_0_v1.0.0.pkl' or 'SMPL_NEUTRAL.pkl'"


def _download_hint() -> str:
    return (
        f"Expected an official SMPL model file such as {_EXPECTED_FILES} "
        "(or a .npz with the same arrays written by write_smpl_npz). SMPL is "
        "licensed and is not shipped with this project: download it yourself "
        f"from {SMPL_DOWNLOAD_URL} after accepting its licence."
    )


class SMPLFileError(ValueError):
    """An SMPL model file is missing, unreadable or malformed.

    The message names the file that was read, what was wrong with it, which
    file was expected and where to download it.
    """

    def __init__(self, path: str | os.PathLike[str] | None, problem: str) -> None:
        self.path = None if path is None else pathlib.Path(path)
        self.problem = problem
        where = f"SMPL model file '{path}'" if path is not None else "SMPL model data"
        super().__init__(f"{where}: {problem}. {_download_hint()}")


class SMPLUnpicklingError(SMPLFileError, pickle.UnpicklingError):
    """The pickle references a global outside the allow-list (or is corrupt).

    It is both a :class:`SMPLFileError` and a :class:`pickle.UnpicklingError`.
    """


# --------------------------------------------------------------------------
# Stand-ins for chumpy objects and scipy.sparse matrices
# --------------------------------------------------------------------------


class _Captured:
    """Base of the stand-ins: remembers constructor arguments and state.

    Unpickling creates instances through ``cls.__new__(cls, *args)``
    (``NEWOBJ``), ``cls(*args)`` (``REDUCE``) or
    ``copyreg._reconstructor(cls, object, None)`` and then hands the pickled
    state to :meth:`__setstate__` (``BUILD``); every form is accepted.
    """

    _qualname: str = "?"
    _args: tuple[Any, ...] = ()
    _kwargs: Mapping[str, Any] = types.MappingProxyType({})
    _state: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> _Captured:
        obj = super().__new__(cls)
        obj._args = args
        obj._kwargs = dict(kwargs)
        obj._state = None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Arguments were recorded by __new__; nothing else to do.
        pass

    def __setstate__(self, state: Any) -> None:
        if (
            isinstance(state, tuple)
            and len(state) == 2
            and (state[0] is None or isinstance(state[0], dict))
            and isinstance(state[1], dict)
        ):
            # (dict state, slot state) as written for classes with __slots__.
            merged: dict[str, Any] = dict(state[0] or {})
            merged.update(state[1])
            state = merged
        self._state = state

    def __repr__(self) -> str:
        return f"<stand-in for {self._qualname}>"


class _ChumpyStandIn(_Captured):
    """Stand-in for any class of the ``chumpy`` package."""


class _SparseStandIn(_Captured):
    """Stand-in for a ``scipy.sparse`` matrix/array (csc, csr or coo)."""

    _format: str = "csc"


_chumpy_classes: dict[tuple[str, str], type[_ChumpyStandIn]] = {}
_sparse_classes: dict[tuple[str, str], type[_SparseStandIn]] = {}


def _chumpy_standin(module: str, name: str) -> type[_ChumpyStandIn]:
    key = (module, name)
    if key not in _chumpy_classes:
        _chumpy_classes[key] = type(
            name, (_ChumpyStandIn,), {"_qualname": f"{module}.{name}", "__module__": __name__}
        )
    return _chumpy_classes[key]


_SPARSE_NAMES = {
    f"{fmt}_{kind}": fmt for fmt in ("csc", "csr", "coo") for kind in ("matrix", "array")
}


def _sparse_standin(module: str, name: str) -> type[_SparseStandIn]:
    key = (module, name)
    if key not in _sparse_classes:
        _sparse_classes[key] = type(
            name,
            (_SparseStandIn,),
            {"_qualname": f"{module}.{name}", "_format": _SPARSE_NAMES[name], "__module__": __name__},
        )
    return _sparse_classes[key]


# --------------------------------------------------------------------------
# The restricted unpickler
# --------------------------------------------------------------------------

# Python-2 module names as they appear in the original files.
_MODULE_ALIASES = {"__builtin__": "builtins", "copy_reg": "copyreg"}

_ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        # numpy arrays, dtypes and scalars (numpy 1.x and 2.x spellings)
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # default reduction of new-style objects with protocols 0 and 1
        ("copyreg", "_reconstructor"),
        # bytes written by Python 3 at protocols < 3
        ("_codecs", "encode"),
        # containers and plain values
        ("builtins", "object"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "list"),
        ("builtins", "dict"),
        ("builtins", "tuple"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("builtins", "slice"),
    }
)


def _is_chumpy_module(module: str) -> bool:
    return module == "chumpy" or module.startswith("chumpy.")


def _import_attr(module: str, name: str) -> Any:
    """Import ``module.name``, preferring numpy 2's ``numpy._core`` spelling."""
    if module.startswith("numpy.core."):
        try:
            return getattr(importlib.import_module("numpy._core." + module[len("numpy.core."):]), name)
        except (ImportError, AttributeError):
            pass
    return getattr(importlib.import_module(module), name)


class SMPLUnpickler(pickle.Unpickler):
    """Unpickler for SMPL ``.pkl`` files that needs neither chumpy nor trust.

    * Classes from the ``chumpy`` package become recording stand-ins (chumpy is
      never imported); :func:`load_smpl_pickle` converts them to arrays.
    * ``scipy.sparse`` csc/csr/coo matrices become recording stand-ins that
      :func:`load_smpl_pickle` converts to dense arrays.
    * numpy array/dtype/scalar reconstruction, ``copyreg._reconstructor``,
      ``_codecs.encode`` and builtin containers resolve normally.
    * Every other global raises :class:`pickle.UnpicklingError` naming it.

    Use ``encoding='latin1'`` (the default here) for the Python-2 originals.
    """

    def __init__(self, file: IO[bytes], *, encoding: str = "latin1") -> None:
        super().__init__(file, encoding=encoding)

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global if it is on the allow-list, else refuse it."""
        module = _MODULE_ALIASES.get(module, module)
        if _is_chumpy_module(module):
            return _chumpy_standin(module, name)
        if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and name in _SPARSE_NAMES:
            return _sparse_standin(module, name)
        if (module, name) in _ALLOWED_GLOBALS:
            try:
                return _import_attr(module, name)
            except (ImportError, AttributeError) as exc:
                raise pickle.UnpicklingError(f"cannot resolve allowed global '{module}.{name}': {exc}") from exc
        raise pickle.UnpicklingError(
            f"refusing to load forbidden global '{module}.{name}': SMPL files only "
            "need numpy arrays, scipy.sparse matrices, chumpy arrays and builtin "
            "containers (pickles can run code, so nothing else is resolved)"
        )


# --------------------------------------------------------------------------
# Turning stand-ins into arrays
# --------------------------------------------------------------------------


def _state_dict(obj: _Captured) -> dict[str, Any]:
    """The recorded state of a stand-in as a dict (``{}`` if none)."""
    state = obj._state
    if isinstance(state, dict):
        return state
    if state is None:
        return dict(obj._kwargs)
    return {}


def _sparse_to_dense(obj: _SparseStandIn) -> np.ndarray:
    import scipy.sparse as sp

    st = _state_dict(obj)
    shape = st.get("_shape", st.get("shape"))
    if shape is None:
        raise ValueError(f"{obj._qualname} without a shape")
    shape = tuple(int(s) for s in shape)
    data = np.asarray(st["data"])
    if obj._format in ("csc", "csr"):
        cls = sp.csc_matrix if obj._format == "csc" else sp.csr_matrix
        mat = cls((data, np.asarray(st["indices"]), np.asarray(st["indptr"])), shape=shape)
    else:
        if "coords" in st:
            row, col = (np.asarray(c) for c in st["coords"])
        else:
            row, col = np.asarray(st["row"]), np.asarray(st["col"])
        mat = sp.coo_matrix((data, (row, col)), shape=shape)
    return np.asarray(mat.toarray())


_CHUMPY_UNARY = {
    "negative": np.negative,
    "square": np.square,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "absolute": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "sign": np.sign,
    "reciprocal": np.reciprocal,
}
_CHUMPY_BINARY = {  # class name -> (operand names, function)
    "add": (("a", "b"), np.add),
    "subtract": (("a", "b"), np.subtract),
    "multiply": (("a", "b"), np.multiply),
    "dot": (("a", "b"), np.dot),
    "divide": (("x1", "x2"), np.divide),
}


class _Resolver:
    """Evaluates chumpy/sparse stand-ins to numpy arrays (memoised)."""

    def __init__(self) -> None:
        self._done: dict[int, Any] = {}
        self._busy: set[int] = set()

    def value(self, obj: Any) -> Any:
        """Return ``obj`` with every stand-in inside replaced by an array."""
        if isinstance(obj, _Captured):
            key = id(obj)
            if key in self._done:
                return self._done[key]
            if key in self._busy:
                raise ValueError(f"cyclic reference through {obj._qualname}")
            self._busy.add(key)
            try:
                if isinstance(obj, _SparseStandIn):
                    result: Any = _sparse_to_dense(obj)
                else:
                    result = self._chumpy(obj)
            finally:
                self._busy.discard(key)
            self._done[key] = result
            return result
        if isinstance(obj, dict):
            return {k: self.value(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.value(v) for v in obj)
        if isinstance(obj, (set, frozenset)):
            return obj  # sets cannot hold arrays; leave them alone
        return obj

    def _array(self, obj: Any) -> np.ndarray:
        return np.asarray(self.value(obj))

    def _chumpy(self, obj: _ChumpyStandIn) -> np.ndarray:
        """Numeric value of one chumpy object, as chumpy's ``.r`` would give."""
        name = obj._qualname.rsplit(".", 1)[-1]
        state = obj._state
        if isinstance(state, (np.ndarray, np.generic, int, float)):
            return np.asarray(state)  # a custom reduction that pickled the array itself
        st = _state_dict(obj)
        if not st and obj._args and name == "Ch":
            return self._array(obj._args[0])  # pickled as Ch(array)
        if name == "Ch":
            if "x" in st:
                return self._array(st["x"])
            for attr in ("r", "_r", "a"):
                if attr in st:
                    return self._array(st[attr])
            raise ValueError(f"{obj._qualname} without a value (keys: {sorted(st)})")
        if name == "Select" and "a" in st and "idxs" in st:
            out = self._array(st["a"]).ravel()[np.asarray(st["idxs"])].copy()
            shape = st.get("preferred_shape")
            return out.reshape(shape) if shape is not None else out
        if name == "Reshape" and "a" in st and "newshape" in st:
            return self._array(st["a"]).reshape(st["newshape"])
        if name == "transpose" and "a" in st:
            return np.ascontiguousarray(np.transpose(self._array(st["a"]), axes=st.get("axes")))
        if name in _CHUMPY_UNARY and "x" in st:
            return np.asarray(_CHUMPY_UNARY[name](self._array(st["x"])))
        if name in _CHUMPY_BINARY:
            (first, second), func = _CHUMPY_BINARY[name]
            if first in st and second in st:
                return np.asarray(func(self._array(st[first]), self._array(st[second])))
        # Another Ch subclass that merely holds data: its 'x' is a raw array.
        # (An expression node's operands are always chumpy objects themselves.)
        if "x" in st and not isinstance(st["x"], _Captured):
            return np.asarray(st["x"])
        raise ValueError(
            f"unsupported chumpy object {obj._qualname} (state keys: {sorted(st)}); "
            "convert the file once where chumpy imports, replacing each chumpy value v by np.array(v)"
        )


def load_smpl_pickle(source: str | os.PathLike[str] | IO[bytes]) -> Any:
    """Unpickle an SMPL ``.pkl`` with :class:`SMPLUnpickler`, chumpy-free.

    Args:
        source: a path or a binary file object.

    Returns:
        The unpickled object (a ``dict`` for SMPL files) in which every chumpy
        object is a numpy array (the value chumpy's ``.r`` would return) and
        every ``scipy.sparse`` matrix is a dense numpy array; everything else
        is as pickled.

    Raises:
        pickle.UnpicklingError: the pickle names a forbidden global or is corrupt.
        ValueError: a chumpy object could not be evaluated.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            raw = SMPLUnpickler(fh).load()
    else:
        raw = SMPLUnpickler(source).load()
    return _Resolver().value(raw)


# --------------------------------------------------------------------------
# Reading and validating
# --------------------------------------------------------------------------


def _is_numeric_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


def _validate(
    raw: Mapping[str, Any], path: str | os.PathLike[str] | None, num_betas: int
) -> dict[str, np.ndarray]:
    """Check SMPL arrays and return clean copies (see :func:`read_smpl_file`)."""
    if not isinstance(raw, Mapping):
        raise SMPLFileError(path, f"expected a dict of arrays, found {type(raw).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise SMPLFileError(path, f"missing key(s) {missing} (found {sorted(map(str, raw))})")

    out: dict[str, np.ndarray] = {}
    for key in REQUIRED_KEYS:
        value = raw[key]
        if "scipy.sparse" in type(value).__module__:
            value = value.toarray()
        try:
            arr = np.asarray(value)
        except Exception as exc:  # noqa: BLE001 - report any conversion failure
            raise SMPLFileError(path, f"'{key}' is not an array ({type(value).__name__}: {exc})") from exc
        if arr.dtype.kind not in "biuf":
            raise SMPLFileError(path, f"'{key}' is not numeric (dtype {arr.dtype}, type {type(value).__name__})")
        out[key] = arr

    v_template = out["v_template"]
    if v_template.ndim != 2 or v_template.shape[1] != 3 or v_template.shape[0] < 1:
        raise SMPLFileError(path, f"'v_template' has shape {v_template.shape}, expected (V, 3)")
    n_verts = v_template.shape[0]

    def check_shape(key: str, expected: tuple[int | str, ...]) -> None:
        arr = out[key]
        ok = arr.ndim == len(expected) and all(
            isinstance(e, str) or s == e for s, e in zip(arr.shape, expected)
        )
        if not ok:
            shown = ", ".join(str(e) for e in expected)
            raise SMPLFileError(
                path, f"'{key}' has shape {arr.shape}, expected ({shown}) with V={n_verts} from v_template"
            )

    check_shape("shapedirs", (n_verts, 3, "K"))
    n_shape = out["shapedirs"].shape[2]
    need = max(MIN_SHAPE_COMPONENTS, num_betas)
    if n_shape < need:
        raise SMPLFileError(path, f"'shapedirs' has {n_shape} shape components, need at least {need}")
    check_shape("posedirs", (n_verts, 3, NUM_POSE_BASIS))
    check_shape("J_regressor", (NUM_JOINTS, n_verts))
    check_shape("weights", (n_verts, NUM_JOINTS))
    check_shape("kintree_table", (2, NUM_JOINTS))
    check_shape("f", ("F", 3))

    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        if not np.all(np.isfinite(out[key])):
            raise SMPLFileError(path, f"'{key}' contains NaN or infinite values")

    kintree = out["kintree_table"]
    if kintree.dtype.kind == "f" and not np.array_equal(kintree, np.round(kintree)):
        raise SMPLFileError(path, "'kintree_table' holds non-integer values")
    kintree = kintree.astype(np.int64)
    if not np.array_equal(kintree[1], np.arange(NUM_JOINTS)):
        raise SMPLFileError(path, f"'kintree_table' row 1 is {kintree[1].tolist()}, expected 0..{NUM_JOINTS - 1}")
    parents = kintree[0, 1:]
    bad = [j + 1 for j, p in enumerate(parents) if not 0 <= p <= j]
    if bad:
        raise SMPLFileError(path, f"'kintree_table' gives joints {bad} a parent that is not an earlier joint")

    faces = out["f"]
    if faces.dtype.kind == "f" and not np.array_equal(faces, np.round(faces)):
        raise SMPLFileError(path, "'f' holds non-integer vertex indices")
    faces = faces.astype(np.int64)
    if faces.size and (faces.min() < 0 or faces.max() >= n_verts):
        raise SMPLFileError(
            path, f"'f' indexes vertices {faces.min()}..{faces.max()}, but there are only {n_verts}"
        )

    result: dict[str, np.ndarray] = {
        "v_template": np.array(out["v_template"]),
        "shapedirs": np.ascontiguousarray(out["shapedirs"][:, :, :num_betas]),
        "posedirs": np.array(out["posedirs"]),
        "J_regressor": np.array(out["J_regressor"], dtype=np.result_type(out["J_regressor"].dtype, np.float32)),
        "weights": np.array(out["weights"]),
        "kintree_table": kintree,
        "f": faces,
    }
    for key, value in raw.items():
        if key in result or not isinstance(key, str):
            continue
        if "scipy.sparse" in type(value).__module__:
            value = value.toarray()
        if _is_numeric_array(value):
            result[key] = np.array(value)
    return result


def _sniff_npz(path: pathlib.Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def read_smpl_file(path: str | os.PathLike[str], *, num_betas: int = MIN_SHAPE_COMPONENTS) -> dict[str, np.ndarray]:
    """Read an SMPL model (``.pkl`` original or ``.npz``) into numpy arrays.

    Works without chumpy (see :class:`SMPLUnpickler`). The format is detected
    from the file's content (a zip archive is an ``.npz``, anything else is
    unpickled), not from its suffix.

    Args:
        path: an SMPL file such as ``SMPL_NEUTRAL.pkl``,
            ``basicModel_neutral_lbs_10_207_0_v1.0.0.pkl``, an SMPL v1.1 file
            with 300 shape components, or an ``.npz`` with the same keys.
            Use :func:`find_smpl_file` to resolve a directory first.
        num_betas: how many shape components to keep (the first ones);
            default 10. The file must have at least that many.

    Returns:
        A dict of plain numpy arrays (no chumpy, no sparse matrices):
        ``v_template (V, 3)``, ``shapedirs (V, 3, num_betas)``,
        ``posedirs (V, 3, 207)``, ``J_regressor (24, V)`` dense float,
        ``weights (V, 24)``, ``kintree_table (2, 24)`` int64 and
        ``f (F, 3)`` int64 (official files: V=6890, F=13776). Floating-point
        arrays keep their stored dtype (float64 in the official files). Other
        numeric arrays in the file (e.g. ``J``, ``J_regressor_prior``,
        ``weights_prior``, ``vert_sym_idxs``) are passed through, sparse ones
        made dense; non-numeric entries (``bs_style``, ``pose_training_info``)
        are dropped.

    Raises:
        SMPLFileError: the file is missing, unreadable, or its arrays do not
            have SMPL's keys/shapes (V taken from ``v_template``, 24 joints,
            207 pose blend shapes, at least 10 shape components).
        SMPLUnpicklingError: the pickle references a forbidden global (also a
            :class:`pickle.UnpicklingError`).
    """
    if num_betas < 1:
        raise ValueError(f"num_betas must be >= 1, got {num_betas}")
    p = pathlib.Path(path)
    if not p.exists():
        raise SMPLFileError(p, "file does not exist")
    if not p.is_file():
        raise SMPLFileError(p, "is not a file (use find_smpl_file to search a directory)")
    try:
        if _sniff_npz(p):
            try:
                with np.load(p, allow_pickle=False) as npz:
                    raw: Any = {k: npz[k] for k in npz.files}
            except ValueError as exc:
                raise SMPLFileError(
                    p, f"the .npz holds pickled objects, which are not loaded ({exc}); re-create it with write_smpl_npz"
                ) from exc
        else:
            raw = load_smpl_pickle(p)
    except SMPLFileError:
        raise
    except pickle.UnpicklingError as exc:
        raise SMPLUnpicklingError(p, f"cannot be unpickled safely: {exc}") from exc
    except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError, IndexError, ImportError) as exc:
        raise SMPLFileError(p, f"cannot be read ({type(exc).__name__}: {exc})") from exc
    return _validate(raw, p, num_betas)


def find_smpl_file(path: str | os.PathLike[str]) -> pathlib.Path:
    """Resolve an SMPL model file from a file or directory path.

    A file is returned as is. In a directory the names of
    :data:`SEARCH_NAMES` (``SMPL_NEUTRAL.pkl``, then
    ``basicModel_neutral_lbs_10_207_0_v1.0.0.pkl``, then ``SMPL_NEUTRAL.npz``)
    are tried in the directory itself, then in its ``smpl/`` subdirectory;
    the first that exists wins.

    Raises:
        SMPLFileError: nothing found; the message lists every path tried and
            says where to download SMPL.
    """
    p = pathlib.Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise SMPLFileError(p, "path does not exist")
    if not p.is_dir():
        raise SMPLFileError(p, "is neither a file nor a directory")
    tried = [folder / name for folder in (p, p / "smpl") for name in SEARCH_NAMES]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    listing = ", ".join(f"'{c}'" for c in tried)
    raise SMPLFileError(p, f"directory holds no SMPL model file; looked for {listing}")


def write_smpl_npz(
    data: Mapping[str, Any], path: str | os.PathLike[str], *, compressed: bool = True
) -> pathlib.Path:
    """Write SMPL arrays to a chumpy-free ``.npz`` (readable without pickle).

    ``data`` is validated like a file (see :func:`read_smpl_file`), keeping
    all its shape components; ``J_regressor`` is written dense. The file is
    written to a temporary name and then moved into place.

    The result is read back with :func:`read_smpl_file` (and used with
    :func:`build_smplx_smpl`). Note that smplx 0.1.28's ``smplx.SMPL`` cannot
    load it by path: ``SMPL`` ignores ``ext`` and always unpickles
    ``model_path`` (or ``<dir>/SMPL_<GENDER>.pkl``).

    Args:
        data: SMPL arrays, e.g. the output of :func:`read_smpl_file`.
        path: destination; must end in ``.npz``.
        compressed: use ``np.savez_compressed`` (smaller, slightly slower to read).

    Returns:
        The path written.
    """
    p = pathlib.Path(path)
    if p.suffix != ".npz":
        raise ValueError(f"write_smpl_npz writes .npz files; got '{p}'")
    shapedirs = data.get("shapedirs") if isinstance(data, Mapping) else None
    n_shape = MIN_SHAPE_COMPONENTS
    if shapedirs is not None and np.ndim(shapedirs) == 3:
        n_shape = max(int(np.shape(shapedirs)[-1]), 1)  # keep every component
    arrays = _validate(data, None, n_shape)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return p


def build_smplx_smpl(
    data: Mapping[str, Any],
    num_betas: int = MIN_SHAPE_COMPONENTS,
    dtype: torch.dtype | None = None,
    *,
    batch_size: int = 1,
    extra_joints: bool = False,
    gender: str = "neutral",
    **kwargs: Any,
) -> smplx.SMPL:
    """Build ``smplx.SMPL`` from arrays already read, without any pickle.

    The arrays go in through smplx's ``data_struct`` argument (a namespace
    with ``v_template``, ``shapedirs``, ``posedirs``, ``J_regressor``,
    ``weights``, ``kintree_table`` and ``f``), so ``model_path`` is never
    opened. smplx's print-out about files with only 10 shape components is
    silenced.

    Args:
        data: SMPL arrays, e.g. from :func:`read_smpl_file`; validated again.
        num_betas: shape components to use; ``data['shapedirs']`` must have
            at least that many (else :class:`SMPLFileError`).
        dtype: torch dtype of the model buffers (default ``torch.float32``).
        batch_size: batch size of smplx's default parameters.
        extra_joints: ``False`` (default): ``output.joints`` holds exactly the
            24 SMPL joints. ``True``: smplx's usual 45 (24 + 21 joints picked
            from vertices of the official 6890-vertex mesh).
        gender: stored on the module for display only.
        **kwargs: passed on to ``smplx.SMPL`` (e.g. ``create_transl=False``).

    Returns:
        A ``smplx.SMPL`` module whose forward gives ``vertices (B, V, 3)`` and
        ``joints (B, 24, 3)`` (or 45 with ``extra_joints``).
    """
    if num_betas < 1:
        raise ValueError(f"num_betas must be >= 1, got {num_betas}")
    arrays = _validate(data, None, num_betas)

    import smplx
    import torch

    if dtype is None:
        dtype = torch.float32
    struct = types.SimpleNamespace(**arrays)
    with contextlib.redirect_stdout(io.StringIO()):
        model = smplx.SMPL(
            model_path="",
            data_struct=struct,
            num_betas=num_betas,
            dtype=dtype,
            batch_size=batch_size,
            gender=gender,
            **kwargs,
        )
    selector = model.vertex_joint_selector
    if extra_joints:
        n_verts = arrays["v_template"].shape[0]
        idxs = selector.extra_joints_idxs
        if idxs.numel() and int(idxs.max()) >= n_verts:
            raise ValueError(
                f"extra_joints needs the official SMPL mesh; this one has {n_verts} vertices "
                f"but smplx picks vertex {int(idxs.max())}"
            )
    else:
        selector.extra_joints_idxs = torch.zeros(0, dtype=torch.long, device=selector.extra_joints_idxs.device)
    return model
