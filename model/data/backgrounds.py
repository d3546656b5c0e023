"""Random backgrounds behind rendered people: crops of real still photos and procedural patterns.

Photo sources (any of them may be missing; procedural backgrounds always work):

* scikit-image's bundled sample images (``skimage/data``; found without importing skimage);
* the Debian package ``opencv-doc``'s sample images (``/usr/share/doc/opencv-doc/examples/data``);
* any directories passed as ``photo_dirs``.

Only still images are used.  **Video files are never read** (:data:`VIDEO_EXTENSIONS`; the
videos shipped with ``opencv-doc`` are reserved for evaluation), nor animated formats, nor images
that show people (we render our own people on top: a second, unlabelled person would be a wrong
training signal) or are masks / too small; see :data:`EXCLUDED_PHOTOS` and :func:`photo_excluded`.

Appearance pools (:mod:`model.data.pools`): ``pool="train"`` uses the photos of the
training pool and the room / gradient / blotch / stripe / shape scenes; ``pool="heldout"`` uses
the other photo files and procedural street scenes (road, kerb, pavement and a facade with
windows) that training never draws; ``pool=None`` (default) uses every photo found.

Photos are decoded once per process on first use, downscaled to at most ``max_side`` pixels on
the long side and kept as uint8 tensors.  Every sample is a deterministic function of the
``torch.Generator`` passed in (and of the photo files present).
"""

from __future__ import annotations

import colorsys
import importlib.util
import math
import os
import pathlib
import re
import threading
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from model.data.draws import BlockDraws

#: Extensions read as photos.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

#: Never read, whatever the directory: videos (reserved for evaluation) and animated formats.
VIDEO_EXTENSIONS = frozenset(
    {".avi", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ogv", ".gif", ".apng"}
)

#: Where Debian's ``opencv-doc`` puts its sample images.
OPENCV_DOC_DATA = pathlib.Path("/usr/share/doc/opencv-doc/examples/data")

#: Known sample images left out, by lower-case file name, with the reason.
EXCLUDED_PHOTOS: dict[str, str] = {
    # people
    "basketball1.png": "people (basketball players)",
    "basketball2.png": "people (basketball players)",
    "messi5.jpg": "person (football player)",
    "astronaut.png": "person (astronaut portrait)",
    "camera.png": "person (the cameraman)",
    "lena.jpg": "person (portrait)",
    "lena.png": "person (portrait)",
    "pic1.png": "human head silhouette",
    "templ.png": "human head silhouette",
    "ml.png": "humanoid cartoon figure",
    "no_time_for_that_tiny.gif": "person, animated GIF",
    # masks, label maps, synthetic test charts, microscopy / medical images
    "aloegt.png": "disparity ground truth, not a photo",
    "mask.png": "binary mask",
    "tmpl.png": "binary template",
    "horse.png": "binary silhouette",
    "phantom.png": "synthetic medical phantom",
    "digits.png": "sheet of handwritten digits (a data set)",
    "cell.png": "microscopy",
    "ihc.png": "microscopy",
    "microaneurysms.png": "medical (retina close-up)",
    "retina.jpg": "medical (retina)",
    "multipage.tif": "tiny multi-page test file",
    "multipage_rgb.tif": "tiny multi-page test file",
    "chessboard_gray.png": "tiny test chart",
    "chessboard_rgb.png": "tiny test chart",
}

#: Words in a file name that mark pictures of people (the name is split at non-letters).
PEOPLE_WORDS = frozenset(
    {
        "lena", "lenna", "messi", "basketball", "person", "persons", "people", "pedestrian", "pedestrians",
        "human", "humans", "face", "faces", "astronaut", "cameraman", "woman", "women", "man", "men",
        "girl", "girls", "boy", "boys", "player", "players", "lfw", "selfie", "portrait", "crowd", "walker",
    }
)  # fmt: skip

#: ``left01.jpg`` ... ``right14.jpg`` of opencv-doc: calibration boards held by a person.
_CALIBRATION = re.compile(r"^(left|right)\d+\.")

MIN_PHOTO_SIDE = 160


def photo_excluded(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not used as a background photo, or ``None`` when it may be."""
    p = pathlib.Path(path)
    name = p.name.lower()
    ext = p.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return "video or animated file"
    if ext not in IMAGE_EXTENSIONS:
        return "not a still image"
    if name in EXCLUDED_PHOTOS:
        return EXCLUDED_PHOTOS[name]
    if _CALIBRATION.match(name):
        return "calibration board held by a person"
    words = set(re.split(r"[^a-z]+", p.stem.lower()))
    if words & PEOPLE_WORDS:
        return "file name suggests people"
    return None


def skimage_data_dir() -> pathlib.Path | None:
    """scikit-image's sample-image directory, without importing scikit-image."""
    try:
        spec = importlib.util.find_spec("skimage")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        d = pathlib.Path(loc) / "data"
        if d.is_dir():
            return d
    return None


def default_photo_dirs() -> list[pathlib.Path]:
    """The photo directories found on this machine (scikit-image data, opencv-doc data).

    Warns (once per process) when ``opencv-doc`` is not installed: the scenes then draw from fewer
    photos, so renders -- training shards and every synthetic test set -- differ from those the
    committed checkpoints were trained and evaluated on (``apt-get install opencv-doc``).
    """
    if not OPENCV_DOC_DATA.is_dir():
        warnings.warn(
            f"{OPENCV_DOC_DATA} not found: Debian's opencv-doc is not installed, so backgrounds and photo "
            "textures draw from scikit-image's photos only and renders differ from the committed data and "
            "evaluations (apt-get install opencv-doc)",
            stacklevel=2,
        )
    dirs = [skimage_data_dir(), OPENCV_DOC_DATA]
    return [d for d in dirs if d is not None and d.is_dir()]


def list_photos(dirs: Iterable[str | os.PathLike[str]]) -> list[pathlib.Path]:
    """Usable photo files directly inside ``dirs`` (not recursive), sorted, excluding
    :func:`photo_excluded` ones."""
    out: set[pathlib.Path] = set()
    for d in dirs:
        d = pathlib.Path(d)
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if p.is_file() and photo_excluded(p) is None:
                out.add(p.resolve())
    return sorted(out)


def _load_photo(path: pathlib.Path, max_side: int) -> Tensor | None:
    """``(3, h, w)`` uint8 RGB, long side at most ``max_side``; ``None`` if unreadable or too small."""
    import cv2  # opencv-python-headless is a project dependency; imported lazily

    if path.suffix.lower() in VIDEO_EXTENSIONS:  # belt and braces: never decode a video
        return None
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None or min(img.shape[:2]) < MIN_PHOTO_SIDE:
        return None
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1)))


