"""Server-side sign-in sessions: the cookie holds a random token whose hash is stored here;
idle and absolute limits, the list of one's sessions, ending them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import User, UserSession
from app.services.oversight.audit import ObjectType, record_event


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, source_address: str, user_agent: str | None) -> str:
    """A new server-side session (password step passed, MFA pending). Returns the token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=_hash_token(token),
            user=user,
            created_at=now,
            last_seen_at=now,
            source_address=source_address,
            user_agent=(user_agent or "")[:300],
        )
    )
    db.session.flush()
    return token


def load_session(token: str | None) -> UserSession | None:
    """The live session for ``token``; ends it (and returns None) once it has expired."""
    if not token:
        return None
    session = db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash_token(token)))
    if session is None or session.ended_at is not None:
        return None
    now = utcnow()
    cfg = current_app.config
    if now - session.created_at > cfg["SESSION_ABSOLUTE_TIMEOUT"]:
        end_session(session, "absolute_timeout")
        return None
    if now - session.last_seen_at > cfg["SESSION_IDLE_TIMEOUT"]:
        end_session(session, "idle_timeout")
        return None
    if not session.user.is_active:
        end_session(session, "account_disabled")
        return None
    return session


def touch_session(session: UserSession) -> bool:
    """Record activity; returns True when a write happened (at most every 15 s)."""
    now = utcnow()
    if now - session.last_seen_at >= timedelta(seconds=15):
        session.last_seen_at = now
        return True
    return False


def keep_alive(session: UserSession) -> timedelta:
    """The idle warning's "stay signed in": the idle clock starts again; returns how long it runs."""
    session.last_seen_at = utcnow()
    return current_app.config["SESSION_IDLE_TIMEOUT"]


def end_session(session: UserSession, reason: str) -> None:
    session.ended_at = utcnow()
    session.end_reason = reason
    if reason != "logout":
        record_event(
            "auth.session_end",
            actor=session.user,
            object_type=ObjectType.SESSION,
            object_id=session.id,
            reason=reason,
        )
    db.session.flush()


def live_sessions(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .order_by(UserSession.created_at.desc())
        )
    )


def end_other_sessions(user: User, *, keep: UserSession | None, reason: str) -> int:
    """End every live session of ``user`` but ``keep``; returns how many ended."""
    ended = 0
    for other in live_sessions(user):
        if keep is None or other.id != keep.id:
            end_session(other, reason)
            ended += 1
    return ended


def logout(session: UserSession) -> None:
    end_session(session, "logout")
    record_event("auth.logout", actor=session.user, object_type=ObjectType.SESSION, object_id=session.id)
