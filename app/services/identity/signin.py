"""Sign-in: password step, lockout, per-address throttling, TOTP, server-side sessions.

Checking a factor is two transactions, so that parallel guesses cannot outrun the count:

1. ``reserve_attempt`` — under the address's and the account's lock (``throttle.hold``),
   count the failures of the sliding window, attempts still being checked included; refuse
   when there are too many, else record this attempt as in flight. The caller commits.
2. ``check_password`` / ``verify_second_factor`` / … — check the factor (slow, no lock held),
   then mark the attempt succeeded or failed; a failure re-counts under the account's lock
   and locks the account at the threshold.

A locked or deactivated account gets the same answer as a wrong password, and its password
is never checked: the answer reveals nothing about whether a guess was right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import current_app
from sqlalchemy import func, select, update

from app.clock import utcnow
from app.extensions import db
from app.models import LoginAttempt, Outcome, User, UserSession
from app.services.identity import directory, mfa
from app.services.identity.accounts import get_user_by_username, lock_user, set_password
from app.services.identity.passwords import verify_password
from app.services.identity.sessions import end_other_sessions, end_session
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, current_source, record_event
from app.services.platform import throttle


class LoginFailure(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"  # also: locked or deactivated (never said apart)
    THROTTLED = "throttled"


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt at a factor (``refused`` set when none may be made now)."""

    attempt_id: int | None
    user_id: int | None
    username: str
    refused: LoginFailure | None = None


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    failure: LoginFailure | None = None


def _window_start(now: datetime) -> datetime:
    return now - current_app.config["LOCKOUT_WINDOW"]


def _address_failures(address: str, now: datetime) -> int:
    """Failed and in-flight attempts from ``address`` within the sliding window."""
    return db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.source_address == address,
            LoginAttempt.attempted_at >= _window_start(now),
            LoginAttempt.succeeded.is_not(True),
        )
    )


def _account_failures(user: User, now: datetime, *, in_flight: bool) -> int:
    """The account's failures within the sliding window since they were last cleared."""
    outcome = LoginAttempt.succeeded.is_not(True) if in_flight else LoginAttempt.succeeded.is_(False)
    stmt = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.user_id == user.id, LoginAttempt.attempted_at >= _window_start(now), outcome
    )
    if user.failures_cleared_at is not None:
        stmt = stmt.where(LoginAttempt.attempted_at > user.failures_cleared_at)
    return db.session.scalar(stmt)


def reserve_attempt(
    username: str, address: str, factor: str = "password", user: User | None = None
) -> Attempt:
    """Step one of checking a factor (see the module's docstring). Flushes; the caller commits."""
    username = username.strip()[:64]
    now = utcnow()
    throttle.hold(throttle.address_key(address))
    user = user or get_user_by_username(username)
    if user is not None:
        throttle.hold(throttle.account_key(user.id))
        db.session.refresh(user)  # what the transactions we waited for committed
    if _address_failures(address, now) >= current_app.config["ADDRESS_THROTTLE_LIMIT"]:
        record_event(
            "auth.login",
            actor=None,
            actor_username=username,
            outcome=Outcome.DENIED,
            reason="too many failed sign-ins from this address",
            detail={"factor": factor},
        )
        return Attempt(None, None, username, LoginFailure.THROTTLED)
    if user is not None:
        refusal = _account_refusal(user, now)
        if refusal is not None:
            record_event(
                "auth.login",
                actor=user,
                outcome=Outcome.DENIED,
                object_type=ObjectType.USER,
                object_id=user.id,
                reason=f"{refusal}; the {factor} was not checked",
                detail={"factor": factor},
            )
            return Attempt(None, user.id, username, LoginFailure.BAD_CREDENTIALS)
    attempt = LoginAttempt(
        username=username,
        user_id=user.id if user else None,
        factor=factor,
        source_address=address,
        attempted_at=now,
        succeeded=None,
    )
    db.session.add(attempt)
    db.session.flush()
    return Attempt(attempt.id, attempt.user_id, username)


def _account_refusal(user: User, now: datetime) -> str | None:
    if user.locked:
        return "account locked"
    if not user.active:
        return "account deactivated"
    if _account_failures(user, now, in_flight=True) >= current_app.config["LOCKOUT_THRESHOLD"]:
        return "too many attempts in flight or failed for this account"
    return None


