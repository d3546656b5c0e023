"""Real data: SPIN-style ``.npz`` annotation files plus an image folder, and dataset mixing.

SPIN ``.npz`` format
--------------------
One entry per person crop (``N`` entries):

* ``imgname`` ``(N,)`` str: image path relative to the dataset's image root.
* ``center`` ``(N, 2)``: box centre ``(x, y)`` in full-image pixels.
* ``scale`` ``(N,)``: box side / 200 (the box is the square of side
  ``200 * scale`` centred on ``center``; SPIN's files already include a ~1.2
  enlargement of the tight person box).
* ``part`` ``(N, 24, 3)`` (optional here): 2D keypoints ``[x, y, conf]`` in the
  24-joint order :data:`SPIN24_NAMES` (LSP-14, then pelvis, thorax, spine, H36M
  jaw, H36M head, nose, eyes, ears).
* ``S`` ``(N, 24, 4)`` (optional): 3D joints ``[x, y, z, conf]`` in metres, same order.
* ``pose`` ``(N, 72)``, ``shape`` ``(N, 10)``, ``has_smpl`` ``(N,)`` (optional):
  SMPL parameters (axis-angle), for the licensed SMPL model.
* ``openpose`` ``(N, 25, 3)`` (optional, unused here).

Pixel convention
----------------
SPIN crops images and keypoints with the same affine map of pixel *indices*
(``crop(img, center, scale)`` and ``transform(kp, center, scale)``), so the
annotations are in OpenCV's convention, where pixel ``(row i, column j)`` has
its centre at ``(j, i)``. This project's convention
(:mod:`model.geometry.camera`) puts that centre at ``(j + 0.5, i + 0.5)``; the
loader adds ``0.5`` to ``center`` and ``part`` and then uses the project's crop
helpers, so the crop and the keypoints agree exactly.

Samples
-------
:class:`SpinNpzDataset` returns dicts with the keys :data:`SAMPLE_KEYS`, the
same as the synthetic dataset (see that class for shapes).

Training
--------
:class:`RealTrainingSet` turns those samples into RSC-Net training samples
(``data.source: real`` in a training config, see :mod:`model.train.config`): the
crop at ``K`` degraded resolutions (:class:`~model.data.dataset.ResolutionTransform`,
seeded per entry and epoch), the trainer's ground-truth keys, and a per-joint
``joints3d_conf`` so that only the annotated LSP-14 joints carry 3D supervision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from model.body.joint_names import COCO17_NAMES, HIPS, LSP14_NAMES
from model.data.dataset import ResolutionConfig, ResolutionTransform
from model.data.synthetic import generator_for
from model.geometry.camera import crop_affine, full_to_crop

__all__ = [
    "COCO17_FROM_SPIN24",
    "REAL_DATASETS",
    "SAMPLE_KEYS",
    "SPIN24_NAMES",
    "MixedDataset",
    "RealDatasetInfo",
    "RealTrainingSet",
    "SpinNpzDataset",
    "crop_image",
    "default_npz_path",
    "load_spin_npz",
    "normalise_dataset_name",
]

#: SPIN's 24 ground-truth joints (``part`` and ``S``): LSP-14 first, then the extra joints.
SPIN24_NAMES: tuple[str, ...] = LSP14_NAMES + (
    "pelvis", "thorax", "spine", "h36m_jaw", "h36m_head", "nose", "left_eye", "right_eye",
    "left_ear", "right_ear",
)  # fmt: skip

#: ``coco17 = spin24[COCO17_FROM_SPIN24]``: face points from the extra joints, limbs from LSP-14.
COCO17_FROM_SPIN24: tuple[int, ...] = tuple(SPIN24_NAMES.index(n) for n in COCO17_NAMES)

#: Keys of every sample (real or synthetic).
SAMPLE_KEYS: tuple[str, ...] = (
    "image", "keypoints2d_coco17", "keypoints2d_lsp14", "joints3d_lsp14", "has_joints3d",
    "betas", "pose", "has_smpl", "dataset", "index",
)  # fmt: skip

_SPIN_BOX_UNIT = 200.0


@dataclass(frozen=True)
class RealDatasetInfo:
    """What SPIN's preprocessed files of a dataset hold.

    Attributes:
        name: canonical name (key of :data:`REAL_DATASETS`).
        train_file: SPIN's training ``.npz`` file name, or ``None``.
        test_file: SPIN's evaluation ``.npz`` file name, or ``None``.
        has_joints3d: the files carry 3D joints ``S``.
        has_smpl: the files carry SMPL ``pose``/``shape`` (MoSh or ground truth;
            only meaningful with the licensed SMPL model).
        has_face_keypoints: nose/eyes/ears are annotated (COCO).
    """

    name: str
    train_file: str | None
    test_file: str | None
    has_joints3d: bool
    has_smpl: bool
    has_face_keypoints: bool = False


#: The datasets RSC-Net (following SPIN) trains and evaluates on, with SPIN's file names.
REAL_DATASETS: dict[str, RealDatasetInfo] = {
    "h36m": RealDatasetInfo("h36m", "h36m_train.npz", "h36m_valid_protocol2.npz", True, True),
    "h36m_p1": RealDatasetInfo("h36m_p1", None, "h36m_valid_protocol1.npz", True, False),
    "mpi_inf_3dhp": RealDatasetInfo("mpi_inf_3dhp", "mpi_inf_3dhp_train.npz", "mpi_inf_3dhp_valid.npz", True, True),
    "3dpw": RealDatasetInfo("3dpw", None, "3dpw_test.npz", False, True),
    "lsp": RealDatasetInfo("lsp", "lsp_dataset_original_train.npz", "lsp_dataset_test.npz", False, False),
    "lspet": RealDatasetInfo("lspet", "hr-lspet_train.npz", None, False, False),
    "mpii": RealDatasetInfo("mpii", "mpii_train.npz", None, False, False),
    "coco": RealDatasetInfo("coco", "coco_2014_train.npz", None, False, False, True),
}

_ALIASES = {"pw3d": "3dpw", "h36m_p2": "h36m", "mpi_inf": "mpi_inf_3dhp", "3dhp": "mpi_inf_3dhp", "lsp_orig": "lsp"}


def normalise_dataset_name(name: str) -> str:
    """Canonical dataset name: lower case, ``-`` -> ``_``, a few aliases (``mpi-inf-3dhp``, ``pw3d``)."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in REAL_DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(REAL_DATASETS)}")
    return key


