"""Surface detail from real photos: patches for garments (recoloured fabric-like crops) and
occluders (luminance detail over their paint).

:class:`PhotoPatchSampler` draws from the still photos of :mod:`model.data.backgrounds` (the same
exclusions: never videos, never pictures of people) that belong to one appearance pool
(:func:`model.data.pools.split_photos`). When no photo is installed (CI machines without
scikit-image data or ``opencv-doc``), :attr:`PhotoPatchSampler.available` is ``False`` and callers
fall back to procedural surfaces. Every draw comes from the generator passed in.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from model.data.backgrounds import default_photo_dirs, list_photos, load_photos
from model.data.pools import check_pool, photo_family, split_photos

#: Photos are kept at most this many pixels on the long side for patches.
PATCH_MAX_SIDE = 256

#: Picture families (:func:`model.data.pools.photo_family`) never used as cloth: printed pages,
#: diagrams, charts and space images (occluders may still use them as surface detail).
NOT_FABRIC: frozenset[str] = frozenset(
    {"text", "page", "notes", "imagetext", "sudoku", "gradient", "ellipses", "detect", "pca", "chessboard", "hubble"}
)


class PhotoPatchSampler:
    """Patches of the photos of one appearance pool.

    Args:
        pool: ``"train"`` or ``"heldout"``.
        photo_dirs: directories of still images; ``None`` = :func:`default_photo_dirs`; ``[]`` = none.
    """

    def __init__(self, pool: str = "train", photo_dirs: Sequence[str | os.PathLike[str]] | None = None) -> None:
        self.pool = check_pool(pool)
        dirs = default_photo_dirs() if photo_dirs is None else [pathlib.Path(d) for d in photo_dirs]
        self.paths = split_photos(list_photos(dirs), pool)
        self.fabric_paths = [p for p in self.paths if photo_family(p) not in NOT_FABRIC]
        self._photos: list[Tensor] | None = None
        self._fabric: list[Tensor] | None = None

    @property
    def photos(self) -> list[Tensor]:
        """Decoded photos ``(3, h, w)`` uint8 (loaded on first use)."""
        if self._photos is None:
            self._photos = load_photos(self.paths, PATCH_MAX_SIDE) if self.paths else []
        return self._photos

    @property
    def fabric_photos(self) -> list[Tensor]:
        """The decoded photos usable as cloth (all of them when none is)."""
        if self._fabric is None:
            self._fabric = load_photos(self.fabric_paths, PATCH_MAX_SIDE) if self.fabric_paths else []
        return self._fabric or self.photos

    @property
    def available(self) -> bool:
        """Whether any photo of the pool could be read."""
        return bool(self.paths) and bool(self.photos)

    def patch(
        self,
        generator: torch.Generator,
        height: int,
        width: int,
        zoom: tuple[float, float] = (0.15, 0.6),
        fabric: bool = False,
    ) -> Tensor:
        """A random crop ``(3, height, width)`` float in ``[0, 1]`` covering ``zoom`` of the photo's
        side; from :attr:`fabric_photos` when ``fabric``."""
        photos = self.fabric_photos if fabric else self.photos
        if not photos:
            raise RuntimeError(f"no photos in the {self.pool!r} pool")
        u = torch.rand(5, generator=generator, dtype=torch.float64).tolist()
        photo = photos[min(int(u[0] * len(photos)), len(photos) - 1)]
        ph, pw = photo.shape[1:]
        side = min(ph, pw) * (zoom[0] + (zoom[1] - zoom[0]) * u[1])
        ch, cw = max(2, min(ph, round(side * height / max(height, width)))), max(2, min(pw, round(side * width / max(height, width))))
        y0, x0 = int(u[2] * (ph - ch + 1)), int(u[3] * (pw - cw + 1))
        crop = photo[:, y0 : y0 + ch, x0 : x0 + cw].float()[None] * (1.0 / 255.0)
        crop = F.interpolate(crop, size=(height, width), mode="bilinear", align_corners=False, antialias=ch > height)[0]
        return crop.flip(-1) if u[4] < 0.5 else crop

    def detail(self, generator: torch.Generator, height: int, width: int) -> Tensor:
        """Luminance detail ``(1, height, width)`` around 1 (multiply a base colour with it)."""
        strength = 0.3 + 0.6 * float(torch.rand((), generator=generator))
        lum = self.patch(generator, height, width).mean(0, keepdim=True)
        return 1.0 + strength * (lum / lum.mean().clamp(min=1e-3) - 1.0).clamp(-0.9, 1.5)

    def fabric(self, generator: torch.Generator, u: Tensor, v: Tensor, base: Tensor) -> Tensor:
        """A garment surface from a photo patch, recoloured to ``base``.

        Args:
            generator: random source.
            u, v: ``(H, W)`` surface coordinates in metres (e.g. the UV atlas's ``around`` and
                ``along``); the patch is tiled (mirrored) over them.
            base: ``(3, 1, 1)`` garment colour.
        Returns:
            ``(3, H, W)`` albedo: the base colour modulated by the patch's luminance, with a
            share of the patch's own chroma.
        """
        draws = torch.rand(4, generator=generator, dtype=torch.float64).tolist()
        patch = self.patch(generator, 96, 96, fabric=True)
        metres = 0.25 + 0.75 * draws[0]  # one patch spans this many metres of cloth
        ang = 2.0 * math.pi * draws[1]
        c, s = math.cos(ang), math.sin(ang)
        gu = (c * u - s * v) / metres
        gv = (s * u + c * v) / metres
        # mirrored tiling: a triangle wave of period 2 in [-1, 1]
        gu = 1.0 - (torch.remainder(gu + draws[2] * 2.0, 2.0) - 1.0).abs() * 2.0
        gv = 1.0 - (torch.remainder(gv + draws[3] * 2.0, 2.0) - 1.0).abs() * 2.0
        grid = torch.stack([gu, gv], dim=-1)[None].float()
        sampled = F.grid_sample(patch[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
        lum = sampled.mean(0, keepdim=True)
        lum = lum / lum.mean().clamp(min=1e-3)
        chroma = sampled / sampled.mean(0, keepdim=True).clamp(min=1e-3)
        keep = 0.35 * float(torch.rand((), generator=generator))
        return (base * lum.clamp(0.2, 2.0) * torch.lerp(torch.ones_like(chroma), chroma, keep)).clamp(0.0, 1.0)
