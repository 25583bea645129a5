"""One user with a heavy hand (finding 7 of the second red-team pass): a 49-megapixel PNG padded
with 600 KB of ignored bytes passed the bomb check and cost 8.8 s of CPU per upload; rotating
that probe by 45° cost 95 s of CPU and 6.85 GB. Pixels are budgeted by the bytes that are image
data and by every processing step's result before it is computed, and a worker that grew past
its memory budget is replaced after the request it served."""

from __future__ import annotations

import runpy
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.matching.images import ImageTooLargeError, load_image
from app.matching.processing import ProcessingError, apply_steps
from tests.support.photos import pixel_flood_png

ROOT = Path(__file__).resolve().parents[2]


def padded(png: bytes, padding: int) -> bytes:
    """The flood with a large text chunk before its end: bytes that are not pixels."""
    text = b"Comment\0" + b"x" * padding
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def test_a_flood_padded_with_ignored_bytes_is_still_a_flood():
    bomb = padded(pixel_flood_png(7000, 7000), 600_000)
    assert len(bomb) > 600_000  # enough bytes to pass a check by file size
    with pytest.raises(ImageTooLargeError, match="image data"):
        load_image(bomb)


def test_a_rotation_past_the_budget_is_refused_before_it_is_computed():
    pixels = np.zeros((1000, 1000, 3), dtype=np.uint8)
    with pytest.raises(ProcessingError, match="budget"):
        apply_steps(pixels, [{"op": "rotate", "degrees": 45}], max_step_pixels=1_000_000)
    levelled = apply_steps(pixels, [{"op": "rotate", "degrees": 4}], max_step_pixels=1_200_000)
    assert levelled.shape[0] * levelled.shape[1] <= 1_200_000


def test_at_the_default_budget_a_large_probe_turned_45_degrees_is_refused():
    pixels = np.zeros((5000, 5000, 3), dtype=np.uint8)  # 25 MP; turned by 45° it would be 50 MP
    with pytest.raises(ProcessingError, match="crop to the face first"):
        apply_steps(pixels, [{"op": "rotate", "degrees": 45}])


def test_a_worker_past_its_memory_budget_is_replaced(monkeypatch):
    monkeypatch.setenv("LEADDESK_WORKER_MAX_RSS_MB", "1")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker = SimpleNamespace(alive=True, pid=1, log=SimpleNamespace(warning=lambda *a: None))
    settings["post_request"](worker, None, {}, None)
    assert worker.alive is False
    monkeypatch.setenv("LEADDESK_WORKER_MAX_RSS_MB", "1000000")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker.alive = True
    settings["post_request"](worker, None, {}, None)
    assert worker.alive is True
