"""The facial reviewer's workflow: queue, claim, probe work, searches, examinations,
decisions and blind verification. Services flush and audit; callers commit."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import current_app
from PIL import Image
from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.matching.faces import EngineSettings, Face
from app.matching.images import load_image
from app.matching.processing import ProcessingError, apply_steps
from app.matching.scoring import similarity_score
from app.matching.suitability import assess
from app.models import (
    Booking,
    CandidateExamination,
    Conclusion,
    DecisionOutcome,
    FaceSearch,
    FaceTemplate,
    Outcome,
    ProbeImage,
    ProbeWork,
    RequestMessage,
    RequestStatus,
    ReviewAssignment,
    ReviewDecision,
    ReviewState,
    Role,
    SearchRequest,
    User,
)
from app.services.accounts import search_eligibility
from app.services.audit import record_event
from app.services.errors import PermissionDenied, ServiceError
from app.services.matching import face_engine, gallery_model_id, probe_engine, search_descriptor
from app.services.requests import justification_of

FISWG_FEATURES = (
    "Skin",
    "Face/head outline",
    "Face/head composition",
    "Hair",
    "Forehead",
    "Eyebrows",
    "Eyes",
    "Cheeks",
    "Nose",
    "Ears",
    "Mouth",
    "Chin/jawline",
    "Neck",
    "Facial hair",
    "Facial lines",
    "Scars",
    "Facial marks",
    "Alterations",
    "Other distinctive features",
)
CHECKLIST_MARKS = {"similar": "Similar", "dissimilar": "Dissimilar", "not_visible": "Not visible"}
OPEN_STATES = (
    ReviewState.NEW,
    ReviewState.CLAIMED,
    ReviewState.AWAITING_INFO,
    ReviewState.AWAITING_VERIFICATION,
    ReviewState.DISPUTED,
)


def require_certified(reviewer: User) -> None:
    eligibility = search_eligibility(reviewer)
    if not eligibility:
        raise PermissionDenied(eligibility.message)


# --- queue and claims ------------------------------------------------------------------------


def queue(
    *, state: ReviewState | None = None, agency_id: int | None = None, reviewer_id: int | None = None
) -> list[SearchRequest]:
    """Submitted requests, urgent (imminent threat) first, then oldest first."""
    stmt = select(SearchRequest).where(
        SearchRequest.status.not_in([RequestStatus.DRAFT, RequestStatus.WITHDRAWN])
    )
    stmt = (
        stmt.where(SearchRequest.review_state == state)
        if state
        else stmt.where(SearchRequest.review_state.in_(OPEN_STATES))
    )
    if agency_id:
        stmt = stmt.where(SearchRequest.agency_id == agency_id)
    if reviewer_id:
        stmt = stmt.where(
            SearchRequest.id.in_(
                select(ReviewAssignment.request_id).where(
                    ReviewAssignment.reviewer_id == reviewer_id, ReviewAssignment.released_at.is_(None)
                )
            )
        )
    stmt = stmt.order_by(SearchRequest.urgent.desc(), SearchRequest.submitted_at, SearchRequest.id)
    return list(db.session.scalars(stmt))


def current_assignment(request: SearchRequest, capacity: str | None = None) -> ReviewAssignment | None:
    stmt = select(ReviewAssignment).where(
        ReviewAssignment.request_id == request.id, ReviewAssignment.released_at.is_(None)
    )
    if capacity:
        stmt = stmt.where(ReviewAssignment.capacity == capacity)
    return db.session.scalars(stmt.order_by(ReviewAssignment.id.desc())).first()


def claim(request: SearchRequest, *, reviewer: User) -> ReviewAssignment:
    """Take a new request. Only one reviewer can: the state changes in one conditional UPDATE."""
    require_certified(reviewer)
    changed = db.session.execute(
        update(SearchRequest)
        .where(SearchRequest.id == request.id, SearchRequest.review_state == ReviewState.NEW)
        .values(review_state=ReviewState.CLAIMED, status=RequestStatus.IN_REVIEW)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(request)
    if changed != 1:
        holder = current_assignment(request)
        who = holder.reviewer.full_name if holder else "another reviewer"
        record_event(
            "review.claim",
            actor=reviewer,
            outcome=Outcome.DENIED,
            object_type="request",
            object_id=request.id,
            reason=f"already taken by {who}",
        )
        raise ServiceError(f"{request.tracking_number} has already been claimed by {who}.")
    assignment = ReviewAssignment(request_id=request.id, reviewer_id=reviewer.id, capacity="primary")
    db.session.add(assignment)
    db.session.flush()
    record_event(
        "review.claim",
        actor=reviewer,
        object_type="request",
        object_id=request.id,
        reason=justification_of(request),
    )
    return assignment


def _require_holder(request: SearchRequest, reviewer: User, capacity: str = "primary") -> ReviewAssignment:
    assignment = current_assignment(request, capacity)
    if assignment is None or assignment.reviewer_id != reviewer.id:
        raise PermissionDenied("You do not hold this request.")
    return assignment


def release(request: SearchRequest, *, reviewer: User) -> None:
    assignment = _require_holder(request, reviewer)
    if request.review_state is not ReviewState.CLAIMED:
        raise ServiceError("Only a claimed request can be released.")
    assignment.released_at = utcnow()
    request.review_state = ReviewState.NEW
    request.status = RequestStatus.SUBMITTED
    db.session.flush()
    record_event("review.release", actor=reviewer, object_type="request", object_id=request.id)


def reassign(request: SearchRequest, *, admin: User, reviewer: User, reason: str) -> ReviewAssignment:
    """An admin gives the request (or its third review, when disputed) to a reviewer."""
    if admin.role is not Role.ADMIN:
        raise PermissionDenied("Only an administrator reassigns requests.")
    require_certified(reviewer)
    if not reason.strip():
        raise ServiceError("Give a reason for the reassignment.", field="reason")
    capacity = "third" if request.review_state is ReviewState.DISPUTED else "primary"
    if capacity == "third":
        earlier = {d.reviewer_id for d in decisions(request)}
        if reviewer.id in earlier:
            raise ServiceError("The third review must be by someone who has not reviewed it yet.")
    elif request.review_state not in (ReviewState.NEW, ReviewState.CLAIMED):
        raise ServiceError("Only a new, claimed or disputed request can be reassigned.")
    for old in db.session.scalars(
        select(ReviewAssignment).where(
            ReviewAssignment.request_id == request.id,
            ReviewAssignment.capacity == capacity,
            ReviewAssignment.released_at.is_(None),
        )
    ):
        old.released_at = utcnow()
    assignment = ReviewAssignment(
        request_id=request.id, reviewer_id=reviewer.id, capacity=capacity, assigned_by_id=admin.id
    )
    db.session.add(assignment)
    if capacity == "primary":
        request.review_state = ReviewState.CLAIMED
        request.status = RequestStatus.IN_REVIEW
    db.session.flush()
    record_event(
        "review.reassign",
        actor=admin,
        object_type="request",
        object_id=request.id,
        reason=reason,
        detail={"reviewer": reviewer.username, "capacity": capacity},
    )
    return assignment


def return_with_question(request: SearchRequest, *, reviewer: User, question: str) -> RequestMessage:
    _require_holder(request, reviewer)
    if len(question.strip()) < 10:
        raise ServiceError("Write the question for the requester.", field="question")
    message = RequestMessage(request=request, author_id=reviewer.id, kind="question", body=question.strip())
    db.session.add(message)
    request.review_state = ReviewState.AWAITING_INFO
    request.status = RequestStatus.NEEDS_INFO
    db.session.flush()
    record_event(
        "review.return", actor=reviewer, object_type="request", object_id=request.id, reason=question.strip()
    )
    return message


def reject_out_of_policy(request: SearchRequest, *, reviewer: User, clause: str, note: str) -> None:
    _require_holder(request, reviewer)
    if not clause.strip() or len(note.strip()) < 10:
        raise ServiceError("Name the policy clause and explain the rejection.", field="note")
    request.review_state = ReviewState.CLOSED
    request.status = RequestStatus.REJECTED
    request.rejection_clause = clause.strip()
    request.rejection_note = note.strip()
    request.closed_at = utcnow()
    db.session.flush()
    record_event(
        "review.reject",
        actor=reviewer,
        object_type="request",
        object_id=request.id,
        reason=f"{clause.strip()}: {note.strip()}",
    )


# --- probe work ---------------------------------------------------------------------------------


@dataclass
class PreparedProbe:
    work: ProbeWork
    pixels: np.ndarray
    faces: list[Face]
    chosen: Face | None
    verdict: str
    reasons: list[str]


def probe_work(probe: ProbeImage, reviewer: User) -> ProbeWork:
    work = db.session.scalar(
        select(ProbeWork).where(ProbeWork.probe_image_id == probe.id, ProbeWork.reviewer_id == reviewer.id)
    )
    if work is None:
        work = ProbeWork(probe_image_id=probe.id, reviewer_id=reviewer.id, steps="[]")
        db.session.add(work)
        db.session.flush()
    return work


def _original_pixels(probe: ProbeImage) -> np.ndarray:
    return load_image(Path(current_app.instance_path, probe.original_path)).pixels


def prepare(work: ProbeWork) -> PreparedProbe:
    """Apply the chain to the original, find the faces, describe the chosen one."""
    pixels = apply_steps(_original_pixels(work.probe), work.step_list)
    engine = probe_engine()
    chosen: Face | None = None
    if work.manual_eyes:
        (left, right) = json.loads(work.manual_eyes)
        chosen = face_from_eyes(pixels, left, right)
        faces = [chosen]
    else:
        faces = engine.analyze(pixels)
        if faces:
            chosen = faces[min(work.face_index, len(faces) - 1)]
    verdict, reasons = assess(chosen.quality if chosen else None)
    return PreparedProbe(work, pixels, faces, chosen, verdict, reasons)


# The comparison view's chips: eyes at the same place in both, whatever the probe settings are.
COMPARISON_SIZE = 300
COMPARISON_ENGINE = EngineSettings(cnn_fallback=True)


@dataclass
class AlignedChip:
    pixels: np.ndarray
    landmarks: list[list[float]]  # found again on the chip, for the landmark overlay


def _aligned(pixels: np.ndarray, face: Face) -> AlignedChip:
    import dlib

    shape = dlib.full_object_detection(
        dlib.rectangle(*face.box), [dlib.point(round(x), round(y)) for x, y in face.landmarks]
    )
    chip = dlib.get_face_chip(pixels, shape, size=COMPARISON_SIZE, padding=0.5)
    found = face_engine(COMPARISON_ENGINE).analyze(chip, describe=False, detector="hog")
    points = [[round(x, 1), round(y, 1)] for x, y in found[0].landmarks] if found else []
    return AlignedChip(chip, points)


def probe_chip(search: FaceSearch, entry: dict) -> AlignedChip:
    """The probe as it was searched (its recorded chain), aligned for comparing with ``entry``."""
    recorded = json.loads(search.probes)
    probe_id = entry["found_by"][0] if entry.get("found_by") else recorded[0]["probe_image_id"]
    prepared = prepare(work_from_spec(next(p for p in recorded if p["probe_image_id"] == probe_id)))
    return _aligned(prepared.pixels, prepared.chosen)


def booking_chip(booking: Booking) -> AlignedChip:
    pixels = load_image(Path(current_app.instance_path, booking.photo_path)).pixels
    faces = face_engine(COMPARISON_ENGINE).analyze(pixels, describe=False)
    return _aligned(pixels, faces[0])


def face_from_eyes(pixels: np.ndarray, left: list[float], right: list[float]) -> Face:
    """A face from eye centres placed by hand: nose and box estimated from the eye line."""
    engine = probe_engine()
    (lx, ly), (rx, ry) = sorted([left, right])
    distance = max(float(np.hypot(rx - lx, ry - ly)), 4.0)
    mid_x, mid_y = (lx + rx) / 2, (ly + ry) / 2
    # Perpendicular to the eye line, pointing down the face: the nose base sits ~0.9 eye-distance below.
    ux, uy = (rx - lx) / distance, (ry - ly) / distance
    nose = (mid_x - uy * 0.9 * distance, mid_y + ux * 0.9 * distance)
    half = 1.1 * distance
    box = (
        round(mid_x - half),
        round(mid_y - 0.8 * distance),
        round(mid_x + half),
        round(mid_y + 1.6 * distance),
    )
    shape = engine.shape_from_eyes(box, (lx, ly), (rx, ry), nose)
    return engine.face_from_shape(pixels, shape, box, "manual", describe=True, keep_chip=True)


def update_probe_work(
    work: ProbeWork,
    *,
    reviewer: User,
    steps: list[dict] | None = None,
    face_index: int | None = None,
    manual_eyes: list | None = None,
    clear_eyes: bool = False,
) -> PreparedProbe:
    """Change the chain (or the chosen face, or the hand-placed eyes) and re-assess."""
    if work.reviewer_id != reviewer.id:
        raise PermissionDenied("This probe work belongs to another reviewer.")
    if steps is not None:
        work.steps = json.dumps(steps)
    if face_index is not None:
        work.face_index = max(0, int(face_index))
    if manual_eyes is not None:
        work.manual_eyes = json.dumps(manual_eyes)
    if clear_eyes:
        work.manual_eyes = None
    try:
        prepared = prepare(work)
    except ProcessingError as exc:
        raise ServiceError(str(exc), field="step") from exc
    _save_processed(work, prepared)
    db.session.flush()
    record_event(
        "probe.process",
        actor=reviewer,
        object_type="probe",
        object_id=work.probe_image_id,
        detail={
            "steps": work.step_list,
            "face_index": work.face_index,
            "manual_eyes": bool(work.manual_eyes),
            "suitability": prepared.verdict,
        },
    )
    return prepared


def _save_processed(work: ProbeWork, prepared: PreparedProbe) -> None:
    buffer = io.BytesIO()
    Image.fromarray(prepared.pixels).save(buffer, "PNG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    directory = Path(current_app.instance_path, "probes", f"{work.probe.request_id:08d}", "processed")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{sha}.png"
    if not target.exists():
        target.write_bytes(data)
    work.processed_path = str(target.relative_to(current_app.instance_path))
    work.processed_sha256 = sha
    work.suitability = prepared.verdict
    work.suitability_reasons = json.dumps(prepared.reasons)
    work.quality = json.dumps(prepared.chosen.quality.as_dict()) if prepared.chosen else None


# --- searching ----------------------------------------------------------------------------------

FUSION_RULE = "mean-distance"  # measured on the LFW dev set: see README "Measured"


def _probe_spec(work: ProbeWork) -> dict:
    return {
        "probe_image_id": work.probe_image_id,
        "probe_sha256": work.probe.original_sha256,
        "steps": work.step_list,
        "face_index": work.face_index,
        "manual_eyes": json.loads(work.manual_eyes) if work.manual_eyes else None,
    }


def work_from_spec(spec: dict) -> ProbeWork:
    """A throw-away ProbeWork carrying a recorded chain (never added to the session)."""
    probe = db.session.get(ProbeImage, spec["probe_image_id"])
    if probe is None or probe.original_sha256 != spec["probe_sha256"]:
        raise ServiceError("The recorded probe is no longer available unchanged.")
    return ProbeWork(
        probe=probe,
        steps=json.dumps(spec["steps"]),
        face_index=spec["face_index"],
        manual_eyes=json.dumps(spec["manual_eyes"]) if spec["manual_eyes"] else None,
    )


def _fused_search(specs: list[dict], top_k: int) -> tuple[list[dict], set[int | None], str]:
    """Search each probe; with several, rank the union of their lists by the mean distance
    to every probe (the rule measured best on the LFW dev set; README, "Measured")."""
    fused: dict[int, dict] = {}
    descriptors: list[np.ndarray] = []
    versions: set[int | None] = set()
    strategy = "exact"
    for spec in specs:
        work = work_from_spec(spec)
        prepared = prepare(work)
        if prepared.chosen is None:
            raise ServiceError(
                f"No face to search in probe {work.probe.original_name}: "
                "crop, rotate or place the eyes by hand."
            )
        descriptors.append(prepared.chosen.descriptor)
        result = search_descriptor(prepared.chosen.descriptor, top_k)
        versions.add(result.index_version)
        strategy = result.strategy
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
    ranked = sorted(fused.values(), key=lambda e: (e["distance"], e["booking_id"]))[:top_k]
    for rank, entry in enumerate(ranked, start=1):
        entry["rank"] = rank
        entry["distance"] = round(float(entry["distance"]), 6)
    return ranked, versions, strategy


def run_search(request: SearchRequest, *, reviewer: User, works: list[ProbeWork], top_k: int) -> FaceSearch:
    """Search one probe, or several photos of the same person fused into one list."""
    require_certified(reviewer)
    _require_holder_or_verifier(request, reviewer)
    if not works:
        raise ServiceError("Choose at least one probe to search.")
    if not 1 <= top_k <= 50:
        raise ServiceError("K must be between 1 and 50.", field="top_k")
    specs = [_probe_spec(work) for work in works]
    ranked, versions, strategy = _fused_search(specs, top_k)
    search = FaceSearch(
        request_id=request.id,
        reviewer_id=reviewer.id,
        justification=justification_of(request),
        probes=json.dumps(specs),
        top_k=top_k,
        index_version=versions.pop() if len(versions) == 1 else None,
        model_id=gallery_model_id(),
        strategy=strategy,
        fusion=FUSION_RULE if len(works) > 1 else None,
        results=json.dumps(ranked),
    )
    db.session.add(search)
    db.session.flush()
    record_event(
        "search.run",
        actor=reviewer,
        object_type="search",
        object_id=search.id,
        reason=justification_of(request),
        detail={
            "request": request.tracking_number,
            "probes": len(works),
            "top_k": top_k,
            "index_version": search.index_version,
            "model_id": search.model_id,
            "candidates": len(ranked),
        },
    )
    return search


def rerun_search(search: FaceSearch) -> list[dict]:
    """The candidate list the recorded probes, chains and K give now (for audits and tests)."""
    ranked, _, _ = _fused_search(json.loads(search.probes), search.top_k)
    return ranked


def capacity_of(request: SearchRequest, reviewer: User) -> str | None:
    """In which capacity ``reviewer`` currently works the request, if any."""
    for capacity in ("primary", "verifier", "third"):
        assignment = current_assignment(request, capacity)
        if assignment and assignment.reviewer_id == reviewer.id:
            return capacity
    return None


def _require_holder_or_verifier(request: SearchRequest, reviewer: User) -> str:
    capacity = capacity_of(request, reviewer)
    if capacity is None:
        raise PermissionDenied("You do not hold this request.")
    return capacity


def record_view_for_review(request: SearchRequest, *, actor: User) -> None:
    record_event(
        "review.view",
        actor=actor,
        object_type="request",
        object_id=request.id,
        reason=justification_of(request),
        detail={"tracking_number": request.tracking_number},
    )


def examinations_in(search: FaceSearch, reviewer: User) -> list[CandidateExamination]:
    return list(
        db.session.scalars(
            select(CandidateExamination).where(
                CandidateExamination.search_id == search.id, CandidateExamination.reviewer_id == reviewer.id
            )
        )
    )


def examinations_of(request: SearchRequest, reviewer: User) -> list[CandidateExamination]:
    return list(
        db.session.scalars(
            select(CandidateExamination)
            .join(FaceSearch)
            .where(FaceSearch.request_id == request.id, CandidateExamination.reviewer_id == reviewer.id)
            .order_by(CandidateExamination.id)
        )
    )


# --- examinations -------------------------------------------------------------------------------


def open_candidate(search: FaceSearch, rank: int, *, reviewer: User) -> CandidateExamination:
    # A verifier examines the first reviewer's candidate list with examinations of their own.
    _require_holder_or_verifier(search.request, reviewer)
    entry = next((e for e in search.result_list if e["rank"] == rank), None)
    if entry is None:
        raise ServiceError(f"There is no candidate at rank {rank}.")
    examination = db.session.scalar(
        select(CandidateExamination).where(
            CandidateExamination.search_id == search.id,
            CandidateExamination.booking_id == entry["booking_id"],
            CandidateExamination.reviewer_id == reviewer.id,
        )
    )
    if examination is None:
        examination = CandidateExamination(
            search_id=search.id,
            booking_id=entry["booking_id"],
            reviewer_id=reviewer.id,
            rank=rank,
            checklist="{}",
        )
        db.session.add(examination)
        db.session.flush()
    record_event(
        "candidate.open",
        actor=reviewer,
        object_type="booking",
        object_id=entry["booking_id"],
        reason=search.justification,
        detail={"search": search.id, "rank": rank},
    )
    return examination


def record_examination(
    examination: CandidateExamination,
    *,
    reviewer: User,
    checklist: dict[str, dict],
    conclusion: Conclusion | None,
    note: str,
) -> None:
    if examination.reviewer_id != reviewer.id:
        raise PermissionDenied("This examination belongs to another reviewer.")
    if examination.conclusion is not None and is_locked(examination):
        raise ServiceError("This examination is part of a recorded decision and cannot change.")
    clean = {}
    for feature in FISWG_FEATURES:
        item = checklist.get(feature) or {}
        mark = item.get("mark") or ""
        if mark and mark not in CHECKLIST_MARKS:
            raise ServiceError(f"{feature}: choose similar, dissimilar or not visible.")
        clean[feature] = {"mark": mark, "note": (item.get("note") or "").strip()[:500]}
    if conclusion is not None and any(not v["mark"] for v in clean.values()):
        missing = [f for f, v in clean.items() if not v["mark"]]
        raise ServiceError(f"Mark every feature before concluding (missing: {', '.join(missing)}).")
    examination.checklist = json.dumps(clean)
    examination.note = note.strip() or None
    if conclusion is not None:
        examination.conclusion = Conclusion(conclusion)
        examination.concluded_at = utcnow()
    db.session.flush()
    record_event(
        "candidate.examine",
        actor=reviewer,
        object_type="booking",
        object_id=examination.booking_id,
        detail={"search": examination.search_id, "conclusion": str(conclusion) if conclusion else None},
    )


def is_locked(examination: CandidateExamination) -> bool:
    """An examination that a recorded decision rests on can no longer change."""
    return (
        db.session.scalar(select(ReviewDecision.id).where(ReviewDecision.examination_id == examination.id))
        is not None
    )


# --- decisions and verification -----------------------------------------------------------------


def decisions(request: SearchRequest) -> list[ReviewDecision]:
    return list(
        db.session.scalars(
            select(ReviewDecision).where(ReviewDecision.request_id == request.id).order_by(ReviewDecision.id)
        )
    )


def decide(
    request: SearchRequest,
    *,
    reviewer: User,
    outcome: DecisionOutcome,
    search: FaceSearch | None,
    examination: CandidateExamination | None,
    comments: str = "",
) -> ReviewDecision:
    """Close a search as an investigative lead (one examined candidate) or no possible match."""
    require_certified(reviewer)
    capacity = _require_holder_or_verifier(request, reviewer)
    expected = {
        "primary": ReviewState.CLAIMED,
        "verifier": ReviewState.AWAITING_VERIFICATION,
        "third": ReviewState.DISPUTED,
    }[capacity]
    if request.review_state is not expected:
        raise ServiceError(
            f"A {capacity} decision cannot be recorded while the request is {request.review_state.label}."
        )
    if any(d.reviewer_id == reviewer.id for d in decisions(request)):
        raise PermissionDenied(
            "You have already recorded a decision on this request; nobody verifies their own work."
        )
    if outcome is DecisionOutcome.LEAD:
        if examination is None or examination.reviewer_id != reviewer.id:
            raise ServiceError("Choose the examined candidate that is the lead.")
        if examination.conclusion is not Conclusion.VIABLE_LEAD:
            raise ServiceError("Only a candidate concluded a viable investigative lead can be the lead.")
        search = examination.search
    elif search is None:
        raise ServiceError("Run a search before deciding.")
    decision = ReviewDecision(
        request_id=request.id,
        reviewer_id=reviewer.id,
        capacity=capacity,
        outcome=outcome,
        search_id=search.id if search else None,
        lead_booking_id=examination.booking_id if outcome is DecisionOutcome.LEAD else None,
        examination_id=examination.id if outcome is DecisionOutcome.LEAD else None,
        comments=comments.strip() or None,
    )
    db.session.add(decision)
    db.session.flush()
    if capacity == "primary":
        request.review_state = ReviewState.AWAITING_VERIFICATION
    elif capacity == "verifier":
        first = next(d for d in decisions(request) if d.capacity == "primary")
        agree = first.outcome is decision.outcome and first.lead_booking_id == decision.lead_booking_id
        request.review_state = ReviewState.VERIFIED if agree else ReviewState.DISPUTED
    else:
        request.review_state = ReviewState.VERIFIED
    db.session.flush()
    record_event(
        "review.decide",
        actor=reviewer,
        object_type="request",
        object_id=request.id,
        reason=justification_of(request),
        detail={
            "capacity": capacity,
            "outcome": str(outcome),
            "lead_booking_id": decision.lead_booking_id,
            "state": str(request.review_state),
        },
    )
    return decision


def claim_verification(request: SearchRequest, *, reviewer: User) -> ReviewAssignment:
    """A second certified reviewer takes the blind verification; never the first reviewer."""
    require_certified(reviewer)
    if request.review_state is not ReviewState.AWAITING_VERIFICATION:
        raise ServiceError("This request is not awaiting verification.")
    if any(d.reviewer_id == reviewer.id for d in decisions(request)):
        record_event(
            "review.verify_claim",
            actor=reviewer,
            outcome=Outcome.DENIED,
            object_type="request",
            object_id=request.id,
            reason="self-verification",
        )
        raise PermissionDenied("Nobody verifies their own work.")
    if current_assignment(request, "verifier") is not None:
        raise ServiceError("Another reviewer is already verifying this request.")
    assignment = ReviewAssignment(request_id=request.id, reviewer_id=reviewer.id, capacity="verifier")
    db.session.add(assignment)
    db.session.flush()
    record_event("review.verify_claim", actor=reviewer, object_type="request", object_id=request.id)
    return assignment


def primary_search(request: SearchRequest) -> FaceSearch | None:
    first = next((d for d in decisions(request) if d.capacity == "primary"), None)
    if first and first.search_id:
        return db.session.get(FaceSearch, first.search_id)
    return None
