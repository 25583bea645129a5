"""Face analyses kept on disk, shared by every worker process of one instance.

Each web worker remembers analyses in memory too, but a second worker (or a restarted one)
would otherwise redo the same few hundred milliseconds of dlib work for a photo another
worker has already analysed. Entries are named by a hash of the pixels and of everything
that shapes the answer, so a stale entry can never be returned for changed input; they hold
derived biometric data, so they are bounded in number and age and removed when older.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import time
import zipfile
from dataclasses import astuple
from pathlib import Path

import numpy as np

from app.matching.faces import Face, FaceQuality

FORMAT = 1  # bump when the stored layout or the analysis pipeline changes


class AnalysisStore:
    def __init__(self, directory: Path, *, max_entries: int = 20_000, max_age_days: float = 7) -> None:
        self.directory = Path(directory)
        self.max_entries = max_entries
        self.max_age_seconds = max_age_days * 86_400
        self._writes = 0
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, key: str) -> list[Face] | None:
        stored = self.get_arrays(key)
        if stored is None:
            return None
        try:
            return _faces_from(stored)
        except (ValueError, KeyError, TypeError):  # an unknown entry: analyse again
            self._path(key).unlink(missing_ok=True)
            return None

    def get_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        """An entry's arrays (faces, or any other derived data kept as long), if fresh."""
        path = self._path(key)
        try:
            if time.time() - path.stat().st_mtime > self.max_age_seconds:
                path.unlink(missing_ok=True)
                return None
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except FileNotFoundError:
            return None
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            # a damaged entry: compute again
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, faces: list[Face]) -> None:
        self.put_arrays(key, _arrays_of(faces))

    def put_arrays(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store atomically (a reader sees the whole entry or none); failures only cost speed."""
        path = self._path(key)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(buffer.getvalue())
            now = time.time()
            os.utime(temporary, (now, now))  # its age is read against this clock, not the disk's
            os.replace(temporary, path)
        except OSError:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            return
        with self._lock:
            self._writes += 1
            due = self._writes % 200 == 1
        if due:
            self.prune()

    def prune(self) -> int:
        """Remove entries past their age, then the oldest beyond the size bound."""
        entries = []
        now = time.time()
        for path in self.directory.glob("*/*"):
            try:
                modified = path.stat().st_mtime
            except FileNotFoundError:
                continue
            entries.append((modified, path))
        entries.sort(reverse=True)
        removed = 0
        for position, (modified, path) in enumerate(entries):
            stale_part = path.suffix == ".part" and now - modified > 3600
            if position >= self.max_entries or now - modified > self.max_age_seconds or stale_part:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _arrays_of(faces: list[Face]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"format": np.array(FORMAT), "count": np.array(len(faces))}
    for n, face in enumerate(faces):
        arrays[f"box_{n}"] = np.array(face.box, dtype=np.int64)
        arrays[f"detector_{n}"] = np.array(face.detector)
        arrays[f"landmarks_{n}"] = np.array(face.landmarks, dtype=np.float64).reshape(-1, 2)
        arrays[f"quality_{n}"] = np.array(astuple(face.quality), dtype=np.float64)
        if face.descriptor is not None:
            arrays[f"descriptor_{n}"] = face.descriptor
        if face.chip is not None:
            arrays[f"chip_{n}"] = face.chip
    return arrays


def _faces_from(stored) -> list[Face]:
    if int(stored["format"]) != FORMAT:
        raise ValueError("another format")
    faces = []
    for n in range(int(stored["count"])):
        faces.append(
            Face(
                box=tuple(int(v) for v in stored[f"box_{n}"]),
                detector=str(stored[f"detector_{n}"]),
                landmarks=[(float(x), float(y)) for x, y in stored[f"landmarks_{n}"]],
                quality=FaceQuality(*map(float, stored[f"quality_{n}"])),
                descriptor=stored.get(f"descriptor_{n}"),
                chip=stored.get(f"chip_{n}"),
            )
        )
    return faces
