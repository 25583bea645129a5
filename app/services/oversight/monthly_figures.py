"""The monthly audit's figures and flags, per user: the fields the policy's slides list
(username and last logon, search period, number of searches, search reasons, sealed-record
notices) and what an administrator must look at (no case number, a lapsed certification,
First Amendment terms, a spike, after-hours activity, denied access, unusual read volume).

Months are calendar months in the unit's time zone (``SCHEDULER_TIMEZONE``), the same clock
the after-hours flag reads.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    FaceSearch,
    Outcome,
    Report,
    ReviewDecision,
    SearchRequest,
    TrainingCertification,
    User,
)
from app.services.oversight.audit import READ_ACTIONS
from app.services.oversight.peer_figures import peer_rows, sent_to
from app.services.platform.errors import ServiceError
from app.services.policy import rules

WORK_HOURS = (7, 19)  # local time; activity outside (or at weekends) is flagged


SPIKE_FACTOR = 3  # a month with 3x the user's usual searches (and at least 10) is flagged


COLUMNS = [
    "username",
    "full_name",
    "role",
    "agency",
    "last_logon",
    "first_search",
    "last_search",
    "searches",
    "search_reasons",
    "requests_handled",
    "reports_issued",
    "seal_notices_received",
    "seal_notices_confirmed",
    "records_read",
    "source_determinations",
    "first_amendment_determinations",
    "peer_searches",
]
# The reviewer's determinations before a search (app/services/review/intake.py).
SOURCE_DETERMINATIONS = ("intake.provenance_confirm", "intake.provenance_refuse")


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SCHEDULER_TIMEZONE"])


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first and last instant, in the unit's time zone (as aware datetimes)."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=local_zone())
    except ValueError:
        raise ServiceError(f"{month!r} is not a month (YYYY-MM).") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _certified_on(user_id: int, day: date) -> bool:
    return (
        db.session.scalar(
            select(TrainingCertification.id).where(
                TrainingCertification.user_id == user_id,
                TrainingCertification.completed_on <= day,
                TrainingCertification.expires_on >= day,
            )
        )
        is not None
    )


def _searches_between(start: datetime, end: datetime) -> list[FaceSearch]:
    return list(
        db.session.scalars(
            select(FaceSearch)
            .where(FaceSearch.created_at >= start, FaceSearch.created_at < end)
            .order_by(FaceSearch.created_at)
        )
    )


def compute_month(month: str) -> tuple[list[dict], list[tuple[str | None, str, str]]]:
    """Per-user figures and the flags (username, kind, description) for ``month``."""
    start, end = month_bounds(month)
    searches = _searches_between(start, end)
    by_user: dict[int, list[FaceSearch]] = defaultdict(list)
    for search in searches:
        by_user[search.reviewer_id].append(search)
    flags: list[tuple[str | None, str, str]] = []
    rows = []
    local = local_zone()
    for user in db.session.scalars(select(User).order_by(User.username)):
        mine = by_user.get(user.id, [])
        reasons = []
        for search in mine:
            case, purpose, crime, where, terms = _search_facts(search)
            why = f" / {search.request.reason[:80]}" if search.request is not None else ""
            reasons.append(f"{rules.PURPOSES.get(purpose, purpose)} / case {case or '-'} / {crime}{why}")
            if not case:
                flags.append(
                    (user.username, "no_case_number", f"search #{search.id} on {where} has no case number")
                )
            if not _certified_on(user.id, search.created_at.date()):
                flags.append(
                    (
                        user.username,
                        "lapsed_certification",
                        f"search #{search.id} on {search.created_at:%Y-%m-%d} without a current "
                        "certification",
                    )
                )
            if terms:
                flags.append(
                    (
                        user.username,
                        "first_amendment",
                        f"search #{search.id} on {where}: justification mentions {', '.join(terms)}",
                    )
                )
        reads = _reads_by_day(user, start, end)
        limit = int(current_app.config["READ_VOLUME_DAILY_LIMIT"])
        heavy = {day: count for day, count in reads.items() if count > limit}
        if heavy:
            worst = max(heavy, key=heavy.get)
            flags.append(
                (
                    user.username,
                    "read_volume",
                    f"{len(heavy)} day(s) with more than {limit} reads of probes, candidates, bookings or "
                    f"reports; most on {worst}: {heavy[worst]}",
                )
            )
        if mine:
            history = []
            for back in range(1, 7):
                previous = (start - timedelta(days=28 * back)).strftime("%Y-%m")
                p_start, p_end = month_bounds(previous)
                history.append(sum(1 for s in _searches_between(p_start, p_end) if s.reviewer_id == user.id))
            usual = sum(history) / len(history)
            if len(mine) >= 10 and len(mine) > SPIKE_FACTOR * max(usual, 1):
                flags.append(
                    (
                        user.username,
                        "search_spike",
                        f"{len(mine)} searches against about {usual:.1f} a month over the previous six",
                    )
                )
        events = list(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.actor_id == user.id,
                    AuditEvent.occurred_at >= start,
                    AuditEvent.occurred_at < end,
                )
            )
        )
        after_hours = [e for e in events if _after_hours(e.occurred_at.astimezone(local))]
        if after_hours:
            flags.append(
                (
                    user.username,
                    "after_hours",
                    f"{len(after_hours)} action(s) outside working hours, first at "
                    f"{after_hours[0].occurred_at.astimezone(local):%Y-%m-%d %H:%M %Z}",
                )
            )
        denied = [e for e in events if e.outcome is Outcome.DENIED]
        if denied:
            flags.append(
                (
                    user.username,
                    "denied_access",
                    f"{len(denied)} denied access attempt(s): "
                    + ", ".join(sorted({e.action for e in denied})),
                )
            )
        handled = db.session.scalar(
            select(db.func.count(ReviewDecision.id)).where(
                ReviewDecision.reviewer_id == user.id,
                ReviewDecision.decided_at >= start,
                ReviewDecision.decided_at < end,
            )
        )
        issued = db.session.scalar(
            select(db.func.count(Report.id)).where(
                Report.issued_by_id == user.id, Report.issued_at >= start, Report.issued_at < end
            )
        )
        notices = db.session.scalar(
            select(db.func.count(Report.id))
            .join(SearchRequest)
            .where(
                SearchRequest.requester_id == user.id,
                Report.seal_notice_at >= start,
                Report.seal_notice_at < end,
            )
        )
        confirmed = db.session.scalar(
            select(db.func.count(Report.id)).where(
                Report.destroy_confirmed_by_id == user.id,
                Report.destroy_confirmed_at >= start,
                Report.destroy_confirmed_at < end,
            )
        )
        rows.append(
            {
                "username": user.username,
                "full_name": user.full_name,
                "role": str(user.role),
                "agency": user.agency.code,
                "last_logon": _last_logon(user, end),
                "first_search": mine[0].created_at.isoformat(timespec="minutes") if mine else "",
                "last_search": mine[-1].created_at.isoformat(timespec="minutes") if mine else "",
                "searches": len(mine),
                "search_reasons": " | ".join(reasons),
                "requests_handled": handled,
                "reports_issued": issued,
                "seal_notices_received": notices,
                "seal_notices_confirmed": confirmed,
                "records_read": sum(reads.values()),
                "source_determinations": sum(
                    1 for e in events if e.action in SOURCE_DETERMINATIONS and e.outcome is Outcome.SUCCESS
                ),
                "first_amendment_determinations": sum(
                    1 for e in events if e.action == "review.first_amendment" and e.outcome is Outcome.SUCCESS
                ),
                "peer_searches": sum(1 for s in mine if sent_to(s)),
            }
        )
    return rows + peer_rows(start, end, searches), flags


def _last_logon(user: User, end: datetime) -> str:
    """The user's last sign-in before the month's end (as the month saw it, not as of today)."""
    last = db.session.scalar(
        select(db.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.actor_id == user.id,
            AuditEvent.action.in_(("auth.login", "auth.operator")),
            AuditEvent.outcome == Outcome.SUCCESS,
            AuditEvent.occurred_at < end,
        )
    )
    return last.isoformat(timespec="minutes") if last else ""


def _search_facts(search: FaceSearch) -> tuple[str | None, str, str, str, list[str]]:
    """(case number, purpose, crime type, what it was for, First Amendment terms) of a search:
    from its request, or as an operator's command-line search recorded them."""
    request = search.request
    if request is None:
        return search.case_number, search.purpose or "", "-", "an operator search (command line)", []
    crime = rules.CRIME_TYPES.get(request.crime_type, request.crime_type) or "-"
    return (
        request.case_number,
        request.purpose,
        crime,
        request.tracking_number,
        request.first_amendment_terms_list,
    )


def _reads_by_day(user: User, start: datetime, end: datetime) -> dict[str, int]:
    """How many biometric or criminal-history records the user read, per local day."""
    counts: dict[str, int] = defaultdict(int)
    local = local_zone()
    for (moment,) in db.session.execute(
        select(AuditEvent.occurred_at).where(
            AuditEvent.actor_id == user.id,
            AuditEvent.action.in_(READ_ACTIONS),
            AuditEvent.occurred_at >= start,
            AuditEvent.occurred_at < end,
        )
    ):
        counts[moment.astimezone(local).strftime("%Y-%m-%d")] += 1
    return dict(counts)


def _after_hours(moment: datetime) -> bool:
    return moment.weekday() >= 5 or not WORK_HOURS[0] <= moment.hour < WORK_HOURS[1]
