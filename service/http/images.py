"""Uploaded images: safe decoding and cropping person boxes out of full frames.

Decoding is defensive: the image header is read first and an image with more than
``max_pixels`` pixels is refused (413) **before** its pixels are decoded, so a decompression
bomb (a tiny PNG declaring 100000 x 100000 pixels) never allocates. Accepted formats are
JPEG, PNG, WebP and BMP; anything else, or a corrupt / truncated file, is a 415. EXIF
orientation is ignored: coordinates always refer to the stored pixel grid. Every mode becomes
8-bit RGB: 16-bit samples are scaled (not clipped), transparency is composited over black, grey /
palette / CMYK images are converted.

Boxes follow the project convention ``(x0, y0, w, h)`` in image pixels (see
:mod:`model.geometry.camera`). :func:`crop_box` cuts the integer pixel rectangle covering the
box; parts outside the image are filled with black (like the border of the training crops).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from model.inference.crops import widen_to_min_side
from service.http.errors import ApiError

__all__ = ["IMAGE_FORMATS", "Box", "BudgetExceeded", "Crop", "PixelBudget", "crop_box", "decode_image"]

#: PIL formats accepted for uploads.
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP")


class BudgetExceeded(ApiError):
    """413 ``too_many_pixels`` for the whole request: its images together exceed the pixel budget."""


class PixelBudget:
    """Pixels one request may decode in total (all its images / frames), checked before each decode.

    Args:
        limit: the total in pixels.
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.used = 0

    def take(self, pixels: int, what: str) -> None:
        """Count ``pixels`` more, or raise :class:`BudgetExceeded` (413) if they do not fit."""
        if self.used + pixels > self.limit:
            raise BudgetExceeded(
                413,
                "too_many_pixels",
                f"{what} would bring the request to {self.used + pixels} decoded pixels; "
                f"at most {self.limit} are accepted per request (send fewer or smaller images)",
            )
        self.used += pixels


@dataclass(frozen=True)
class Box:
    """A person box ``(x0, y0, w, h)`` in the uploaded image's pixels (``w, h > 0``)."""

    x0: float
    y0: float
    w: float
    h: float

    def __post_init__(self) -> None:
        values = (self.x0, self.y0, self.w, self.h)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"box values must be finite, got {list(values)}")
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"box width and height must be positive, got w={self.w}, h={self.h}")


@dataclass(frozen=True)
class Crop:
    """A person crop and where it lies in the uploaded image.

    Attributes:
        pixels: ``(H, W, 3)`` uint8 RGB.
        offset: ``(x, y)`` of the crop's top-left corner in the uploaded image (integers; may be
            negative when the box sticks out of the image).
        cut_by_frame: the person box reaches the image's bottom row (:func:`box_reaches_bottom`): the
            person is taken to go on below the frame (the cut flag a network with a cut input reads,
            unless the client says otherwise). ``False`` for a whole image without a box.
    """

    pixels: np.ndarray
    offset: tuple[int, int]
    cut_by_frame: bool = False

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The integer rectangle ``(x0, y0, w, h)`` actually cropped."""
        h, w = self.pixels.shape[:2]
        return (self.offset[0], self.offset[1], int(w), int(h))


def declared_pixels(data: bytes) -> int | None:
    """``W * H`` from the image header (nothing is decoded), or ``None`` when it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as img:
                width, height = img.size
    except Exception:  # noqa: BLE001 - any unreadable header: the caller decodes the careful way
        return None
    return int(width) * int(height)