_PHOTO_CACHE: dict[tuple[tuple[str, ...], int], list[Tensor]] = {}
_PHOTO_LOCK = threading.Lock()


def load_photos(paths: Sequence[pathlib.Path], max_side: int = 512) -> list[Tensor]:
    """Decode ``paths`` once per process (cached); unreadable or too small files are dropped."""
    key = (tuple(str(p) for p in paths), int(max_side))
    with _PHOTO_LOCK:
        photos = _PHOTO_CACHE.get(key)
        if photos is None:
            photos = [t for t in (_load_photo(p, max_side) for p in paths) if t is not None]
            _PHOTO_CACHE[key] = photos
    return photos


# --------------------------------------------------------------------------------------------


def _fract(x: Tensor) -> Tensor:
    """``x - floor(x)`` in ``[0, 1)`` (``torch.frac`` keeps the sign of negative numbers)."""
    return x - torch.floor(x)


def _colour(r: BlockDraws, saturation: float = 0.45) -> Tensor:
    """A random scene colour, mostly muted; ``(3, 1, 1)``."""
    h = r.u()
    s = r.u() ** 2 * saturation if not r.chance(0.1) else r.u(0.4, 0.9)
    v = r.u(0.12, 0.92)
    return torch.tensor(colorsys.hsv_to_rgb(h, s, v), dtype=torch.float32).view(3, 1, 1)


