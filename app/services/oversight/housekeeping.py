"""Files no record refers to, found and removed (nightly and ``flask files sweep``).

Uploads and generated documents are written before the transaction that records them
commits; a process killed in between (a worker SIGKILLed, the machine losing power) leaves a
file that nothing points at. Superseded processed probe images are left behind the same way.
They hold criminal-justice data, so they do not stay: the sweep removes them, audited.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, MonthlyAudit, ProbeImage, ProbeWork, RemoteCandidate, Report, User
from app.services.gallery.search import analysis_store
from app.services.oversight.audit import record_event

SWEPT_FOLDERS = ("probes", "reports", "audits", "gallery")
# A younger file may belong to a transaction still open (a gallery import batch, an upload).
GRACE_SECONDS = 3600
LISTED_IN_AUDIT = 100


@dataclass
class SweepResult:
    files_examined: int
    orphans: list[str]  # relative to the instance folder
    removed: bool
    by_folder: dict[str, int] = field(default_factory=dict)
    cache_entries_removed: int = 0


def referenced_files() -> set[str]:
    """Every stored file a row points at, relative to the instance folder."""
    columns = (
        ProbeImage.original_path,
        ProbeImage.display_path,
        ProbeWork.processed_path,
        Report.file_path,
        MonthlyAudit.pdf_path,
        MonthlyAudit.csv_path,
        Booking.photo_path,
        RemoteCandidate.chip_path,  # a peer's comparison image, kept after the reveal
    )
    referenced: set[str] = set()
    for column in columns:
        referenced.update(path for path in db.session.scalars(select(column)) if path)
    return {str(Path(path)) for path in referenced}


def find_orphans(grace_seconds: float = GRACE_SECONDS) -> tuple[int, list[str]]:
    """How many stored files there are, and those older than the grace no record refers to."""
    root = Path(current_app.instance_path)
    referenced = referenced_files()  # read before looking at the disk: see GRACE_SECONDS
    cutoff = time.time() - grace_seconds
    examined, orphans = 0, []
    for folder in SWEPT_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file():
                continue
            examined += 1
            relative = str(path.relative_to(root))
            if relative not in referenced and path.stat().st_mtime < cutoff:
                orphans.append(relative)
    return examined, orphans


def sweep_orphan_files(*, actor: User | None, dry_run: bool = False) -> SweepResult:
    """Find (and unless ``dry_run``, remove) the files no record refers to; prune the face
    analysis cache past its age. Audited when anything was removed."""
    examined, orphans = find_orphans()
    by_folder = dict(Counter(Path(relative).parts[0] for relative in orphans))
    result = SweepResult(examined, orphans, removed=not dry_run, by_folder=by_folder)
    if dry_run:
        return result
    root = Path(current_app.instance_path)
    for relative in orphans:
        (root / relative).unlink(missing_ok=True)
    result.cache_entries_removed = analysis_store().prune()
    if orphans or result.cache_entries_removed:
        record_event(
            "files.sweep",
            actor=actor,
            object_type="instance",
            reason="housekeeping: stored files that no record refers to",
            detail={
                "removed": len(orphans),
                "by_folder": by_folder,
                "files": orphans[:LISTED_IN_AUDIT],
                "analysis_cache_entries_removed": result.cache_entries_removed,
            },
        )
    return result
