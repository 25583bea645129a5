"""Need to know among staff (Audits: "right-to-know and need-to-know basis per CORI").

A reviewer or administrator opens a request (its probes, its decisions, its reports) without
giving a reason when it is their work: open in the queue they work from, or assigned to them
now or before. Anything else needs a reason, recorded and audited, which opens it to them
for a few hours.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import (
    AccessGrant,
    Report,
    RequestStatus,
    ReviewAssignment,
    ReviewDecision,
    SearchRequest,
    User,
)
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import ServiceError
from app.services.review.workflow import OPEN_STATES

GRANT_LIFETIME = timedelta(hours=8)
MIN_REASON_CHARS = 15


def is_their_work(request: SearchRequest, user: User) -> bool:
    """Open in the queue, or assigned to them, decided or reported by them, now or before."""
    if request.review_state in OPEN_STATES and request.status not in (
        RequestStatus.DRAFT,
        RequestStatus.WITHDRAWN,
    ):
        return True
    worked_on = (
        select(ReviewAssignment.id).where(
            ReviewAssignment.request_id == request.id, ReviewAssignment.reviewer_id == user.id
        ),
        select(ReviewDecision.id).where(
            ReviewDecision.request_id == request.id, ReviewDecision.reviewer_id == user.id
        ),
        select(Report.id).where(Report.request_id == request.id, Report.issued_by_id == user.id),
    )
    return any(db.session.scalar(query.limit(1)) is not None for query in worked_on)


def current_grant(request: SearchRequest, user: User) -> AccessGrant | None:
    return db.session.scalar(
        select(AccessGrant).where(
            AccessGrant.request_id == request.id,
            AccessGrant.user_id == user.id,
            AccessGrant.expires_at > utcnow(),
        )
    )


def may_open(request: SearchRequest, user: User) -> bool:
    return is_their_work(request, user) or current_grant(request, user) is not None


def grant_access(request: SearchRequest, *, user: User, reason: str) -> AccessGrant:
    """Record why someone opens a request outside their work; audited, valid a few hours."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ServiceError(
            f"Say why you need to open {request.tracking_number} (at least {MIN_REASON_CHARS} characters): "
            "the reason is kept in the audit trail.",
            field="reason",
        )
    now = utcnow()
    grant = AccessGrant(
        user_id=user.id, request_id=request.id, reason=reason, granted_at=now, expires_at=now + GRANT_LIFETIME
    )
    db.session.add(grant)
    db.session.flush()
    record_event(
        "access.justified",
        actor=user,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=reason,
        detail={"tracking_number": request.tracking_number, "until": grant.expires_at.isoformat()},
    )
    return grant
