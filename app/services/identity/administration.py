"""The local administrator's changes to accounts and agencies; each needs a reason and is
audited. Separation of duties: nobody changes their own role or certification; a password or
authenticator reset of one's own account needs a fresh sign-in; any change to another
administrator's account (or making someone an administrator) needs a fresh sign-in and a
second administrator's approval."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import Agency, PendingApproval, Role, TrainingCertification, User
from app.services.identity.accounts import (
    get_agency_by_code,
    search_eligibility,
    set_local_policy,
    unlock_user,
)
from app.services.identity.passwords import hash_password
from app.services.identity.sessions import end_other_sessions
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import NotFound, PermissionDenied, ServiceError


@dataclass(frozen=True)
class TemporaryPassword:
    """A reset's one-time password: shown once to the administrator, never stored in clear."""

    password: str


class FreshSignInRequired(PermissionDenied):
    """The change needs the administrator to confirm their password and a code again."""


def _require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only a local administrator may do this.")


def _require_reason(reason: str) -> str:
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
    _require_admin(actor)
    reason = _require_reason(reason)
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
                end_other_sessions(user, keep=None, reason="agency_deactivated")
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
    _require_admin(actor)
    reason = _require_reason(reason)
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
    _require_admin(actor)
    reason = _require_reason(reason)
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
    return TemporaryPassword(temporary)


def reset_mfa(user: User, *, actor: User, reason: str) -> None:
    """Clear the TOTP enrolment: the user enrols a new authenticator at next sign-in."""
    _require_admin(actor)
    reason = _require_reason(reason)
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


# --- sensitive changes: fresh sign-in, and a second administrator for another admin ----------

CHANGES = ("change_role", "deactivate", "reactivate", "unlock", "reset_password", "reset_mfa")
SELF_SERVICE_SENSITIVE = ("reset_password", "reset_mfa")


def _require_fresh(actor: User, fresh_at: datetime | None) -> None:
    window = current_app.config["FRESH_SIGN_IN_WINDOW"]
    if fresh_at is None or utcnow() - fresh_at > window:
        raise FreshSignInRequired(
            "This change needs a fresh sign-in: confirm your password and a new code first.",
            audit_action="admin.fresh_sign_in",
        )


def _needs_second_admin(change: str, target: User, actor: User, params: dict) -> bool:
    if target.id == actor.id:
        return False
    return target.role is Role.ADMIN or (change == "change_role" and params.get("role") == Role.ADMIN.value)


def _apply(change: str, target: User, *, actor: User, reason: str, params: dict):
    """Carry out one change; returns what to tell the administrator (or a temporary password)."""
    if change == "change_role":
        change_role_and_agency(
            target, actor=actor, role=Role(params["role"]), agency_code=params["agency_code"], reason=reason
        )
        return "Role and agency updated."
    if change in ("deactivate", "reactivate"):
        set_user_active(
            target,
            actor=actor,
            active=change == "reactivate",
            reason=reason,
            violation=bool(params.get("violation")),
        )
        return "Account deactivated." if change == "deactivate" else "Account reactivated."
    if change == "unlock":
        _require_admin(actor)
        unlock_user(actor=actor, user=target, reason=_require_reason(reason))
        return "Account unlocked."
    if change == "reset_password":
        return reset_password(target, actor=actor, reason=reason)
    reset_mfa(target, actor=actor, reason=reason)
    return "Authenticator reset: the user enrols a new one at next sign-in."


def request_or_apply(
    change: str, target: User, *, actor: User, fresh_at: datetime | None, reason: str, **params
):
    """Apply ``change`` to ``target`` now, or, for another administrator's account, record it
    for a second administrator to approve. Returns a message or a ``TemporaryPassword``."""
    _require_admin(actor)
    if change not in CHANGES:
        raise ServiceError(f"Unknown change {change!r}.")
    reason = _require_reason(reason)
    params = {k: (v.value if isinstance(v, Role) else v) for k, v in params.items()}
    second_admin = _needs_second_admin(change, target, actor, params)
    if second_admin or (target.id == actor.id and change in SELF_SERVICE_SENSITIVE):
        _require_fresh(actor, fresh_at)
    if not second_admin:
        return _apply(change, target, actor=actor, reason=reason, params=params)
    approval = PendingApproval(
        change=change,
        target_id=target.id,
        requested_by_id=actor.id,
        requested_at=utcnow(),
        reason=reason,
        parameters=params,
    )
    db.session.add(approval)
    db.session.flush()
    record_event(
        "admin.approval_request",
        actor=actor,
        object_type=ObjectType.USER,
        object_id=target.id,
        reason=reason,
        detail={"change": change, "approval": approval.id, "username": target.username, **params},
    )
    return f"Recorded: a second administrator must approve this change to {target.username}'s account."


def approval_or_404(approval_id: int) -> PendingApproval:
    approval = db.session.get(PendingApproval, approval_id)
    if approval is None:
        raise NotFound("No such approval.")
    return approval


def decide_approval(approval: PendingApproval, *, actor: User, approve: bool, fresh_at: datetime | None):
    """A second administrator approves (the change is applied) or declines a pending change."""
    _require_admin(actor)
    if approval.decided_at is not None:
        raise ServiceError("This change was already decided.")
    if actor.id in (approval.requested_by_id, approval.target_id):
        raise PermissionDenied("A second administrator, not the one asking nor the one concerned, decides.")
    _require_fresh(actor, fresh_at)
    approval.decided_by_id, approval.decided_at, approval.approved = actor.id, utcnow(), approve
    db.session.flush()
    record_event(
        "admin.approval_decide",
        actor=actor,
        object_type=ObjectType.USER,
        object_id=approval.target_id,
        reason=approval.reason,
        detail={"change": approval.change, "approval": approval.id, "approved": approve},
    )
    if not approve:
        return "Change declined."
    return _apply(
        approval.change,
        approval.target,
        actor=actor,
        reason=f"{approval.reason} (asked by {approval.requested_by.username}, approved by {actor.username})",
        params=dict(approval.parameters),
    )


def pending_approvals_for(target: User) -> dict:
    pending = db.session.scalars(
        select(PendingApproval)
        .where(PendingApproval.target_id == target.id, PendingApproval.decided_at.is_(None))
        .order_by(PendingApproval.id)
    ).all()
    return {"pending_approvals": pending}


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
