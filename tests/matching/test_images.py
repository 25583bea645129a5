"""Loading photos: format from the content, EXIF orientation, limits, typed errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.matching.images import (
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    UnreadableImageError,
    UnsupportedFormatError,
    load_image,
)
from tests.support.photos import FACES, pixel_flood_png


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_jpeg_png_tiff_load_as_rgb():
    source = Image.new("RGB", (40, 30), (200, 10, 10))
    for fmt in ("JPEG", "PNG", "TIFF"):
        loaded = load_image(encode(source, fmt))
        assert loaded.format == fmt and loaded.pixels.shape == (30, 40, 3) and loaded.pixels.dtype == np.uint8


def test_heic_from_phones():
    assert load_image(encode(Image.new("RGB", (32, 24), (5, 100, 5)), "HEIF")).format == "HEIF"


def test_format_is_decided_by_content_not_name(tmp_path):
    disguised = tmp_path / "photo.jpg"
    disguised.write_bytes(encode(Image.new("RGB", (8, 8)), "PNG"))
    assert load_image(disguised).format == "PNG"
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"<html><script>alert(1)</script></html>")
    with pytest.raises(NotAnImageError):
        load_image(text)


def test_other_formats_are_refused():
    with pytest.raises(UnsupportedFormatError, match="GIF"):
        load_image(encode(Image.new("RGB", (8, 8)), "GIF"))
    with pytest.raises(UnsupportedFormatError):
        load_image(encode(Image.new("RGB", (8, 8)), "BMP"))


@pytest.mark.clause("SD-2")
@pytest.mark.parametrize(
    "data",
    [
        b"rtsp://camera-12.city.local:554/live/stream1",  # a camera's stream address
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1280000\nhttps://cams.example/lobby/live.m3u8\n",
        b"--myboundary\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0",  # an MJPEG camera feed
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64,  # a video file
    ],
    ids=["stream address", "HLS playlist", "MJPEG feed", "video file"],
)
def test_nothing_but_a_still_image_is_taken_in(data):
    """It cannot be used with surveillance systems: no camera, stream or feed is ever connected,
    and what is sent must decode as one still image."""
    with pytest.raises(ImageError):
        load_image(data)


def test_empty_and_truncated_files():
    with pytest.raises(NotAnImageError, match="empty"):
        load_image(b"")
    with pytest.raises(UnreadableImageError, match="truncated"):
        load_image(FACES / "special" / "corrupt__truncated.jpg")
    whole = encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    with pytest.raises(UnreadableImageError):
        load_image(whole[: len(whole) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError, match="pixels"):
        load_image(pixel_flood_png(100_000, 100_000))
    with pytest.raises(ImageTooLargeError):
        load_image(encode(Image.new("RGB", (300, 300)), "PNG"), max_pixels=200 * 200)


def test_byte_limit():
    with pytest.raises(ImageTooLargeError, match="MB"):
        load_image(b"\xff\xd8" + b"\0" * 2_000_000, max_bytes=1_000_000)


def test_exif_orientation_is_applied():
    with Image.open(FACES / "special" / "exif_orientation6__grace_hopper.jpg") as raw:
        raw_size = raw.size
    upright = load_image(FACES / "special" / "exif_orientation6__grace_hopper.jpg")
    assert upright.exif_orientation == 6
    assert (upright.width, upright.height) == (raw_size[1], raw_size[0])


def test_grey_and_rgba_become_rgb():
    grey = load_image(FACES / "special" / "grayscale__grace_hopper.jpg")
    assert grey.pixels.shape[2] == 3
    rgba = load_image(FACES / "alex_lacamoire__3.png")
    assert rgba.format == "PNG" and rgba.pixels.shape[2] == 3
