"""Recorded video clips made by the test with PyAV (FFmpeg in its wheels), from the real face
photos in tests/fixtures/faces: each second shows one photo, so a frame's content is known."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.support.photos import FACES

FORMATS = {
    "mp4": ("mp4", "libx264"),
    "mov": ("mov", "mpeg4"),
    "avi": ("avi", "mpeg4"),
    "mkv": ("matroska", "libx264"),
    "webm": ("webm", "libvpx-vp9"),
}


def write_clip(
    path: Path,
    photos: list[str],
    *,
    kind: str = "mp4",
    fps: int = 10,
    seconds_each: int = 1,
    size: tuple[int, int] = (640, 480),
) -> Path:
    """A clip showing each photo for ``seconds_each`` seconds (letterboxed to ``size``)."""
    container_format, codec = FORMATS[kind]
    with av.open(str(path), "w", format=container_format) as media:
        stream = media.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for name in photos:
            picture = Image.open(FACES / name).convert("RGB")
            picture.thumbnail(size)
            canvas = Image.new("RGB", size, (40, 40, 40))
            canvas.paste(picture, ((size[0] - picture.width) // 2, (size[1] - picture.height) // 2))
            pixels = np.asarray(canvas)
            for _ in range(fps * seconds_each):
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    media.mux(packet)
        for packet in stream.encode():
            media.mux(packet)
    return path


def blank_clip(path: Path, *, size: tuple[int, int], frames: int = 2, kind: str = "mp4") -> Path:
    """Frames of one colour, at any size (a frame-size bomb when ``size`` is huge)."""
    container_format, codec = FORMATS[kind]
    with av.open(str(path), "w", format=container_format) as media:
        stream = media.add_stream(codec, rate=5)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        pixels = np.full((size[1], size[0], 3), 90, dtype=np.uint8)
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                media.mux(packet)
        for packet in stream.encode():
            media.mux(packet)
    return path