def decode_image(data: bytes, *, max_pixels: int, what: str = "image", budget: PixelBudget | None = None) -> np.ndarray:
    """Decode an uploaded image to ``(H, W, 3)`` uint8 RGB.

    Args:
        data: the file's bytes.
        max_pixels: largest accepted ``W * H`` (checked from the header, before decoding).
        what: how to name the image in error messages (e.g. ``"images[2]"``).
        budget: the request's pixel budget, charged with ``W * H`` before decoding.

    Raises:
        ApiError: 415 ``undecodable_image`` (empty, not an image, unsupported format, corrupt or
            truncated) or 413 ``too_many_pixels`` (this image, or the request's budget).
    """
    if not data:
        raise ApiError(415, "undecodable_image", f"{what} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as img:
                width, height = img.size
                if width < 1 or height < 1:
                    raise ApiError(415, "undecodable_image", f"{what} declares an empty size {width}x{height}")
                if width * height > max_pixels:
                    raise ApiError(
                        413,
                        "too_many_pixels",
                        f"{what} is {width}x{height} = {width * height} pixels; at most {max_pixels} are accepted",
                    )
                if budget is not None:
                    budget.take(width * height, what)
                img.load()
                rgb = _to_rgb(img)
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ApiError(413, "too_many_pixels", f"{what}: {exc} (at most {max_pixels} pixels are accepted)") from None
    except UnidentifiedImageError:
        raise ApiError(
            415, "undecodable_image", f"{what} is not a decodable image; accepted formats: {', '.join(IMAGE_FORMATS)}"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # corrupt / truncated data
        raise ApiError(415, "undecodable_image", f"{what} could not be decoded: {exc}") from None
    return rgb


#: Modes holding more than 8 bits per sample (16-bit PNGs open as one of these).
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _to_rgb(img: Image.Image) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of a decoded image of any accepted mode.

    * 16-bit samples are scaled to 8 bits (``v / 257``); PIL's own conversion clips them at 255.
    * Transparency (RGBA, LA, palette with ``tRNS``) is composited over black, the colour of the
      padding around the training crops.
    * Grey, bilevel, palette and CMYK images are converted by PIL.
    """
    if img.mode in _WIDE_MODES:
        wide = np.asarray(img, dtype=np.float64)
        grey = np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.uint16)
        alpha = rgba[..., 3:4]
        return ((rgba[..., :3] * alpha + 127) // 255).astype(np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


#: How close (pixels) a box's bottom edge must come to the image's last row to count as cut by the frame.
CUT_EDGE_PX = 1.0


def box_reaches_bottom(box: Box, image_height: int) -> bool:
    """Whether ``box`` ends at the image's bottom row (within :data:`CUT_EDGE_PX`): a person whose
    detector box does is cut by the frame, the legs going on below -- the cut the training data's
    partial views make (:mod:`model.data.partial_view`: the top of a person kept). A box at a side or
    the top edge is not taken as cut: the network learned only the missing lower body."""
    return box.y0 + box.h >= image_height - CUT_EDGE_PX


def crop_box(image: np.ndarray, box: Box, *, max_pixels: int, what: str = "box") -> Crop:
    """Cut ``box`` out of ``image`` (``(H, W, 3)`` uint8); outside parts are black.

    The cropped rectangle is ``[floor(x0), ceil(x0 + w)) x [floor(y0), ceil(y0 + h))``, widened
    about its centre to :data:`~model.inference.crops.MIN_SIDE` pixels on a side that is shorter
    (:func:`~model.inference.crops.widen_to_min_side`: a person 24 px tall seen side-on has a
    detector box 6-7 px wide; the frame's pixels beside it make a crop the predictor accepts).

    Raises:
        ApiError: 422 ``invalid_box`` (no overlap with the image) or 413 ``too_many_pixels``
            (the box is larger than ``max_pixels``).
    """
    img_h, img_w = image.shape[:2]
    x0, y0 = math.floor(box.x0), math.floor(box.y0)
    x1, y1 = math.ceil(box.x0 + box.w), math.ceil(box.y0 + box.h)
    if min(x1, img_w) <= max(x0, 0) or min(y1, img_h) <= max(y0, 0):
        raise ApiError(
            422,
            "invalid_box",
            f"{what} [{box.x0}, {box.y0}, {box.w}, {box.h}] (x0, y0, w, h) does not overlap the {img_w}x{img_h} image",
        )
    x0, x1 = widen_to_min_side(x0, x1)
    y0, y1 = widen_to_min_side(y0, y1)
    w, h = x1 - x0, y1 - y0
    if w * h > max_pixels:
        raise ApiError(413, "too_many_pixels", f"{what} is {w}x{h} = {w * h} pixels; at most {max_pixels} are accepted")
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, img_w), min(y1, img_h)
    if (x0, y0, x1, y1) == (ix0, iy0, ix1, iy1):
        pixels = np.ascontiguousarray(image[y0:y1, x0:x1])
    else:
        pixels = np.zeros((h, w, 3), dtype=np.uint8)
        pixels[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = image[iy0:iy1, ix0:ix1]
    return Crop(pixels=pixels, offset=(x0, y0), cut_by_frame=box_reaches_bottom(box, img_h))
