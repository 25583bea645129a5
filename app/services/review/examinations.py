"""One-to-one comparison of a candidate with the probe: aligned chips, the FISWG checklist and
a conclusion. A conclusion reveals who the candidate is and is final; looking again is a new
revision of the examination, recorded as made after the reveal."""

from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.clock import utcnow
from app.extensions import db
from app.matching.faces import EngineSettings
from app.matching.images import load_image
from app.matching.probe import AlignedChip, aligned_chip
from app.models import Booking, CandidateExamination, Conclusion, FaceSearch, SearchRequest, User
from app.services.gallery.search import face_engine
from app.services.interconnect import peer_search
from app.services.oversight.audit import ObjectType, record_event
from app.services.oversight.reads import Candidate, record_read
from app.services.platform import storage
from app.services.platform.errors import NotFound, PermissionDenied, ServiceError
from app.services.review.probes import prepare_spec
from app.services.review.workflow import Action, capacity_of, require

# The FISWG facial components, each with the key its marks are posted and checked under (a mark
# is bound to its feature by this key, never by its position on the page).
FEATURE_KEYS = {
    "skin": "Skin",
    "outline": "Face/head outline",
    "composition": "Face/head composition",
    "hair": "Hair",
    "forehead": "Forehead",
    "eyebrows": "Eyebrows",
    "eyes": "Eyes",
    "cheeks": "Cheeks",
    "nose": "Nose",
    "ears": "Ears",
    "mouth": "Mouth",
    "chin": "Chin/jawline",
    "neck": "Neck",
    "facial_hair": "Facial hair",
    "lines": "Facial lines",
    "scars": "Scars",
    "marks": "Facial marks",
    "alterations": "Alterations",
    "distinctive": "Other distinctive features",
}
FISWG_FEATURES = tuple(FEATURE_KEYS.values())
MIN_EXPLANATION_CHARS = 5  # a dissimilar feature under a viable lead says why it does not exclude
CHECKLIST_MARKS = {"similar": "Similar", "dissimilar": "Dissimilar", "not_visible": "Not visible"}
# The comparison chips: eyes at the same place in both, whatever the probe settings are.
COMPARISON_ENGINE = EngineSettings(cnn_fallback=True)


def entry_at(search: FaceSearch, rank: int) -> dict:
    entry = next((e for e in search.result_list if e["rank"] == rank), None)
    if entry is None:
        raise NotFound(f"There is no candidate at rank {rank}.")
    return entry


def in_person_order(search: FaceSearch) -> list[dict]:
    """The candidates as the reviewer walks them: person by person (best photo first), so that
    next and previous move through the list as it is shown. Searches recorded before people
    were grouped count each booking as a person."""
    return sorted(search.result_list, key=lambda e: (e.get("person_rank", e["rank"]), e["rank"]))


def people_in(search: FaceSearch) -> list[list[dict]]:
    """The candidate list by person: each person's bookings, best first."""
    people: dict[int, list[dict]] = {}
    for entry in in_person_order(search):
        people.setdefault(entry.get("person_rank", entry["rank"]), []).append(entry)
    return list(people.values())


def next_unconcluded(search: FaceSearch, after_rank: int, reviewer: User) -> int | None:
    """The next candidate (in person order) the reviewer has not concluded on, if any."""
    concluded = {b for b, e in examinations_in(search, reviewer).items() if e.conclusion is not None}
    order = in_person_order(search)
    position = next(i for i, e in enumerate(order) if e["rank"] == after_rank)
    rest = order[position + 1 :] + order[:position]
    return next((e["rank"] for e in rest if e["booking_id"] not in concluded), None)


def require_reader(search: FaceSearch, reviewer: User) -> None:
    """Only the reviewers working the request see its candidates (need to know)."""
    if capacity_of(search.request, reviewer) is None:
        raise PermissionDenied("You do not hold this request.")


