"""The monthly audit the policy requires, its flags, retention, and signed chain checkpoints."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.clock import utcnow
from app.documents.base import FONT, LeadDeskPDF
from app.extensions import db
from app.models import (
    AuditChainHead,
    AuditEvent,
    AuditFlag,
    FaceSearch,
    MonthlyAudit,
    Outcome,
    Report,
    ReviewDecision,
    SearchRequest,
    TrainingCertification,
    User,
)
from app.services import policy
from app.services.audit import record_event
from app.services.errors import ServiceError

RETENTION_YEARS = 5
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
]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ServiceError(f"{month!r} is not a month (YYYY-MM).") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


# --- the checkpoint key, kept outside the database ---------------------------------------


def checkpoint_key() -> bytes:
    """From LEADDESK_AUDIT_CHECKPOINT_KEY, else a key file created once in the instance folder."""
    configured = current_app.config.get("AUDIT_CHECKPOINT_KEY")
    if configured:
        return str(configured).encode()
    path = Path(current_app.instance_path, "audit-checkpoint.key")
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign_checkpoint(seq: int, chain_hash: str) -> str:
    return hmac.new(checkpoint_key(), f"{seq}:{chain_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CheckpointProblem:
    month: str
    problem: str


def verify_checkpoints() -> list[CheckpointProblem]:
    """Every stored checkpoint must be genuine and its event still in the chain, unchanged."""
    problems = []
    for audit in db.session.scalars(select(MonthlyAudit).order_by(MonthlyAudit.month)):
        if not hmac.compare_digest(
            sign_checkpoint(audit.chain_head_seq, audit.chain_head_hash), audit.checkpoint_hmac
        ):
            problems.append(CheckpointProblem(audit.month, "the checkpoint's signature does not match"))
            continue
        event = db.session.get(AuditEvent, audit.chain_head_seq)
        if event is None:
            problems.append(
                CheckpointProblem(
                    audit.month,
                    f"event {audit.chain_head_seq} recorded at the checkpoint is gone: the log was truncated",
                )
            )
        elif event.hash != audit.chain_head_hash:
            problems.append(
                CheckpointProblem(
                    audit.month,
                    f"event {audit.chain_head_seq} no longer has the checkpointed hash: "
                    "the log was rewritten",
                )
            )
    return problems


# --- figures and flags ---------------------------------------------------------------------


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
    local = ZoneInfo(current_app.config["SCHEDULER_TIMEZONE"])
    for user in db.session.scalars(select(User).order_by(User.username)):
        mine = by_user.get(user.id, [])
        reasons = []
        for search in mine:
            request = search.request
            reasons.append(
                f"{policy.PURPOSES.get(request.purpose, request.purpose)} / "
                f"case {request.case_number or '-'} / "
                f"{policy.CRIME_TYPES.get(request.crime_type, request.crime_type)}"
            )
            if not request.case_number:
                flags.append(
                    (
                        user.username,
                        "no_case_number",
                        f"search #{search.id} on {request.tracking_number} has no case number",
                    )
                )
            if not _certified_on(user.id, search.created_at.date()):
                flags.append(
                    (
                        user.username,
                        "lapsed_certification",
                        f"search #{search.id} on {search.created_at:%Y-%m-%d} "
                        "without a current certification",
                    )
                )
            if request.first_amendment_terms:
                flags.append(
                    (
                        user.username,
                        "first_amendment",
                        f"search #{search.id} on {request.tracking_number}: justification mentions "
                        f"{', '.join(json.loads(request.first_amendment_terms))}",
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
                "last_logon": user.last_logon_at.isoformat(timespec="minutes") if user.last_logon_at else "",
                "first_search": mine[0].created_at.isoformat(timespec="minutes") if mine else "",
                "last_search": mine[-1].created_at.isoformat(timespec="minutes") if mine else "",
                "searches": len(mine),
                "search_reasons": " | ".join(reasons),
                "requests_handled": handled,
                "reports_issued": issued,
                "seal_notices_received": notices,
                "seal_notices_confirmed": confirmed,
            }
        )
    return rows, flags


def _after_hours(moment: datetime) -> bool:
    return moment.weekday() >= 5 or not WORK_HOURS[0] <= moment.hour < WORK_HOURS[1]


# --- generation, review, retention ------------------------------------------------------------


def _write(name: str, data: bytes) -> tuple[str, str]:
    directory = Path(current_app.instance_path, "audits")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
    return str(target.relative_to(current_app.instance_path)), hashlib.sha256(data).hexdigest()


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _pdf(month: str, rows: list[dict], flags, head_seq: int, head_hash: str) -> bytes:
    pdf = LeadDeskPDF(
        unit_name=current_app.config["UNIT_NAME"],
        document_id=f"Monthly audit {month}",
        title=f"Monthly audit {month}",
        lead_line=False,
    )
    pdf.add_page(orientation="L")
    pdf.heading(f"Monthly audit of facial recognition use — {month}", 14)
    pdf.paragraph(f"Audit chain head at generation: event {head_seq}, {head_hash}.", size=8)
    widths = [28, 22, 22, 26, 26, 14, 70, 16, 16, 16, 16]
    headers = [
        "User",
        "Agency",
        "Last logon",
        "First search",
        "Last search",
        "Searches",
        "Search reasons",
        "Handled",
        "Reports",
        "Seal notices",
        "Confirmed",
    ]
    pdf.set_font(FONT, "B", 7.5)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 6, header, border=1)
    pdf.ln()
    pdf.set_font(FONT, "", 7)
    for row in rows:
        values = [
            row["username"],
            row["agency"],
            row["last_logon"][:10],
            row["first_search"][:16],
            row["last_search"][:16],
            str(row["searches"]),
            row["search_reasons"][:70],
            str(row["requests_handled"]),
            str(row["reports_issued"]),
            str(row["seal_notices_received"]),
            str(row["seal_notices_confirmed"]),
        ]
        for width, value in zip(widths, values, strict=True):
            pdf.cell(width, 5.5, value, border=1)
        pdf.ln()
    pdf.ln(4)
    pdf.heading("Flags for the administrator", 11)
    for username, kind, description in flags or [(None, "none", "No flags this month.")]:
        pdf.paragraph(f"[{kind}] {username or ''} {description}".strip(), size=8.5)
    return pdf.render()


def generate_monthly_audit(month: str, *, generated_by: str, actor: User | None = None) -> MonthlyAudit:
    """Compute, store (PDF, CSV, hashes, signed chain head) and flag one month; audited."""
    _, end = month_bounds(month)
    if end > utcnow():
        raise ServiceError(f"{month} is not over yet.")
    if db.session.scalar(select(MonthlyAudit).where(MonthlyAudit.month == month)):
        raise ServiceError(f"The audit for {month} already exists.")
    rows, flags = compute_month(month)
    head = db.session.get(AuditChainHead, 1)
    head_seq, head_hash = head.last_seq, head.last_hash
    pdf_path, pdf_sha = _write(f"audit-{month}.pdf", _pdf(month, rows, flags, head_seq, head_hash))
    csv_path, csv_sha = _write(f"audit-{month}.csv", _csv(rows))
    audit = MonthlyAudit(
        month=month,
        generated_by=generated_by[:64],
        pdf_path=pdf_path,
        pdf_sha256=pdf_sha,
        csv_path=csv_path,
        csv_sha256=csv_sha,
        chain_head_seq=head_seq,
        chain_head_hash=head_hash,
        checkpoint_hmac=sign_checkpoint(head_seq, head_hash),
        figures=json.dumps(rows),
    )
    audit.flags = [AuditFlag(username=u, kind=k, description=d) for u, k, d in flags]
    db.session.add(audit)
    db.session.flush()
    record_event(
        "audit.monthly_generate",
        actor=actor,
        object_type="monthly_audit",
        object_id=month,
        detail={
            "flags": len(flags),
            "users": len(rows),
            "pdf_sha256": pdf_sha,
            "csv_sha256": csv_sha,
            "chain_head_seq": head_seq,
        },
    )
    return audit


def clear_flag(flag: AuditFlag, *, actor: User, note: str) -> None:
    if len(note.strip()) < 5:
        raise ServiceError("Explain why the flag is cleared.", field="note")
    if flag.cleared_at is not None:
        raise ServiceError("This flag is already cleared.")
    flag.cleared_by_id, flag.cleared_at, flag.clear_note = actor.id, utcnow(), note.strip()
    db.session.flush()
    record_event(
        "audit.flag_clear",
        actor=actor,
        object_type="audit_flag",
        object_id=flag.id,
        reason=note.strip(),
        detail={"month": flag.audit.month, "kind": flag.kind},
    )


def sign_off(audit: MonthlyAudit, *, actor: User, note: str) -> None:
    if audit.signed_off_at is not None:
        raise ServiceError("This audit is already signed off.")
    open_flags = [f for f in audit.flags if f.cleared_at is None]
    if open_flags:
        raise ServiceError(f"Clear the {len(open_flags)} open flag(s) with a note before signing off.")
    audit.signed_off_by_id, audit.signed_off_at, audit.sign_off_note = (
        actor.id,
        utcnow(),
        note.strip() or None,
    )
    db.session.flush()
    record_event("audit.monthly_sign_off", actor=actor, object_type="monthly_audit", object_id=audit.month)


def purge_expired_audits() -> list[str]:
    """Remove monthly audits older than five years (a scheduled job) and record it."""
    today = utcnow().date()
    cutoff = f"{today.year - RETENTION_YEARS:04d}-{today.month:02d}"
    removed = []
    for audit in db.session.scalars(select(MonthlyAudit).where(MonthlyAudit.month < cutoff)):
        for relative in (audit.pdf_path, audit.csv_path):
            Path(current_app.instance_path, relative).unlink(missing_ok=True)
        removed.append(audit.month)
        db.session.delete(audit)
    if removed:
        record_event(
            "audit.retention_purge",
            actor=None,
            object_type="monthly_audit",
            detail={"months": removed, "retention_years": RETENTION_YEARS},
        )
    db.session.flush()
    return removed


def previous_month(today: date) -> str:
    first = today.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")
