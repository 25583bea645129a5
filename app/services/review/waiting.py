"""What is waiting on one person, by role: the landing page's "waiting on me".

Reviewers: their claimed work, the verifications and third reviews they hold, requests they
could verify (never their own), new requests in the queue. Requesters: questions to answer,
reports to collect, lead outcomes to report, sealed-record notices, drafts not sent.
Administrators: disputes without a third reviewer, verified requests without a report,
unsigned months, outstanding sealed-record notices, approvals waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, cast, exists, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Capacity,
    PendingApproval,
    Report,
    RequestStatus,
    ReviewAssignment,
    ReviewState,
    Role,
    SearchRequest,
    User,
)
from app.services.gallery.sealing import notices_for_agency, outstanding_seal_notices
from app.services.oversight.audit import ObjectType
from app.services.oversight.monthly_audit import unsigned_months
from app.services.review.workflow import decisions


@dataclass
class Waiting:
    """Named lists, each empty when nothing waits; ``total`` counts every item."""

    lists: dict[str, list] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(items) for items in self.lists.values())


def _held(user: User, capacity: Capacity, state: ReviewState) -> list[SearchRequest]:
    return list(
        db.session.scalars(
            select(SearchRequest)
            .join(ReviewAssignment, ReviewAssignment.request_id == SearchRequest.id)
            .where(
                ReviewAssignment.reviewer_id == user.id,
                ReviewAssignment.capacity == capacity,
                ReviewAssignment.released_at.is_(None),
                SearchRequest.review_state == state,
            )
            .order_by(SearchRequest.urgent.desc(), SearchRequest.submitted_at)
        )
    )


def requests_in_state(state: ReviewState) -> list[SearchRequest]:
    """Requests standing in ``state``, urgent first, then oldest."""
    return list(
        db.session.scalars(
            select(SearchRequest)
            .where(
                SearchRequest.review_state == state,
                SearchRequest.status.not_in(
                    [RequestStatus.WITHDRAWN, RequestStatus.DRAFT]
                ),  # drafts are unsent
            )
            .order_by(SearchRequest.urgent.desc(), SearchRequest.submitted_at)
        )
    )


def for_reviewer(user: User) -> Waiting:
    verifying = _held(user, Capacity.VERIFIER, ReviewState.AWAITING_VERIFICATION)
    to_verify = [
        r
        for r in requests_in_state(ReviewState.AWAITING_VERIFICATION)
        if r not in verifying and all(d.reviewer_id != user.id for d in decisions(r))
    ]
    return Waiting(
        {
            "claimed": _held(user, Capacity.PRIMARY, ReviewState.CLAIMED),
            "verifying": verifying,
            "third": _held(user, Capacity.THIRD, ReviewState.DISPUTED),
            "to_verify": to_verify,
            "new": requests_in_state(ReviewState.NEW),
            "to_issue": requests_in_state(ReviewState.VERIFIED),
        }
    )


def _collected_by_agency(agency_id: int):
    """A download of the report by anyone at the agency."""
    return exists().where(
        AuditEvent.action == "report.download",
        AuditEvent.object_type == ObjectType.REPORT,
        AuditEvent.object_id == cast(Report.id, String),
        AuditEvent.actor_id.in_(select(User.id).where(User.agency_id == agency_id)),
    )


def for_requester(user: User) -> Waiting:
    agency_reports = (
        select(Report)
        .join(SearchRequest, SearchRequest.id == Report.request_id)
        .where(SearchRequest.agency_id == user.agency_id, Report.superseded_at.is_(None))
        .order_by(Report.issued_at.desc())
    )
    return Waiting(
        {
            "questions": list(
                db.session.scalars(
                    select(SearchRequest)
                    .where(
                        SearchRequest.agency_id == user.agency_id,
                        SearchRequest.review_state == ReviewState.AWAITING_INFO,
                        SearchRequest.status != RequestStatus.WITHDRAWN,
                    )
                    .order_by(SearchRequest.submitted_at)
                )
            ),
            "to_collect": list(
                db.session.scalars(agency_reports.where(~_collected_by_agency(user.agency_id)))
            ),
            "outcomes": list(
                db.session.scalars(
                    agency_reports.where(
                        Report.kind == "lead", Report.lead_outcome.is_(None), Report.seal_notice_at.is_(None)
                    )
                )
            ),
            "seal_notices": notices_for_agency(user.agency_id),
            "drafts": list(
                db.session.scalars(
                    select(SearchRequest)
                    .where(SearchRequest.requester_id == user.id, SearchRequest.status == RequestStatus.DRAFT)
                    .order_by(SearchRequest.id.desc())
                )
            ),
        }
    )


def for_admin(user: User) -> Waiting:
    disputed = requests_in_state(ReviewState.DISPUTED)
    without_third = [
        r
        for r in disputed
        if not db.session.scalar(
            select(ReviewAssignment.id).where(
                ReviewAssignment.request_id == r.id,
                ReviewAssignment.capacity == Capacity.THIRD,
                ReviewAssignment.released_at.is_(None),
            )
        )
    ]
    return Waiting(
        {
            "disputes": without_third,
            "to_issue": requests_in_state(ReviewState.VERIFIED),
            "unsigned_months": unsigned_months(),
            "seal_notices": outstanding_seal_notices(),
            "approvals": list(
                db.session.scalars(
                    select(PendingApproval)
                    .where(PendingApproval.decided_at.is_(None), PendingApproval.requested_by_id != user.id)
                    .order_by(PendingApproval.id)
                )
            ),
            "third": _held(user, Capacity.THIRD, ReviewState.DISPUTED),
        }
    )


BY_ROLE = {Role.REVIEWER: for_reviewer, Role.REQUESTER: for_requester, Role.ADMIN: for_admin}


def waiting_on(user: User) -> Waiting:
    return BY_ROLE[user.role](user)
