"""Frame stepping in a recorded 1080p clip (docs/measured.md, "Video frames"): how long measuring
an upload takes, and a step to the next frame, one second on, ten seconds on and a jump to a time,
each the read the stepper page does (seek to the key frame before, decode up to the frame).

    python benchmarks/bench_video.py [--seconds 60] [--gop 60]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from harness import FACES

from app.matching import video


def write_1080p(path: Path, seconds: int, gop: int, fps: int = 30) -> Path:
    photos = sorted(FACES.glob("*.jpg"))[:seconds]
    from PIL import Image

    with av.open(str(path), "w", format="mp4") as media:
        stream = media.add_stream("libx264", rate=fps, options={"g": str(gop), "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        for second in range(seconds):
            picture = Image.open(photos[second % len(photos)]).convert("RGB").resize((1920, 1080))
            base = np.asarray(picture)
            for i in range(fps):
                frame = base.copy()
                frame[:40, : 40 + i * 8] = 255  # each frame differs: a real inter-frame stream
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    media.mux(packet)
        for packet in stream.encode():
            media.mux(packet)
    return path


def timed(action, repeats: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--gop", type=int, default=60, help="frames between key frames (30 fps)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = write_1080p(Path(folder) / "clip.mp4", args.seconds, args.gop)
        print(
            f"wrote a {args.seconds} s 1080p30 H.264 clip, key frame every {args.gop} frames, "
            f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s"
        )
        median, worst = timed(lambda: video.inspect(path))
        print(f"{'measure the upload (inspect)':<40} median {median:7.1f} ms   max {worst:7.1f} ms")
        info = video.inspect(path)
        middle = info.frame_count // 2
        for label, number in (
            ("first frame", 0),
            ("next frame (middle)", middle + 1),
            ("one second on", middle + 30),
            ("ten seconds on", middle + 300),
            ("frame just before a key frame", (middle // args.gop + 1) * args.gop - 1),
            ("last frame", info.frame_count - 1),
        ):
            median, worst = timed(lambda n=number: video.read_frame(path, info, n))
            print(f"{label:<40} median {median:7.1f} ms   max {worst:7.1f} ms")


if __name__ == "__main__":
    main()
