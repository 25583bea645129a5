"""1:N searches for a request: one probe, or several photos of one person fused into one list,
recorded (probes, chains, suitability, K, index version, model) so they re-run to the same list."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import select

from app.extensions import db
from app.matching.scoring import similarity_score
from app.matching.suitability import UNSUITABLE
from app.models import Booking, Capacity, FaceSearch, FaceTemplate, Outcome, ProbeWork, SearchRequest, User
from app.services.accounts import get_user_by_username, search_eligibility
from app.services.audit import ObjectType, record_event
from app.services.errors import ServiceError
from app.services.matching import SearchResult, check_top_k, gallery_model_id, search_descriptor
from app.services.policy import PLACEHOLDER_CASE_NUMBERS, PURPOSES
from app.services.requests import justification_of
from app.services.review.probes import prepare, prepare_spec, spec_of
from app.services.workflow import Action, decisions, require

FUSION_RULE = "mean-distance"  # measured on the LFW dev set: see README "Measured"
MIN_OVERRIDE_CHARS = 10
# K slots are K people: bookings are fetched three deep per slot, so that a person with several
# bookings takes one slot and every one of their bookings keeps its own distance.
BOOKINGS_PER_SLOT = 3


def _fused_search(specs: list[dict], top_k: int) -> tuple[list[dict], set[int | None], str, float | None]:
    """Search each probe; with several, rank the union of their lists by the mean distance
    to every probe (the rule measured best on the LFW dev set; README, "Measured")."""
    fused: dict[int, dict] = {}
    descriptors: list[np.ndarray] = []
    versions: set[int | None] = set()
    strategy, recalls = "exact", []
    for spec in specs:
        prepared = prepare_spec(spec)
        if prepared.chosen is None:
            raise ServiceError(
                f"No face to search in probe {spec['probe_image_id']}: "
                "crop, rotate or place the eyes by hand."
            )
        descriptors.append(prepared.chosen.descriptor)
        result = search_descriptor(prepared.chosen.descriptor, top_k, bookings=top_k * BOOKINGS_PER_SLOT)
        versions.add(result.index_version)
        strategy = result.strategy
        recalls.append(result.recall)
        for candidate in result.candidates:
            entry = fused.setdefault(
                candidate.booking_id,
                {
                    "booking_id": candidate.booking_id,
                    "template_id": candidate.template_id,
                    "distance": candidate.distance,
                    "score": candidate.score,
                    "found_by": [],
                },
            )
            entry["found_by"].append(spec["probe_image_id"])
    if len(descriptors) > 1 and fused:
        vectors = {
            row.id: np.frombuffer(row.descriptor, dtype="<f4")
            for row in db.session.execute(
                select(FaceTemplate.id, FaceTemplate.descriptor).where(
                    FaceTemplate.id.in_([e["template_id"] for e in fused.values()])
                )
            )
        }
        for entry in fused.values():
            template = vectors[entry["template_id"]]
            mean = float(np.mean([np.linalg.norm(template - d) for d in descriptors]))
            entry.update(distance=mean, score=similarity_score(mean))
    recall = None if None in recalls else min(recalls, default=None)
    return _by_person(fused.values(), top_k), versions, strategy, recall


def _by_person(entries, top_k: int) -> list[dict]:
    """The K nearest people, each with every booking found (best first): entries keep their
    own rank (by photo) and carry the person's rank and subject."""
    ordered = sorted(entries, key=lambda e: (e["distance"], e["booking_id"]))
    subjects = dict(
        db.session.execute(
            select(Booking.id, Booking.subject_id).where(Booking.id.in_([e["booking_id"] for e in ordered]))
        ).all()
    )
    person_rank: dict[int, int] = {}
    kept = []
    for entry in ordered:
        subject = subjects[entry["booking_id"]]
        if subject not in person_rank:
            if len(person_rank) == top_k:
                continue
            person_rank[subject] = len(person_rank) + 1
        kept.append(entry | {"subject_id": subject, "person_rank": person_rank[subject]})
    for rank, entry in enumerate(kept, start=1):
        entry["rank"] = rank
        entry["distance"] = round(float(entry["distance"]), 6)
    return kept


