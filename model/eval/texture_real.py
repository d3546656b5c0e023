"""``python -m model.eval.texture_real``: TexGlo texture checkpoints compared on the committed real people.

>>> python -m model.eval.texture_real --texture checkpoints/texture/model.pt [--texture runs/texture/glo_s_masked/last.pt] \\
...     --checkpoint checkpoints/rscnet-long/model.pt --height 32 --out runs/texture/real_check

The people are the committed set of :mod:`model.data.real_people` (``checks/real_people``, every
usable person: reviewed BlazePose keypoints, review not ``failed``). For each one:

1. the native square crop is degraded to ``--height`` pixels as the real-people check does
   (:func:`~model.data.real_people.real_crop_at_height`, antialiased bicubic); the RSC-Net
   :class:`~model.inference.Predictor` runs once on that small crop (mesh vertices, camera), and
   every texture checkpoint predicts its UV map from the same small crop with that prediction
   (:meth:`~model.inference.texture.TexturePredictor.predict_uv`; a network trained with
   ``input_mask`` sees the crop masked by this mesh's silhouette);
2. the textured mesh is rendered in the crop's own camera (the prediction's focal and principal
   point, scaled from the small crop to the native crop: it lies over the person) at the native
   resolution with the training light (:func:`~model.data.identity.mean_lights`, the mean of the
   training light distribution; :class:`~model.render.MeshRenderer` with ``ssaa = 1``, as in
   training, so the silhouette is binary), composited over the native crop;
3. **colour error on the person** (:func:`colour_error`): the mean absolute RGB difference (0-1
   scale, averaged over the three channels) between the render and the native crop over the pixels
   that are inside the rendered silhouette *and* inside the person region: the convex hull of the
   reviewed keypoints (the ``valid`` ones) dilated by ``--margin`` times the person box height
   (:func:`hull_mask`). The hull keeps mesh pixels that overhang the background out of the score
   (there a texture that copies the background would be rewarded).

Reference row *flat grey*: a UV map of 0.5 everywhere, rendered the same way (same mesh, same
light): what a texture that ignores the photo scores. Rows are compared per identity
(``person_id``: several crops can be frames of one person): the mean over crops, the mean over
identities (each identity's crops averaged first) and, for every row after the first checkpoint,
the paired difference to the first checkpoint over identities (mean, standard error, identities
where it is lower). The mesh is the same for every row, so the scored pixels are too; their share
of the hull (*coverage*) says how well the predicted body lies over the person.

Writes ``texture_real.md`` (tables and the command), ``texture_real.json`` and
``sheet_<height>px.jpg`` (per person: native crop with the scored hull outlined, the low-resolution
input, and the render of every checkpoint and of the flat grey over the crop, each with its error)
under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from model.data.identity import mean_lights
from model.data.real_people import DEFAULT_ROOT, RealPerson, load_real_people, real_crop_at_height
from model.eval.real_people import display_path
from model.inference.predictor import Prediction, Predictor
from model.inference.texture import TexturePredictor
from model.render import Lights, MeshRenderer, PerspectiveCameras

__all__ = [
    "DEFAULT_CHECKPOINT",
    "DEFAULT_SHOW",
    "FLAT_GREY",
    "FLAT_GREY_LABEL",
    "HULL_MARGIN",
    "TextureRealConfig",
    "colour_error",
    "convex_hull",
    "evaluate_texture_real",
    "format_tables",
    "hull_mask",
    "main",
    "render_on_crop",
]

_REPO = Path(__file__).resolve().parents[2]
#: The RSC-Net checkpoint giving the meshes unless ``--checkpoint`` says otherwise.
DEFAULT_CHECKPOINT = _REPO / "checkpoints" / "rscnet-long" / "model.pt"
#: Dilation of the keypoint hull, as a fraction of the person box height (native pixels).
HULL_MARGIN = 0.04
#: Albedo of the reference texture.
FLAT_GREY = 0.5
#: Its row label.
FLAT_GREY_LABEL = "flat grey 0.5 (reference)"
#: People named in the report's per-person table (those of the set that exist).
DEFAULT_SHOW = ("ul_bus_coat", "ul_bus_black", "fa_s6_red", "fa_s4_pattern", "skv_bikes_f110", "ocv_messi5")
_GREEN = (40, 220, 80)


# ---------------------------------------------------------------------------------------- maths
def colour_error(render: np.ndarray, crop: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute RGB difference, 0-1 scale, over the pixels of ``mask``.

    Args:
        render, crop: ``(H, W, 3)`` images, uint8 (divided by 255) or float in ``[0, 1]``.
        mask: ``(H, W)`` bool, the pixels that count.

    Returns:
        The mean over the masked pixels and the three channels of ``|render - crop|`` (in ``[0, 1]``),
        NaN when the mask is empty.
    """
    a, b, m = _unit(render), _unit(crop), np.asarray(mask, dtype=bool)
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3 or m.shape != a.shape[:2]:
        raise ValueError(f"expected (H, W, 3) images and an (H, W) mask, got {a.shape} {b.shape} {m.shape}")
    if not m.any():
        return float("nan")
    return float(np.abs(a[m] - b[m]).mean())