def latest_examination(search: FaceSearch, booking_id: int, reviewer: User) -> CandidateExamination | None:
    return db.session.scalar(
        select(CandidateExamination)
        .where(
            CandidateExamination.search_id == search.id,
            CandidateExamination.booking_id == booking_id,
            CandidateExamination.reviewer_id == reviewer.id,
        )
        .order_by(CandidateExamination.revision.desc())
        .limit(1)
    )


def open_candidate(search: FaceSearch, rank: int, *, reviewer: User) -> CandidateExamination:
    """The reviewer's current examination of the candidate at ``rank`` (started on first look)."""
    require_reader(search, reviewer)
    entry = entry_at(search, rank)
    booking = db.session.get(Booking, entry["booking_id"])
    if booking is None or booking.sealed:
        raise NotFound(
            "This record has been sealed.", object_type=ObjectType.BOOKING, object_id=entry["booking_id"]
        )
    examination = latest_examination(search, entry["booking_id"], reviewer)
    if examination is None:
        examination = _start_examination(search, entry["booking_id"], reviewer, rank)
    record_read("candidate.open", Candidate(search, entry), actor=reviewer, revision=examination.revision)
    return examination


def _start_examination(
    search: FaceSearch, booking_id: int, reviewer: User, rank: int
) -> CandidateExamination:
    """The first revision, once: two pages opening the candidate at the same moment meet the
    unique constraint, and the one that loses reads what the other created."""
    try:
        with db.session.begin_nested():
            started = CandidateExamination(
                search_id=search.id, booking_id=booking_id, reviewer_id=reviewer.id, rank=rank, checklist={}
            )
            db.session.add(started)
        return started
    except IntegrityError:
        return latest_examination(search, booking_id, reviewer)


FINAL = (
    "This conclusion is final: it revealed the candidate's identity. Examine the candidate "
    "again to record a new conclusion (it is recorded as made after the reveal)."
)


def clean_checklist(checklist: dict[str, dict]) -> dict[str, dict]:
    """Every feature's mark and note. A checklist that arrives without a feature is refused:
    its marks are never moved onto other features."""
    missing = [feature for feature in FISWG_FEATURES if feature not in checklist]
    if missing:
        raise ServiceError(
            f"The checklist arrived without {', '.join(missing)}: nothing was saved. Reload the page "
            "and mark the features again."
        )
    unknown = sorted(set(checklist) - set(FISWG_FEATURES))
    if unknown:
        raise ServiceError(f"Not a FISWG feature: {', '.join(unknown)}. Nothing was saved.")
    clean = {}
    for feature in FISWG_FEATURES:
        item = checklist.get(feature) or {}
        mark = item.get("mark") or ""
        if mark and mark not in CHECKLIST_MARKS:
            raise ServiceError(f"{feature}: choose similar, dissimilar or not visible.")
        clean[feature] = {"mark": mark, "note": (item.get("note") or "").strip()[:500]}
    return clean


