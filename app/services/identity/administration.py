"""The local administrator's changes to accounts and agencies; each needs a reason and is
audited. Separation of duties: nobody changes their own role or certification; every password
or authenticator reset needs a fresh sign-in; every change that creates, elevates, deactivates
or resets an administrator (directly or through its agency) needs a fresh sign-in and an
independent second administrator (``needs_second_admin``, ``second_admin_refusal``), who
decides once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import Agency, AuditEvent, Outcome, PendingApproval, Role, TrainingCertification, User
from app.services.identity.accounts import (
    get_agency_by_code,
    search_eligibility,
    set_local_policy,
)
from app.services.identity.passwords import hash_password
from app.services.identity.sessions import end_other_sessions
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import PermissionDenied, ServiceError


@dataclass(frozen=True)
class TemporaryPassword:
    """A reset's one-time password: shown once to the administrator, never stored in clear."""

    password: str


class FreshSignInRequired(PermissionDenied):
    """The change needs the administrator to confirm their password and a code again."""


def require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only a local administrator may do this.")


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ServiceError("Give the reason (it is kept in the audit trail).", field="reason")
    return reason


def update_agency(
    agency: Agency,
    *,
    actor: User,
    name: str,
    contact_name: str | None,
    contact_email: str | None,
    contact_phone: str | None,
    reason: str,
    local_policy_title: str = "",
    local_policy_adopted_on: date | None = None,
) -> None:
    require_admin(actor)
    reason = require_reason(reason)
    before = {"name": agency.name, "contact_email": agency.contact_email, "local_policy": agency.local_policy}
    agency.name = name.strip() or agency.name
    agency.contact_name, agency.contact_email, agency.contact_phone = (
        contact_name,
        contact_email,
        contact_phone,
    )
    set_local_policy(agency, title=local_policy_title, adopted_on=local_policy_adopted_on)
    db.session.flush()
    record_event(
        "agency.update",
        actor=actor,
        object_type="agency",
        object_id=agency.id,
        reason=reason,
        detail={
            "before": before,
            "after": {
                "name": agency.name,
                "contact_email": agency.contact_email,
                "local_policy": agency.local_policy,
            },
        },
    )


AGENCY_DEACTIVATION = "deactivate_agency"


def needs_second_admin(
    change: str,
    *,
    actor: User,
    target: User | None = None,
    agency: Agency | None = None,
    params: dict | None = None,
) -> bool:
    """Which changes a second administrator approves: every one that creates, elevates,
    deactivates, reactivates, unlocks or resets an administrator, directly or through the
    agency the administrator is in. (Administrators keep their own password and authenticator
    with a fresh sign-in, and never change their own role.)"""
    if change == AGENCY_DEACTIVATION:
        return any(user.role is Role.ADMIN and user.active for user in agency.users)
    if target.id == actor.id:
        return False
    return target.role is Role.ADMIN or (
        change == "change_role" and (params or {}).get("role") == Role.ADMIN.value
    )


def set_agency_active(
    agency: Agency, *, actor: User, active: bool, reason: str, approved: bool = False
) -> None:
    """Activate or deactivate an agency; deactivating it deactivates its people, each audited as
    a deactivation. An agency with an administrator in it is deactivated only as an approved
    change (``request_agency_change``)."""
    require_admin(actor)
    reason = require_reason(reason)
    if agency.id == actor.agency_id and not active:
        raise ServiceError("You cannot deactivate your own agency.")
    if not active and not approved and needs_second_admin(AGENCY_DEACTIVATION, actor=actor, agency=agency):
        raise PermissionDenied(
            "An administrator is in this agency: a second administrator approves its deactivation."
        )
    agency.active = active
    db.session.flush()
    record_event(
        "agency.activate" if active else "agency.deactivate",
        actor=actor,
        object_type="agency",
        object_id=agency.id,
        reason=reason,
    )
    if not active:
        for user in agency.users:
            if user.active:
                user.active = False
                user.deactivated_reason = f"agency deactivated: {reason}"
                end_other_sessions(user, keep=None, reason="agency_deactivated")
                record_event(
                    "user.deactivate",
                    actor=actor,
                    object_type="user",
                    object_id=user.id,
                    reason=reason,
                    detail={"username": user.username, "agency_deactivated": agency.code},
                )
        db.session.flush()


