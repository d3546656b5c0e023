"""Appearance pools: what training may see (``"train"``) and what only the held-out check sees
(``"heldout"``, issue 14 item 4b).

The two pools are disjoint by construction:

* **photo files** (backgrounds, garment and occluder photo patches): a file belongs to the
  held-out pool when the hash of its picture family (the name without variant suffixes,
  :func:`photo_family`) falls in one quarter of the hash space (:func:`photo_pool`), so the split
  is stable whatever other files are installed and variants of a picture stay together;
* **texture recipes**: garment colours come from disjoint tables and garment patterns from
  disjoint sets of kinds (:mod:`model.data.textures`);
* **procedural backgrounds**: the held-out pool draws street scenes that training never draws
  (:mod:`model.data.backgrounds`);
* **body shapes** (:func:`sample_pool_betas`): training betas are ``N(0, 1)`` clipped to
  ``|beta| <= clip``; held-out betas have one of the first three components beyond the clip (up
  to ``clip + 1.5``), half of them in the short tail of the first component (the free model's
  overall-size direction: 1.21-1.43 m tall, children's and small adults' heights with adult
  proportions). Uniformly scaled
  children are not made: after framing, a uniformly scaled body gives the same crop as the
  unscaled one at another depth, so it would only change ``cam_t``; the 10-beta free model has
  no child proportions to offer (see the report of issue 14).
* **identity seeds**: held-out identities draw their seeds under another key, so no held-out
  identity replays a training one.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
from collections.abc import Sequence

import torch
from torch import Tensor

#: The appearance pools.
APPEARANCE_POOLS: tuple[str, ...] = ("train", "heldout")

#: Held-out photos: hash of the file name modulo this is 0.
_HELDOUT_MODULUS = 4


def check_pool(pool: str) -> str:
    """``pool`` if it is one of :data:`APPEARANCE_POOLS`, else ``ValueError``."""
    if pool not in APPEARANCE_POOLS:
        raise ValueError(f"appearance pool must be one of {APPEARANCE_POOLS}, got {pool!r}")
    return pool


def photo_family(path: str | os.PathLike[str]) -> str:
    """The name shared by variants of one picture (``aloeL``/``aloeR``, ``rubberwhale1``/``2``,
    ``box``/``box_in_scene``, ``text``/``text_motion``): the stem up to the first ``_`` or ``-``,
    without trailing digits or a trailing capital letter, lower case."""
    stem = re.split(r"[_\-]", pathlib.Path(path).stem)[0]
    stem = re.sub(r"\d+$", "", stem)
    if len(stem) > 3 and stem[-1].isupper():
        stem = stem[:-1]
    return stem.lower()


def photo_pool(path: str | os.PathLike[str]) -> str:
    """The pool a photo file belongs to: decided by the hash of its :func:`photo_family`, so the
    variants of one picture never end up in both pools."""
    name = photo_family(path).encode()
    h = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "little")
    return "heldout" if h % _HELDOUT_MODULUS == 0 else "train"


def split_photos(paths: Sequence[pathlib.Path], pool: str) -> list[pathlib.Path]:
    """The photos of ``paths`` that belong to ``pool`` (order kept)."""
    check_pool(pool)
    return [p for p in paths if photo_pool(p) == pool]


def sample_pool_betas(generator: torch.Generator, clip: float, pool: str, num_betas: int = 10) -> Tensor:
    """``(num_betas,)`` shape of one identity of ``pool``.

    ``"train"``: ``N(0, 1)`` clipped to ``[-clip, clip]``. ``"heldout"``: the same, then one
    component is moved into the tail ``clip < |beta| <= clip + 1.5``: half of the time the first
    component's negative tail (short people: 1.21-1.43 m with the free model at clip 2.5, zero
    pose), otherwise component 1 or 2 with either sign. No held-out shape lies in the training
    region.
    """
    check_pool(pool)
    betas = torch.randn(num_betas, generator=generator).clamp_(-clip, clip)
    if pool == "train":
        return betas
    u = torch.rand(3, generator=generator).tolist()
    tail = clip + 1e-3 + (1.5 - 1e-3) * u[1]
    if u[0] < 0.5:
        betas[0] = -tail  # short
    else:
        k = 1 + min(int((u[0] - 0.5) * 4.0), 1)  # component 1 or 2, either sign
        betas[k] = tail if u[2] < 0.5 else -tail
    return betas
