"""Sign-in: password step, lockout, per-address throttling, TOTP, server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.models import LoginAttempt, Outcome, User, UserSession
from app.services import mfa
from app.services.accounts import get_user_by_username, lock_user
from app.services.audit import record_event
from app.services.passwords import verify_password


class LoginFailure(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    INACTIVE = "inactive"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    failure: LoginFailure | None = None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address_is_throttled(source_address: str) -> bool:
    since = utcnow() - current_app.config["LOCKOUT_WINDOW"]
    failures = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.source_address == source_address,
            LoginAttempt.attempted_at >= since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    return failures >= current_app.config["ADDRESS_THROTTLE_LIMIT"]


def register_failure(user: User, reason: str) -> None:
    """Count a failed factor; the fifth within the window locks the account."""
    now = utcnow()
    window = current_app.config["LOCKOUT_WINDOW"]
    if user.first_failed_login_at is None or now - user.first_failed_login_at > window:
        user.first_failed_login_at = now
        user.failed_login_count = 0
    user.failed_login_count += 1
    if user.failed_login_count >= current_app.config["LOCKOUT_THRESHOLD"] and not user.locked:
        lock_user(
            actor=None,
            user=user,
            reason=f"{user.failed_login_count} failed sign-in attempts within "
            f"{int(window.total_seconds() // 60)} minutes ({reason})",
        )


def check_password(username: str, password: str, source_address: str) -> LoginResult:
    """First factor. Records the attempt and audits success or failure (flushed)."""
    username = username.strip()
    if _address_is_throttled(source_address):
        record_event(
            "auth.login",
            actor=None,
            actor_username=username[:64],
            outcome=Outcome.DENIED,
            reason="too many failed sign-ins from this address",
        )
        return LoginResult(None, LoginFailure.THROTTLED)

    user = get_user_by_username(username)
    password_ok = verify_password(user.password_hash if user else None, password)
    db.session.add(
        LoginAttempt(
            username=username[:64],
            source_address=source_address,
            succeeded=password_ok,
            attempted_at=utcnow(),
        )
    )
    if user is None:
        record_event(
            "auth.login",
            actor=None,
            actor_username=username[:64],
            outcome=Outcome.FAILED,
            reason="unknown username",
        )
        return LoginResult(None, LoginFailure.BAD_CREDENTIALS)
    if not password_ok:
        record_event(
            "auth.login",
            actor=user,
            outcome=Outcome.FAILED,
            object_type="user",
            object_id=user.id,
            reason="wrong password",
        )
        if not user.locked:
            register_failure(user, "wrong password")
        return LoginResult(None, LoginFailure.BAD_CREDENTIALS)
    # The password was right: only now is it safe to say why the account cannot sign in.
    if user.locked:
        record_event(
            "auth.login",
            actor=user,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.id,
            reason="account locked",
        )
        return LoginResult(None, LoginFailure.LOCKED)
    if not user.active:
        record_event(
            "auth.login",
            actor=user,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.id,
            reason="account deactivated",
        )
        return LoginResult(None, LoginFailure.INACTIVE)
    return LoginResult(user)


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


def end_session(session: UserSession, reason: str) -> None:
    session.ended_at = utcnow()
    session.end_reason = reason
    if reason != "logout":
        record_event(
            "auth.session_end",
            actor=session.user,
            object_type="session",
            object_id=session.id,
            reason=reason,
        )
    db.session.flush()


def logout(session: UserSession) -> None:
    end_session(session, "logout")
    record_event("auth.logout", actor=session.user, object_type="session", object_id=session.id)


def enrolment_secret(session: UserSession) -> str:
    """The TOTP secret being enrolled in this session, created on first call.

    Kept encrypted on the server-side session, never in the cookie.
    """
    if session.pending_mfa_secret_encrypted is None:
        session.pending_mfa_secret_encrypted = mfa.encrypt_secret(mfa.new_secret())
        db.session.flush()
    return mfa.decrypt_secret(session.pending_mfa_secret_encrypted)


def confirm_enrolment(session: UserSession, code: str) -> bool:
    user = session.user
    secret = enrolment_secret(session)
    step = mfa.matching_step(secret, code, utcnow().timestamp())
    if step is None:
        record_event(
            "auth.mfa_enrol",
            actor=user,
            outcome=Outcome.FAILED,
            object_type="user",
            object_id=user.id,
            reason="code did not match",
        )
        register_failure(user, "wrong MFA code at enrolment")
        if user.locked:
            end_session(session, "account_locked")
        return False
    user.mfa_secret_encrypted = session.pending_mfa_secret_encrypted
    session.pending_mfa_secret_encrypted = None
    user.mfa_enrolled_at = utcnow()
    user.mfa_last_step = step
    record_event(
        "auth.mfa_enrol",
        actor=user,
        object_type="user",
        object_id=user.id,
        detail={"secret_fingerprint": mfa.secret_fingerprint(secret)},
    )
    _complete_sign_in(session)
    return True


def verify_second_factor(session: UserSession, code: str) -> bool:
    user = session.user
    secret = mfa.decrypt_secret(user.mfa_secret_encrypted)
    step = mfa.matching_step(secret, code, utcnow().timestamp())
    if step is None or (user.mfa_last_step is not None and step <= user.mfa_last_step):
        reason = "code did not match" if step is None else "code already used"
        record_event(
            "auth.mfa",
            actor=user,
            outcome=Outcome.FAILED,
            object_type="user",
            object_id=user.id,
            reason=reason,
        )
        register_failure(user, f"MFA {reason}")
        if user.locked:
            end_session(session, "account_locked")
        return False
    user.mfa_last_step = step
    _complete_sign_in(session)
    return True


def _complete_sign_in(session: UserSession) -> None:
    user = session.user
    now = utcnow()
    session.mfa_verified_at = now
    user.last_logon_at = now
    user.failed_login_count = 0
    user.first_failed_login_at = None
    record_event(
        "auth.login",
        actor=user,
        object_type="session",
        object_id=session.id,
        detail={"factors": ["password", "totp"]},
    )
    db.session.flush()