def default_npz_path(name: str, npz_root: str | Path, split: str = "train") -> Path:
    """``npz_root / <SPIN's file name>`` of dataset ``name`` for ``split`` (``"train"`` or ``"test"``)."""
    info = REAL_DATASETS[normalise_dataset_name(name)]
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    filename = info.train_file if split == "train" else info.test_file
    if filename is None:
        raise ValueError(f"SPIN has no {split} file for dataset {info.name!r}")
    return Path(npz_root) / filename


def load_spin_npz(npz_path: str | Path) -> dict[str, np.ndarray]:
    """Read and check a SPIN annotation file.

    Returns:
        dict with ``imgname`` (list of str), ``center`` ``(N, 2)``, ``scale``
        ``(N,)``, ``part`` ``(N, 24, 3)`` (zeros when absent) and, when present,
        ``S`` ``(N, 24, 4)``, ``pose`` ``(N, 72)``, ``shape`` ``(N, 10)``,
        ``has_smpl`` ``(N,)``; all float32 except ``imgname``.

    Raises:
        FileNotFoundError: ``npz_path`` does not exist (the message names it).
        ValueError: a required key is missing or a shape is wrong (naming the file).
    """
    path = Path(npz_path)
    if not path.is_file():
        raise FileNotFoundError(f"SPIN annotation file not found: {path}")
    try:
        data_file = np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile/pickle/format errors do not name the file
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    if not hasattr(data_file, "files"):
        raise ValueError(f"{path}: expected an .npz archive, found a single array")
    with data_file as data:
        keys = set(data.files)
        missing = {"imgname", "center", "scale"} - keys
        if missing:
            raise ValueError(f"{path}: missing keys {sorted(missing)} (has {sorted(keys)})")
        try:
            imgname = data["imgname"]
        except ValueError:  # an object array of names: needs pickle
            with np.load(path, allow_pickle=True) as data_obj:
                imgname = data_obj["imgname"]
        out: dict[str, Any] = {"imgname": [str(s) for s in np.asarray(imgname).reshape(-1)]}
        n = len(out["imgname"])
        expected = {
            "center": (n, 2),
            "scale": (n,),
            "part": (n, 24, 3),
            "S": (n, 24, 4),
            "pose": (n, 72),
            "shape": (n, 10),
            "has_smpl": (n,),
        }
        for key, shape in expected.items():
            if key not in keys:
                continue
            arr = np.asarray(data[key], dtype=np.float32)
            if key == "scale" and arr.shape == (n, 1):
                arr = arr[:, 0]
            if arr.shape != shape:
                raise ValueError(f"{path}: {key} has shape {arr.shape}, expected {shape}")
            out[key] = arr
    if "part" not in out:
        out["part"] = np.zeros((n, 24, 3), dtype=np.float32)
    if not np.all(out["scale"] > 0):
        raise ValueError(f"{path}: every scale must be positive")
    return out


