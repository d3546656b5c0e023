"""service.http.images and service.http.video: safe decoding, limits before decoding, box cropping."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from service_support import encode, mp4_bytes, png_bomb_header, random_rgb

from model.inference.crops import MIN_SIDE
from service.http.errors import ApiError
from service.http.images import Box, BudgetExceeded, PixelBudget, crop_box, decode_image
from service.http.video import decode_video, iter_video_frames, sniff_container

MAX = 4096 * 4096


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP"])
def test_decodes_accepted_formats_to_rgb(fmt: str) -> None:
    img = random_rgb(20, 12)
    out = decode_image(encode(img, fmt), max_pixels=MAX)
    assert out.shape == (20, 12, 3) and out.dtype == np.uint8
    if fmt in ("PNG", "BMP"):
        np.testing.assert_array_equal(out, img)


def test_grey_and_rgba_become_rgb() -> None:
    for mode in ("L", "RGBA", "P"):
        buf = io.BytesIO()
        Image.new(mode, (9, 11)).save(buf, format="PNG")
        assert decode_image(buf.getvalue(), max_pixels=MAX).shape == (11, 9, 3)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", encode(random_rgb(10, 10), "PNG")[:60], encode(random_rgb(10, 10), "GIF")],
    ids=["empty", "garbage", "truncated", "gif"],
)
def test_undecodable_is_415(data: bytes) -> None:
    with pytest.raises(ApiError) as info:
        decode_image(data, max_pixels=MAX, what="images[3]")
    assert info.value.status == 415 and info.value.code == "undecodable_image" and "images[3]" in info.value.detail


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = png_bomb_header(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(ApiError) as info:
        decode_image(bomb, max_pixels=MAX)
    assert (
        info.value.status == 413 and info.value.code == "too_many_pixels" and "10000000000 pixels" in info.value.detail
    )
    small_bomb = png_bomb_header(5000, 5000)  # below PIL's own bomb limit: refused by ours, from the header
    with pytest.raises(ApiError) as info:
        decode_image(small_bomb, max_pixels=MAX)
    assert info.value.status == 413 and "5000x5000" in info.value.detail


def test_pixel_limit() -> None:
    data = encode(random_rgb(30, 30))
    assert decode_image(data, max_pixels=900).shape == (30, 30, 3)
    with pytest.raises(ApiError) as info:
        decode_image(data, max_pixels=899)
    assert info.value.status == 413


def test_crop_box_inside_partial_and_outside() -> None:
    img = random_rgb(40, 30)
    inside = crop_box(img, Box(2.5, 3, 10, 20), max_pixels=MAX)
    assert inside.offset == (2, 3) and inside.box == (2, 3, 11, 20)
    np.testing.assert_array_equal(inside.pixels, img[3:23, 2:13])
    partial = crop_box(img, Box(-5, 30, 10, 20), max_pixels=MAX)
    assert partial.box == (-5, 30, 10, 20)
    np.testing.assert_array_equal(partial.pixels[:10, 5:], img[30:40, 0:5])
    assert not partial.pixels[:, :5].any() and not partial.pixels[10:].any()  # outside the image: black
    with pytest.raises(ApiError) as info:
        crop_box(img, Box(100, 100, 10, 10), max_pixels=MAX)
    assert info.value.status == 422 and info.value.code == "invalid_box"
    with pytest.raises(ApiError) as info:
        crop_box(img, Box(0, 0, 1e6, 1e6), max_pixels=MAX)
    assert info.value.status == 413


def test_a_box_thinner_than_the_smallest_crop_is_widened_with_the_frame() -> None:
    img = random_rgb(40, 30)  # (H, W)
    thin = crop_box(img, Box(10.2, 5, 3.5, 24), max_pixels=MAX)  # a 24-px person seen side-on
    assert thin.box == (8, 5, MIN_SIDE, 24)  # [10, 14) grown about its centre to 8 columns
    np.testing.assert_array_equal(thin.pixels, img[5:29, 8:16])
    edge = crop_box(img, Box(0, 36, 2, 4), max_pixels=MAX)  # a speck at the image's corner
    assert edge.box == (-3, 34, MIN_SIDE, MIN_SIDE) and not edge.pixels[:, :3].any() and not edge.pixels[6:].any()
    with pytest.raises(ApiError) as info:  # widening never rescues a box outside the image
        crop_box(img, Box(31, 0, 2, 20), max_pixels=MAX)
    assert info.value.code == "invalid_box"


@pytest.mark.parametrize("values", [(0, 0, 0, 5), (0, 0, 5, -1), (float("nan"), 0, 5, 5)])
def test_invalid_boxes(values: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        Box(*values)


def test_video_decoding_and_limits() -> None:
    data = mp4_bytes(frames=5, h=48, w=32)
    assert sniff_container(data) == "mp4"
    frames = decode_video(data, max_pixels=MAX, max_frames=10)
    assert len(frames) == 5 and frames[0].shape == (48, 32, 3) and frames[0].dtype == np.uint8
    assert len(decode_video(data, max_pixels=MAX, max_frames=10, num_frames=3)) == 3
    cases = [
        (dict(max_pixels=MAX, max_frames=4), 413, "too_many_frames"),
        (dict(max_pixels=32 * 48 - 1, max_frames=10), 413, "too_many_pixels"),
        (dict(max_pixels=MAX, max_frames=10, num_frames=8), 422, "not_enough_frames"),
    ]
    for kwargs, status, code in cases:
        with pytest.raises(ApiError) as info:
            decode_video(data, **kwargs)
        assert (info.value.status, info.value.code) == (status, code)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 20, b"\0\0\0\x18ftypmp42" + b"\0" * 100])
def test_bad_videos_are_415(data: bytes) -> None:
    with pytest.raises(ApiError) as info:
        decode_video(data, max_pixels=MAX, max_frames=10)
    assert info.value.status == 415 and info.value.code == "undecodable_video"


def test_pixel_budget_is_charged_before_decoding() -> None:
    budget = PixelBudget(1000)
    decode_image(encode(random_rgb(20, 30)), max_pixels=MAX, budget=budget)
    assert budget.used == 600
    with pytest.raises(BudgetExceeded) as info:
        decode_image(png_bomb_header(30, 30), max_pixels=MAX, budget=budget)  # refused before its (bogus) data is read
    assert info.value.status == 413 and info.value.code == "too_many_pixels" and budget.used == 600


def test_video_frames_are_decoded_lazily() -> None:
    import glob
    import tempfile

    before = set(glob.glob(f"{tempfile.gettempdir()}/rscnet-upload-*"))
    frames = iter_video_frames(mp4_bytes(frames=5), max_pixels=MAX, max_frames=10)
    first = next(frames)
    assert first.shape == (48, 32, 3)
    frames.close()  # stop early: the temporary file is removed
    assert set(glob.glob(f"{tempfile.gettempdir()}/rscnet-upload-*")) == before


def test_declared_pixels_reads_headers_only_and_picks_the_inline_path() -> None:
    from service.http.images import declared_pixels
    from service.http.pipeline import INLINE_DECODE_PIXELS, _small_enough_inline

    small = encode(random_rgb(96, 48))
    assert declared_pixels(small) == 96 * 48
    assert declared_pixels(png_bomb_header(1000, 900)) == 1000 * 900  # from the header: nothing decoded
    bomb = png_bomb_header(60000, 60000)
    assert declared_pixels(bomb) is None  # PIL refuses to open a bomb: the careful path reports it
    assert declared_pixels(b"") is None and declared_pixels(b"not an image") is None
    assert _small_enough_inline([small, small])  # a few surveillance crops: decoded on the event loop
    assert not _small_enough_inline([bomb])  # big (or lying) images go to a worker thread
    assert not _small_enough_inline([small, b"garbage"])  # so do unreadable ones
    n = INLINE_DECODE_PIXELS // (96 * 48) + 1
    assert not _small_enough_inline([small] * n)
