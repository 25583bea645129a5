"""1:N search over the gallery and the index's life cycle (rebuild, status)."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.matching.analysis_store import AnalysisStore
from app.matching.faces import EngineSettings, Face, FaceEngine
from app.matching.index import BuildParameters, IndexStore, IndexUnavailable, exact_top_k
from app.matching.scoring import similarity_score
from app.models import Booking, BuildOutcome, FaceTemplate, IndexBuild, Outcome
from app.services.audit import record_event
from app.services.errors import ServiceError

MAX_TOP_K = 50
DEFAULT_TOP_K = 20


def engine_settings(config: Mapping, role: str) -> EngineSettings:
    """Detector and descriptor settings for gallery photos or probes (from the config)."""
    prefix = "PROBE" if role == "probe" else "GALLERY"
    return EngineSettings(
        upsample=int(config["FACE_DETECTOR_UPSAMPLE"]),
        cnn_fallback=bool(config["FACE_CNN_FALLBACK"]),
        jitters=int(config[f"{prefix}_JITTERS"]),
        flip=bool(config[f"{prefix}_FLIP"]),
        landmarks=int(config["FACE_LANDMARKS"]),
    )


def gallery_model_id() -> str:
    """Which templates a search compares with: those made the way the gallery makes them."""
    return engine_settings(current_app.config, role="gallery").model_id


ANALYSIS_CACHE_SIZE = 256  # photos per worker process whose faces are remembered in memory


def analysis_store() -> AnalysisStore:
    """Face analyses shared on disk by the instance's processes (instance/cache/faces)."""
    config = current_app.config
    return AnalysisStore(
        Path(current_app.instance_path) / "cache" / "faces",
        max_entries=int(config["FACE_ANALYSIS_CACHE_ENTRIES"]),
        max_age_days=float(config["FACE_ANALYSIS_CACHE_DAYS"]),
    )


def face_engine(settings: EngineSettings) -> FaceEngine:
    """This app's engine for ``settings``: remembers analyses in memory and, shared with the
    instance's other processes, on disk."""
    engines = current_app.extensions.setdefault("leaddesk.engines", {})
    if settings not in engines:
        engines[settings] = FaceEngine(settings, cache_size=ANALYSIS_CACHE_SIZE, store=analysis_store())
    return engines[settings]


def probe_engine() -> FaceEngine:
    return face_engine(engine_settings(current_app.config, role="probe"))


def index_store() -> IndexStore:
    """This process's view of the index folder (it caches the memory-mapped version)."""
    store = current_app.extensions.get("leaddesk.index_store")
    if store is None:
        store = IndexStore(Path(current_app.instance_path) / "index")
        current_app.extensions["leaddesk.index_store"] = store
    return store


@dataclass(frozen=True)
class Candidate:
    rank: int
    template_id: int
    booking_id: int
    booking_number: str
    distance: float
    score: float

    def as_json(self) -> dict:
        return {
            "booking_number": self.booking_number,
            "distance": round(self.distance, 4),
            "score": self.score,
        }


@dataclass
class SearchResult:
    candidates: list[Candidate]
    index_version: int | None
    mode: str  # "index" | "exact-fallback" (index unusable) | "exact-no-index" (none built yet)
    strategy: str  # how the indexed part was searched: "exact", "two-stage" or "annoy"
    notes: list[str] = field(default_factory=list)