def finish_attempt(attempt: Attempt, succeeded: bool) -> None:
    if attempt.attempt_id is not None:
        db.session.execute(
            update(LoginAttempt).where(LoginAttempt.id == attempt.attempt_id).values(succeeded=succeeded)
        )


def register_failure(user: User, attempt: Attempt, reason: str) -> None:
    """Record a failed factor; the failures of the window reaching the threshold lock the account."""
    throttle.hold(throttle.account_key(user.id))
    finish_attempt(attempt, succeeded=False)
    db.session.refresh(user)
    now = utcnow()
    failures = _account_failures(user, now, in_flight=False)
    user.failed_login_count = failures
    if user.first_failed_login_at is None or user.first_failed_login_at < _window_start(now):
        user.first_failed_login_at = now
    minutes = int(current_app.config["LOCKOUT_WINDOW"].total_seconds() // 60)
    if failures >= current_app.config["LOCKOUT_THRESHOLD"] and not user.locked:
        why = f"{failures} failed sign-in attempts in {minutes} minutes ({reason})"
        lock_user(actor=None, user=user, reason=why)
    db.session.flush()


def still_allowed(user: User) -> bool:
    """After a factor proved right: the account, re-read under its lock, may still sign in."""
    throttle.hold(throttle.account_key(user.id))
    db.session.refresh(user)
    return user.active and not user.locked


def password_matches(user: User | None, password: str) -> bool:
    """The password step: the county directory for an account that signs in with it, else
    LeadDesk's own hash (an unknown username costs the same hashing)."""
    verdict = directory.password_verdict(user, password) if user is not None else None
    return verdict if verdict is not None else verify_password(user.password_hash if user else None, password)


def check_password(attempt: Attempt, password: str) -> LoginResult:
    """Step two for the password. Audits the outcome (flushed; the caller commits)."""
    if attempt.refused is LoginFailure.BAD_CREDENTIALS:  # a locked or deactivated account:
        verify_password(None, password)  # the same hashing as a wrong password, so no timing says so
    if attempt.refused is not None:
        return LoginResult(None, attempt.refused)
    user = db.session.get(User, attempt.user_id) if attempt.user_id else None
    password_ok = password_matches(user, password)
    if user is None:
        finish_attempt(attempt, succeeded=False)
        record_event(
            "auth.login",
            actor=None,
            actor_username=attempt.username,
            outcome=Outcome.FAILED,
            reason="unknown username",
        )
        return LoginResult(None, LoginFailure.BAD_CREDENTIALS)
    if not password_ok:
        register_failure(user, attempt, "wrong password")  # the account's lock before the audit chain's
        record_event(
            "auth.login",
            actor=user,
            outcome=Outcome.FAILED,
            object_type=ObjectType.USER,
            object_id=user.id,
            reason="wrong password",
        )
        return LoginResult(None, LoginFailure.BAD_CREDENTIALS)
    if not still_allowed(user):
        finish_attempt(attempt, succeeded=False)
        record_event(
            "auth.login",
            actor=user,
            outcome=Outcome.DENIED,
            object_type=ObjectType.USER,
            object_id=user.id,
            reason="account locked or deactivated while the password was checked",
        )
        return LoginResult(None, LoginFailure.BAD_CREDENTIALS)
    finish_attempt(attempt, succeeded=True)
    return LoginResult(user)


def enrolment_secret(session: UserSession) -> str:
    """The TOTP secret being enrolled in this session, created on first call.

    Kept encrypted on the server-side session, never in the cookie.
    """
    if session.pending_mfa_secret_encrypted is None:
        session.pending_mfa_secret_encrypted = mfa.encrypt_secret(mfa.new_secret())
        db.session.flush()
    return mfa.decrypt_secret(session.pending_mfa_secret_encrypted)


def use_code_step(user: User, step: int) -> bool:
    """Spend a TOTP time step: one conditional UPDATE, so a code is good once, however many
    sessions present it at the same moment."""
    used = db.session.execute(
        update(User)
        .where(User.id == user.id, (User.mfa_last_step.is_(None)) | (User.mfa_last_step < step))
        .values(mfa_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(user)
    return used == 1


def _failed_in_session(session: UserSession, attempt: Attempt, action: str, reason: str) -> None:
    """A factor failed inside a session: counted toward the lock (a locked account's session
    ends), then audited."""
    user = session.user
    register_failure(user, attempt, reason)
    record_event(
        action,
        actor=user,
        outcome=Outcome.FAILED,
        object_type=ObjectType.USER,
        object_id=user.id,
        reason=reason,
    )
    if user.locked:
        end_session(session, "account_locked")


def confirm_enrolment(session: UserSession, attempt: Attempt, code: str) -> bool:
    user = session.user
    if attempt.refused is not None:
        return False
    secret = enrolment_secret(session)
    step = mfa.matching_step(secret, code, utcnow().timestamp())
    if step is None:
        _failed_in_session(session, attempt, "auth.mfa_enrol", "MFA code did not match")
        return False
    if not still_allowed(user) or user.mfa_secret_encrypted is not None:
        finish_attempt(attempt, succeeded=False)
        return False
    user.mfa_secret_encrypted = session.pending_mfa_secret_encrypted
    session.pending_mfa_secret_encrypted = None
    user.mfa_enrolled_at = utcnow()
    db.session.flush()
    if not use_code_step(user, step):
        _failed_in_session(session, attempt, "auth.mfa_enrol", "MFA code already used")
        return False
    finish_attempt(attempt, succeeded=True)
    record_event(
        "auth.mfa_enrol",
        actor=user,
        object_type=ObjectType.USER,
        object_id=user.id,
        detail={"secret_fingerprint": mfa.secret_fingerprint(secret)},
    )
    _complete_sign_in(session)
    return True


def check_code(session: UserSession, attempt: Attempt, code: str, *, action: str = "auth.mfa") -> bool:
    """A TOTP code for the session's user: right, unused, and the account still allowed."""
    user = session.user
    if attempt.refused is not None:
        return False
    step = mfa.matching_step(mfa.decrypt_secret(user.mfa_secret_encrypted), code, utcnow().timestamp())
    if step is None:
        _failed_in_session(session, attempt, action, "MFA code did not match")
        return False
    if not still_allowed(user):
        finish_attempt(attempt, succeeded=False)
        return False
    if not use_code_step(user, step):
        _failed_in_session(session, attempt, action, "MFA code already used")
        return False
    finish_attempt(attempt, succeeded=True)
    return True


def verify_second_factor(session: UserSession, attempt: Attempt, code: str) -> bool:
    if not check_code(session, attempt, code):
        return False
    _complete_sign_in(session)
    return True


def _complete_sign_in(session: UserSession) -> None:
    user = session.user
    now = utcnow()
    tell.signed_in_from(user, current_source())
    session.mfa_verified_at = now
    user.last_logon_at = now
    user.failed_login_count = 0
    user.first_failed_login_at = None
    user.failures_cleared_at = now
    record_event(
        "auth.login",
        actor=user,
        object_type=ObjectType.SESSION,
        object_id=session.id,
        detail={"factors": ["password", "totp"]},
    )
    db.session.flush()


def confirm_identity(session: UserSession, attempt: Attempt, password: str, code: str) -> bool:
    """A fresh sign-in inside a session (password and a new code) before a sensitive change."""
    user = session.user
    if attempt.refused is not None:
        return False
    if not password_matches(user, password):
        _failed_in_session(session, attempt, "auth.reauthenticate", "wrong password when confirming identity")
        return False
    if not check_code(session, attempt, code, action="auth.reauthenticate"):
        return False
    session.reauthenticated_at = utcnow()
    record_event("auth.reauthenticate", actor=user, object_type=ObjectType.SESSION, object_id=session.id)
    db.session.flush()
    return True


def fresh_sign_in_at(session: UserSession) -> datetime | None:
    """When this session last proved both factors (its sign-in or a confirmation since)."""
    moments = [m for m in (session.mfa_verified_at, session.reauthenticated_at) if m is not None]
    return max(moments) if moments else None


def change_own_password(session: UserSession, attempt: Attempt, current: str, new: str) -> str | None:
    """The signed-in user changes their password: a wrong current password counts toward the
    lock like any failed sign-in; a change ends every other session of the account.

    Returns why it was refused (None when changed); the caller commits either way.
    """
    user = session.user
    if attempt.refused is not None:
        return "Too many attempts: the password was not checked. Try again later."
    if not verify_password(user.password_hash, current):
        _failed_in_session(session, attempt, "user.password_change", "wrong current password")
        return "The current password is not correct."
    finish_attempt(attempt, succeeded=True)
    set_password(user, new)
    ended = end_other_sessions(user, keep=session, reason="password_changed")
    record_event(
        "auth.sessions_end",
        actor=user,
        object_type=ObjectType.USER,
        object_id=user.id,
        reason="password changed",
        detail={"sessions_ended": ended},
    )
    return None
