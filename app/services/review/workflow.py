"""The one way a search request changes state, and what each person may do with it now.

``advance(request, step)`` is the only code that assigns ``status`` or ``review_state`` (a test
reads the code to keep it so). It changes the row with a conditional UPDATE — ``WHERE
review_state IN (the step's sources)`` — so of two people acting at once only one moves the
request and the other is told it has moved on.

``why_not(request, actor, action)`` is the rule for each action; services call ``require``
with it, and pages call ``allowed_actions`` so that they offer only what can be done now.
The invariants every decision rests on (the search, the examination and the candidate belong
to this request) are checked by the ``require_*`` functions at the bottom.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.models import (
    Booking,
    CandidateExamination,
    Capacity,
    FaceSearch,
    RequestStatus,
    ReviewAssignment,
    ReviewDecision,
    ReviewState,
    Role,
    SearchRequest,
    User,
)
from app.services.identity.accounts import search_eligibility, speaks_for_agency
from app.services.platform.errors import PermissionDenied, ServiceError


class Step(enum.StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    CLAIM = "claim"
    RELEASE = "release"
    ASSIGN = "assign"  # an admin gives the request to a reviewer
    ASK = "ask"  # returned to the requester with a question
    ANSWER = "answer"
    REJECT = "reject"
    DECIDE = "decide"  # the first reviewer's decision: now awaiting blind verification
    AGREE = "agree"  # the verifier agrees: ready for the report
    DISAGREE = "disagree"  # the verifier disagrees: an admin assigns a third reviewer
    SETTLE = "settle"  # the third reviewer decides
    ISSUE_LEAD = "issue_lead"
    ISSUE_NO_MATCH = "issue_no_match"
    REOPEN = "reopen"  # the lead was sealed before the report went out: decide again


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ReviewState]
    target: ReviewState
    status: RequestStatus | None = None  # None: the requester's status does not change
    from_status: frozenset[RequestStatus] | None = None
    closes: bool = False


def _t(sources, target, status=None, from_status=None, closes=False) -> Transition:
    return Transition(
        frozenset(sources), target, status, frozenset(from_status) if from_status else None, closes
    )


S, R = ReviewState, RequestStatus
TRANSITIONS: dict[Step, Transition] = {
    Step.SUBMIT: _t({S.NEW}, S.NEW, R.SUBMITTED, from_status={R.DRAFT}),
    Step.WITHDRAW: _t({S.NEW}, S.CLOSED, R.WITHDRAWN, from_status={R.SUBMITTED}, closes=True),
    Step.CLAIM: _t({S.NEW}, S.CLAIMED, R.IN_REVIEW, from_status={R.SUBMITTED}),
    Step.RELEASE: _t({S.CLAIMED}, S.NEW, R.SUBMITTED),
    Step.ASSIGN: _t({S.NEW, S.CLAIMED}, S.CLAIMED, R.IN_REVIEW, from_status={R.SUBMITTED, R.IN_REVIEW}),
    Step.ASK: _t({S.CLAIMED}, S.AWAITING_INFO, R.NEEDS_INFO),
    Step.ANSWER: _t({S.AWAITING_INFO}, S.CLAIMED, R.IN_REVIEW),
    Step.REJECT: _t({S.CLAIMED}, S.CLOSED, R.REJECTED, closes=True),
    Step.DECIDE: _t({S.CLAIMED}, S.AWAITING_VERIFICATION),
    Step.AGREE: _t({S.AWAITING_VERIFICATION}, S.VERIFIED),
    Step.DISAGREE: _t({S.AWAITING_VERIFICATION}, S.DISPUTED),
    Step.SETTLE: _t({S.DISPUTED}, S.VERIFIED),
    Step.ISSUE_LEAD: _t({S.VERIFIED}, S.CLOSED, R.LEAD_ISSUED, closes=True),
    Step.ISSUE_NO_MATCH: _t({S.VERIFIED}, S.CLOSED, R.NO_MATCH, closes=True),
    Step.REOPEN: _t({S.AWAITING_VERIFICATION, S.DISPUTED, S.VERIFIED}, S.CLAIMED, R.IN_REVIEW),
}
del S, R


@dataclass(frozen=True)
class StateFacts:
    """What a review state means, beside the transitions: whether the request is open work
    (in the queue), who must act next (in words, for the page showing where it stands), and
    which capacity searches and decides in it."""

    open: bool
    waiting_for: str
    worked_by: Capacity | None = None


S = ReviewState
STATES: dict[ReviewState, StateFacts] = {
    S.NEW: StateFacts(True, "a certified reviewer to claim it"),
    S.CLAIMED: StateFacts(True, "its reviewer: search, compare and decide", Capacity.PRIMARY),
    S.AWAITING_INFO: StateFacts(True, "the requesting agency to answer the reviewer's question"),
    S.AWAITING_VERIFICATION: StateFacts(
        True, "a second certified reviewer to verify it blind", Capacity.VERIFIER
    ),
    S.DISPUTED: StateFacts(
        True, "an administrator to assign a third reviewer, then that reviewer's decision", Capacity.THIRD
    ),
    S.VERIFIED: StateFacts(True, "a reviewer or administrator to issue the Manual Search Report"),
    S.CLOSED: StateFacts(False, "nobody: it is closed"),
}
del S
# Derived from the table: the open states (the queue), and where each capacity works.
OPEN_STATES = tuple(state for state, facts in STATES.items() if facts.open)
WORKING_STATE = {facts.worked_by: state for state, facts in STATES.items() if facts.worked_by}


def advance(request: SearchRequest, step: Step) -> None:
    """Move ``request`` by ``step``, or raise if it is no longer in a state the step starts from."""
    transition = TRANSITIONS[step]
    values: dict = {"review_state": transition.target}
    if transition.status is not None:
        values["status"] = transition.status
    if transition.closes:
        values["closed_at"] = utcnow()
    db.session.flush()  # the caller's own changes to the row go first
    stmt = update(SearchRequest).where(
        SearchRequest.id == request.id, SearchRequest.review_state.in_(transition.sources)
    )
    if transition.from_status is not None:
        stmt = stmt.where(SearchRequest.status.in_(transition.from_status))
    changed = db.session.execute(stmt.values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(request)
    if changed != 1:
        raise ServiceError(
            f"{request.tracking_number or 'This request'} is now "
            f"{request.status.label.lower()} ({request.review_state.label.lower()}): "
            "someone acted on it first. Reload the page to see where it stands."
        )


# --- who works the request ---------------------------------------------------------------------


def current_assignment(request: SearchRequest, capacity: Capacity) -> ReviewAssignment | None:
    return db.session.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.request_id == request.id,
            ReviewAssignment.capacity == capacity,
            ReviewAssignment.released_at.is_(None),
        )
    )


def capacity_of(request: SearchRequest, reviewer: User) -> Capacity | None:
    """In which capacity ``reviewer`` currently works the request, if any."""
    held = db.session.scalars(
        select(ReviewAssignment.capacity).where(
            ReviewAssignment.request_id == request.id,
            ReviewAssignment.reviewer_id == reviewer.id,
            ReviewAssignment.released_at.is_(None),
        )
    ).all()
    return next((c for c in Capacity if c in held), None)


def decisions(request: SearchRequest) -> list[ReviewDecision]:
    """The request's standing decisions, in order (void ones left out)."""
    return list(
        db.session.scalars(
            select(ReviewDecision)
            .where(ReviewDecision.request_id == request.id, ReviewDecision.voided_at.is_(None))
            .order_by(ReviewDecision.id)
        )
    )