def crop_image(image: np.ndarray, bbox: Tensor | np.ndarray, size: int, antialias: bool = True) -> np.ndarray:
    """Square crop of an image, resampled to ``size x size`` (outside the image: black).

    The crop is :func:`model.geometry.camera.crop_affine`'s: box ``(x0, y0, w, h)``
    in this project's pixel convention, side ``max(w, h)``. With ``antialias``
    and a box more than twice the output size, the box is first warped
    (bilinear) to ``k * size`` pixels, ``k = min(ceil(side / size), 4)``, then
    averaged in ``k x k`` blocks (``cv2.INTER_AREA`` at an integer ratio) so
    that downscaling does not alias; the pixel grid is the same either way.

    Args:
        image: ``(H, W, C)`` or ``(H, W)`` array (any dtype OpenCV warps).
        bbox: ``(4,)`` box ``(x0, y0, w, h)``.
        size: output side in pixels.
        antialias: see above.

    Returns:
        ``(size, size, C)`` (or ``(size, size)``) array of the input's dtype.
    """
    box = torch.as_tensor(np.asarray(bbox, dtype=np.float64)).reshape(1, 4)
    side = float(max(box[0, 2], box[0, 3]))
    k = 1
    if antialias and side > 2 * size:
        k = min(int(math.ceil(side / size)), 4)
    inter = size * k
    mat = crop_affine(box, inter, cv2_pixel_centres=True)[0].numpy()
    crop = cv2.warpAffine(
        image, mat, (inter, inter), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    if k > 1:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return crop


class SpinNpzDataset(torch.utils.data.Dataset):
    """Person crops and annotations from a SPIN ``.npz`` file and its image folder.

    Each sample is a dict with the keys :data:`SAMPLE_KEYS`:

    * ``image`` ``(3, S, S)`` float32 RGB in ``[0, 1]``: the square box of side
      ``200 * scale * scale_factor`` around ``center``, resampled to
      ``S = input_size`` (see :func:`crop_image`).
    * ``keypoints2d_coco17`` ``(17, 3)`` and ``keypoints2d_lsp14`` ``(14, 3)``:
      ``[x, y, vis]`` in crop pixels (project convention), ``vis`` the file's
      confidence; unannotated joints are all zeros; joints outside the crop keep
      their confidence (as in SPIN) unless ``visible_inside_only``.
      COCO-17 takes nose/eyes/ears from SPIN's extra joints, the rest from LSP-14.
    * ``joints3d_lsp14`` ``(14, 3)``: metres, minus the mean of the two hips, when
      the file has ``S`` and all 14 joints are annotated; else zeros.
    * ``has_joints3d``: float32 scalar 1/0.
    * ``betas`` ``(10,)``, ``pose`` ``(24, 3)`` axis-angle: the file's SMPL
      parameters when present, else zeros.
    * ``has_smpl``: float32 scalar, 1 only with ``use_smpl=True`` and SMPL
      parameters for this entry (SPIN's parameters belong to the licensed SMPL
      model, not to the project's free body model, so they are off by default).
    * ``dataset``: the dataset name (str); ``index``: the entry index (int).

    Args:
        npz_path: the annotation file.
        image_root: folder the ``imgname`` paths are relative to.
        input_size: crop side ``S`` in pixels.
        dataset_name: name stored in ``dataset`` (defaults to the file's stem);
            a known name (:data:`REAL_DATASETS`) is canonicalised.
        scale_factor: extra enlargement of SPIN's box (1.0 = SPIN's crops).
        use_smpl: allow ``has_smpl = 1``.
        antialias: antialiased downscaling of large boxes (see :func:`crop_image`).
        visible_inside_only: set ``vis = 0`` for keypoints outside the crop
            ``[0, S)^2`` (the synthetic data's definition of visible).
    """

    def __init__(
        self,
        npz_path: str | Path,
        image_root: str | Path,
        input_size: int = 224,
        dataset_name: str | None = None,
        scale_factor: float = 1.0,
        use_smpl: bool = False,
        antialias: bool = True,
        visible_inside_only: bool = False,
    ) -> None:
        if input_size < 1:
            raise ValueError(f"input_size must be positive, got {input_size}")
        if scale_factor <= 0:
            raise ValueError(f"scale_factor must be positive, got {scale_factor}")
        self.npz_path = Path(npz_path)
        self.image_root = Path(image_root)
        if not self.image_root.is_dir():
            raise FileNotFoundError(f"image root folder not found: {self.image_root}")
        self.input_size = int(input_size)
        self.scale_factor = float(scale_factor)
        self.use_smpl = bool(use_smpl)
        self.antialias = bool(antialias)
        self.visible_inside_only = bool(visible_inside_only)
        if dataset_name is None:
            dataset_name = self.npz_path.stem
        try:
            dataset_name = normalise_dataset_name(dataset_name)
        except KeyError:
            pass
        self.dataset_name = dataset_name
        self.data = load_spin_npz(self.npz_path)
        n = len(self.data["imgname"])
        if "has_smpl" in self.data:
            self._has_smpl = self.data["has_smpl"] > 0
        else:
            self._has_smpl = np.full(n, "pose" in self.data and "shape" in self.data)

    def __len__(self) -> int:
        return len(self.data["imgname"])

    def image_path(self, index: int) -> Path:
        """Full path of entry ``index``'s image."""
        return self.image_root / self.data["imgname"][index]

    def bbox(self, index: int) -> np.ndarray:
        """``(4,)`` crop box ``(x0, y0, side, side)`` of entry ``index``, project pixel convention."""
        cx, cy = self.data["center"][index].astype(np.float64) + 0.5
        side = _SPIN_BOX_UNIT * float(self.data["scale"][index]) * self.scale_factor
        return np.array([cx - 0.5 * side, cy - 0.5 * side, side, side])

    def load_image(self, index: int) -> np.ndarray:
        """Entry ``index``'s full image, ``(H, W, 3)`` uint8 RGB.

        Raises:
            FileNotFoundError: the image file does not exist (the message names it).
            OSError: OpenCV cannot decode it.
        """
        path = self.image_path(index)
        if not path.is_file():
            raise FileNotFoundError(f"image not found: {path} (entry {index} of {self.npz_path})")
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f"could not decode image {path} (entry {index} of {self.npz_path})")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} entries")
        index = int(index) % len(self)
        size = self.input_size
        bbox = self.bbox(index)
        crop = crop_image(self.load_image(index), bbox, size, self.antialias)
        image = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float().div_(255.0)

        part = torch.from_numpy(self.data["part"][index].astype(np.float64))
        xy = full_to_crop((part[None, :, :2] + 0.5), torch.from_numpy(bbox)[None], size)[0]
        kp24 = torch.cat([xy, part[:, 2:3]], dim=-1).float()
        if self.visible_inside_only:
            inside = ((kp24[:, :2] >= 0) & (kp24[:, :2] < size)).all(-1)
            kp24[~inside, 2] = 0.0
        kp24[kp24[:, 2] <= 0] = 0.0

        joints3d = torch.zeros(14, 3)
        has_joints3d = 0.0
        if "S" in self.data:
            s = torch.from_numpy(self.data["S"][index][:14].astype(np.float32))
            if bool((s[:, 3] > 0).all()):
                hips = list(HIPS["lsp14"])
                joints3d = s[:, :3] - s[hips, :3].mean(0, keepdim=True)
                has_joints3d = 1.0

        pose = torch.zeros(24, 3)
        betas = torch.zeros(10)
        if "pose" in self.data:
            pose = torch.from_numpy(self.data["pose"][index].astype(np.float32)).reshape(24, 3)
        if "shape" in self.data:
            betas = torch.from_numpy(self.data["shape"][index].astype(np.float32))
        has_smpl = 1.0 if (self.use_smpl and bool(self._has_smpl[index])) else 0.0

        return {
            "image": image,
            "keypoints2d_coco17": kp24[list(COCO17_FROM_SPIN24)].clone(),
            "keypoints2d_lsp14": kp24[:14].clone(),
            "joints3d_lsp14": joints3d,
            "has_joints3d": torch.tensor(has_joints3d),
            "betas": betas,
            "pose": pose,
            "has_smpl": torch.tensor(has_smpl),
            "dataset": self.dataset_name,
            "index": index,
        }


