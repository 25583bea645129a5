"""Enrolling booking photos from a manifest (sealing is in ``sealed_records``)."""

from __future__ import annotations

import csv
import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.matching.enroll import PhotoEmbedding, embed_photo
from app.matching.images import FILE_EXTENSIONS
from app.models import Booking, FaceTemplate, Outcome, Subject, User
from app.services.gallery.cluster import ClusterRun, embed_on_cluster
from app.services.gallery.search import engine_settings
from app.services.oversight.audit import record_event
from app.services.platform.errors import NotFound, ServiceError

MANIFEST_COLUMNS = ("image", "booking_number", "name", "dob", "sid", "main_number", "cdl", "booking_date")
COMMIT_EVERY = 100  # rows per transaction: an interrupted import keeps only whole records


@dataclass(frozen=True)
class ManifestRow:
    line: int
    image: Path
    booking_number: str
    name: str
    dob: date | None
    sid: str | None
    main_number: str | None
    cdl: str | None
    booking_date: date | None


@dataclass(frozen=True)
class Rejection:
    line: int
    booking_number: str
    reason: str


@dataclass
class ImportSummary:
    manifest: str
    enrolled: int = 0
    skipped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    index_version: int | None = None

    def as_dict(self) -> dict:
        return {
            "manifest": self.manifest,
            "enrolled": self.enrolled,
            "skipped": self.skipped,
            "rejected": len(self.rejected),
            "rejections": [r.__dict__ for r in self.rejected[:200]],
            "index_version": self.index_version,
        }


def _parse_date(value: str, label: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"bad date in {label}: {value!r} (use YYYY-MM-DD)") from None
    if parsed > utcnow().date():
        raise ValueError(f"bad date in {label}: {value} is in the future")
    return parsed


