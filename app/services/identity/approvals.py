"""Changes that need more than one administrator's word: a fresh sign-in for every reset, and
for every change that creates, elevates, deactivates or resets an administrator (directly or
through its agency) an independent second administrator, who decides once.

``needs_second_admin`` says which changes; ``second_admin_refusal`` says who may approve; both
are the one rule every path uses (the user form, the account page, the agency page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.models import Agency, PendingApproval, Role, User
from app.services.identity.accounts import create_user, unlock_user
from app.services.identity.administration import (
    AGENCY_DEACTIVATION,
    FreshSignInRequired,
    change_role_and_agency,
    needs_second_admin,
    require_admin,
    require_reason,
    reset_mfa,
    reset_password,
    set_agency_active,
    set_user_active,
)
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import NotFound, PermissionDenied, ServiceError

CHANGES = ("change_role", "deactivate", "reactivate", "unlock", "reset_password", "reset_mfa")
RESETS = ("reset_password", "reset_mfa")
NEW_ADMIN_REASON = "a new administrator account: waiting for a second administrator's approval"


def _require_fresh(actor: User, fresh_at: datetime | None) -> None:
    window = current_app.config["FRESH_SIGN_IN_WINDOW"]
    if fresh_at is None or utcnow() - fresh_at > window:
        raise FreshSignInRequired(
            "This change needs a fresh sign-in: confirm your password and a new code first.",
            audit_action="admin.fresh_sign_in",
        )


def _granted_recently(admin: User, by: User) -> bool:
    window = current_app.config["APPROVAL_WINDOW"]
    return (
        admin.admin_granted_by_id == by.id
        and admin.admin_granted_at is not None
        and (utcnow() - admin.admin_granted_at < window)
    )


def second_admin_refusal(approver: User, approval: PendingApproval) -> str | None:
    """Who may be the second administrator of ``approval``, the one rule every path uses: an
    active administrator who is not the one asking, not the one concerned (nor in the agency
    being deactivated), and independent of the one asking: neither got their administrator
    rights from the other (created as one, or made one) within the approval window."""
    requester = approval.requested_by
    if approver.role is not Role.ADMIN or not approver.active:
        return "Only an active local administrator decides."
    if approver.id == requester.id:
        return "A second administrator decides, not the one asking."
    if approver.id == approval.target_id or (
        approval.agency_id is not None and approver.agency_id == approval.agency_id
    ):
        return "A second administrator decides, not the one the change concerns."
    if _granted_recently(approver, requester) or _granted_recently(requester, approver):
        return (
            "A second administrator independent of the one asking decides: one of you was made an "
            "administrator at the other's request within the approval window."
        )
    return None


def _grant_admin(target: User, *, requested_by_id: int) -> None:
    target.admin_granted_by_id, target.admin_granted_at = requested_by_id, utcnow()


def _apply(change: str, target: User | None, *, actor: User, reason: str, params: dict, agency=None):
    """Carry out one change; returns what to tell the administrator (or a temporary password)."""
    if change == AGENCY_DEACTIVATION:
        set_agency_active(agency, actor=actor, active=False, reason=reason, approved=True)
        return f"Agency {agency.code} deactivated."
    if change == "change_role":
        change_role_and_agency(
            target, actor=actor, role=Role(params["role"]), agency_code=params["agency_code"], reason=reason
        )
        if target.role is Role.ADMIN and params.get("requested_by"):
            _grant_admin(target, requested_by_id=params["requested_by"])
        return "Role and agency updated."
    if change in ("deactivate", "reactivate"):
        set_user_active(
            target,
            actor=actor,
            active=change == "reactivate",
            reason=reason,
            violation=bool(params.get("violation")),
        )
        if params.get("new_admin"):
            _grant_admin(target, requested_by_id=params["requested_by"])
        return "Account deactivated." if change == "deactivate" else "Account reactivated."
    if change == "unlock":
        require_admin(actor)
        unlock_user(actor=actor, user=target, reason=require_reason(reason))
        return "Account unlocked."
    if change == "reset_password":
        return reset_password(target, actor=actor, reason=reason)
    reset_mfa(target, actor=actor, reason=reason)
    return "Authenticator reset: the user enrols a new one at next sign-in."


def _ask_second_admin(
    change: str, *, actor: User, reason: str, params: dict, target=None, agency=None
) -> str:
    approval = PendingApproval(
        change=change,
        target_id=target.id if target else None,
        agency_id=agency.id if agency else None,
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
        object_type=ObjectType.AGENCY if agency else ObjectType.USER,
        object_id=agency.id if agency else target.id,
        reason=reason,
        detail={"change": change, "approval": approval.id, "subject": approval.subject, **params},
    )
    tell.approval_waiting(approval.id, requested_by=actor, concerning=target)
    return f"Recorded: a second administrator must approve this change ({approval.subject})."


def request_or_apply(
    change: str, target: User, *, actor: User, fresh_at: datetime | None, reason: str, **params
):
    """Apply ``change`` to ``target`` now, or, when it concerns an administrator, record it for
    a second administrator to approve. Every reset needs a fresh sign-in. Returns a message or
    a ``TemporaryPassword``."""
    require_admin(actor)
    if change not in CHANGES:
        raise ServiceError(f"Unknown change {change!r}.")
    reason = require_reason(reason)
    params = {k: (v.value if isinstance(v, Role) else v) for k, v in params.items()}
    second_admin = needs_second_admin(change, actor=actor, target=target, params=params)
    if second_admin or change in RESETS:
        _require_fresh(actor, fresh_at)
    if not second_admin:
        return _apply(change, target, actor=actor, reason=reason, params=params)
    return _ask_second_admin(
        change, actor=actor, reason=reason, params=params | {"requested_by": actor.id}, target=target
    )


def create_account(
    *, actor: User, fresh_at: datetime | None, role: Role, reason: str | None = None, **fields
) -> str:
    """An account made by an administrator; an administrator's account is made inactive and
    becomes usable once a second administrator approves it (with a fresh sign-in first)."""
    require_admin(actor)
    if Role(role) is not Role.ADMIN:
        user = create_user(actor=actor, role=role, reason=reason, must_change_password=True, **fields)
        return f"Account {user.username} created."
    _require_fresh(actor, fresh_at)
    reason = require_reason(reason or "")
    user = create_user(actor=actor, role=role, reason=reason, must_change_password=True, **fields)
    user.active, user.deactivated_reason = False, NEW_ADMIN_REASON
    db.session.flush()
    _ask_second_admin(
        "reactivate",
        actor=actor,
        reason=reason,
        target=user,
        params={"new_admin": True, "requested_by": actor.id},
    )
    return f"Account {user.username} created, inactive until a second administrator approves it."


def request_agency_change(
    agency: Agency, *, actor: User, active: bool, reason: str, fresh_at: datetime | None
) -> str:
    """Activate or deactivate an agency; deactivating one an administrator is in is a change to
    that administrator, so it waits for a second administrator."""
    require_admin(actor)
    reason = require_reason(reason)
    if not active and needs_second_admin(AGENCY_DEACTIVATION, actor=actor, agency=agency):
        if agency.id == actor.agency_id:
            raise ServiceError("You cannot deactivate your own agency.")
        _require_fresh(actor, fresh_at)
        return _ask_second_admin(
            AGENCY_DEACTIVATION, actor=actor, reason=reason, params={"requested_by": actor.id}, agency=agency
        )
    set_agency_active(agency, actor=actor, active=active, reason=reason)
    return "Agency status changed."


def approval_or_404(approval_id: int) -> PendingApproval:
    approval = db.session.get(PendingApproval, approval_id)
    if approval is None:
        raise NotFound("No such approval.")
    return approval


def decide_approval(approval: PendingApproval, *, actor: User, approve: bool, fresh_at: datetime | None):
    """A second administrator approves (the change is applied) or declines a pending change,
    once: the decision is a conditional UPDATE of the undecided row, so of eight approvals sent
    at once one applies and the others are told it was decided."""
    require_admin(actor)
    refusal = second_admin_refusal(actor, approval)
    if refusal:
        raise PermissionDenied(
            refusal, audit_action="admin.approval_decide", audit_detail={"approval": approval.id}
        )
    _require_fresh(actor, fresh_at)
    if approve and utcnow() - approval.requested_at > current_app.config["APPROVAL_WINDOW"]:
        raise ServiceError("This request lapsed: ask for the change again.")
    decided = db.session.execute(
        update(PendingApproval)
        .where(PendingApproval.id == approval.id, PendingApproval.decided_at.is_(None))
        .values(decided_by_id=actor.id, decided_at=utcnow(), approved=approve)
        .execution_options(synchronize_session=False)
    ).rowcount
    if decided != 1:
        raise ServiceError("This change was already decided.")
    db.session.refresh(approval)
    record_event(
        "admin.approval_decide",
        actor=actor,
        object_type=ObjectType.AGENCY if approval.agency_id else ObjectType.USER,
        object_id=approval.agency_id or approval.target_id,
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
        agency=approval.agency,
    )


@dataclass(frozen=True)
class Waiting:
    """A change waiting for a second administrator, as one administrator sees it."""

    approval: PendingApproval
    refusal: str | None  # why this viewer may not decide it (None: they may)


def pending_approvals_for(viewer: User, *, target: User | None = None, agency: Agency | None = None) -> dict:
    """What waits for a second administrator about ``target`` (or ``agency``), each with
    whether ``viewer`` may decide it (the same rule ``decide_approval`` applies)."""
    where = PendingApproval.target_id == target.id if target else PendingApproval.agency_id == agency.id
    pending = db.session.scalars(
        select(PendingApproval)
        .where(where, PendingApproval.decided_at.is_(None))
        .order_by(PendingApproval.id)
    ).all()
    return {"pending_approvals": [Waiting(p, second_admin_refusal(viewer, p)) for p in pending]}
