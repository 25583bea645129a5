"""Closing a search: an investigative lead (one examined candidate) or no possible match; the
blind verification's agreement or dispute; and decisions made void when their lead is sealed
before the report goes out."""

from __future__ import annotations

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import (
    Booking,
    CandidateExamination,
    Capacity,
    Conclusion,
    DecisionOutcome,
    FaceSearch,
    ReviewAssignment,
    ReviewDecision,
    ReviewState,
    SearchRequest,
    User,
)
from app.services.intake.requests import justification_of
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import ServiceError
from app.services.review.workflow import (
    Action,
    Step,
    advance,
    decisions,
    require,
    require_examination_of,
    require_search_of,
)


def decide(
    request: SearchRequest,
    *,
    reviewer: User,
    outcome: DecisionOutcome,
    search: FaceSearch | None,
    examination: CandidateExamination | None,
    comments: str = "",
    confirmed_unexamined: bool = False,
) -> ReviewDecision:
    """Close a search as an investigative lead (one examined candidate) or no possible match.

    Every object named must belong to this request: the search is the request's (the
    reviewer's own, or the first reviewer's list for a verifier), the examination is the
    reviewer's latest on that search, its candidate is on the list and not sealed.
    """
    capacity = require(request, reviewer, Action.DECIDE)
    outcome = DecisionOutcome(outcome)
    if outcome is DecisionOutcome.LEAD:
        if examination is not None and search is None:
            search = examination.search
        search = require_search_of(request, search, reviewer)
        examination = require_examination_of(search, examination, reviewer)
        if examination.conclusion is not Conclusion.VIABLE_LEAD:
            raise ServiceError("Only a candidate concluded a viable investigative lead can be the lead.")
    else:
        search = require_search_of(request, search, reviewer)
        examination = None
        _require_look_before_no_match(search, reviewer, confirmed_unexamined)
    decision = ReviewDecision(
        request_id=request.id,
        reviewer_id=reviewer.id,
        capacity=capacity,
        outcome=outcome,
        search_id=search.id,
        lead_booking_id=examination.booking_id if examination else None,
        examination_id=examination.id if examination else None,
        comments=comments.strip() or None,
    )
    db.session.add(decision)
    db.session.flush()
    step = _step_after(request, decision)
    advance(request, step)
    if step is Step.DECIDE:
        tell.verification_waiting(request, decided_by=reviewer)
    record_event(
        "review.decide",
        actor=reviewer,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=justification_of(request),
        detail={
            "capacity": str(capacity),
            "outcome": str(outcome),
            "search": search.id,
            "lead_booking_id": decision.lead_booking_id,
            "after_reveal": bool(examination and examination.after_reveal),
            "no_match_without_examination": confirmed_unexamined,
            "state": str(request.review_state),
        },
    )
    return decision


# A candidate scoring at or above this (dlib's same-person distance, 0.6) looks like a mate:
# "no possible match" without opening any candidate then needs the reviewer's explicit word.
CONFIRM_NO_MATCH_FROM_SCORE = 50.0


def _require_look_before_no_match(search: FaceSearch, reviewer: User, confirmed: bool) -> None:
    best = max((e["score"] for e in search.result_list), default=0.0)
    opened = db.session.scalar(
        select(CandidateExamination.id).where(
            CandidateExamination.search_id == search.id, CandidateExamination.reviewer_id == reviewer.id
        )
    )
    if best >= CONFIRM_NO_MATCH_FROM_SCORE and opened is None and not confirmed:
        raise ServiceError(
            f"Rank 1 scores {best:.1f} and you have not compared any candidate. Open the candidates, or "
            "confirm that there is no possible match without comparing them (it is recorded).",
            field="confirm_unexamined",
        )


def _step_after(request: SearchRequest, decision: ReviewDecision) -> Step:
    if decision.capacity is Capacity.PRIMARY:
        return Step.DECIDE
    if decision.capacity is Capacity.THIRD:
        return Step.SETTLE
    first = next(d for d in decisions(request) if d.capacity is Capacity.PRIMARY)
    agree = first.outcome is decision.outcome and first.lead_booking_id == decision.lead_booking_id
    return Step.AGREE if agree else Step.DISAGREE


def final_decision(request: SearchRequest) -> ReviewDecision:
    """The decision a report states: the third reviewer's, else the verified one."""
    made = decisions(request)
    for capacity in (Capacity.THIRD, Capacity.VERIFIER):
        found = [d for d in made if d.capacity is capacity]
        if found:
            return found[-1]
    raise ServiceError("The request has no verified decision yet.")


def reopen_for_sealed(booking: Booking, *, actor: User | None) -> list[SearchRequest]:
    """A lead sealed before its report was issued: the decisions naming it become void, the
    verifier and third reviewer are released, and the request goes back to its reviewer."""
    reopened = []
    pending = db.session.scalars(
        select(SearchRequest)
        .join(ReviewDecision, ReviewDecision.request_id == SearchRequest.id)
        .where(
            ReviewDecision.lead_booking_id == booking.id,
            ReviewDecision.voided_at.is_(None),
            SearchRequest.review_state.in_(
                [ReviewState.AWAITING_VERIFICATION, ReviewState.DISPUTED, ReviewState.VERIFIED]
            ),
        )
        .distinct()
    ).all()
    now = utcnow()
    for request in pending:
        for decision in decisions(request):
            decision.voided_at, decision.void_reason = now, f"lead sealed ({booking.seal_reference})"
        for assignment in db.session.scalars(
            select(ReviewAssignment).where(
                ReviewAssignment.request_id == request.id,
                ReviewAssignment.capacity != Capacity.PRIMARY,
                ReviewAssignment.released_at.is_(None),
            )
        ):
            assignment.released_at = now
        advance(request, Step.REOPEN)
        record_event(
            "review.reopen",
            actor=actor,
            object_type=ObjectType.REQUEST,
            object_id=request.id,
            reason=f"the lead's record was sealed before the report was issued ({booking.seal_reference})",
            detail={"tracking_number": request.tracking_number},
        )
        reopened.append(request)
    return reopened