def run_search(
    request: SearchRequest,
    *,
    reviewer: User,
    works: list[ProbeWork],
    top_k: int,
    override_reason: str = "",
) -> FaceSearch:
    """Search one probe, or several photos of the same person fused into one list.

    The reviewer determines suitability (Investigative searches, 2): a probe the verdict calls
    unsuitable is searched only with the reviewer's reason, recorded with the search.
    """
    require(request, reviewer, Action.SEARCH)
    check_top_k(top_k)
    works = [w for w in works if w.reviewer_id == reviewer.id and w.probe.request_id == request.id]
    if not works:
        raise ServiceError("Choose at least one probe of this request to search.")
    specs = []
    for work in works:
        prepared = prepare(work)
        spec = spec_of(work, prepared)
        if prepared.verdict == UNSUITABLE:
            if len(override_reason.strip()) < MIN_OVERRIDE_CHARS:
                raise ServiceError(
                    f"Probe {work.probe.original_name} was judged unsuitable "
                    f"({'; '.join(prepared.reasons)}). Say why it should be searched anyway.",
                    field="override_reason",
                )
            spec["override_reason"] = override_reason.strip()
        specs.append(spec)
    ranked, versions, strategy, recall = _fused_search(specs, top_k)
    search = FaceSearch(
        request_id=request.id,
        reviewer_id=reviewer.id,
        justification=justification_of(request),
        probes=json.dumps(specs),
        top_k=top_k,
        index_version=versions.pop() if len(versions) == 1 else None,
        model_id=gallery_model_id(),
        strategy=strategy,
        index_recall=recall,
        fusion=FUSION_RULE if len(works) > 1 else None,
        results=json.dumps(ranked),
    )
    db.session.add(search)
    db.session.flush()
    record_event(
        "search.run",
        actor=reviewer,
        object_type=ObjectType.SEARCH,
        object_id=search.id,
        reason=justification_of(request),
        detail={
            "request": request.tracking_number,
            "probes": len(works),
            "top_k": top_k,
            "index_version": search.index_version,
            "model_id": search.model_id,
            "candidates": len(ranked),
            "suitability": [s["suitability"] for s in specs],
            "override_reason": override_reason.strip() or None,
        },
    )
    return search


def rerun_search(search: FaceSearch) -> list[dict]:
    """The candidate list the recorded probes, chains and K give now (for audits and tests)."""
    ranked, *_ = _fused_search(json.loads(search.probes), search.top_k)
    return ranked


def primary_search(request: SearchRequest) -> FaceSearch | None:
    """The search the first reviewer's decision rests on (what a verifier checks blind)."""
    first = next((d for d in decisions(request) if d.capacity is Capacity.PRIMARY), None)
    return db.session.get(FaceSearch, first.search_id) if first and first.search_id else None


def searches_for(request: SearchRequest, reviewer: User) -> list[FaceSearch]:
    """The reviewer's searches on the request, newest first; a verifier starts from the first
    reviewer's candidate list."""
    mine = list(
        db.session.scalars(
            select(FaceSearch)
            .where(FaceSearch.request_id == request.id, FaceSearch.reviewer_id == reviewer.id)
            .order_by(FaceSearch.id.desc())
        )
    )
    first = primary_search(request)
    if first is not None and first.reviewer_id != reviewer.id and first not in mine:
        mine.append(first)
    return mine


def record_list_read(search: FaceSearch, *, actor: User) -> None:
    record_event(
        "search.candidates_view",
        actor=actor,
        object_type=ObjectType.SEARCH,
        object_id=search.id,
        reason=search.justification,
        detail={"request": search.request.tracking_number, "candidates": len(search.result_list)},
    )


