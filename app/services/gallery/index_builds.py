"""The index's life cycle: the nightly rebuild (streamed from the database, the recall of its
search setting measured before the switch) and its status."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.matching.index import BuildParameters, IndexUnavailable
from app.matching.tuning import Setting, Tuning, choose, measure, recall_queries
from app.models import Booking, BuildOutcome, FaceTemplate, IndexBuild, Outcome
from app.services.gallery.search import (
    gallery_model_id,
    index_store,
    search_index_with,
    templates_enrolled_after,
    templates_sealed_since,
    vectors_of,
)
from app.services.oversight.audit import record_event
from app.services.platform.errors import ServiceError


@contextmanager
def rebuild_lock(directory: Path):
    """One rebuild at a time on this machine, whatever process asks (scheduler, CLI)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "rebuild.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServiceError("An index rebuild is already running.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def forest_trees(config, templates: int) -> int:
    """Annoy trees for a gallery of this size: fewer for the largest, whose forest file would
    otherwise not fit the serving memory (docs/measured.md, "Ten million templates")."""
    large = templates >= int(config["ANNOY_LARGE_GALLERY"])
    return int(config["ANNOY_N_TREES_LARGE" if large else "ANNOY_N_TREES"])


def rebuild_index(*, triggered_by: str, parameters: BuildParameters | None = None) -> IndexBuild:
    """Build a new index version from every searchable template and switch to it.

    A job: it commits its own progress (the build row first, so status shows it running).
    On failure the build is recorded as failed and the previous version keeps serving.
    """
    config = current_app.config
    parameters = parameters or BuildParameters(
        n_trees=forest_trees(config, db.session.scalar(select(func.count(FaceTemplate.id))) or 0),
        reduced_dims=int(config["INDEX_REDUCED_DIMS"]),
    )
    store = index_store()
    with rebuild_lock(store.root):
        version = (db.session.scalar(select(func.max(IndexBuild.version))) or 0) + 1
        build = IndexBuild(
            version=version,
            parameters=parameters.as_dict(),
            started_at=utcnow(),
            outcome=BuildOutcome.RUNNING,
            triggered_by=triggered_by[:64],
        )
        db.session.add(build)
        db.session.commit()
        try:
            snapshot_at = utcnow()  # sealed from now on: filtered at search time
            max_id, count, sealed_bookings = _gallery_snapshot()
            manifest = store.build_from_chunks(
                version=version,
                chunks=_stream_templates(max_id, sealed_bookings),
                count=count,
                model_id=gallery_model_id(),
                parameters=parameters,
                built_at=utcnow().isoformat(),
                snapshot_at=snapshot_at.isoformat(),
                tune=_measure_recall,
            )
        except Exception as exc:
            db.session.rollback()
            build = db.session.get(IndexBuild, build.id)
            build.outcome = BuildOutcome.FAILED
            build.error = f"{type(exc).__name__}: {exc}"[:2000]
            _finish(build)
            record_event(
                "index.rebuild",
                actor=None,
                outcome=Outcome.FAILED,
                object_type="index",
                object_id=version,
                reason=build.error,
                detail={"triggered_by": triggered_by},
            )
            db.session.commit()
            raise ServiceError(f"Index rebuild {version} failed: {build.error}") from exc
        build.outcome = BuildOutcome.SUCCEEDED
        build.template_count = manifest.count
        build.max_template_id = manifest.max_template_id
        build.file = str(Path("index") / manifest.directory)
        build.tuning = dict(manifest.tuning) if manifest.tuning else None
        _finish(build)
        record_event(
            "index.rebuild",
            actor=None,
            object_type="index",
            object_id=version,
            detail={
                "templates": manifest.count,
                "triggered_by": triggered_by,
                **parameters.as_dict(),
                "search": _tuning_summary(manifest.tuning),
            },
        )
        db.session.commit()
        store.prune(keep=int(config["INDEX_VERSIONS_KEPT"]))
        return build


REBUILD_CHUNK = 20_000  # templates read per query (also under SQLite's bound on parameters)


def _gallery_snapshot() -> tuple[int, int, set[int]]:
    """The newest template id, how many searchable templates there are up to it, and the
    sealed bookings, read once: the rebuild then streams by primary-key ranges."""
    of_model = FaceTemplate.model_id == gallery_model_id()
    max_id = db.session.scalar(select(func.max(FaceTemplate.id)).where(of_model)) or 0
    sealed_bookings = set(db.session.scalars(select(Booking.id).where(Booking.sealed.is_(True))))
    total = db.session.scalar(select(func.count(FaceTemplate.id)).where(of_model, FaceTemplate.id <= max_id))
    sealed_templates = db.session.scalar(
        select(func.count(FaceTemplate.id))
        .join(Booking)
        .where(Booking.sealed.is_(True), of_model, FaceTemplate.id <= max_id)
    )
    return max_id, total - sealed_templates, sealed_bookings


