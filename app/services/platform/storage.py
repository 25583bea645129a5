"""Files under the instance folder, always with the fate of the transaction that records them.

``store`` writes atomically (a temporary file renamed into place, so a full disk leaves no
partial file) and keeps the file only if the current transaction commits; ``remove`` deletes
only once the removal commits. A database that fails mid-request therefore leaves neither an
orphan file nor a row pointing at nothing. ``read_verified`` returns a stored file only if it
still has the SHA-256 its record holds.

Paths are relative to the instance folder everywhere a row stores them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

_NEW = "leaddesk.files_new"
_REMOVED = "leaddesk.files_removed"


class StorageFailure(OSError):
    """The disk refused a write (full or failing); nothing was kept."""


class StoredFileDamaged(Exception):
    """A stored file is missing or no longer matches its recorded hash."""


def path_of(relative: str | Path) -> Path:
    return Path(current_app.instance_path) / relative


def store(relative: str | Path, data: bytes, *, read_only: bool = False) -> str:
    """Write ``data`` at ``relative`` (under the instance folder) with the transaction's fate.

    Content-addressed names are common (a SHA-256 in the name): when the file already exists
    with these bytes it is left as it is and not tied to this transaction, since other rows
    may point at it. Returns the relative path as a row stores it.
    """
    target = path_of(relative)
    if target.exists() and _same_bytes(target, data):
        return str(Path(relative))
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        if read_only:
            os.chmod(temporary, 0o440)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        current_app.logger.error("storage failed for %s: %s", relative, exc)
        raise StorageFailure(str(exc)) from exc
    db.session().info.setdefault(_NEW, []).append(target)
    return str(Path(relative))


class TooLarge(ValueError):
    """A staged upload ran past its limit; nothing was kept."""


@dataclass
class Staged:
    """An upload copied to the instance's staging folder (in chunks, hashed on the way), before
    anything is recorded: ``store_staged`` moves it into place, ``discard_staged`` drops it."""

    path: Path
    sha256: str
    size: int
    head: bytes

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def stage(stream: BinaryIO, *, limit: int, chunk: int = 1024 * 1024) -> Staged:
    """Copy ``stream`` to a private staging file; TooLarge past ``limit`` bytes (and nothing kept)."""
    folder = path_of("staging")
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False)  # noqa: SIM115
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with handle:
            while block := stream.read(chunk):
                size += len(block)
                if size > limit:
                    raise TooLarge(f"larger than {limit // (1024 * 1024)} MB")
                if len(head) < 64:
                    head = (head + block)[:64]
                digest.update(block)
                handle.write(block)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return Staged(Path(handle.name), digest.hexdigest(), size, head)


def store_staged(relative: str | Path, staged: Staged) -> str:
    """Move a staged file to ``relative`` with the transaction's fate (as ``store``)."""
    target = path_of(relative)
    if target.exists() and target.stat().st_size == staged.size:
        staged.discard()  # content-addressed: these bytes are already here
        return str(Path(relative))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
    except OSError as exc:
        staged.discard()
        raise StorageFailure(str(exc)) from exc
    db.session().info.setdefault(_NEW, []).append(target)
    return str(Path(relative))


def remove(relative: str | Path) -> None:
    """Delete the file once the current transaction commits (never if it rolls back)."""
    db.session().info.setdefault(_REMOVED, []).append(path_of(relative))


def discard(relative: str | Path) -> None:
    """Undo a ``store`` at once (a later step of the same change failed)."""
    target = path_of(relative)
    kept = db.session().info.get(_NEW, [])
    if target in kept:
        kept.remove(target)
        target.unlink(missing_ok=True)


def read_verified(relative: str | Path, sha256: str) -> bytes:
    try:
        data = path_of(relative).read_bytes()
    except OSError as exc:
        raise StoredFileDamaged(f"{relative} cannot be read ({exc.strerror})") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StoredFileDamaged(f"{relative} does not match its recorded SHA-256")
    return data


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_NEW, None)
    for path in session.info.pop(_REMOVED, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_REMOVED, None)
    for path in session.info.pop(_NEW, []):
        path.unlink(missing_ok=True)