# --- an operator's search from the command line ------------------------------------------------


def require_operator(username: str | None, case_number: str | None, purpose: str | None) -> User:
    """The operator of a command-line search: an active account with a current FBI or LACRIS
    certification, with a case number and one of the request form's purposes (Training:
    "Investigative searches shall only be conducted by trained facial reviewers"; Audits: the
    justification). Raises ``ServiceError`` with the reason; nothing is searched."""
    if not username:
        raise ServiceError("--operator is required: the username of a certified facial reviewer.")
    operator = get_user_by_username(username)
    if operator is None or not operator.active or operator.locked:
        raise ServiceError(f"--operator {username}: no active, unlocked account with that username.")
    eligibility = search_eligibility(operator)
    if not eligibility:
        raise ServiceError(f"--operator {username}: {eligibility.message}")
    case = (case_number or "").strip()
    if not case or PLACEHOLDER_CASE_NUMBERS.match(case):
        raise ServiceError(f"--case {case_number!r}: give the case/file number the search is for.")
    if purpose not in PURPOSES:
        raise ServiceError(f"--purpose {purpose!r}: one of {', '.join(PURPOSES)}.")
    return operator


def run_operator_search(
    operator: User,
    *,
    probe_name: str,
    probe_sha256: str,
    face,
    faces_found: int,
    top_k: int,
    case: str,
    purpose: str,
) -> tuple[FaceSearch, SearchResult]:
    """Search one probe face for an operator; recorded and audited like a search in the portal,
    so the monthly audit counts it with its case and purpose."""
    check_top_k(top_k)
    result = search_descriptor(face.descriptor, top_k)
    justification = f"purpose: {PURPOSES[purpose]}; case: {case}; operator search of {probe_name}"
    ranked = [
        {
            "rank": c.rank,
            "booking_id": c.booking_id,
            "template_id": c.template_id,
            "distance": round(c.distance, 6),
            "score": c.score,
            "found_by": [],
        }
        for c in result.candidates
    ]
    search = FaceSearch(
        request_id=None,
        reviewer_id=operator.id,
        channel="cli",
        case_number=case,
        purpose=purpose,
        justification=justification,
        probes=json.dumps([{"probe_sha256": probe_sha256, "name": probe_name, "faces": faces_found}]),
        top_k=top_k,
        index_version=result.index_version,
        model_id=gallery_model_id(),
        strategy=result.strategy,
        index_recall=result.recall,
        results=json.dumps(ranked),
    )
    db.session.add(search)
    db.session.flush()
    record_event(
        "search.run",
        actor=operator,
        object_type=ObjectType.SEARCH,
        object_id=search.id,
        reason=justification,
        detail={
            "channel": "cli",
            "probe_sha256": probe_sha256,
            "top_k": top_k,
            "index_version": result.index_version,
            "mode": result.mode,
            "faces": faces_found,
            "candidates": [c.booking_number for c in result.candidates],
        },
    )
    return search, result


def record_operator_refusal(
    operator: User, *, probe_name: str, probe_sha256: str | None, error: str, case: str
) -> None:
    record_event(
        "search.run",
        actor=operator,
        outcome=Outcome.FAILED,
        object_type=ObjectType.SEARCH,
        reason=f"case: {case}; {probe_name}: {error}",
        detail={"channel": "cli", "probe_sha256": probe_sha256},
    )


def last_searched_works(searches_newest_first: list[FaceSearch], works: list[ProbeWork]) -> list[int]:
    """The probes ticked last time (the reviewer's newest search), else the first one."""
    for search in searches_newest_first:
        if search.channel == "web" and search.request_id is not None:
            searched = {p["probe_image_id"] for p in search.probe_list}
            ticked = [w.id for w in works if w.probe_image_id in searched]
            if ticked:
                return ticked
    return [works[0].id] if works else []