def _stream_templates(max_id: int, sealed_bookings: set[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The searchable templates up to ``max_id`` in chunks, by ranges of the primary key (no
    join: the cost of each chunk is its own size, on SQLite and PostgreSQL alike)."""
    model_id, last = gallery_model_id(), 0
    while last < max_id:
        rows = db.session.execute(
            select(FaceTemplate.id, FaceTemplate.descriptor, FaceTemplate.booking_id)
            .where(FaceTemplate.id > last, FaceTemplate.id <= max_id, FaceTemplate.model_id == model_id)
            .order_by(FaceTemplate.id)
            .limit(REBUILD_CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        kept = [(r.id, r.descriptor) for r in rows if r.booking_id not in sealed_bookings]
        if kept:
            yield vectors_of(kept)


def _mates_in_gallery(limit: int = 2000) -> dict[int, list[int]]:
    """Templates of people with other bookings, each with those other templates."""
    several = (
        select(Booking.subject_id)
        .where(Booking.sealed.is_(False))
        .group_by(Booking.subject_id)
        .having(func.count(Booking.id) > 1)
        .limit(limit)
    )
    by_person: dict[int, list[int]] = {}
    for template_id, subject_id in db.session.execute(
        select(FaceTemplate.id, Booking.subject_id)
        .join(Booking)
        .where(
            Booking.subject_id.in_(several),
            Booking.sealed.is_(False),
            FaceTemplate.model_id == gallery_model_id(),
        )
    ):
        by_person.setdefault(subject_id, []).append(template_id)
    return {t: [o for o in group if o != t] for group in by_person.values() for t in group}


def candidate_settings(count: int) -> list[Setting]:
    """The settings a build measures: the exact scan, and the approximate ones that can help."""
    config = current_app.config
    settings = [Setting("exact")]
    settings += [Setting("two-stage", n) for n in config["TWO_STAGE_SHORTLISTS"] if n < count]
    settings += [Setting("annoy", n) for n in config["ANNOY_SEARCH_KS"] if n < count * 10]
    return settings


def _measure_recall(loaded) -> dict:
    """The tuning a build records: a small gallery is scanned exactly (nothing to measure);
    above ``EXACT_SEARCH_MAX_GALLERY`` every candidate setting is measured on the gallery."""
    count = loaded.manifest.count
    if count <= int(current_app.config["EXACT_SEARCH_MAX_GALLERY"]):
        return Tuning(Setting("exact"), 1.0, 0.0, 0, 0, ()).as_dict()
    queries, from_bookings = recall_queries(
        np.asarray(loaded.ids), loaded.vectors, _mates_in_gallery(), int(current_app.config["RECALL_QUERIES"])
    )
    searchers = {
        setting: (lambda q, k, s=setting: search_index_with(loaded, q, k, s.strategy, s.effort))
        for setting in candidate_settings(count)
    }
    return choose(measure(searchers, queries), from_bookings, len(queries)).as_dict()


def _tuning_summary(tuning: dict | None) -> dict | None:
    if not tuning:
        return None
    return {k: tuning[k] for k in ("strategy", "effort", "share_of_exact_mates", "p50_ms", "queries")}


def _finish(build: IndexBuild) -> None:
    build.finished_at = utcnow()
    build.duration_seconds = round((build.finished_at - build.started_at).total_seconds(), 3)


@dataclass(frozen=True)
class IndexStatus:
    version: int | None
    template_count: int | None
    built_at: datetime | None
    age: timedelta | None
    overdue: bool
    searchable_templates: int
    enrolled_since_build: int
    last_failure: IndexBuild | None
    problem: str | None  # the index cannot be opened: searches scan exactly
    tuning: dict | None = None  # the recall measured at the build and the setting chosen

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "template_count": self.template_count,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "age_hours": round(self.age.total_seconds() / 3600, 2) if self.age else None,
            "overdue": self.overdue,
            "searchable_templates": self.searchable_templates,
            "enrolled_since_build": self.enrolled_since_build,
            "problem": self.problem,
            "search": _tuning_summary(self.tuning),
        }


def index_status() -> IndexStatus:
    now = utcnow()
    last_ok = db.session.scalar(
        select(IndexBuild)
        .where(IndexBuild.outcome == BuildOutcome.SUCCEEDED)
        .order_by(IndexBuild.version.desc())
        .limit(1)
    )
    last_failure = db.session.scalar(
        select(IndexBuild)
        .where(IndexBuild.outcome == BuildOutcome.FAILED)
        .order_by(IndexBuild.version.desc())
        .limit(1)
    )
    if last_failure and last_ok and last_failure.version < last_ok.version:
        last_failure = None
    problem = None
    manifest = None
    try:
        loaded = index_store().open_current()
        manifest = loaded.manifest if loaded else None
        if loaded is None:
            problem = "no index has been built"
    except IndexUnavailable as exc:
        problem = str(exc)
    if manifest is not None:  # kept counts: what the index holds, less sealed since, plus newer
        newer = len(templates_enrolled_after(manifest.max_template_id))
        searchable = manifest.count - len(templates_sealed_since(manifest.snapshot_at)) + newer
    else:
        newer = 0
        searchable = db.session.scalar(
            select(func.count(FaceTemplate.id)).join(Booking).where(Booking.sealed.is_(False))
        )
    built_at = last_ok.finished_at if last_ok else None
    age = now - built_at if built_at else None
    max_age = timedelta(hours=float(current_app.config["INDEX_MAX_AGE_HOURS"]))
    return IndexStatus(
        version=manifest.version if manifest else None,
        template_count=manifest.count if manifest else None,
        built_at=built_at,
        age=age,
        overdue=age is None or age > max_age,
        searchable_templates=searchable,
        enrolled_since_build=newer,
        last_failure=last_failure,
        problem=problem,
        tuning=manifest.tuning if manifest else None,
    )
