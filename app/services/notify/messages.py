"""Who hears what, in words that carry no criminal-justice information: never a name from a
record, a case number, a justification or an image; the tracking number, what happened, the
link to sign in. Each function is called by the service whose action it tells of, in that
action's transaction."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Outcome, Report, Role, SearchRequest, User
from app.services.identity.accounts import search_eligibility
from app.services.notify.outbox import enqueue


def urgent_request(request: SearchRequest) -> int:
    """An imminent threat to life, or a person at risk: every certified reviewer, at once."""
    why = "an imminent threat to life" if request.urgent else "a person at risk"
    reviewers = _certified_reviewers()
    for reviewer in reviewers:
        enqueue(
            "urgent_request",
            reviewer,
            f"urgent request {request.tracking_number}",
            f"Request {request.tracking_number} ({why}) is waiting in the review queue now.",
        )
    return len(reviewers)


def _certified_reviewers() -> list[User]:
    reviewers = db.session.scalars(select(User).where(User.role == Role.REVIEWER, User.active.is_(True)))
    return [r for r in reviewers if search_eligibility(r)]


def verification_waiting(request: SearchRequest, *, decided_by: User) -> int:
    """The first decision is in: the other certified reviewers may take the blind verification."""
    others = [r for r in _certified_reviewers() if r.id != decided_by.id]
    for reviewer in others:
        enqueue(
            "verification_waiting",
            reviewer,
            f"{request.tracking_number} waits for a verification",
            f"Request {request.tracking_number} has its first decision and waits for a blind verification.",
        )
    return len(others)


def approval_waiting(approval_id: int, *, requested_by: User, concerning: User | None) -> int:
    """A change waits for a second administrator: every other active administrator hears."""
    admins = db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True)))
    told = [a for a in admins if a.id != requested_by.id and (concerning is None or a.id != concerning.id)]
    for admin in told:
        enqueue(
            "approval_waiting",
            admin,
            "a change waits for a second administrator",
            f"{requested_by.full_name} asked for a change that needs a second administrator "
            f"(approval {approval_id}); decide it on the People page.",
        )
    return len(told)


def signed_in_from(user: User, address: str) -> None:
    """The account's owner hears of a sign-in from an address it was never signed in from
    (not of its very first sign-in)."""
    earlier = select(AuditEvent.source_address).where(
        AuditEvent.actor_id == user.id,
        AuditEvent.action == "auth.login",
        AuditEvent.outcome == Outcome.SUCCESS,
    )
    seen = set(db.session.scalars(earlier.distinct()))
    if seen and address not in seen:
        new_address_sign_in(user, address)


def new_address_sign_in(user: User, address: str) -> None:
    enqueue(
        "new_address_sign_in",
        user,
        "a sign-in from a new address",
        f"Your LeadDesk account ({user.username}) was signed in from {address}, an address it had not "
        "been used from. If it was not you, call the unit at once.",
    )


def question_asked(request: SearchRequest) -> None:
    enqueue(
        "question",
        request.requester,
        f"a question about {request.tracking_number}",
        f"The reviewer of request {request.tracking_number} has asked you a question.",
    )


def request_rejected(request: SearchRequest) -> None:
    enqueue(
        "request_rejected",
        request.requester,
        f"{request.tracking_number} was not searched",
        f"Request {request.tracking_number} was returned as outside the use policy; the reason is in "
        "LeadDesk.",
    )


def report_issued(report: Report, *, corrected: bool = False) -> None:
    what = "a corrected report" if corrected else "a report"
    enqueue(
        "report_corrected" if corrected else "report_issued",
        report.request.requester,
        f"{what} for {report.request.tracking_number}",
        f"The unit has issued {what} ({report.report_number}) for request {report.request.tracking_number}.",
    )


def sealed_notice(report: Report) -> None:
    enqueue(
        "sealed_notice",
        report.request.requester,
        f"a sealed-record notice for {report.report_number}",
        f"A record printed in report {report.report_number} has been sealed: destroy every copy of that "
        "report and confirm it in LeadDesk.",
    )


def account_reset(user: User, what: str) -> None:
    enqueue(
        "account_reset",
        user,
        f"your {what} was reset",
        f"An administrator reset the {what} of your LeadDesk account ({user.username}). If you did "
        "not ask for this, call the unit at once.",
    )