class BackgroundSampler:
    """Draws ``(3, H, W)`` float32 backgrounds in ``[0, 1]``.

    Args:
        sources: any of ``"procedural"`` and ``"photos"``.
        photo_dirs: directories of still images; ``None`` = :func:`default_photo_dirs`.
        photo_prob: probability of a photo when both sources are enabled and photos exist.
        max_side: photos are kept downscaled to at most this many pixels on the long side.
        pool: appearance pool, ``"train"`` or ``"heldout"`` (photo files and procedural kinds), or
            ``None``: every photo found and the training pool's procedural kinds.
    """

    def __init__(
        self,
        sources: Sequence[str] = ("procedural", "photos"),
        photo_dirs: Sequence[str | os.PathLike[str]] | None = None,
        photo_prob: float = 0.6,
        max_side: int = 512,
        pool: str | None = None,
    ) -> None:
        from model.data.pools import check_pool, split_photos

        self.pool = None if pool is None else check_pool(pool)
        unknown = set(sources) - {"procedural", "photos"}
        if unknown or not sources:
            raise ValueError(f"sources must be a non-empty subset of ('procedural', 'photos'), got {sources!r}")
        self.sources = tuple(sources)
        self.photo_dirs = [pathlib.Path(d) for d in (default_photo_dirs() if photo_dirs is None else photo_dirs)]
        found = list_photos(self.photo_dirs) if "photos" in self.sources else []
        self.photo_paths = found if pool is None else split_photos(found, pool)
        self.photo_prob = float(photo_prob)
        self.max_side = int(max_side)
        self._photos: list[Tensor] | None = None
        self._grids: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
        if "procedural" not in self.sources and not self.photo_paths:
            raise ValueError(f"no background photos found in {[str(d) for d in self.photo_dirs]}")

    @property
    def photos(self) -> list[Tensor]:
        """The decoded photos (loaded on first access)."""
        if self._photos is None:
            self._photos = load_photos(self.photo_paths, self.max_side) if self.photo_paths else []
            if "procedural" not in self.sources and not self._photos:
                raise ValueError(f"none of the photos in {[str(d) for d in self.photo_dirs]} could be read")
        return self._photos

    def sample(self, generator: torch.Generator | None, height: int, width: int) -> Tensor:
        """One background ``(3, height, width)`` float32 in ``[0, 1]``."""
        r = BlockDraws(generator, block=64)
        use_photo = bool(self.photo_paths) and ("procedural" not in self.sources or r.chance(self.photo_prob))
        if use_photo and self.photos:
            img = self._photo(r, height, width)
        else:
            img = self._procedural(r, height, width)
        return img.clamp_(0.0, 1.0)

    def sample_batch(self, n: int, generator: torch.Generator | None, height: int, width: int) -> Tensor:
        """``n`` backgrounds ``(n, 3, height, width)``."""
        out = torch.empty(n, 3, height, width)
        for i in range(n):
            out[i] = self.sample(generator, height, width)
        return out

    # ----------------------------------------------------------------------------------------
    def _photo(self, r: BlockDraws, h: int, w: int) -> Tensor:
        photo = self.photos[r.index(len(self.photos))]
        ph, pw = photo.shape[1:]
        # crop with the output's aspect ratio covering 25-100% of the largest such crop
        full = min(ph / h, pw / w)
        scale = full * math.sqrt(r.u(0.25, 1.0))
        ch, cw = max(1, min(ph, round(h * scale))), max(1, min(pw, round(w * scale)))
        y0 = r.index(ph - ch + 1)
        x0 = r.index(pw - cw + 1)
        crop = photo[:, y0 : y0 + ch, x0 : x0 + cw].float()[None] * (1.0 / 255.0)
        if (ch, cw) != (h, w):
            crop = F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False, antialias=ch > h)
        img = crop[0]
        if r.chance(0.5):
            img = img.flip(-1)
        # photometric jitter: brightness, contrast, saturation, colour cast
        gain = r.u(0.65, 1.2)
        contrast = r.u(0.7, 1.1)
        mean = img.mean()
        img = (img - mean) * contrast + mean
        if r.chance(0.3):
            grey = img.mean(0, keepdim=True)
            img = grey + (img - grey) * r.u(0.0, 0.8)
        cast = torch.tensor([r.u(0.92, 1.08), 1.0, r.u(0.92, 1.08)]).view(3, 1, 1)
        return img * (cast * gain)

    def _grid(self, h: int, w: int) -> tuple[Tensor, Tensor]:
        g = self._grids.get((h, w))
        if g is None:
            ys = ((torch.arange(h, dtype=torch.float32) + 0.5) / h).view(1, h, 1).expand(1, h, w)
            xs = ((torch.arange(w, dtype=torch.float32) + 0.5) / w).view(1, 1, w).expand(1, h, w)
            g = (xs.contiguous(), ys.contiguous())
            self._grids[(h, w)] = g
        return g

    def _smooth_noise(self, r: BlockDraws, h: int, w: int, cells: int, channels: int = 1, mode: str = "bicubic") -> Tensor:
        """Smooth random field ``(channels, h, w)`` in about ``[-1, 1]`` (upsampled random grid)."""
        gh = max(2, round(cells * h / max(h, w)))
        gw = max(2, round(cells * w / max(h, w)))
        seed = torch.rand(1, channels, gh, gw, generator=self._gen(r)) * 2.0 - 1.0
        return F.interpolate(seed, size=(h, w), mode=mode, align_corners=False)[0]

    @staticmethod
    def _gen(r: BlockDraws) -> torch.Generator:
        return torch.Generator().manual_seed(int(r.u() * 2**62))

    def _procedural(self, r: BlockDraws, h: int, w: int) -> Tensor:
        xs, ys = self._grid(h, w)
        kind = r.u()
        if self.pool == "heldout":
            img = self._street(r, xs, ys, h, w)
        elif kind < 0.3:
            img = self._room(r, xs, ys, h, w)
        elif kind < 0.45:  # gradient
            a = r.u(0.0, 2 * math.pi)
            t = ((xs - 0.5) * math.cos(a) + (ys - 0.5) * math.sin(a)) * r.u(0.8, 2.0) + 0.5
            c0, c1 = _colour(r), _colour(r)
            img = torch.lerp(c0.expand(3, h, w), c1.expand(3, h, w), t.clamp(0, 1))
        elif kind < 0.6:  # blotchy noise (foliage, gravel, camouflage-like clutter)
            amp = r.u(0.1, 0.35)
            cells = round(r.u(3, 24))
            img = _colour(r) + amp * self._smooth_noise(r, h, w, cells, 1)
            img = img + amp * r.u(0.0, 0.4) * self._smooth_noise(r, h, w, cells, 3)  # a little chroma
            if r.chance(0.5):  # finer detail on top
                img = img + amp * 0.5 * self._smooth_noise(r, h, w, cells * 4, 1)
        elif kind < 0.75:  # stripes (fences, blinds, facades)
            a = r.u(0.0, math.pi)
            period = r.u(0.03, 0.3)
            t = (xs * math.cos(a) + ys * math.sin(a)) * (1.0 / period) + r.u(0.0, 1.0)
            c0, c1 = _colour(r), _colour(r)
            soft = r.u(0.02, 0.3)
            bit = ((_fract(t) - 0.5).abs() - r.u(0.1, 0.4)) * (1.0 / soft)
            img = torch.lerp(c0.expand(3, h, w), c1.expand(3, h, w), bit.clamp(0, 1))
        else:  # blurred shapes on a plain background
            img = self._shapes(r, h, w)
        if r.chance(0.28):  # overlay a few blurred shapes
            img = torch.lerp(img, self._shapes(r, h, w), r.u(0.2, 0.6))
        # uneven illumination and sensor grain
        img = img * (1.0 + r.u(0.0, 0.35) * self._smooth_noise(r, h, w, 2, mode="bilinear"))
        if r.chance(0.5):
            img = img + r.u(0.0, 0.03) * (torch.rand(1, h, w, generator=self._gen(r)) - 0.5)
        return img

    def _shapes(self, r: BlockDraws, h: int, w: int) -> Tensor:
        """Random rectangles and ellipses with soft (anti-aliased or blurred) edges, drawn at a
        reduced resolution and upsampled."""
        k = 2 + r.index(4)  # drawing resolution: 1/2 .. 1/5
        lh, lw = min(h, max(4, h // k)), min(w, max(4, w // k))
        ly = ((torch.arange(lh, dtype=torch.float32) + 0.5) / lh).view(lh, 1)
        lx = ((torch.arange(lw, dtype=torch.float32) + 0.5) / lw).view(1, lw)
        img = _colour(r).expand(3, lh, lw).clone()
        for _ in range(1 + r.index(10)):
            cx, cy = r.u(), r.u()
            rx, ry = r.u(0.03, 0.4), r.u(0.03, 0.4)
            soft = max(lh, lw) / max(1.0, r.u(0.5, 1.0) ** 3 * 60.0 * min(rx, ry))  # edge sharpness
            if r.chance(0.5):
                d = (((lx - cx) / rx) ** 2 + ((ly - cy) / ry) ** 2).sqrt()
                inside = (1.0 - d) * min(rx, ry)
            else:
                inside = torch.minimum(rx - (lx - cx).abs(), ry - (ly - cy).abs())
            m = (inside * soft).clamp(0.0, 1.0)
            img = torch.lerp(img, _colour(r, 0.7).expand(3, lh, lw), m)
        return F.interpolate(img[None], size=(h, w), mode="bilinear", align_corners=False)[0]

    def _room(self, r: BlockDraws, xs: Tensor, ys: Tensor, h: int, w: int) -> Tensor:
        """A wall and a tiled floor seen in perspective from a raised camera."""
        horizon = r.u(0.15, 0.7)
        wall = _colour(r, 0.3)
        img = wall.expand(3, h, w)
        if r.chance(0.6):  # wall panels / bricks / windows
            pattern = r.u()
            if pattern < 0.4:
                period = r.u(0.05, 0.3)
                line = _fract(xs * (1.0 / period) + r.u()) < r.u(0.03, 0.15)
            elif pattern < 0.7:
                bh = r.u(0.015, 0.05)
                row = torch.floor(ys * (1.0 / bh))
                brick = _fract(xs * (1.0 / (bh * 2.5)) + 0.5 * _fract(row * 0.5))
                line = (_fract(ys * (1.0 / bh)) < 0.12) | (brick < 0.06)
            else:
                wx, wy = r.u(0.05, 0.35), r.u(0.05, 0.3)
                line = (_fract(xs * (1.0 / (wx * 2)) + r.u()) < 0.5) & (_fract(ys * (1.0 / (wy * 2)) + r.u()) < 0.5)
            img = torch.lerp(img, _colour(r, 0.4).expand(3, h, w), line.float() * r.u(0.3, 1.0))
        # floor: row y below the horizon is at depth ~ 1 / (y - horizon)
        below = (ys - horizon).clamp(min=1e-3)
        depth = r.u(0.05, 0.2) / below
        fx = (xs - r.u(0.3, 0.7)) * depth * r.u(2.0, 6.0)
        fz = depth * r.u(2.0, 6.0) + r.u(0.0, 10.0)
        tile = r.u(0.3, 1.2)
        a = r.u(-0.6, 0.6)
        u_ = (fx * math.cos(a) + fz * math.sin(a)) * (1.0 / tile)
        v_ = (-fx * math.sin(a) + fz * math.cos(a)) * (1.0 / tile)
        c0, c1 = _colour(r, 0.3), _colour(r, 0.3)
        if r.chance(0.5):
            checker = ((torch.floor(u_) + torch.floor(v_)) % 2.0) * r.u(0.2, 1.0)
        else:
            checker = torch.zeros_like(u_)
        grout = ((_fract(u_) < 0.04) | (_fract(v_) < 0.04)).float() * r.u(0.0, 0.6)
        floor = torch.lerp(c0.expand(3, h, w), c1.expand(3, h, w), checker)
        floor = torch.lerp(floor, (c0 * 0.5).expand(3, h, w), grout)
        fog = (1.0 / (1.0 + depth * 0.5)).clamp(0, 1)  # far tiles fade to the mean colour
        floor = torch.lerp(((c0 + c1) * 0.5).expand(3, h, w), floor, fog)
        return torch.lerp(img, floor, (ys > horizon).float())

    def _street(self, r: BlockDraws, xs: Tensor, ys: Tensor, h: int, w: int) -> Tensor:
        """A street seen from a raised camera (held-out pool only): a building facade with a grid
        of windows above, pavement slabs and a kerb, then asphalt with lane markings."""
        facade = _colour(r, 0.25)
        img = facade.expand(3, h, w)
        wx, wy = r.u(0.08, 0.25), r.u(0.1, 0.25)
        fill = r.u(0.35, 0.7)
        windows = (_fract(xs * (1.0 / wx) + r.u()) < fill) & (_fract(ys * (1.0 / wy) + r.u()) < fill)
        glass = torch.tensor([0.12, 0.14, 0.17]).view(3, 1, 1) * r.u(0.5, 2.5)
        img = torch.lerp(img, glass.expand(3, h, w), windows.float())
        base = r.u(0.3, 0.65)  # where the facade meets the pavement
        kerb = base + r.u(0.1, 0.3)
        slab = r.u(0.03, 0.08)
        paving = _colour(r, 0.1) * r.u(0.8, 1.2)
        joints = ((_fract(xs * (1.0 / slab)) < 0.08) | (_fract(ys * (1.0 / (slab * 0.6))) < 0.08)).float()
        pavement = torch.lerp(paving.expand(3, h, w), (paving * 0.6).expand(3, h, w), joints)
        asphalt = torch.full((3, 1, 1), r.u(0.12, 0.3))
        road = asphalt.expand(3, h, w) + 0.04 * self._smooth_noise(r, h, w, 24, 1)
        lane = ((ys - r.u(kerb + 0.1, 1.2)).abs() < 0.012) & (_fract(xs * r.u(2.0, 5.0) + r.u()) < 0.55)
        road = torch.lerp(road, torch.full((3, 1, 1), 0.85).expand(3, h, w), lane.float())
        img = torch.lerp(img, pavement, (ys > base).float())
        img = torch.lerp(img, torch.full((3, 1, 1), 0.55).expand(3, h, w), ((ys > kerb - 0.015) & (ys <= kerb)).float())
        return torch.lerp(img, road, (ys > kerb).float())
