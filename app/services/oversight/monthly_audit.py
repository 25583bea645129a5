"""The monthly audit the policy requires: per-user figures and flags, stored as PDF and CSV
with their hashes and a signed checkpoint of the chain, cleared and signed off by an
administrator, kept five years.

Months are calendar months in the unit's time zone (``SCHEDULER_TIMEZONE``), the same clock
the after-hours flag reads.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.documents.csv_export import csv_bytes
from app.documents.monthly_audit import MonthlyAuditDocument, render_monthly_audit
from app.extensions import db
from app.models import (
    AuditChainHead,
    AuditEvent,
    AuditFlag,
    MonthlyAudit,
    User,
)
from app.services.oversight.audit import ObjectType, record_event
from app.services.oversight.checkpoints import sign
from app.services.oversight.monthly_figures import COLUMNS, compute_month, local_zone, month_bounds
from app.services.platform import storage
from app.services.platform.errors import ServiceError

RETENTION_YEARS = 5


# --- generation, review, retention ------------------------------------------------------------


def _document(month: str, rows: list[dict], flags, head_seq: int, head_hash: str) -> MonthlyAuditDocument:
    return MonthlyAuditDocument(
        unit_name=current_app.config["UNIT_NAME"],
        month=month,
        head_seq=head_seq,
        head_hash=head_hash,
        rows=rows,
        flags=[(u, k, d) for u, k, d in flags],
    )


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
    pdf = render_monthly_audit(_document(month, rows, flags, head_seq, head_hash))
    data = csv_bytes(COLUMNS, ([row[c] for c in COLUMNS] for row in rows))
    pdf_path, pdf_sha = storage.store(f"audits/audit-{month}.pdf", pdf), hashlib.sha256(pdf).hexdigest()
    csv_path, csv_sha = storage.store(f"audits/audit-{month}.csv", data), hashlib.sha256(data).hexdigest()
    audit = MonthlyAudit(
        month=month,
        generated_by=generated_by[:64],
        pdf_path=pdf_path,
        pdf_sha256=pdf_sha,
        csv_path=csv_path,
        csv_sha256=csv_sha,
        chain_head_seq=head_seq,
        chain_head_hash=head_hash,
        checkpoint_hmac=sign(head_seq, head_hash),
        figures=rows,
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
    today = utcnow().astimezone(local_zone()).date()
    cutoff = f"{today.year - RETENTION_YEARS:04d}-{today.month:02d}"
    removed = []
    for audit in db.session.scalars(select(MonthlyAudit).where(MonthlyAudit.month < cutoff)):
        for relative in (audit.pdf_path, audit.csv_path):
            storage.remove(relative)  # only once the purge commits
        removed.append(audit.month)
        db.session.delete(audit)
    if removed:
        record_event(
            "audit.retention_purge",
            actor=None,
            object_type=ObjectType.MONTHLY_AUDIT,
            detail={"months": removed, "retention_years": RETENTION_YEARS},
        )
    db.session.flush()
    return removed


def previous_month(today: date) -> str:
    first = today.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def preview_current_month(*, actor: User) -> tuple[str, list[dict], list[tuple[str | None, str, str]]]:
    """The month so far (in the unit's time zone), figures and flags as the audit would show
    them today: nothing is kept, signed or sent; looking is audited."""
    month = utcnow().astimezone(local_zone()).strftime("%Y-%m")
    rows, flags = compute_month(month)
    record_event("audit.monthly_preview", actor=actor, object_type=ObjectType.MONTHLY_AUDIT, object_id=month)
    return month, rows, flags


def record_monthly_view(audit: MonthlyAudit, *, actor: User) -> None:
    record_event(
        "audit.monthly_view", actor=actor, object_type=ObjectType.MONTHLY_AUDIT, object_id=audit.month
    )


def read_monthly_file(audit: MonthlyAudit, kind: str, *, actor: User) -> bytes:
    """The stored PDF or CSV, checked against its recorded hash; the download is audited."""
    path, sha = (audit.pdf_path, audit.pdf_sha256) if kind == "pdf" else (audit.csv_path, audit.csv_sha256)
    try:
        data = storage.read_verified(path, sha)
    except storage.StoredFileDamaged:
        raise ServiceError(
            "The stored file does not match its recorded SHA-256.",
            audit_action="audit.monthly_download",
            object_type=ObjectType.MONTHLY_AUDIT,
            object_id=audit.month,
        ) from None
    record_event(
        "audit.monthly_download",
        actor=actor,
        object_type=ObjectType.MONTHLY_AUDIT,
        object_id=audit.month,
        detail={"kind": kind},
    )
    return data


def unsigned_months(today: date | None = None) -> list[str]:
    """Past months whose audit is missing or not signed off (the dashboard warns)."""
    today = today or utcnow().astimezone(local_zone()).date()
    last = previous_month(today)
    audits = {a.month: a for a in db.session.scalars(select(MonthlyAudit))}
    first_activity = db.session.scalar(select(func.min(AuditEvent.occurred_at)))
    if first_activity is None:
        return []
    months, cursor = [], first_activity.astimezone(local_zone()).date().replace(day=1)
    while cursor.strftime("%Y-%m") <= last:
        month = cursor.strftime("%Y-%m")
        if month not in audits or audits[month].signed_off_at is None:
            months.append(month)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months[-24:]
