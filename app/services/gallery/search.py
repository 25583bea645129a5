"""1:N search over the gallery: the current index, the templates enrolled since it was built, and
the records sealed since, each read by a range that does not grow with the gallery (the index's
life cycle is in index_builds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.matching.analysis_store import AnalysisStore
from app.matching.faces import EngineSettings, Face, FaceEngine
from app.matching.index import IndexStore, IndexUnavailable, exact_top_k
from app.matching.scoring import similarity_score
from app.matching.tuning import STRATEGIES
from app.models import Booking, FaceTemplate
from app.services.platform.errors import ServiceError

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
        runtime=str(config["DESCRIPTOR_RUNTIME"]),
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
    # The share of the exact search's true mates this setting kept when the index was built
    # (1.0 for an exact scan; None when the index's build did not measure it).
    recall: float | None = None


def vectors_of(templates: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((t[0] for t in templates), dtype=np.int64, count=len(templates))
    vectors = np.frombuffer(b"".join(t[1] for t in templates), dtype="<f4").reshape(-1, 128)
    return ids, np.ascontiguousarray(vectors, dtype=np.float32)


def _scan(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    norms = np.einsum("ij,ij->i", vectors, vectors)
    rows, distances = exact_top_k(vectors, norms, query, k)
    return ids[rows], distances


def searchable_templates(where) -> list[tuple[int, bytes]]:
    """Every unsealed template matching ``where`` (the exact fallback and the rebuild)."""
    stmt = (
        select(FaceTemplate.id, FaceTemplate.descriptor)
        .join(Booking)
        .where(Booking.sealed.is_(False), FaceTemplate.model_id == gallery_model_id(), where)
        .order_by(FaceTemplate.id)
    )
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def templates_enrolled_after(max_template_id: int) -> list[tuple[int, bytes]]:
    """Unsealed templates newer than the index: a range of the primary key, then their
    bookings by id, so the cost follows what was enrolled since the build, not the gallery."""
    rows = db.session.execute(
        select(FaceTemplate.id, FaceTemplate.descriptor, FaceTemplate.booking_id)
        .where(FaceTemplate.id > max_template_id, FaceTemplate.model_id == gallery_model_id())
        .order_by(FaceTemplate.id)
    ).all()
    if not rows:
        return []
    sealed = set(
        db.session.scalars(
            select(Booking.id).where(Booking.id.in_({r.booking_id for r in rows}), Booking.sealed.is_(True))
        )
    )
    return [(r.id, r.descriptor) for r in rows if r.booking_id not in sealed]


def templates_sealed_since(snapshot_at: str | None) -> set[int]:
    """Templates in the index whose record was sealed after the build read the gallery (the
    build left the others out): a range of ``booking.sealed_at`` alone, so that the query walks
    what was sealed since, never every sealed record. An index from before the snapshot was
    kept counts every sealed record."""
    if snapshot_at is None:
        stmt = select(FaceTemplate.id).join(Booking).where(Booking.sealed.is_(True))
        return set(db.session.scalars(stmt))
    rows = db.session.execute(
        select(FaceTemplate.id, Booking.sealed)
        .join(Booking)
        .where(Booking.sealed_at >= datetime.fromisoformat(snapshot_at))
    )
    return {template_id for template_id, sealed in rows if sealed}


def search_setting(manifest) -> tuple[str, int]:
    """How to search the indexed part: the setting measured at the build (the fastest that
    keeps 99.5% of the exact search's true mates, see ``app/matching/tuning.py``); before a
    build measured it, by gallery size (exact, two-stage, Annoy: docs/measured.md)."""
    config = current_app.config
    if config["SEARCH_STRATEGY"] != "auto":
        strategy = config["SEARCH_STRATEGY"]
    elif manifest.tuning:
        return manifest.tuning["strategy"], int(manifest.tuning["effort"])
    elif manifest.count <= int(config["EXACT_SEARCH_MAX_GALLERY"]):
        strategy = "exact"
    else:
        strategy = "two-stage" if manifest.count <= int(config["TWO_STAGE_MAX_GALLERY"]) else "annoy"
    effort = {"annoy": "ANNOY_SEARCH_K", "two-stage": "TWO_STAGE_SHORTLIST"}.get(strategy)
    return strategy, int(config[effort]) if effort else 0


def measured_recall(manifest, strategy: str, effort: int) -> float | None:
    """The share of the exact search's true mates this setting kept when the index was built
    (1.0 for the exact scan; None when the build did not measure this setting)."""
    if strategy == "exact":
        return 1.0
    tuning = manifest.tuning
    if tuning and (tuning["strategy"], tuning["effort"]) == (strategy, effort):
        return tuning["share_of_exact_mates"]
    return None


def search_index_with(loaded, query: np.ndarray, fetch: int, strategy: str, effort: int):
    if strategy == "annoy":
        return loaded.search_annoy(query, fetch, effort)
    if strategy == "two-stage":
        return loaded.search_two_stage(query, fetch, effort)
    if strategy == "exact":
        return loaded.search_exact(query, fetch)
    raise ValueError(f"unknown search strategy {strategy!r}: one of {', '.join(STRATEGIES)}")


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
    sealed: set[int] = set()
    notes: list[str] = []
    try:
        loaded = index_store().open_current()
    except IndexUnavailable as exc:
        current_app.logger.error("search falling back to an exact scan: %s", exc)
        loaded = None
        notes.append(f"Index unavailable ({exc}); the whole gallery was scanned exactly.")
    found: list[tuple[np.ndarray, np.ndarray]] = []
    strategy, recall = "exact", 1.0  # an exact scan keeps every true mate
    if loaded is not None:
        # Over-fetch by the records sealed since the build, then drop them.
        sealed = templates_sealed_since(loaded.manifest.snapshot_at)
        strategy, effort = search_setting(loaded.manifest)
        found.append(search_index_with(loaded, query, top_k + len(sealed), strategy, effort))
        newer = templates_enrolled_after(loaded.manifest.max_template_id)
        if newer:
            found.append(_scan(*vectors_of(newer), query, top_k))
        mode, version = "index", loaded.version
        recall = measured_recall(loaded.manifest, strategy, effort)
    else:
        everything = searchable_templates(FaceTemplate.id > 0)
        if everything:
            found.append(_scan(*vectors_of(everything), query, top_k))
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
    return SearchResult(candidates, version, mode, strategy, notes, recall)


def describe_probe(pixels: np.ndarray) -> list[Face]:
    """Every face in a probe photo, largest first, each with its descriptor and quality."""
    return probe_engine().analyze(pixels)
