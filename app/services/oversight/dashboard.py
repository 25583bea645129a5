"""What the oversight dashboard shows: charts, the index, and every warning an administrator
must act on (scheduler stopped, rebuild overdue, months not signed off, no recent checkpoint,
unusual read volume, verified requests without a report, approvals waiting)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.charts import stacked_bars
from app.clock import utcnow
from app.extensions import db
from app.models import AuditEvent, FaceSearch, InterconnectPeer, PeerSearch, PendingApproval, ReviewState
from app.services.gallery.index_builds import index_status
from app.services.gallery.sealing import outstanding_seal_notices
from app.services.notify.outbox import outbox_status
from app.services.oversight import checkpoints, monthly_audit, transparency
from app.services.oversight.audit import READ_ACTIONS
from app.services.oversight.peer_figures import sent_to
from app.services.review.waiting import requests_in_state

HEARTBEAT_FILE = "scheduler-heartbeat.json"
CHECKPOINT_MAX_AGE = timedelta(hours=26)


def heartbeat_path(instance_path: str) -> Path:
    return Path(instance_path) / HEARTBEAT_FILE


def scheduler_heartbeat_age() -> timedelta | None:
    path = heartbeat_path(current_app.instance_path)
    if not path.exists():
        return None
    return utcnow() - datetime.fromisoformat(json.loads(path.read_text())["at"])


def heavy_readers(since: datetime) -> list[tuple[str, int]]:
    """People who read more records than the daily limit since ``since``, most first."""
    limit = int(current_app.config["READ_VOLUME_DAILY_LIMIT"])
    rows = db.session.execute(
        select(AuditEvent.actor_username, func.count(AuditEvent.seq))
        .where(
            AuditEvent.action.in_(READ_ACTIONS),
            AuditEvent.occurred_at >= since,
            AuditEvent.actor_id.is_not(None),
        )
        .group_by(AuditEvent.actor_username)
        .having(func.count(AuditEvent.seq) > limit)
        .order_by(func.count(AuditEvent.seq).desc())
    )
    return [(username, count) for username, count in rows]


def dashboard() -> dict:
    months = transparency.last_months(12)
    labels = [m[2:] for m in months]
    heartbeat = scheduler_heartbeat_age()
    last_checkpoint = checkpoints.last_checkpoint()
    now = utcnow()
    return {
        "by_agency": stacked_bars(
            "Searches per month, by requesting agency", labels, transparency.searches_by(months, "agency")
        ),
        "by_purpose": stacked_bars(
            "Searches per month, by purpose", labels, transparency.searches_by(months, "purpose")
        ),
        "outcomes": stacked_bars("Outcomes per month", labels, transparency.outcomes_by_month(months)),
        "lead_outcomes": transparency.lead_outcomes(),
        "index": index_status(),
        "heartbeat": heartbeat,
        "scheduler_stale": heartbeat is None or heartbeat > timedelta(minutes=5),
        "outstanding_seals": len(outstanding_seal_notices()),
        "unsigned_months": monthly_audit.unsigned_months(),
        "checkpoint_stale": last_checkpoint is None or now - last_checkpoint.created_at > CHECKPOINT_MAX_AGE,
        "last_checkpoint": last_checkpoint,
        "heavy_readers": heavy_readers(now - timedelta(days=1)),
        "read_limit": int(current_app.config["READ_VOLUME_DAILY_LIMIT"]),
        "verified_unissued": requests_in_state(ReviewState.VERIFIED),
        "pending_approvals": db.session.scalars(
            select(PendingApproval).where(PendingApproval.decided_at.is_(None))
        ).all(),
        "peers": peer_status(now),
        **outbox_status(),
    }


def peer_status(now) -> list[dict]:
    """Each peer unit: enabled, how it last answered, and its searches this month both ways."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    answered = Counter(
        db.session.scalars(select(PeerSearch.peer_name).where(PeerSearch.received_at >= start))
    )
    sent = Counter(
        name
        for search in db.session.scalars(
            select(FaceSearch).where(FaceSearch.created_at >= start, FaceSearch.repositories.is_not(None))
        )
        for name in sent_to(search)
    )
    return [
        {"peer": peer, "answered_for": answered.get(peer.name, 0), "sent_to": sent.get(peer.name, 0)}
        for peer in db.session.scalars(select(InterconnectPeer).order_by(InterconnectPeer.name))
    ]
