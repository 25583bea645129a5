"""Figures for the administrator's dashboard and for oversight bodies (counts only)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

from app.clock import utcnow
from app.documents.csv_export import csv_bytes
from app.documents.transparency import render_transparency
from app.extensions import db
from app.models import FaceSearch, PeerSearch, Report, RequestStatus, SearchRequest
from app.services.oversight.peer_figures import sent_to
from app.services.policy import rules


def last_months(count: int = 12, today: date | None = None) -> list[str]:
    today = today or utcnow().date()
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def searches_by(months: list[str], key: str) -> dict[str, list[int]]:
    """Searches per month, split by the requesting agency ("agency") or the purpose ("purpose")."""
    counts: Counter = Counter()
    labels: set[str] = set()
    for search in db.session.scalars(select(FaceSearch)):
        month = search.created_at.strftime("%Y-%m")
        if month not in months:
            continue
        request = search.request
        if key == "agency":
            label = request.agency.code if request else search.reviewer.agency.code
        else:
            purpose = request.purpose if request else search.purpose
            label = rules.PURPOSES.get(purpose, purpose)
        labels.add(label)
        counts[(label, month)] += 1
    return {label: [counts[(label, m)] for m in months] for label in sorted(labels)}


def outcomes_by_month(months: list[str]) -> dict[str, list[int]]:
    names = {s: s.label for s in (RequestStatus.LEAD_ISSUED, RequestStatus.NO_MATCH, RequestStatus.REJECTED)}
    counts: Counter = Counter()
    for request in db.session.scalars(select(SearchRequest).where(SearchRequest.status.in_(list(names)))):
        when = request.closed_at or request.submitted_at
        if when and when.strftime("%Y-%m") in months:
            counts[(names[request.status], when.strftime("%Y-%m"))] += 1
    return {name: [counts[(name, m)] for m in months] for name in names.values()}


def lead_outcomes() -> dict[str, int]:
    counts = Counter()
    for report in db.session.scalars(
        select(Report).where(Report.kind == "lead", Report.superseded_at.is_(None))
    ):
        counts[report.lead_outcome.label if report.lead_outcome else "Not reported"] += 1
    return dict(sorted(counts.items()))


TRANSPARENCY_COLUMNS = [
    "period",
    "requests_received",
    "active_investigation",
    "imminent_threat",
    "deceased",
    "unable_to_identify",
    "rejected_out_of_policy",
    "withdrawn",
    "searches",
    "searches_sent_to_peers",
    "searches_answered_for_peers",
    "leads_issued",
    "no_possible_match",
    "leads_corroborated",
    "leads_excluded",
    "leads_open",
    "sealed_record_notices",
]


def transparency_rows(months: list[str]) -> list[dict]:
    """Counts only: no names, no case numbers, no agencies."""
    rows = []
    requests = [r for r in db.session.scalars(select(SearchRequest)) if r.submitted_at]
    searches = list(db.session.scalars(select(FaceSearch)))
    answered = list(db.session.scalars(select(PeerSearch.received_at)))
    reports = list(db.session.scalars(select(Report).where(Report.superseded_at.is_(None))))
    for period in [*months, "total"]:

        def within(moment, period=period):
            return moment is not None and (
                (period == "total" and moment.strftime("%Y-%m") in months)
                or moment.strftime("%Y-%m") == period
            )

        received = [r for r in requests if within(r.submitted_at)]
        leads = [r for r in reports if r.kind == "lead" and within(r.issued_at)]
        rows.append(
            {
                "period": period,
                "requests_received": len(received),
                **{purpose: sum(1 for r in received if r.purpose == purpose) for purpose in rules.PURPOSES},
                "rejected_out_of_policy": sum(1 for r in received if r.status is RequestStatus.REJECTED),
                "withdrawn": sum(1 for r in received if r.status is RequestStatus.WITHDRAWN),
                "searches": sum(1 for s in searches if within(s.created_at)),
                "searches_sent_to_peers": sum(1 for s in searches if within(s.created_at) and sent_to(s)),
                "searches_answered_for_peers": sum(1 for at in answered if within(at)),
                "leads_issued": len(leads),
                "no_possible_match": sum(1 for r in reports if r.kind == "no_match" and within(r.issued_at)),
                "leads_corroborated": sum(
                    1 for r in leads if r.lead_outcome and r.lead_outcome.value == "corroborated"
                ),
                "leads_excluded": sum(
                    1 for r in leads if r.lead_outcome and r.lead_outcome.value == "excluded"
                ),
                "leads_open": sum(1 for r in leads if not r.lead_outcome or r.lead_outcome.value == "open"),
                "sealed_record_notices": sum(1 for r in reports if within(r.seal_notice_at)),
            }
        )
    return rows


def transparency_csv(rows: list[dict]) -> bytes:
    return csv_bytes(TRANSPARENCY_COLUMNS, ([row[c] for c in TRANSPARENCY_COLUMNS] for row in rows))


def transparency_pdf(rows: list[dict], unit_name: str) -> bytes:
    return render_transparency([[row[c] for c in TRANSPARENCY_COLUMNS] for row in rows], unit_name)