class MixedDataset(torch.utils.data.Dataset):
    """A fixed-length mixture of datasets in given proportions, deterministic per index.

    Index ``i`` of the mixture maps to ``(source, item)``: exactly
    ``round(ratio_s * length)`` indices (largest-remainder rounding) go to each
    source, assigned in a seeded random order; a source's indices walk through
    seeded random permutations of its items (a new permutation each time it is
    used up), so items repeat only when a source supplies more than its length.
    The map depends only on ``(seed, epoch)``; :meth:`set_epoch` redraws it.

    Args:
        datasets: map-style datasets.
        ratios: non-negative weights, one per dataset (normalised).
        length: number of samples of the mixture.
        seed: seed of the map.
    """

    def __init__(self, datasets: Sequence[Any], ratios: Sequence[float], length: int, seed: int = 0) -> None:
        if len(datasets) == 0 or len(datasets) != len(ratios):
            raise ValueError(f"need as many ratios as datasets (>= 1), got {len(datasets)} and {len(ratios)}")
        r = np.asarray(ratios, dtype=np.float64)
        if np.any(r < 0) or not np.isfinite(r).all() or r.sum() <= 0:
            raise ValueError(f"ratios must be non-negative with a positive sum, got {list(ratios)}")
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        self.datasets = list(datasets)
        self.ratios = r / r.sum()
        self.length = int(length)
        self.seed = int(seed)
        for d, p in zip(self.datasets, self.ratios):
            if p > 0 and len(d) == 0:
                raise ValueError("a dataset with a positive ratio is empty")
        self.counts = self._counts()
        self.set_epoch(0)

    def _counts(self) -> np.ndarray:
        exact = self.ratios * self.length
        counts = np.floor(exact).astype(np.int64)
        rest = self.length - int(counts.sum())
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:rest]] += 1
        return counts

    def set_epoch(self, epoch: int) -> None:
        """Redraw the index map for ``epoch`` (epoch 0 is the map after construction)."""
        self.epoch = int(epoch)
        rng = np.random.default_rng([self.seed, self.epoch])
        sources = np.repeat(np.arange(len(self.datasets)), self.counts)
        self._source = rng.permutation(sources)
        self._item = np.zeros(self.length, dtype=np.int64)
        for s, count in enumerate(self.counts):
            if count == 0:
                continue
            n = len(self.datasets[s])
            reps = -(-int(count) // n)
            items = np.concatenate([rng.permutation(n) for _ in range(reps)])[:count]
            self._item[self._source == s] = items

    def __len__(self) -> int:
        return self.length

    def locate(self, index: int) -> tuple[int, int]:
        """``(source dataset, item index)`` of mixture index ``index``."""
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        return int(self._source[index]), int(self._item[index])

    def __getitem__(self, index: int) -> Any:
        s, j = self.locate(index)
        return self.datasets[s][j]


class RealTrainingSet(torch.utils.data.Dataset):
    """A :class:`SpinNpzDataset` as RSC-Net training samples (what ``data.source: real`` trains on).

    Sample ``i`` of epoch ``e``: entry ``i``'s crop at the ``K`` resolutions of ``resolution``
    (``images (K, 3, S, S)``, ``sizes (K,)``, ``range_index (K,)``, drawn from a generator seeded by
    ``seed``, ``e`` and ``i``), its keypoints rescaled to the network input, and the synthetic data's
    ground-truth keys: ``joints3d_smpl24 (24, 3)`` zeros (real files have no SMPL joints) and
    ``joints3d_conf (38,)`` - one per joint of the trainer's LSP-14 + SMPL-24 3D targets, 1 for the
    annotated LSP-14 joints and 0 elsewhere. ``index`` is the entry (the contrastive queue's id).

    Args:
        dataset: the annotations and images; its ``input_size`` is the crop side.
        resolution: resolutions per sample (``out_size`` = the network input).
        seed: seed of the degradation draws.
    """

    def __init__(self, dataset: SpinNpzDataset, resolution: ResolutionConfig, seed: int = 0) -> None:
        self.dataset = dataset
        self.transform = ResolutionTransform(resolution)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_active_ranges(self, active: tuple[int, ...]) -> None:
        """Restrict the resolution ranges (progressive training)."""
        cfg = self.transform.config
        self.transform = ResolutionTransform(ResolutionConfig(cfg.ranges, cfg.out_size, cfg.per_sample, tuple(active), cfg.degrade))

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.dataset[index]
        entry = int(sample.pop("index"))
        sample.pop("dataset")
        has3d = float(sample["has_joints3d"])
        sample["joints3d_smpl24"] = torch.zeros(24, 3)
        sample["joints3d_conf"] = torch.cat([torch.full((14,), has3d), torch.zeros(24)])
        sample["index"] = torch.tensor(entry, dtype=torch.int64)
        gen = generator_for(self.seed, "real-resolution", self.epoch * len(self) + entry)
        return self.transform.apply(sample, gen)