def _unit(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return image.astype(np.float64) / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The convex hull of ``(N, 2)`` points, ``(M, 2)`` vertices in order (Andrew's monotone chain).

    Every edge ``a -> b`` has the hull on its side where ``cross(b - a, p - a) >= 0``; collinear
    vertices are dropped. Fewer than 3 distinct points give them back (``M < 3``, no area).
    """
    pts = np.unique(np.asarray(points, dtype=np.float64).reshape(-1, 2), axis=0)  # sorted by x, then y
    if len(pts) < 3:
        return pts

    def half(seq: np.ndarray) -> list[np.ndarray]:
        chain: list[np.ndarray] = []
        for p in seq:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return np.asarray(lower[:-1] + upper[:-1])


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def hull_mask(points: np.ndarray, shape: tuple[int, int], margin: float, segments: int = 32) -> np.ndarray:
    """``(H, W)`` bool: pixels whose centre lies within ``margin`` pixels of the convex hull of ``points``.

    The dilated hull is the hull of a ``segments``-gon of radius ``margin`` around every point
    (the Minkowski sum of the hull and that polygon, within 0.5 % of the disk's for 32 sides).
    Pixel ``(i, j)`` has its centre at ``(x, y) = (j + 0.5, i + 0.5)``.

    Args:
        points: ``(N, 2)`` ``(x, y)`` pixel coordinates (only finite rows are used).
        shape: ``(H, W)`` of the mask.
        margin: dilation in pixels (>= 0).
    """
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    h, w = int(shape[0]), int(shape[1])
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    out = np.zeros((h, w), dtype=bool)
    if len(pts) == 0:
        return out
    if margin > 0:
        angles = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
        disk = margin * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        pts = (pts[:, None, :] + disk[None]).reshape(-1, 2)
    hull = convex_hull(pts)
    if len(hull) < 3:
        return out
    j0, i0 = (max(int(math.floor(v)), 0) for v in hull.min(axis=0))
    j1, i1 = min(int(math.ceil(hull[:, 0].max())), w), min(int(math.ceil(hull[:, 1].max())), h)
    if j1 <= j0 or i1 <= i0:
        return out
    ys, xs = np.mgrid[i0:i1, j0:j1].astype(np.float64) + 0.5
    inside = np.ones(xs.shape, dtype=bool)
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        inside &= (b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0]) >= 0
    out[i0:i1, j0:j1] = inside
    return out


def person_region(person: RealPerson, margin: float = HULL_MARGIN) -> np.ndarray:
    """``(side, side)`` bool: the hull of ``person``'s valid reviewed keypoints, dilated by
    ``margin * person.box_height`` native pixels (:func:`hull_mask`)."""
    points = person.keypoints[person.valid, :2]
    return hull_mask(points, (person.side, person.side), margin * person.box_height)


def render_on_crop(
    renderer: MeshRenderer,
    predictor: Predictor,
    prediction: Prediction,
    scale: float,
    crop: np.ndarray,
    textures: Sequence[np.ndarray],
    lights: Lights,
) -> tuple[np.ndarray, np.ndarray]:
    """The textured predicted mesh rendered over the native crop, in the crop's own camera.

    Args:
        renderer: the renderer (``ssaa = 1`` gives a binary silhouette).
        predictor: the Predictor that made ``prediction`` (its body model's faces and UVs).
        prediction: made on the small crop, with vertices; its focal and principal point are in
            small-crop pixels and become ``focal / scale``, ``principal / scale`` in native pixels.
        scale: small crop side / native side (:func:`~model.data.real_people.real_crop_at_height`).
        crop: ``(S, S, 3)`` uint8 native crop (the background of the composite).
        textures: ``(U, U, 3)`` uint8 UV maps (row 0 = ``v = 1``), sizes may differ.
        lights: one light (batch 1).

    Returns:
        ``(renders, silhouette)``: ``(K, S, S, 3)`` float32 in ``[0, 1]`` and ``(S, S)`` bool.
    """
    if prediction.vertices is None:
        raise ValueError("the prediction needs its vertices (Predictor.predict(..., include_vertices=True))")
    body = predictor.body_model
    side = crop.shape[0]
    focal = float(prediction.focal) / scale
    principal = np.asarray(prediction.principal, dtype=np.float64) / scale
    cams = PerspectiveCameras(
        focal=torch.tensor([[focal, focal]], dtype=torch.float32),
        principal=torch.tensor(principal[None], dtype=torch.float32),
        image_size=(side, side),
    )
    verts = torch.from_numpy(np.asarray(prediction.vertices, dtype=np.float32))[None]
    background = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float()[None] / 255.0
    if body.face_uvs is None:
        raise ValueError(f"body model {body.name!r} has no UV map")
    faces, face_uvs = body.faces.cpu(), body.face_uvs.cpu()
    renders, silhouette = [], None
    with torch.inference_mode():
        for tex in textures:
            t = torch.from_numpy(np.ascontiguousarray(tex)).permute(2, 0, 1).float()[None] / 255.0
            out = renderer.render(verts, faces, cams, texture=t, face_uvs=face_uvs, lights=lights, background=background)
            renders.append(out.image[0].clamp(0.0, 1.0).permute(1, 2, 0).numpy())
            silhouette = out.mask[0, 0].numpy() > 0.5
    assert silhouette is not None
    return np.stack(renders).astype(np.float32), silhouette


# ---------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class TextureRealConfig:
    """What to evaluate.

    Attributes:
        height: person crop height the networks see, pixels (in ``[8, 4096]``).
        root: the set's folder.
        margin: hull dilation, fraction of the person box height (>= 0).
        people: ids to keep (in file order); ``None``: every usable person.
        show: ids of the report's per-person table (missing ones are skipped).
        tile: side of a contact-sheet panel, pixels.
        batch_size: crops per network call.
    """

    height: int = 32
    root: Path = DEFAULT_ROOT
    margin: float = HULL_MARGIN
    people: tuple[str, ...] | None = None
    show: tuple[str, ...] = DEFAULT_SHOW
    tile: int = 128
    batch_size: int = 16

    def __post_init__(self) -> None:
        if isinstance(self.height, bool) or not isinstance(self.height, int) or not 8 <= self.height <= 4096:
            raise ValueError(f"height must be an integer in [8, 4096], got {self.height!r}")
        if not self.margin >= 0:
            raise ValueError(f"margin must be >= 0, got {self.margin}")
        if self.tile < 32 or self.batch_size < 1:
            raise ValueError(f"tile must be >= 32 and batch_size positive, got {self.tile} {self.batch_size}")


def _labels(textures: Sequence[TexturePredictor]) -> list[str]:
    """Checkpoint names, numbered when two share one (``Glo-S``, ``Glo-S #2``)."""
    labels: list[str] = []
    for tp in textures:
        label, n = tp.name, 1
        while label in labels:
            n += 1
            label = f"{tp.name} #{n}"
        labels.append(label)
    return labels


def _select(config: TextureRealConfig) -> list[RealPerson]:
    people = load_real_people(config.root, usable_only=True)
    if config.people is None:
        return people
    known = {p.id for p in people}
    unknown = [i for i in config.people if i not in known]
    if unknown:
        raise ValueError(f"not usable people of {config.root}: {unknown}")
    return [p for p in people if p.id in set(config.people)]


def evaluate_texture_real(
    predictor: Predictor, textures: Sequence[TexturePredictor], config: TextureRealConfig
) -> tuple[dict[str, Any], list[Image.Image]]:
    """Colour errors of every texture checkpoint and the flat grey on the real people.

    Returns:
        ``(result, rows)``: the JSON-ready result and one contact-sheet row per person
        (:func:`_sheet_row`).
    """
    if not textures:
        raise ValueError("give at least one texture checkpoint")
    people = _select(config)
    labels = [*_labels(textures), FLAT_GREY_LABEL]
    smalls, scales = zip(*(real_crop_at_height(p, config.height) for p in people))
    preds = predictor.predict(list(smalls), include_vertices=True, batch_size=config.batch_size)
    uvs = [tp.predict_uv(list(smalls), batch_size=config.batch_size, predictions=preds) for tp in textures]
    grey = np.full((textures[0].uv_size, textures[0].uv_size, 3), round(FLAT_GREY * 255), dtype=np.uint8)
    renderer, lights = MeshRenderer(), mean_lights(1)

    errors: dict[str, list[float]] = {label: [] for label in labels}
    scored, hull_px, sil_px = [], [], []
    rows: list[Image.Image] = []
    for i, (person, small, scale, pred) in enumerate(zip(tqdm(people, desc="people"), smalls, scales, preds)):
        crop = person.image()
        region = person_region(person, config.margin)
        renders, silhouette = render_on_crop(renderer, predictor, pred, scale, crop, [*(u[i] for u in uvs), grey], lights)
        mask = region & silhouette
        person_errors = [colour_error(r, crop, mask) for r in renders]
        for label, e in zip(labels, person_errors):
            errors[label].append(e)
        scored.append(int(mask.sum()))
        hull_px.append(int(region.sum()))
        sil_px.append(int(silhouette.sum()))
        rows.append(_sheet_row(person, crop, small, renders, region, person_errors, config.tile))

    result: dict[str, Any] = {
        "metric": (
            "mean |render - native crop| (RGB, 0-1) over the pixels inside both the rendered silhouette and the convex hull"
            f" of the valid reviewed keypoints dilated by {config.margin:g} x person box height"
        ),
        "height": config.height,
        "margin": config.margin,
        "root": display_path(config.root),
        "lights": {k: getattr(lights, k)[0].tolist() for k in ("ambient", "diffuse", "direction")},
        "predictor": {
            "checkpoint": display_path(predictor.checkpoint_path) if predictor.checkpoint_path else None,
            "checkpoint_id": predictor.checkpoint_id,
            "body_model": predictor.model_id,
        },
        "textures": [
            {"label": label, "name": tp.name, "checkpoint": display_path(tp.describe()["checkpoint"] or ""), "checkpoint_id": tp.checkpoint_id,
             "input_mask": tp.input_mask, "uv_size": tp.uv_size}
            for label, tp in zip(labels, textures)
        ],
        "reference": {"label": FLAT_GREY_LABEL, "albedo": FLAT_GREY},
        "rows": labels,
        "people": [p.id for p in people],
        "person_ids": [p.person_id for p in people],
        "full_body": [p.full_body for p in people],
        "pixels": {"scored": scored, "hull": hull_px, "silhouette": sil_px},
        "error": errors,
    }
    result["summary"] = _summary(result)
    return result, rows


def _finite(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v[np.isfinite(v)]


def _per_identity(values: Sequence[float], ids: Sequence[str]) -> dict[str, float]:
    """Each identity's mean over its scored crops (identities with none are left out)."""
    groups: dict[str, list[float]] = {}
    for v, i in zip(values, ids):
        if math.isfinite(v):
            groups.setdefault(i, []).append(float(v))
    return {i: float(np.mean(g)) for i, g in groups.items()}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """Per row: mean over crops, mean over identities, and the paired difference to the first checkpoint."""
    ids = result["person_ids"]
    first = result["rows"][0]
    base = _per_identity(result["error"][first], ids)
    out: dict[str, Any] = {}
    for label in result["rows"]:
        values = result["error"][label]
        ident = _per_identity(values, ids)
        row: dict[str, Any] = {
            "mean_crops": float(_finite(values).mean()) if len(_finite(values)) else float("nan"),
            "mean_identities": float(np.mean(list(ident.values()))) if ident else float("nan"),
            "crops_scored": int(len(_finite(values))),
            "identities_scored": len(ident),
        }
        if label != first:
            common = [i for i in ident if i in base]
            d = np.asarray([ident[i] - base[i] for i in common], dtype=np.float64)
            row["vs_first"] = {
                "mean": float(d.mean()) if len(d) else float("nan"),
                "stderr": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan"),
                "lower": int((d < 0).sum()),
                "identities": len(d),
            }
        out[label] = row
    return out


# ---------------------------------------------------------------------------------------- report
def format_tables(result: dict[str, Any], show: Sequence[str] = DEFAULT_SHOW, command: str | None = None) -> str:
    """Markdown report of :func:`evaluate_texture_real`'s result."""
    rows, summ, err = result["rows"], result["summary"], result["error"]
    first = rows[0]
    n, n_ids = len(result["people"]), len(set(result["person_ids"]))
    px = result["pixels"]
    cover = [s / h for s, h in zip(px["scored"], px["hull"]) if h > 0]
    on_person = [s / m for s, m in zip(px["scored"], px["silhouette"]) if m > 0]
    pred = result["predictor"]
    lines = [
        f"# Texture on real people: colour error on the person ({result['height']} px input)",
        "",
    ]
    if command:
        lines += ["```bash", command, "```", ""]
    lines += [
        f"{n} crops of {n_ids} people (`{result['root']}`); meshes from RSC-Net `{pred['checkpoint']}` ({pred['checkpoint_id']}).",
        f"Metric: {result['metric']}. Lower is better. Rendered with the training light (`mean_lights`), ssaa 1.",
        (
            f"The scored pixels (the same for every row: one mesh per crop) cover {np.mean(cover):.0%} of the person hull"
            f" and are {np.mean(on_person):.0%} of the mesh silhouette on average (per crop below: *hull covered*, *mesh on person*)."
        ),
        "",
        "| texture | checkpoint | input mask | mean over crops | mean over people | vs first, per person (mean ± s.e., people lower) |",
        "|---|---|---|---|---|---|",
    ]
    textures = {t["label"]: t for t in result["textures"]}
    for label in rows:
        s = summ[label]
        t = textures.get(label)
        ck = f"`{t['checkpoint']}` ({t['checkpoint_id']})" if t else "-"
        mask = ("yes" if t["input_mask"] else "no") if t else "-"
        vs = "-"
        if "vs_first" in s:
            v = s["vs_first"]
            vs = f"{v['mean']:+.4f} ± {v['stderr']:.4f} ({v['lower']}/{v['identities']})"
        counts = "" if s["crops_scored"] == n else f" ({s['crops_scored']}/{n} scored)"
        lines.append(f"| {label} | {ck} | {mask} | {s['mean_crops']:.4f}{counts} | {s['mean_identities']:.4f} | {vs} |")
    lines += ["", f"\"vs first\" is the paired difference to {first} over people (a person's crops averaged first).", ""]

    def table(title: str, indices: Sequence[int]) -> None:
        nonlocal lines
        lines += [
            f"## {title}",
            "",
            "| crop | person | full body | hull covered | mesh on person | " + " | ".join(rows) + " |",
            "|---|---|---|---|---|" + "---|" * len(rows),
        ]
        for i in indices:
            h, m = px["hull"][i], px["silhouette"][i]
            cov = (f"{px['scored'][i] / h:.0%}" if h else "-") + " | " + (f"{px['scored'][i] / m:.0%}" if m else "-")
            vals = " | ".join("-" if not math.isfinite(err[r][i]) else f"{err[r][i]:.4f}" for r in rows)
            full = "yes" if result["full_body"][i] else "no"
            lines.append(f"| {result['people'][i]} | {result['person_ids'][i]} | {full} | {cov} | {vals} |")
        lines.append("")

    named = [result["people"].index(s) for s in show if s in result["people"]]
    if named:
        table("Named people", named)
    table("Every crop", range(n))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- sheet
def _panel(image: np.ndarray, tile: int, resample: Image.Resampling = Image.Resampling.LANCZOS) -> Image.Image:
    return Image.fromarray(image).resize((tile, tile), resample)


def _hull_outline(region: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the boundary pixels of ``region`` (inside, with a 4-neighbour outside)."""
    pad = np.pad(region, 1)
    interior = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return region & ~interior


def _sheet_row(
    person: RealPerson, crop: np.ndarray, small: np.ndarray, renders: np.ndarray, region: np.ndarray, errors: Sequence[float], tile: int
) -> Image.Image:
    """One person's row: native crop with the hull outlined | small input | every render, captioned."""
    caption = 14
    panels = []
    native = crop.copy()
    edge = _hull_outline(region)
    thick = edge | np.roll(edge, 1, 0) | np.roll(edge, 1, 1) | np.roll(edge, -1, 0) | np.roll(edge, -1, 1)
    native[thick] = _GREEN
    panels.append((_panel(native, tile), person.id[:21]))
    panels.append((_panel(small, tile, Image.Resampling.NEAREST), f"{small.shape[0]} px input"))
    for r, e in zip(renders, errors):
        panels.append((_panel((r * 255.0).round().astype(np.uint8), tile), "-" if not math.isfinite(e) else f"err {e:.4f}"))
    row = Image.new("RGB", (tile * len(panels), tile + caption), (0, 0, 0))
    draw = ImageDraw.Draw(row)
    for k, (panel, text) in enumerate(panels):
        row.paste(panel, (k * tile, 0))
        draw.text((k * tile + 2, tile + 1), text, fill=(255, 255, 255))
    return row


def assemble_sheet(rows: Sequence[Image.Image], headers: Sequence[str], tile: int) -> Image.Image:
    """The rows stacked under a header naming the columns (long names wrapped at the tile width)."""
    wrapped = [textwrap.wrap(h, max(tile // 6, 8), break_long_words=True)[:3] or [""] for h in headers]
    head = 6 + 12 * max(len(w) for w in wrapped)
    width = max(r.width for r in rows)
    sheet = Image.new("RGB", (width, head + sum(r.height for r in rows)), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for k, parts in enumerate(wrapped):
        for m, part in enumerate(parts):
            draw.text((k * tile + 2, 3 + 12 * m), part, fill=(255, 230, 120))
    y = head
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height
    return sheet


# ---------------------------------------------------------------------------------------- CLI
def _ids(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(s.strip() for s in text.split(",") if s.strip())


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m model.eval.texture_real",
        description="Colour error on the person of TexGlo texture checkpoints on the committed real people, with a contact sheet.",
    )
    parser.add_argument("--texture", action="append", required=True, help="TexGlo checkpoint (repeat to compare; the first is the paired baseline)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="RSC-Net checkpoint giving the meshes (default: %(default)s)")
    parser.add_argument("--height", type=int, default=32, help="person crop height the networks see, pixels (default: %(default)s)")
    parser.add_argument("--margin", type=float, default=HULL_MARGIN, help="keypoint hull dilation, fraction of the person box height (default: %(default)s)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    parser.add_argument("--people", default=None, help="comma-separated ids to keep (default: every usable person)")
    parser.add_argument("--show", default=",".join(DEFAULT_SHOW), help="comma-separated ids of the per-person table (default: %(default)s)")
    parser.add_argument("--tile", type=int, default=128, help="contact-sheet panel side, pixels (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    try:
        config = TextureRealConfig(
            height=args.height, root=args.root, margin=args.margin, people=_ids(args.people), show=_ids(args.show) or (), tile=args.tile
        )
    except ValueError as exc:
        parser.error(str(exc))

    torch.set_num_threads(args.threads)
    predictor = Predictor.from_checkpoint(args.checkpoint, device=args.device, precision="fp32")
    textures = [TexturePredictor.from_checkpoint(path, predictor) for path in args.texture]
    result, rows = evaluate_texture_real(predictor, textures, config)
    command = "python -m model.eval.texture_real " + shlex.join(argv)
    result["command"] = command
    report = format_tables(result, config.show, command)
    print(report)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "texture_real.md").write_text(report)
    (out / "texture_real.json").write_text(json.dumps(result, indent=1) + "\n")
    headers = ["native (scored hull)", "input", *result["rows"]]
    sheet_path = out / f"sheet_{config.height}px.jpg"
    assemble_sheet(rows, headers, config.tile).save(sheet_path, quality=88)
    print(f"wrote {out / 'texture_real.md'}, {out / 'texture_real.json'} and {sheet_path}")


if __name__ == "__main__":
    main()
