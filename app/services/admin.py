"""The local administrator's changes to accounts and agencies; each needs a reason and is
audited. Separation of duties: nobody changes their own role or certification."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import Agency, Role, User, UserSession
from app.services.accounts import get_agency_by_code
from app.services.audit import record_event
from app.services.errors import PermissionDenied, ServiceError
from app.services.passwords import hash_password


def _require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only a local administrator may do this.")


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ServiceError("Give the reason (it is kept in the audit trail).", field="reason")
    return reason


def _end_sessions(user: User, why: str) -> None:
    live = select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    for session in db.session.scalars(live):
        session.ended_at = utcnow()
        session.end_reason = why


def update_agency(
    agency: Agency,
    *,
    actor: User,
    name: str,
    contact_name: str | None,
    contact_email: str | None,
    contact_phone: str | None,
    reason: str,
) -> None:
    _require_admin(actor)
    reason = _require_reason(reason)
    before = {"name": agency.name, "contact_email": agency.contact_email}
    agency.name = name.strip() or agency.name
    agency.contact_name, agency.contact_email, agency.contact_phone = (
        contact_name,
        contact_email,
        contact_phone,
    )
    db.session.flush()
    record_event(
        "agency.update",
        actor=actor,
        object_type="agency",
        object_id=agency.id,
        reason=reason,
        detail={"before": before, "after": {"name": agency.name, "contact_email": agency.contact_email}},
    )


def set_agency_active(agency: Agency, *, actor: User, active: bool, reason: str) -> None:
    _require_admin(actor)
    reason = _require_reason(reason)
    if agency.id == actor.agency_id and not active:
        raise ServiceError("You cannot deactivate your own agency.")
    agency.active = active
    if not active:
        for user in agency.users:
            if user.active:
                user.active = False
                user.deactivated_reason = f"agency deactivated: {reason}"
                _end_sessions(user, "agency_deactivated")
    db.session.flush()
    record_event(
        "agency.activate" if active else "agency.deactivate",
        actor=actor,
        object_type="agency",
        object_id=agency.id,
        reason=reason,
    )


def change_role_and_agency(user: User, *, actor: User, role: Role, agency_code: str, reason: str) -> None:
    _require_admin(actor)
    reason = _require_reason(reason)
    if user.id == actor.id and Role(role) is not user.role:
        raise PermissionDenied("Separation of duties: you cannot change your own role.")
    agency = get_agency_by_code(agency_code)
    before = {"role": str(user.role), "agency": user.agency.code}
    user.role = Role(role)
    user.agency = agency
    _end_sessions(user, "role_changed")  # new rights take effect at the next sign-in
    db.session.flush()
    record_event(
        "user.update",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"before": before, "after": {"role": str(user.role), "agency": agency.code}},
    )


def set_user_active(user: User, *, actor: User, active: bool, reason: str, violation: bool = False) -> None:
    """Deactivate (restrict or revoke access, recording the violation or reason) or reactivate."""
    _require_admin(actor)
    reason = _require_reason(reason)
    if user.id == actor.id:
        raise PermissionDenied("You cannot deactivate or reactivate your own account.")
    user.active = active
    user.deactivated_reason = None if active else reason
    if not active:
        _end_sessions(user, "deactivated")
    db.session.flush()
    record_event(
        "user.reactivate" if active else "user.deactivate",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"violation": violation, "username": user.username},
    )


def reset_password(user: User, *, actor: User, reason: str) -> str:
    """A one-time temporary password the user must change at next sign-in (shown once)."""
    _require_admin(actor)
    reason = _require_reason(reason)
    temporary = "-".join(secrets.token_urlsafe(4) for _ in range(4))
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    _end_sessions(user, "password_reset")
    db.session.flush()
    record_event(
        "user.password_reset",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username},
    )
    return temporary


def reset_mfa(user: User, *, actor: User, reason: str) -> None:
    """Clear the TOTP enrolment: the user enrols a new authenticator at next sign-in."""
    _require_admin(actor)
    reason = _require_reason(reason)
    user.mfa_secret_encrypted = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    _end_sessions(user, "mfa_reset")
    db.session.flush()
    record_event(
        "user.mfa_reset",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username},
    )


DORMANT_AFTER = timedelta(days=90)


def disable_dormant_accounts() -> list[User]:
    """Deactivate accounts unused for 90 days (a scheduled job; audited as the scheduler)."""
    cutoff = utcnow() - DORMANT_AFTER
    dormant = [
        user
        for user in db.session.scalars(select(User).where(User.active.is_(True)))
        if (user.last_logon_at or user.created_at) < cutoff
    ]
    for user in dormant:
        user.active = False
        user.deactivated_reason = f"unused for {DORMANT_AFTER.days} days"
        _end_sessions(user, "dormant")
        record_event(
            "user.deactivate",
            actor=None,
            object_type="user",
            object_id=user.id,
            reason=user.deactivated_reason,
            detail={"username": user.username, "automatic": True},
        )
    db.session.flush()
    return dormant
