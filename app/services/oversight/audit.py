"""The one write path into the audit trail, and the chain check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.models import AuditChainHead, AuditEvent, Outcome, User
from app.services.oversight.vocabulary import ACTIONS, READ_ACTIONS, ObjectType, require_action

__all__ = ["ACTIONS", "READ_ACTIONS", "ObjectType", "record_event"]

GENESIS_HASH = "0" * 64


# Tables whose rows are looked up by id in the web layer, and what the trail calls them.
OBJECT_TYPE_OF_TABLE = {
    "agency": ObjectType.AGENCY,
    "booking": ObjectType.BOOKING,
    "face_search": ObjectType.SEARCH,
    "probe_image": ObjectType.PROBE,
    "report": ObjectType.REPORT,
    "search_request": ObjectType.REQUEST,
    "user_account": ObjectType.USER,
}
_FORBIDDEN_DETAIL_KEYS = {"password", "code", "token", "secret", "otp", "image", "bytes"}

# Where the current action comes from: the web layer sets the client address, the CLI
# and the scheduler leave their own marker. Kept out of the service signatures on purpose.
_source_address: ContextVar[str] = ContextVar("audit_source_address", default="local")
# Who acts when there is no signed-in user: "cli:<os user>", "scheduler", "system".
_system_actor: ContextVar[str] = ContextVar("audit_system_actor", default="system")


@contextmanager
def audit_source(address: str) -> Iterator[None]:
    token = _source_address.set(address)
    try:
        yield
    finally:
        _source_address.reset(token)


def current_source() -> str:
    """The address the current action comes from (as every event records it)."""
    return _source_address.get()


def set_audit_source(address: str, system_actor: str | None = None) -> None:
    _source_address.set(address)
    if system_actor is not None:
        _system_actor.set(system_actor)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the canonical form of every field but the hash itself."""
    canonical = canonical_json(
        {
            "seq": event.seq,
            "occurred_at": _timestamp(event.occurred_at),
            "actor_id": event.actor_id,
            "actor_username": event.actor_username,
            "actor_agency": event.actor_agency,
            "source_address": event.source_address,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "outcome": str(Outcome(event.outcome)),
            "reason": event.reason,
            "detail": event.detail,
            "prev_hash": event.prev_hash,
        }
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_detail(detail: dict[str, Any]) -> None:
    bad = {k for k in detail if k.lower() in _FORBIDDEN_DETAIL_KEYS}
    if bad:
        raise ValueError(f"audit detail must not carry secrets or image data: {sorted(bad)}")


MAX_AUDIT_TEXT = 2000  # characters of any one text an event keeps (its reason, a detail value)
MAX_AUDIT_ITEMS = 200  # items of any one list in an event's detail


def bounded(value: Any) -> Any:
    """An event keeps at most ``MAX_AUDIT_TEXT`` characters of any text, saying how much more
    there was, so no input (however long) makes the audit trail grow with it."""
    if isinstance(value, str) and len(value) > MAX_AUDIT_TEXT:
        return f"{value[:MAX_AUDIT_TEXT]}… (+{len(value) - MAX_AUDIT_TEXT:,} characters)"
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v) for v in value[:200]] + (
            [f"… (+{len(value) - 200} more)"] if len(value) > 200 else []
        )
    return value


def record_event(
    action: str,
    *,
    actor: User | None,
    outcome: Outcome = Outcome.SUCCESS,
    object_type: ObjectType | str | None = None,
    object_id: str | int | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    actor_username: str | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (flushed, not committed).

    ``actor_username`` names an actor who has no account (a failed sign-in for an unknown
    username) when ``actor`` is None.
    """
    require_action(action)  # one vocabulary: an action not in it is a bug, refused at once
    detail = bounded(detail or {})
    _check_detail(detail)
    reason = bounded(reason)
    if object_type is not None:
        object_type = ObjectType(object_type)  # one vocabulary: an unknown kind is a bug

    # Take the head row's lock before reading it: this is what keeps the chain linear.
    db.session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_seq=AuditChainHead.last_seq + 1)
    )
    head = db.session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:  # first event ever
        head = AuditChainHead(id=1, last_seq=1, last_hash=GENESIS_HASH)
        db.session.add(head)
        db.session.flush()
    event = AuditEvent(
        seq=head.last_seq,
        occurred_at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_username=actor.username if actor else (actor_username or _system_actor.get()),
        actor_agency=actor.agency.code if actor and actor.agency else None,
        source_address=_source_address.get(),
        action=action,
        object_type=str(object_type) if object_type is not None else None,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
        reason=reason,
        detail=canonical_json(detail),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    head.last_hash = event.hash
    db.session.add(event)
    db.session.flush()
    return event


def hold_chain() -> None:
    """Take the chain head's lock now, before it is first needed: a transaction that must also
    serialise something else (tracking numbers) takes it first, so locks are always taken in
    the same order (see ``throttle``)."""
    db.session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_seq=AuditChainHead.last_seq)
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    first_bad_seq: int | None = None


def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the whole chain in order and name the first event changed, removed or inserted."""
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    # closing(): stopping at a bad event must not leave PostgreSQL's server-side cursor open.
    with closing(db.session.scalars(stmt)) as events:
        walked = _walk_chain(events)
    if not walked.ok:
        return walked
    checked, last_seen, prev_hash = walked.events_checked, walked.head_seq, walked.head_hash
    head = db.session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != last_seen or head.last_hash != prev_hash):
        problem = (
            f"the chain ends at event {last_seen} but the head records event {head.last_seq}: "
            "events were removed from the end"
        )
        return ChainReport(False, checked, last_seen, prev_hash, problem, last_seen + 1)
    return walked


def _walk_chain(events: Iterable[AuditEvent]) -> ChainReport:
    """Each event in order must follow its predecessor and hash to what it records."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    last_seen = 0
    for event in events:
        checked += 1
        if event.seq != expected_seq:
            if event.seq > expected_seq:
                gap = (
                    f"event {expected_seq}"
                    if event.seq == expected_seq + 1
                    else f"events {expected_seq}-{event.seq - 1}"
                )
                problem = f"{gap} removed (chain jumps to event {event.seq})"
                return ChainReport(False, checked, last_seen, prev_hash, problem, expected_seq)
            problem = f"event {event.seq} out of order"
            return ChainReport(False, checked, last_seen, prev_hash, problem, event.seq)
        if event.prev_hash != prev_hash:
            problem = (
                f"event {event.seq} does not follow event {event.seq - 1}: "
                "an event was inserted or removed before it"
            )
            return ChainReport(False, checked, last_seen, prev_hash, problem, event.seq)
        if event_hash(event) != event.hash:
            problem = f"event {event.seq} was changed after it was written"
            return ChainReport(False, checked, last_seen, prev_hash, problem, event.seq)
        prev_hash = event.hash
        last_seen = event.seq
        expected_seq += 1
    return ChainReport(True, checked, last_seen, prev_hash)