def read_manifest(path: Path) -> tuple[list[ManifestRow], list[Rejection]]:
    """Parse and check every row; a malformed row is rejected with its line number."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ServiceError(f"Cannot read the manifest {path}: {exc.strerror}.") from exc
    rows: list[ManifestRow] = []
    rejections: list[Rejection] = []
    seen: dict[str, int] = {}
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise ServiceError("The manifest is empty.") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ServiceError(f"The manifest is not a readable CSV file: {exc}.") from exc
        missing = [c for c in MANIFEST_COLUMNS if c not in header]
        if missing:
            raise ServiceError(
                f"The manifest lacks the column(s) {', '.join(missing)}; "
                f"expected {','.join(MANIFEST_COLUMNS)}."
            )
        position = {name: header.index(name) for name in MANIFEST_COLUMNS}
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                rejections.append(Rejection(reader.line_num, "", f"malformed CSV row: {exc}"))
                continue
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) < len(header):
                values = values + [""] * (len(header) - len(values))
            cell = {name: values[i].strip() for name, i in position.items()}
            number = cell["booking_number"]
            try:
                if not number:
                    raise ValueError("missing booking number")
                if number in seen:
                    raise ValueError(f"booking number repeated (first on line {seen[number]})")
                if not cell["image"]:
                    raise ValueError("missing image path")
                if not cell["name"]:
                    raise ValueError("missing name")
                if not (cell["sid"] or cell["main_number"]):  # Database limitations, 3
                    raise ValueError(
                        "not a booking record: no SID or MAIN number (the gallery holds booking photos "
                        "tied to a criminal history record, never other photos)"
                    )
                row = ManifestRow(
                    line=line,
                    image=(path.parent / cell["image"]).resolve(),
                    booking_number=number,
                    name=cell["name"],
                    dob=_parse_date(cell["dob"], "dob"),
                    sid=cell["sid"] or None,
                    main_number=cell["main_number"] or None,
                    cdl=cell["cdl"] or None,
                    booking_date=_parse_date(cell["booking_date"], "booking_date"),
                )
            except ValueError as exc:
                rejections.append(Rejection(line, number, str(exc)))
                continue
            seen[number] = line
            rows.append(row)
    return rows, rejections


ProgressFactory = Callable[[int], Callable[[Iterable], Iterable]]


def _embed_all(
    rows: list[ManifestRow],
    workers: int,
    progress: ProgressFactory | None,
    cluster: ClusterRun | None = None,
    insecure_local: bool = False,
) -> Iterator[tuple[ManifestRow, PhotoEmbedding]]:
    settings = engine_settings(current_app.config, role="gallery")
    paths = [str(r.image) for r in rows]
    pool = None
    if cluster is not None:
        config = current_app.config
        results = (
            embed_on_cluster(
                paths,
                settings,
                cluster.scheduler,
                int(config["GALLERY_CLUSTER_CHUNK"]),
                float(config["GALLERY_CLUSTER_CONNECT_SECONDS"]),
                tls_dir=config.get("GALLERY_CLUSTER_TLS_DIR"),
                insecure_local=insecure_local,
                run=cluster,
            )
            if rows
            else iter(())
        )
    elif workers <= 1 or len(rows) < 2:
        results: Iterable[PhotoEmbedding] = (embed_photo(p, settings) for p in paths)
    else:
        # spawn, not fork: the parent holds database connections and threads.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        chunk = max(1, min(16, len(paths) // (workers * 4) or 1))
        results = pool.map(embed_photo, paths, [settings] * len(paths), chunksize=chunk)
    try:
        iterator = zip(rows, results, strict=True)
        yield from (progress(len(rows))(iterator) if progress else iterator)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _store_photo(row: ManifestRow, embedding: PhotoEmbedding) -> str:
    """Copy the photo into the instance, named by its SHA-256 (a re-run reuses it)."""
    data = row.image.read_bytes()
    if hashlib.sha256(data).hexdigest() != embedding.sha256:
        raise ValueError("the file changed while it was being enrolled")
    extension = FILE_EXTENSIONS[embedding.format]
    relative = Path("gallery") / embedding.sha256[:2] / f"{embedding.sha256}.{extension}"
    target = Path(current_app.instance_path) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    return str(relative)


def _subject_for(row: ManifestRow) -> Subject:
    """Bookings of one person share a subject, matched on SID, else MAIN number."""
    for column, value in ((Subject.sid, row.sid), (Subject.main_number, row.main_number)):
        if value:
            subject = db.session.scalar(select(Subject).where(column == value))
            if subject is not None:
                return subject
    subject = Subject(
        name=row.name, date_of_birth=row.dob, sid=row.sid, main_number=row.main_number, cdl=row.cdl
    )
    db.session.add(subject)
    return subject


def _enroll(row: ManifestRow, embedding: PhotoEmbedding) -> None:
    booking = Booking(
        booking_number=row.booking_number,
        subject=_subject_for(row),
        booking_date=row.booking_date,
        photo_path=_store_photo(row, embedding),
        photo_sha256=embedding.sha256,
        photo_format=embedding.format,
    )
    db.session.add(booking)
    db.session.add(
        FaceTemplate(
            booking=booking,
            descriptor=embedding.descriptor,
            model_id=engine_settings(current_app.config, role="gallery").model_id,
            detector=embedding.detector,
            quality=dict(embedding.quality),
            face_box=list(embedding.box),
        )
    )
    db.session.flush()


def import_manifest(
    path: Path,
    *,
    actor: User | None,
    workers: int | None = None,
    progress: ProgressFactory | None = None,
    scheduler: str | None = None,
    insecure_local: bool = False,
) -> ImportSummary:
    """Enroll every good row of the manifest; commits in batches (this is a job, run from
    the CLI) so that an interruption keeps whole records only and a re-run resumes.

    Photos are embedded by ``workers`` local processes, or, given a Dask ``scheduler``
    address (``tls://``; ``tcp://`` on loopback with ``insecure_local``), by that cluster's
    workers; this process checks and records every result either way, and the audit says
    which worker embedded how many."""
    path = Path(path)
    summary = ImportSummary(manifest=str(path))
    rows, rejections = read_manifest(path)
    summary.rejected.extend(rejections)
    enrolled_numbers = set(
        db.session.scalars(
            select(Booking.booking_number).where(Booking.booking_number.in_([r.booking_number for r in rows]))
        )
        if len(rows) < 30_000
        else db.session.scalars(select(Booking.booking_number))
    )
    pending = []
    for row in rows:
        if row.booking_number in enrolled_numbers:
            summary.skipped += 1
        else:
            pending.append(row)
    workers = workers or os.cpu_count() or 1
    cluster = ClusterRun(scheduler) if scheduler else None
    try:
        _enroll_all(summary, _embed_all(pending, workers, progress, cluster, insecure_local))
    except ServiceError as err:  # a cluster refused or a worker's answer refused: said, audited
        db.session.rollback()
        _record_import(summary, path, actor, workers, cluster, refused=err.message)
        db.session.commit()
        raise
    _record_import(summary, path, actor, workers, cluster)
    db.session.commit()
    return summary


def _enroll_all(summary: ImportSummary, embedded) -> None:
    uncommitted = 0
    for row, embedding in embedded:
        if not embedding.ok:
            summary.rejected.append(Rejection(row.line, row.booking_number, embedding.error))
            continue
        try:
            with db.session.begin_nested():
                _enroll(row, embedding)
        except (OSError, ValueError) as exc:
            summary.rejected.append(Rejection(row.line, row.booking_number, f"cannot store the photo: {exc}"))
            continue
        summary.enrolled += 1
        uncommitted += 1
        if uncommitted >= COMMIT_EVERY:
            db.session.commit()
            uncommitted = 0
    summary.rejected.sort(key=lambda r: r.line)


def _record_import(summary, path: Path, actor, workers: int, cluster: ClusterRun | None, refused: str = ""):
    ok = (summary.enrolled or not summary.rejected) and not refused
    record_event(
        "gallery.import",
        actor=actor,
        outcome=Outcome.SUCCESS if ok else Outcome.FAILED,
        object_type="manifest",
        object_id=path.name[:64],
        reason=refused or None,
        detail={
            "manifest_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "embedded_by": cluster.scheduler if cluster else f"{workers} local process(es)",
            "by_worker": dict(cluster.by_worker) if cluster else {},
            "enrolled": summary.enrolled,
            "skipped": summary.skipped,
            "rejected": [[r.line, r.booking_number, r.reason] for r in summary.rejected[:100]],
        },
    )


def get_booking(booking_number: str) -> Booking:
    booking = db.session.scalar(select(Booking).where(Booking.booking_number == booking_number))
    if booking is None:
        raise NotFound(f"No booking {booking_number!r} in the gallery.")
    return booking


def progress_bar(total: int) -> Callable[[Iterable], Iterable]:
    """A tqdm progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    def wrap(iterable: Iterable) -> Iterable:
        return tqdm(iterable, total=total, desc="Enrolling", unit="photo", file=sys.stderr, disable=None)

    return wrap
