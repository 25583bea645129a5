"""Recorded video files: recognised from their bytes, measured, and read one frame at a time.

A video is never searched; a person steps through it and picks frames, each of which becomes a
probe photo. Everything here is bounded: only the containers a camera or an exporter writes
(MP4/MOV/M4V, AVI, Matroska/WebM), decided from the first bytes and opened with that demuxer
alone, reading the local file only (no URL, no playlist, no device); a frame size, a length
and a frame count above which a file is refused; and every read of a frame stops after a fixed
number of decoded frames and seconds. Plain functions over a path: no Flask, no database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

MAX_VIDEO_BYTES = 200 * 1024 * 1024
MAX_FRAME_PIXELS = 4096 * 2304  # 4K and a little more: a frame fits in memory many times over
MAX_SECONDS = 4 * 3600  # a recording longer than four hours is an export error or a hostile file
MAX_DECODED_PER_READ = 1200  # frames decoded to reach one frame (a 40 s keyframe gap at 30 fps)
READ_SECONDS = 15.0  # and never longer than this to reach it
# The demuxers by the container's signature; labels for messages.
CONTAINERS = {"mov": "MP4 / MOV / M4V", "avi": "AVI", "matroska": "Matroska / WebM"}
QUICKTIME_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
# Local file only: a container that refers to other files or URLs (a QuickTime reference
# movie, an HLS playlist disguised by name) reads nothing but this file.
SAFE_OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0", "use_absolute_path": "0"}


class VideoError(Exception):
    """A video that cannot be used, with a message a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def container_of(head: bytes) -> str | None:
    """The demuxer for a file starting with ``head`` (its first 16 bytes or more), or None
    when it is not a video container this portal reads. Decided from the content, never the name."""
    if len(head) >= 12 and head[4:8] in QUICKTIME_ATOMS:
        return "mov"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    return None


@dataclass(frozen=True)
class VideoInfo:
    container: str  # a CONTAINERS key
    codec: str
    width: int
    height: int
    duration_s: float
    fps: Fraction
    frame_count: int

    @property
    def label(self) -> str:
        return CONTAINERS[self.container]

    def frame_time(self, number: int) -> float:
        return float(number / self.fps)

    def frame_number(self, seconds: float) -> int:
        return self.clamp(round(seconds * self.fps))

    def clamp(self, number: int) -> int:
        return min(max(int(number), 0), self.frame_count - 1)


@dataclass(frozen=True)
class Frame:
    number: int
    time_s: float
    pixels: np.ndarray  # RGB, height x width x 3


def _open(path: Path, container: str):
    import av

    try:
        return av.open(str(path), format=container, options=dict(SAFE_OPTIONS))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(
            f"the video cannot be read ({_reason(exc)}); it may be damaged or incomplete."
        ) from exc


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__
    return text.split(":")[-1].strip()[:120]


def _video_stream(media):
    if not media.streams.video:
        raise VideoError("the file has no video in it (only sound, or nothing readable).")
    return media.streams.video[0]


def _rate(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0 or rate > 1000:
        raise VideoError("the video does not say how many frames it has per second; it cannot be stepped.")
    return Fraction(rate)


def _duration(media, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if media.duration:
        return media.duration / 1_000_000
    raise VideoError(
        "the video has no length (a capture that was never finished, or a stream); "
        "export the recording to a file again."
    )


def inspect(path: Path, head: bytes | None = None) -> VideoInfo:
    """Measure a video file and prove its first frame decodes; VideoError says why not."""
    path = Path(path)
    if head is None:
        with path.open("rb") as handle:
            head = handle.read(16)
    container = container_of(head)
    if container is None:
        raise VideoError("not a video this portal reads (MP4, MOV, M4V, AVI, MKV or WEBM).")
    deadline = time.monotonic() + READ_SECONDS
    media = _open(path, container)
    try:
        stream = _video_stream(media)
        width, height = stream.codec_context.width, stream.codec_context.height
        _check_size(width, height)
        fps, duration = _rate(stream), _duration(media, stream)
        if duration <= 0:
            raise VideoError("the video is empty (no frames).")
        if duration > MAX_SECONDS:
            raise VideoError(
                f"the video says it lasts {duration / 3600:.1f} hours; the portal takes recordings of "
                f"at most {MAX_SECONDS // 3600} hours (cut the part you need)."
            )
        frames = max(1, min(int(stream.frames or 0) or round(duration * fps), round(MAX_SECONDS * fps)))
        info = VideoInfo(container, stream.codec_context.name, width, height, duration, fps, frames)
        _first_frame(media, stream, deadline)
        return info
    finally:
        media.close()


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise VideoError("the video does not say how large its frames are.")
    if width * height > MAX_FRAME_PIXELS:
        raise VideoError(
            f"its frames are {width} × {height} pixels, larger than the portal reads "
            f"({MAX_FRAME_PIXELS / 1e6:.1f} MP); export it at 4K or below."
        )


def _first_frame(media, stream, deadline: float):
    for frame in _decoded(media, stream, deadline):
        return frame
    raise VideoError("no frame of the video could be decoded; it may be damaged.")


def _decoded(media, stream, deadline: float):
    """Decoded frames, bounded in count and time; damaged packets end the read with a message."""
    import av

    count = 0
    try:
        for frame in media.decode(stream):
            count += 1
            if count > MAX_DECODED_PER_READ or time.monotonic() > deadline:
                raise VideoError(
                    "reaching that frame takes too long (the video has very few key frames); "
                    "choose a time near the one you need, or export the clip again."
                )
            _check_size(frame.width, frame.height)
            yield frame
    except av.FFmpegError as exc:
        if count == 0:
            raise VideoError(f"the video cannot be decoded ({_reason(exc)}); it may be damaged.") from exc
        return  # a damaged tail: what was decoded stands


def read_frame(path: Path, info: VideoInfo, number: int) -> Frame:
    """Frame ``number`` (counted at the stream's average rate from its first frame), or the
    nearest one after it that the file holds."""
    number = info.clamp(number)
    deadline = time.monotonic() + READ_SECONDS
    media = _open(Path(path), info.container)
    try:
        stream = _video_stream(media)
        base = stream.time_base
        start = stream.start_time or 0
        target = number / info.fps
        if number > 0:
            media.seek(start + int(target / base), stream=stream, backward=True, any_frame=False)
        last = None
        for frame in _decoded(media, stream, deadline):
            seconds = float((frame.pts - start) * base) if frame.pts is not None else float(frame.time or 0)
            last = (frame, round(seconds * info.fps), seconds)
            if last[1] >= number:
                break
        if last is None:
            raise VideoError("that part of the video cannot be decoded; it may be damaged.")
        # past the last frame the file really holds: its last frame
        return Frame(last[1], last[2], last[0].to_ndarray(format="rgb24"))
    finally:
        media.close()