def save_examination(
    examination: CandidateExamination,
    *,
    reviewer: User,
    checklist: dict[str, dict],
    conclusion: Conclusion | None,
    note: str,
    view_adjustments: dict | None = None,
    annotations: list | None = None,
) -> None:
    """Save the checklist, and a conclusion once every feature is marked. A recorded
    conclusion is final: it revealed the candidate's identity. The view adjustments and the
    annotations (already checked: app/services/review/worksheets.py) are kept as of this save;
    None keeps the saved ones."""
    if examination.reviewer_id != reviewer.id:
        raise PermissionDenied("This examination belongs to another reviewer.")
    require(examination.search.request, reviewer, Action.SEARCH)
    if examination.conclusion is not None:
        raise ServiceError(FINAL)
    clean = clean_checklist(checklist)
    _require_grounds(clean, conclusion, int(current_app.config["VIABLE_LEAD_MIN_SIMILAR"]))
    values = {"checklist": clean, "note": note.strip() or None}
    if view_adjustments is not None:
        values["view_adjustments"] = view_adjustments
    if annotations is not None:
        values["annotations"] = annotations
    if conclusion is not None:
        values |= {"conclusion": Conclusion(conclusion), "concluded_at": utcnow()}
    # Only while no conclusion stands: of two saves at once, one concludes and the other is told.
    saved = db.session.execute(
        update(CandidateExamination)
        .where(CandidateExamination.id == examination.id, CandidateExamination.conclusion.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not saved:
        raise ServiceError(FINAL)
    db.session.refresh(examination)
    if conclusion is not None:  # a peer's candidate: its record comes from its repository now
        peer_search.reveal(examination.booking, reviewer=reviewer, request=examination.search.request)
    record_event(
        "candidate.examine",
        actor=reviewer,
        object_type=ObjectType.BOOKING,
        object_id=examination.booking_id,
        detail={
            "search": examination.search_id,
            "conclusion": str(conclusion) if conclusion else None,
            "revision": examination.revision,
            "after_reveal": examination.after_reveal,
            "annotations": len(examination.annotations or []),
        },
    )


def _require_grounds(checklist: dict[str, dict], conclusion: Conclusion | None, min_similar: int) -> None:
    """What each conclusion rests on (FISWG: a comparison rests on observed similarities, and an
    unexplained dissimilarity excludes):

    - a viable lead: every feature marked, at least ``min_similar`` of them similar, and every
      dissimilar one explained in its note (why it does not exclude: age, expression, the image);
    - inconclusive: every feature marked;
    - not a lead: every feature marked, or one dissimilar feature.
    """
    if conclusion is None:
        return
    conclusion = Conclusion(conclusion)
    marks = {feature: item["mark"] for feature, item in checklist.items()}
    dissimilar = [f for f, mark in marks.items() if mark == "dissimilar"]
    if conclusion is Conclusion.NOT_A_LEAD and dissimilar:
        return
    missing = [f for f, mark in marks.items() if not mark]
    if missing:
        raise ServiceError(
            f"Mark every feature before concluding (missing: {', '.join(missing)}), or exclude the "
            "candidate on a dissimilar feature."
        )
    if conclusion is not Conclusion.VIABLE_LEAD:
        return
    similar = [f for f, mark in marks.items() if mark == "similar"]
    if len(similar) < min_similar:
        raise ServiceError(
            f"A viable lead rests on observed similarities: {len(similar)} of the {len(FISWG_FEATURES)} "
            f"features are marked similar, at least {min_similar} are needed. Conclude inconclusive "
            "or not a lead instead."
        )
    unexplained = [f for f in dissimilar if len(checklist[f]["note"]) < MIN_EXPLANATION_CHARS]
    if unexplained:
        raise ServiceError(
            f"An unexplained dissimilarity excludes: say in the note of {', '.join(unexplained)} why it "
            "does not (age, expression, the image), or conclude not a lead."
        )


def quick_exclude(
    examination: CandidateExamination, *, reviewer: User, feature: str, note: str = "", **views
) -> None:
    """Exclude an obvious non-match in two actions: the dissimilar feature, and "not a lead"
    (``views``: the view adjustments and annotations, as ``save_examination`` takes them)."""
    if feature not in FISWG_FEATURES:
        raise ServiceError("Choose the feature that is dissimilar.", field="feature")
    saved = examination.checklist or {}
    checklist = {f: saved.get(f) or {"mark": "", "note": ""} for f in FISWG_FEATURES}
    checklist[feature] = {"mark": "dissimilar", "note": note.strip()[:500]}
    save_examination(
        examination,
        reviewer=reviewer,
        checklist=checklist,
        conclusion=Conclusion.NOT_A_LEAD,
        note=examination.note or f"Excluded: {feature} dissimilar.",
        **views,
    )


def reexamine(examination: CandidateExamination, *, reviewer: User, reason: str) -> CandidateExamination:
    """A new revision of a concluded examination, marked as made after the identity was seen."""
    if examination.reviewer_id != reviewer.id:
        raise PermissionDenied("This examination belongs to another reviewer.")
    require(examination.search.request, reviewer, Action.SEARCH)
    if examination.conclusion is None:
        raise ServiceError("This examination has no conclusion yet: finish it instead.")
    if len(reason.strip()) < 10:
        raise ServiceError("Say why you examine this candidate again.", field="reason")
    latest = latest_examination(examination.search, examination.booking_id, reviewer)
    if latest.id != examination.id:
        raise ServiceError("This candidate has already been examined again.")
    again = CandidateExamination(
        search_id=examination.search_id,
        booking_id=examination.booking_id,
        reviewer_id=reviewer.id,
        rank=examination.rank,
        checklist=dict(examination.checklist or {}),
        view_adjustments=examination.view_adjustments,
        annotations=list(examination.annotations or []),
        revision=examination.revision + 1,
        after_reveal=True,
    )
    db.session.add(again)
    db.session.flush()
    record_event(
        "candidate.reexamine",
        actor=reviewer,
        object_type=ObjectType.BOOKING,
        object_id=examination.booking_id,
        reason=reason.strip(),
        detail={"search": examination.search_id, "revision": again.revision, "after_reveal": True},
    )
    return again


def examinations_in(search: FaceSearch, reviewer: User) -> dict[int, CandidateExamination]:
    """The reviewer's latest examination of each candidate of the search, by booking id."""
    latest: dict[int, CandidateExamination] = {}
    for examination in db.session.scalars(
        select(CandidateExamination)
        .where(CandidateExamination.search_id == search.id, CandidateExamination.reviewer_id == reviewer.id)
        .order_by(CandidateExamination.revision)
    ):
        latest[examination.booking_id] = examination
    return latest


def examinations_of(request: SearchRequest, reviewer: User) -> list[CandidateExamination]:
    return list(
        db.session.scalars(
            select(CandidateExamination)
            .join(FaceSearch)
            .where(FaceSearch.request_id == request.id, CandidateExamination.reviewer_id == reviewer.id)
            .order_by(CandidateExamination.id)
        )
    )


def probe_spec_of(search: FaceSearch, entry: dict) -> dict:
    """The recorded probe that found ``entry`` (the first that did, in a fused search)."""
    recorded = search.probe_list
    probe_id = entry["found_by"][0] if entry.get("found_by") else recorded[0]["probe_image_id"]
    return next(p for p in recorded if p["probe_image_id"] == probe_id)


def probe_chip(search: FaceSearch, entry: dict) -> AlignedChip:
    """The probe as it was searched (its recorded chain), aligned for comparing with ``entry``."""
    prepared = prepare_spec(probe_spec_of(search, entry))
    if prepared.chosen is None:
        raise ServiceError("The recorded probe no longer shows a face.")
    return aligned_chip(prepared.pixels, prepared.chosen, face_engine(COMPARISON_ENGINE))


def booking_chip(booking: Booking) -> AlignedChip:
    if booking.sealed:
        raise NotFound("This record has been sealed.", object_type=ObjectType.BOOKING, object_id=booking.id)
    held = peer_search.held_chip(booking)  # a peer's candidate, not yet revealed
    if held is not None:
        return held
    engine = face_engine(COMPARISON_ENGINE)
    pixels = load_image(storage.path_of(booking.photo_path)).pixels
    faces = engine.analyze(pixels, describe=False)
    if not faces:
        raise ServiceError("No face found in the booking photo.")
    return aligned_chip(pixels, faces[0], engine)


def form_data(examination: CandidateExamination) -> dict:
    """The saved checklist as the checklist form's data, each feature under its key."""
    saved = examination.checklist or {}
    return {
        **{
            f"feature_{key}": {
                "mark": (saved.get(name) or {}).get("mark", ""),
                "note": (saved.get(name) or {}).get("note", ""),
            }
            for key, name in FEATURE_KEYS.items()
        },
        "note": examination.note or "",
        "conclusion": examination.conclusion.value if examination.conclusion else "",
        "view_adjustments": json.dumps(examination.view_adjustments) if examination.view_adjustments else "",
        "annotations": json.dumps(examination.annotations) if examination.annotations else "",
    }
