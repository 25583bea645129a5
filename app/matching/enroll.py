"""Describing one gallery photo; runs in worker processes, so it takes and returns plain data."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from app.matching.faces import EngineSettings, FaceEngine
from app.matching.images import ImageError, load_image


@dataclass(frozen=True)
class PhotoEmbedding:
    """The outcome for one photo: either ``error`` (a code and a message) or the template."""

    path: str
    sha256: str | None = None
    format: str | None = None
    descriptor: bytes | None = None  # 128 little-endian float32
    detector: str | None = None
    quality: dict | None = None
    box: tuple[int, int, int, int] | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_engines: dict[EngineSettings, FaceEngine] = {}


def read_photo(path: str) -> bytes | PhotoEmbedding:
    """The file's bytes, or the outcome saying why it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        return PhotoEmbedding(path, error_code="unreadable", error=f"unreadable file ({exc.strerror})")


def embed_photo(path: str, settings: EngineSettings) -> PhotoEmbedding:
    """Load, find exactly one face, describe it. Never raises for a bad photo."""
    data = read_photo(path)
    return data if isinstance(data, PhotoEmbedding) else embed_photo_data(path, data, settings)


def embed_chunk(photos: list[tuple[str, bytes]], settings: EngineSettings) -> list[dict]:
    """Photos sent with their bytes, for workers on hosts that cannot see the files. Answers
    plain values only (str, bytes, numbers, lists), which the importer checks field by field
    before it believes any of them (``services/gallery/cluster.py``)."""
    return [asdict(embed_photo_data(path, data, settings)) for path, data in photos]


def embed_photo_data(path: str, data: bytes, settings: EngineSettings) -> PhotoEmbedding:
    engine = _engines.setdefault(settings, FaceEngine(settings))
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        image = load_image(data)
    except ImageError as exc:
        return PhotoEmbedding(path, sha256=sha256, error_code=exc.code, error=exc.message)
    faces = engine.analyze(image.pixels)
    if not faces:
        return PhotoEmbedding(path, sha256=sha256, error_code="no_face", error="no face found")
    if len(faces) > 1:
        return PhotoEmbedding(
            path,
            sha256=sha256,
            error_code="several_faces",
            error=f"{len(faces)} faces found; a booking photo must show one person",
        )
    face = faces[0]
    return PhotoEmbedding(
        path,
        sha256=sha256,
        format=image.format,
        descriptor=face.descriptor.astype("<f4").tobytes(),
        detector=face.detector,
        quality=face.quality.as_dict(),
        box=face.box,
    )
