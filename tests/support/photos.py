"""Real face photos from tests/fixtures/faces, and hostile images made on the fly."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


def photo(name: str, upload_name: str | None = None):
    return (io.BytesIO((FACES / name).read_bytes()), upload_name or Path(name).name)


def pixel_flood_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
