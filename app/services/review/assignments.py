"""The queue and who holds a request: claims, release, reassignment, questions to the
requester, rejection as out of policy, and taking the blind verification."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.clock import utcnow
from app.extensions import db
from app.models import (
    Capacity,
    RequestMessage,
    RequestStatus,
    ReviewAssignment,
    ReviewState,
    SearchRequest,
    User,
)
from app.services.identity.accounts import search_eligibility
from app.services.intake.requests import justification_of
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import ServiceError
from app.services.review.probes import ensure_works
from app.services.review.workflow import (
    OPEN_STATES,
    Action,
    Step,
    advance,
    current_assignment,
    decisions,
    require,
)


@dataclass(frozen=True)
class QueueItem:
    request: SearchRequest
    reviewer: User | None  # the primary reviewer holding it, if any


def queue(
    *, state: ReviewState | None = None, agency_id: int | None = None, reviewer_id: int | None = None
) -> list[QueueItem]:
    """Submitted requests, urgent (imminent threat) first, then oldest first, with their holder."""
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
    open_rows = select(ReviewAssignment).where(ReviewAssignment.released_at.is_(None))
    if reviewer_id:
        stmt = stmt.where(
            SearchRequest.id.in_(
                select(ReviewAssignment.request_id).where(
                    ReviewAssignment.reviewer_id == reviewer_id, ReviewAssignment.released_at.is_(None)
                )
            )
        )
    requests = list(
        db.session.scalars(
            stmt.order_by(SearchRequest.urgent.desc(), SearchRequest.submitted_at, SearchRequest.id)
        )
    )
    holders = {
        a.request_id: a.reviewer
        for a in db.session.scalars(
            open_rows.where(
                ReviewAssignment.capacity == Capacity.PRIMARY,
                ReviewAssignment.request_id.in_([r.id for r in requests]),
            )
        )
    }
    return [QueueItem(r, holders.get(r.id)) for r in requests]


def _assign(request: SearchRequest, reviewer: User, capacity: Capacity, assigned_by: User | None = None):
    """Insert the open assignment; the unique index over open rows refuses a second holder."""
    assignment = ReviewAssignment(
        request_id=request.id,
        reviewer_id=reviewer.id,
        capacity=capacity,
        assigned_by_id=assigned_by.id if assigned_by else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(assignment)
            ensure_works(request, reviewer)
    except IntegrityError:
        holder = current_assignment(request, capacity)
        who = holder.reviewer.full_name if holder else "another reviewer"
        raise ServiceError(
            f"{request.tracking_number} is already held by {who}.",
            audit_action=f"review.{capacity.value}_assign",
            object_type=ObjectType.REQUEST,
            object_id=request.id,
        ) from None
    return assignment


def claim(request: SearchRequest, *, reviewer: User) -> ReviewAssignment:
    """Take a new request. Only one reviewer can: the state moves in one conditional UPDATE."""
    require(request, reviewer, Action.CLAIM)
    advance(request, Step.CLAIM)
    assignment = _assign(request, reviewer, Capacity.PRIMARY)
    record_event(
        "review.claim",
        actor=reviewer,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=justification_of(request),
    )
    return assignment


def release(request: SearchRequest, *, reviewer: User) -> None:
    require(request, reviewer, Action.RELEASE)
    current_assignment(request, Capacity.PRIMARY).released_at = utcnow()
    advance(request, Step.RELEASE)
    record_event("review.release", actor=reviewer, object_type=ObjectType.REQUEST, object_id=request.id)


def reassign(request: SearchRequest, *, admin: User, reviewer: User, reason: str) -> ReviewAssignment:
    """An admin gives the request (or its third review, when disputed) to a certified reviewer."""
    require(request, admin, Action.ASSIGN)
    eligibility = search_eligibility(reviewer)
    if not eligibility:
        raise ServiceError(f"{reviewer.full_name}: {eligibility.message}", field="reviewer_id")
    if not reason.strip():
        raise ServiceError("Give a reason for the reassignment.", field="reason")
    capacity = Capacity.THIRD if request.review_state is ReviewState.DISPUTED else Capacity.PRIMARY
    if capacity is Capacity.THIRD and any(d.reviewer_id == reviewer.id for d in decisions(request)):
        raise ServiceError("The third review must be by someone who has not reviewed it yet.")
    previous = current_assignment(request, capacity)
    if previous is not None:
        previous.released_at = utcnow()
        db.session.flush()
    if capacity is Capacity.PRIMARY:
        advance(request, Step.ASSIGN)
    assignment = _assign(request, reviewer, capacity, assigned_by=admin)
    record_event(
        "review.reassign",
        actor=admin,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=reason,
        detail={"reviewer": reviewer.username, "capacity": str(capacity)},
    )
    return assignment


def return_with_question(request: SearchRequest, *, reviewer: User, question: str) -> RequestMessage:
    require(request, reviewer, Action.ASK)
    if len(question.strip()) < 10:
        raise ServiceError("Write the question for the requester.", field="question")
    message = RequestMessage(request=request, author_id=reviewer.id, kind="question", body=question.strip())
    db.session.add(message)
    advance(request, Step.ASK)
    record_event(
        "review.return",
        actor=reviewer,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=question.strip(),
    )
    tell.question_asked(request)
    return message


def reject_out_of_policy(request: SearchRequest, *, reviewer: User, clause: str, note: str) -> None:
    require(request, reviewer, Action.REJECT)
    if not clause.strip() or len(note.strip()) < 10:
        raise ServiceError("Name the policy clause and explain the rejection.", field="note")
    request.rejection_clause = clause.strip()
    request.rejection_note = note.strip()
    advance(request, Step.REJECT)
    record_event(
        "review.reject",
        actor=reviewer,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=f"{clause.strip()}: {note.strip()}",
    )
    tell.request_rejected(request)


def claim_verification(request: SearchRequest, *, reviewer: User) -> ReviewAssignment:
    """A second certified reviewer takes the blind verification; never the first reviewer.
    The unique index over open assignments makes it one verifier even under a race."""
    require(request, reviewer, Action.VERIFY)
    assignment = _assign(request, reviewer, Capacity.VERIFIER)
    record_event("review.verify_claim", actor=reviewer, object_type=ObjectType.REQUEST, object_id=request.id)
    return assignment
