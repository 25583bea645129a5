"""Signed checkpoints of the audit chain, with a key kept outside the database.

The chain's head is signed every day (and with each monthly audit). Someone who can rewrite
the database can recompute every hash and the head row, but not the signatures: a log
truncated or rewritten before the last checkpoint no longer holds the checkpointed event with
its hash. Production refuses to start with the key inside the instance folder, beside the
database it protects (``app.config_checks``).

The checkpoints are themselves a chain: each is numbered and signs its predecessor's signature,
the table is append-only like the events, and each one is also written outside the database
once its transaction commits (a line of an append-only file in ``AUDIT_CHECKPOINT_DIR``, and
to syslog when ``AUDIT_CHECKPOINT_SYSLOG`` names one). ``verify_checkpoints`` fails when a
checkpoint is missing from the chain, when a day since the first has none, or when the
database and the outside copy disagree, so deleting checkpoint rows is caught.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.extensions import db
from app.models import AuditChainHead, AuditCheckpoint, AuditEvent, MonthlyAudit
from app.services.oversight.audit import ObjectType, hold_chain, record_event

DEFAULT_KEY_FILE = "audit-checkpoint.key"  # development and tests only
OUTSIDE_FILE = "checkpoints.jsonl"
CHAINED_FROM = 2  # checkpoints of scheme 1 (before the chain) are checked one by one
_PENDING = "leaddesk.checkpoints_to_write"


def key_file() -> Path:
    configured = current_app.config.get("AUDIT_CHECKPOINT_KEY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path, DEFAULT_KEY_FILE)


def checkpoint_key() -> bytes:
    """LEADDESK_AUDIT_CHECKPOINT_KEY, else the key file (created once, mode 600)."""
    configured = current_app.config.get("AUDIT_CHECKPOINT_KEY")
    if configured:
        return str(configured).encode()
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign(seq: int, chain_hash: str) -> str:
    return hmac.new(checkpoint_key(), f"{seq}:{chain_hash}".encode(), hashlib.sha256).hexdigest()


def _chained_message(number: int, created_at: datetime, seq: int, head_hash: str, prev: str) -> str:
    return f"{number}:{created_at.isoformat()}:{seq}:{head_hash}:{prev}"


def _sign_chained(number: int, created_at: datetime, seq: int, head_hash: str, prev: str) -> str:
    message = _chained_message(number, created_at, seq, head_hash, prev)
    return hmac.new(checkpoint_key(), message.encode(), hashlib.sha256).hexdigest()


def sign_daily_checkpoint() -> AuditCheckpoint:
    """Sign the chain's head as it is now, chained to the previous checkpoint (the scheduler
    does it every day; audited). Written outside the database when the transaction commits."""
    hold_chain()  # one checkpoint at a time: the number and the link are read under the lock
    head = db.session.get(AuditChainHead, 1)
    seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "0" * 64)
    previous = last_checkpoint()
    number = (previous.number if previous else 0) + 1
    prev = previous.signature if previous else "0" * 64
    created_at = utcnow().replace(microsecond=0)
    checkpoint = AuditCheckpoint(
        number=number,
        scheme=CHAINED_FROM,
        created_at=created_at,
        head_seq=seq,
        head_hash=head_hash,
        prev_signature=prev,
        signature=_sign_chained(number, created_at, seq, head_hash, prev),
    )
    db.session.add(checkpoint)
    db.session.flush()
    record_event(
        "audit.checkpoint",
        actor=None,
        object_type=ObjectType.AUDIT,
        detail={"head_seq": seq, "number": number},
    )
    db.session.info.setdefault(_PENDING, []).append(
        (_outside_record(checkpoint), outside_file(), current_app.config.get("AUDIT_CHECKPOINT_SYSLOG"))
    )
    return checkpoint


def outside_file() -> Path:
    folder = current_app.config.get("AUDIT_CHECKPOINT_DIR") or Path(current_app.instance_path, "checkpoints")
    return Path(folder) / OUTSIDE_FILE


def _outside_record(checkpoint: AuditCheckpoint) -> dict:
    return {
        "number": checkpoint.number,
        "created_at": checkpoint.created_at.isoformat(),
        "head_seq": checkpoint.head_seq,
        "head_hash": checkpoint.head_hash,
        "prev_signature": checkpoint.prev_signature,
        "signature": checkpoint.signature,
    }


def _write_outside(record: dict, path: Path, syslog: str | None) -> None:
    line = json.dumps(record, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if syslog:
        _to_syslog(syslog, f"leaddesk audit checkpoint {line}")


def _to_syslog(address: str, message: str) -> None:
    host, _, port = address.rpartition(":")
    target = (host, int(port)) if host and port.isdigit() else address
    handler = logging.handlers.SysLogHandler(address=target, facility=logging.handlers.SysLogHandler.LOG_AUTH)
    try:
        handler.emit(logging.makeLogRecord({"msg": message, "levelno": logging.INFO, "levelname": "INFO"}))
    finally:
        handler.close()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for record, path, syslog in session.info.pop(_PENDING, []):
        _write_outside(record, path, syslog)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def last_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(1))


@dataclass(frozen=True)
class CheckpointProblem:
    month: str  # the month of a monthly audit's checkpoint, or the day of a daily one
    problem: str


def _check(label: str, seq: int, chain_hash: str, signature: str) -> CheckpointProblem | None:
    if not hmac.compare_digest(sign(seq, chain_hash), signature):
        return CheckpointProblem(label, "the checkpoint's signature does not match")
    return _event_problem(label, seq, chain_hash)


def _event_problem(label: str, seq: int, chain_hash: str) -> CheckpointProblem | None:
    """The checkpointed event must still be in the chain with the hash it had."""
    if seq == 0:
        return None
    event = db.session.get(AuditEvent, seq)
    if event is None:
        return CheckpointProblem(
            label, f"event {seq} recorded at the checkpoint is gone: the log was truncated"
        )
    if event.hash != chain_hash:
        return CheckpointProblem(
            label, f"event {seq} no longer has the checkpointed hash: the log was rewritten"
        )
    return None


def verify_checkpoints() -> list[CheckpointProblem]:
    """Every stored checkpoint must be genuine and its event still in the chain, unchanged; the
    checkpoints must form an unbroken chain with one for every day since the first, and agree
    with the copy outside the database."""
    problems = []
    for audit in db.session.scalars(select(MonthlyAudit).order_by(MonthlyAudit.month)):
        problem = _check(audit.month, audit.chain_head_seq, audit.chain_head_hash, audit.checkpoint_hmac)
        if problem:
            problems.append(problem)
    stored = list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.number)))
    previous: AuditCheckpoint | None = None
    for checkpoint in stored:
        label = f"{checkpoint.created_at:%Y-%m-%d} (daily) no. {checkpoint.number}"
        if checkpoint.scheme < CHAINED_FROM:
            problem = _check(label, checkpoint.head_seq, checkpoint.head_hash, checkpoint.signature)
        else:
            problem = _check_chained(label, checkpoint, previous)
        if problem:
            problems.append(problem)
        previous = checkpoint
    problems += _missing_days([c for c in stored if c.scheme >= CHAINED_FROM])
    problems += _compare_outside([c for c in stored if c.scheme >= CHAINED_FROM])
    return problems


def _check_chained(label: str, checkpoint: AuditCheckpoint, previous: AuditCheckpoint | None):
    expected = _sign_chained(
        checkpoint.number,
        checkpoint.created_at,
        checkpoint.head_seq,
        checkpoint.head_hash,
        checkpoint.prev_signature,
    )
    if not hmac.compare_digest(expected, checkpoint.signature):
        return CheckpointProblem(label, "the checkpoint's signature does not match")
    if previous is not None and (
        checkpoint.number != previous.number + 1 or checkpoint.prev_signature != previous.signature
    ):
        missing = previous.number + 1
        return CheckpointProblem(label, f"checkpoint {missing} before it is gone: checkpoints were deleted")
    return _event_problem(label, checkpoint.head_seq, checkpoint.head_hash)


def _missing_days(chained: list[AuditCheckpoint]) -> list[CheckpointProblem]:
    """A day since the first chained checkpoint, before today, with no checkpoint."""
    if not chained:
        return []
    signed = {c.created_at.date() for c in chained}
    day, today = chained[0].created_at.date(), utcnow().date()
    missing: list[date] = []
    while day < today:
        if day not in signed:
            missing.append(day)
        day += timedelta(days=1)
    if not missing:
        return []
    shown = ", ".join(f"{d:%Y-%m-%d}" for d in missing[:5]) + (" …" if len(missing) > 5 else "")
    return [
        CheckpointProblem(
            f"{missing[0]:%Y-%m-%d} (daily)",
            f"no checkpoint for {len(missing)} day(s): {shown} (the scheduler was stopped, or "
            f"they were deleted: compare {OUTSIDE_FILE})",
        )
    ]


def _compare_outside(chained: list[AuditCheckpoint]) -> list[CheckpointProblem]:
    """The database's checkpoints against the lines written outside it as each committed."""
    path = outside_file()
    if not path.exists():
        if chained:
            return [
                CheckpointProblem("outside copy", f"{path} is missing: the checkpoints cannot be compared")
            ]
        return []
    outside: dict[int, dict] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            record = json.loads(line)
            outside[int(record["number"])] = record
        except (ValueError, KeyError, TypeError):
            return [CheckpointProblem("outside copy", f"line {n} of {path} is not a checkpoint")]
    inside = {c.number: c for c in chained}
    problems = [
        CheckpointProblem(
            f"{record['created_at'][:10]} (daily) no. {number}",
            "in the outside copy but not in the database: checkpoints were deleted",
        )
        for number, record in sorted(outside.items())
        if number not in inside or inside[number].signature != record["signature"]
    ]
    problems += [
        CheckpointProblem(f"{c.created_at:%Y-%m-%d} (daily) no. {c.number}", "not in the outside copy")
        for number, c in sorted(inside.items())
        if number not in outside
    ]
    return problems