def _vectors_of(templates: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((t[0] for t in templates), dtype=np.int64, count=len(templates))
    vectors = np.frombuffer(b"".join(t[1] for t in templates), dtype="<f4").reshape(-1, 128)
    return ids, np.ascontiguousarray(vectors, dtype=np.float32)


def _scan(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    norms = np.einsum("ij,ij->i", vectors, vectors)
    rows, distances = exact_top_k(vectors, norms, query, k)
    return ids[rows], distances


def _searchable_templates(where) -> list[tuple[int, bytes]]:
    stmt = (
        select(FaceTemplate.id, FaceTemplate.descriptor)
        .join(Booking)
        .where(Booking.sealed.is_(False), FaceTemplate.model_id == gallery_model_id(), where)
        .order_by(FaceTemplate.id)
    )
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def search_strategy(gallery_size: int) -> str:
    """How to search the indexed part, from the measured figures (README, "Measured"):
    exact for small galleries, the two-stage scan for middling ones, Annoy for large ones.
    """
    config = current_app.config
    if config["SEARCH_STRATEGY"] != "auto":
        return config["SEARCH_STRATEGY"]
    if gallery_size <= int(config["EXACT_SEARCH_MAX_GALLERY"]):
        return "exact"
    return "two-stage" if gallery_size <= int(config["TWO_STAGE_MAX_GALLERY"]) else "annoy"


def _search_index(loaded, query: np.ndarray, fetch: int, strategy: str):
    config = current_app.config
    if strategy == "annoy":
        return loaded.search_annoy(query, fetch, int(config["ANNOY_SEARCH_K"]))
    if strategy == "two-stage":
        return loaded.search_two_stage(query, fetch, int(config["TWO_STAGE_SHORTLIST"]))
    return loaded.search_exact(query, fetch)


def check_top_k(top_k: int) -> None:
    """The one rule for K, for the web search and the CLI alike."""
    if not 1 <= top_k <= MAX_TOP_K:
        raise ServiceError(f"K must be between 1 and {MAX_TOP_K}.", field="top_k")


def search_descriptor(
    query: np.ndarray, top_k: int = DEFAULT_TOP_K, *, bookings: int | None = None
) -> SearchResult:
    """The gallery bookings nearest ``query``, best first (``bookings`` of them, K by default);
    sealed records never appear.

    Covers the current index plus an exact scan of templates enrolled after it was built.
    If the index is missing or damaged, the whole gallery is scanned exactly instead.
    """
    check_top_k(top_k)
    top_k = max(top_k, bookings or 0)
    query = np.asarray(query, dtype=np.float32)
    sealed = set(db.session.scalars(select(FaceTemplate.id).join(Booking).where(Booking.sealed.is_(True))))
    notes: list[str] = []
    try:
        loaded = index_store().open_current()
    except IndexUnavailable as exc:
        current_app.logger.error("search falling back to an exact scan: %s", exc)
        loaded = None
        notes.append(f"Index unavailable ({exc}); the whole gallery was scanned exactly.")
    found: list[tuple[np.ndarray, np.ndarray]] = []
    strategy = "exact"
    if loaded is not None:
        # Over-fetch by the number of records sealed since the build, then drop them.
        fetch = top_k + len(sealed)
        strategy = search_strategy(loaded.manifest.count)
        found.append(_search_index(loaded, query, fetch, strategy))
        newer = _searchable_templates(FaceTemplate.id > loaded.manifest.max_template_id)
        if newer:
            found.append(_scan(*_vectors_of(newer), query, top_k))
        mode, version = "index", loaded.version
    else:
        everything = _searchable_templates(FaceTemplate.id > 0)
        if everything:
            found.append(_scan(*_vectors_of(everything), query, top_k))
        mode, version = ("exact-fallback" if notes else "exact-no-index"), None
        if not notes:
            notes.append("No index has been built yet; the whole gallery was scanned exactly.")
    merged: dict[int, float] = {}
    for ids, distances in found:
        for template_id, distance in zip(ids.tolist(), distances.tolist(), strict=True):
            if template_id not in sealed:
                merged[template_id] = min(distance, merged.get(template_id, float("inf")))
    best = sorted(merged.items(), key=lambda item: (item[1], item[0]))[:top_k]
    bookings = {
        row.template_id: row
        for row in db.session.execute(
            select(FaceTemplate.id.label("template_id"), Booking.id, Booking.booking_number, Booking.sealed)
            .join(Booking)
            .where(FaceTemplate.id.in_([t for t, _ in best]))
        )
    }
    candidates = []
    for template_id, distance in best:
        row = bookings.get(template_id)
        if row is None or row.sealed:  # sealed between the two queries: still never shown
            continue
        candidates.append(
            Candidate(
                rank=len(candidates) + 1,
                template_id=template_id,
                booking_id=row.id,
                booking_number=row.booking_number,
                distance=float(distance),
                score=similarity_score(distance),
            )
        )
    return SearchResult(candidates, version, mode, strategy, notes)


def describe_probe(pixels: np.ndarray) -> list[Face]:
    """Every face in a probe photo, largest first, each with its descriptor and quality."""
    return probe_engine().analyze(pixels)


# --- the index's life cycle -------------------------------------------------------------


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


def rebuild_index(*, triggered_by: str, parameters: BuildParameters | None = None) -> IndexBuild:
    """Build a new index version from every searchable template and switch to it.

    A job: it commits its own progress (the build row first, so status shows it running).
    On failure the build is recorded as failed and the previous version keeps serving.
    """
    config = current_app.config
    parameters = parameters or BuildParameters(
        n_trees=int(config["ANNOY_N_TREES"]), reduced_dims=int(config["INDEX_REDUCED_DIMS"])
    )
    store = index_store()
    with rebuild_lock(store.root):
        version = (db.session.scalar(select(func.max(IndexBuild.version))) or 0) + 1
        build = IndexBuild(
            version=version,
            parameters=json.dumps(parameters.as_dict(), sort_keys=True),
            started_at=utcnow(),
            outcome=BuildOutcome.RUNNING,
            triggered_by=triggered_by[:64],
        )
        db.session.add(build)
        db.session.commit()
        try:
            ids, vectors = _vectors_of(_searchable_templates(FaceTemplate.id > 0))
            manifest = store.build(
                version=version,
                template_ids=ids,
                vectors=vectors,
                model_id=gallery_model_id(),
                parameters=parameters,
                built_at=utcnow().isoformat(),
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
        _finish(build)
        record_event(
            "index.rebuild",
            actor=None,
            object_type="index",
            object_id=version,
            detail={"templates": manifest.count, "triggered_by": triggered_by, **parameters.as_dict()},
        )
        db.session.commit()
        store.prune(keep=int(config["INDEX_VERSIONS_KEPT"]))
        return build


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
    searchable = db.session.scalar(
        select(func.count(FaceTemplate.id)).join(Booking).where(Booking.sealed.is_(False))
    )
    newer = 0
    if manifest is not None:
        newer = db.session.scalar(
            select(func.count(FaceTemplate.id)).where(FaceTemplate.id > manifest.max_template_id)
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
    )