def has_decided(request: SearchRequest, reviewer: User) -> bool:
    return any(d.reviewer_id == reviewer.id for d in decisions(request))


# --- what may be done now ------------------------------------------------------------------------


class Action(enum.StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    ASK = "ask"
    REJECT = "reject"
    ASSIGN = "assign"
    VERIFY = "verify"  # take the blind verification
    SEARCH = "search"  # process probes, search, examine candidates
    DECIDE = "decide"
    ISSUE_REPORT = "issue_report"
    WITHDRAW = "withdraw"
    ANSWER = "answer"
    SCREEN = "screen"  # the determinations before a search: each image's source, the First Amendment
    PICK_FRAME = "pick_frame"  # a frame of the request's video made a probe, by the reviewer holding it


WORKING_ACTIONS = {Action.SEARCH, Action.DECIDE}


def why_not(request: SearchRequest, actor: User, action: Action) -> str | None:
    """Why ``actor`` may not take ``action`` on ``request`` now; None when they may."""
    state = request.review_state
    if action in (Action.WITHDRAW, Action.ANSWER):
        if not speaks_for_agency(actor, request.agency_id):
            return "Only the requesting agency can do this."
        if action is Action.WITHDRAW and not (
            request.status is RequestStatus.SUBMITTED and state is ReviewState.NEW
        ):
            return "Only a request that no reviewer has taken yet can be withdrawn."
        if action is Action.ANSWER and (
            state is not ReviewState.AWAITING_INFO or request.open_question is None
        ):
            return "There is no open question on this request."
        return None
    if action is Action.ASSIGN:
        if actor.role is not Role.ADMIN:
            return "Only an administrator assigns requests."
        if state not in (ReviewState.NEW, ReviewState.CLAIMED, ReviewState.DISPUTED) or request.status in (
            RequestStatus.DRAFT,
            RequestStatus.WITHDRAWN,
        ):
            return "Only a new, claimed or disputed request can be assigned."
        return None
    if action is Action.ISSUE_REPORT:
        if actor.role not in (Role.REVIEWER, Role.ADMIN):
            return "Only reviewers and administrators issue reports."
        if state is not ReviewState.VERIFIED:
            return "A report is issued only after the decision has been verified."
        return None
    if actor.role is not Role.REVIEWER and not (actor.role is Role.ADMIN and action in WORKING_ACTIONS):
        return "Only facial reviewers do this."
    eligibility = search_eligibility(actor)
    if not eligibility:
        return eligibility.message
    capacity = capacity_of(request, actor)
    if action is Action.CLAIM:
        if state is not ReviewState.NEW or request.status is not RequestStatus.SUBMITTED:
            holder = current_assignment(request, Capacity.PRIMARY)
            if holder is not None:
                return f"{request.tracking_number} has already been claimed by {holder.reviewer.full_name}."
            return f"This request is {request.status.label.lower()}, not waiting to be claimed."
        return None
    if action is Action.VERIFY:
        if state is not ReviewState.AWAITING_VERIFICATION:
            return "This request is not awaiting verification."
        if has_decided(request, actor) or capacity is Capacity.PRIMARY:
            return "Nobody verifies their own work."
        if current_assignment(request, Capacity.VERIFIER) is not None:
            return "Another reviewer is already verifying this request."
        return None
    if action in (Action.RELEASE, Action.ASK, Action.REJECT, Action.SCREEN, Action.PICK_FRAME):
        if capacity is not Capacity.PRIMARY:
            return "You do not hold this request."
        if state is not ReviewState.CLAIMED:
            return f"This is not possible while the request is {state.label.lower()}."
        if action is Action.PICK_FRAME and not request.videos:
            return "This request has no video."
        if action is Action.SCREEN and not request.awaiting_determination:
            return "No determination is waiting on this request."
        return None
    # searching and deciding: in one's capacity, in the state that capacity works in
    if capacity is None:
        return "You do not hold this request."
    if state is not WORKING_STATE[capacity]:
        return f"A {capacity.label.lower()} cannot act while the request is {state.label.lower()}."
    if request.awaiting_determination:
        return (
            "Before any search, record your determinations: that each image's stated source fits what "
            "you see (or refuse the image), and that the search is not based solely on protected "
            "activity or traits (or return or reject the request)."
        )
    if action is Action.DECIDE and has_decided(request, actor):
        return "You have already recorded a decision on this request; nobody verifies their own work."
    return None


def allowed_actions(request: SearchRequest, actor: User) -> frozenset[Action]:
    return frozenset(a for a in Action if why_not(request, actor, a) is None)


def require(request: SearchRequest, actor: User, action: Action) -> Capacity | None:
    """Raise ``PermissionDenied`` unless ``actor`` may take ``action`` now; returns their capacity."""
    reason = why_not(request, actor, action)
    if reason is not None:
        raise PermissionDenied(
            reason, audit_action=f"review.{action.value}", object_type="request", object_id=request.id
        )
    return capacity_of(request, actor) if actor.role is not Role.REQUESTER else None


# --- the invariants a decision rests on ----------------------------------------------------------


def require_search_of(request: SearchRequest, search: FaceSearch | None, actor: User) -> FaceSearch:
    """The search is this request's, and the actor's own or (for a verifier or third reviewer)
    the first reviewer's candidate list."""
    if search is None:
        raise ServiceError("Run a search before deciding.")
    if search.request_id != request.id:
        raise PermissionDenied(
            "That search belongs to another request.",
            audit_action="review.decide",
            object_type="search",
            object_id=search.id,
        )
    if search.reviewer_id != actor.id:
        first = next((d for d in decisions(request) if d.capacity is Capacity.PRIMARY), None)
        if first is None or first.search_id != search.id:
            raise PermissionDenied("Decide on your own search or the first reviewer's candidate list.")
    return search


def require_candidate_of(search: FaceSearch, booking_id: int) -> dict:
    """The entry of ``booking_id`` in the search's candidate list; a sealed record never leads."""
    entry = next((e for e in search.result_list if e["booking_id"] == booking_id), None)
    if entry is None:
        raise PermissionDenied("That candidate is not on this search's list.")
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.sealed:
        raise ServiceError("This record has been sealed: it cannot be a lead.")
    return entry


def require_examination_of(
    search: FaceSearch, examination: CandidateExamination | None, actor: User
) -> CandidateExamination:
    if examination is None:
        raise ServiceError("Choose the examined candidate that is the lead.")
    if examination.search_id != search.id or examination.reviewer_id != actor.id:
        raise PermissionDenied(
            "That examination is not yours on this search.",
            audit_action="review.decide",
            object_type="examination",
            object_id=examination.id,
        )
    latest = db.session.scalar(
        select(CandidateExamination.id)
        .where(
            CandidateExamination.search_id == search.id,
            CandidateExamination.booking_id == examination.booking_id,
            CandidateExamination.reviewer_id == actor.id,
        )
        .order_by(CandidateExamination.revision.desc())
        .limit(1)
    )
    if latest != examination.id:
        raise ServiceError("A later examination of this candidate replaces that one.")
    require_candidate_of(search, examination.booking_id)
    return examination


def decisions_visible(request: SearchRequest, actor: User) -> bool:
    """Who may see the recorded decisions: administrators, and everyone once the request is
    verified (before that the verification is blind)."""
    return actor.role is Role.ADMIN or request.review_state in (ReviewState.VERIFIED, ReviewState.CLOSED)


def waiting_for(request: SearchRequest) -> str:
    """Who must act next, in words, for the page that shows where the case stands."""
    if request.status is RequestStatus.DRAFT:
        return "the requester to submit it"
    if request.review_state is ReviewState.CLAIMED and request.awaiting_determination:
        return (
            "its reviewer's determinations on the images' sources and the First Amendment, before any search"
        )
    return STATES[request.review_state].waiting_for


def third_reviewer_candidates(request: SearchRequest) -> list[User]:
    """Who could settle a dispute: certified reviewers and administrators who have not decided it."""
    decided = {d.reviewer_id for d in decisions(request)}
    staff = db.session.scalars(
        select(User)
        .where(User.role.in_([Role.REVIEWER, Role.ADMIN]), User.active.is_(True))
        .order_by(User.full_name)
    )
    return [u for u in staff if u.id not in decided and search_eligibility(u)]