def change_role_and_agency(user: User, *, actor: User, role: Role, agency_code: str, reason: str) -> None:
    require_admin(actor)
    reason = require_reason(reason)
    if user.id == actor.id and Role(role) is not user.role:
        raise PermissionDenied("Separation of duties: you cannot change your own role.")
    agency = get_agency_by_code(agency_code)
    before = {"role": str(user.role), "agency": user.agency.code}
    user.role = Role(role)
    user.agency = agency
    end_other_sessions(user, keep=None, reason="role_changed")  # new rights take effect at the next sign-in
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
    require_admin(actor)
    reason = require_reason(reason)
    if user.id == actor.id:
        raise PermissionDenied("You cannot deactivate or reactivate your own account.")
    user.active = active
    user.deactivated_reason = None if active else reason
    if not active:
        end_other_sessions(user, keep=None, reason="deactivated")
    db.session.flush()
    record_event(
        "user.reactivate" if active else "user.deactivate",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"violation": violation, "username": user.username},
    )


def reset_password(user: User, *, actor: User, reason: str) -> TemporaryPassword:
    """A one-time temporary password the user must change at next sign-in (shown once)."""
    require_admin(actor)
    reason = require_reason(reason)
    temporary = "-".join(secrets.token_urlsafe(4) for _ in range(4))
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    end_other_sessions(user, keep=None, reason="password_reset")
    db.session.flush()
    record_event(
        "user.password_reset",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username},
    )
    tell.account_reset(user, "password")
    return TemporaryPassword(temporary)


def reset_mfa(user: User, *, actor: User, reason: str) -> None:
    """Clear the TOTP enrolment: the user enrols a new authenticator at next sign-in."""
    require_admin(actor)
    reason = require_reason(reason)
    user.mfa_secret_encrypted = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    end_other_sessions(user, keep=None, reason="mfa_reset")
    db.session.flush()
    record_event(
        "user.mfa_reset",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username},
    )
    tell.account_reset(user, "authenticator")


TOLD_AT_SIGN_IN = {
    "user.password_reset": "Your password was reset by {who} on {when}.",
    "user.mfa_reset": "Your authenticator was reset by {who} on {when}.",
}


def changes_told_at_sign_in(user: User, since: datetime | None) -> list[str]:
    """What an administrator did to this account since its last sign-in (a reset of its
    password or authenticator), told to its owner when they next sign in: if it was not them
    who asked, they know at once."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == ObjectType.USER,
            AuditEvent.object_id == str(user.id),
            AuditEvent.action.in_(TOLD_AT_SIGN_IN),
            AuditEvent.outcome == Outcome.SUCCESS,
            AuditEvent.occurred_at > (since or user.created_at),
        )
        .order_by(AuditEvent.seq)
    )
    return [
        TOLD_AT_SIGN_IN[e.action].format(
            who=e.actor_username or "the system", when=e.occurred_at.strftime("%Y-%m-%d %H:%M UTC")
        )
        for e in events
        if e.actor_id != user.id
    ]


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
        end_other_sessions(user, keep=None, reason="dormant")
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


def record_user_view(target: User, *, actor: User) -> None:
    """An administrator opening a person's record is audited like any read of personal data."""
    record_event(
        "user.view",
        actor=actor,
        object_type=ObjectType.USER,
        object_id=target.id,
        detail={"username": target.username},
    )


def people_overview() -> dict:
    """Everyone, with search rights and expiring certifications, in a few queries."""
    today = utcnow().date()
    users = db.session.scalars(select(User).order_by(User.agency_id, User.full_name)).all()
    expiring = db.session.scalars(
        select(TrainingCertification)
        .where(TrainingCertification.expires_on.between(today, today + timedelta(days=30)))
        .order_by(TrainingCertification.expires_on)
    ).all()
    rights = {u.id: bool(search_eligibility(u, today)) for u in users if u.role is not Role.REQUESTER}
    pending = db.session.scalars(select(PendingApproval).where(PendingApproval.decided_at.is_(None))).all()
    return {"users": users, "expiring": expiring, "search_rights": rights, "pending": pending}
