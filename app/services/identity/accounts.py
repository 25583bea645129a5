"""Agencies, user accounts and training certifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.models import Agency, CertificationProvider, PolicyAcknowledgement, Role, TrainingCertification, User
from app.services.identity.passwords import hash_password, password_problems, verify_password
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import NotFound, ServiceError


def speaks_for_agency(user: User, agency_id: int) -> bool:
    """The one rule of agency scoping: a requester acts for their own agency only."""
    return user.role is Role.REQUESTER and user.agency_id == agency_id


def sees_agency(user: User, agency_id: int) -> bool:
    """Staff see every agency's objects (within need to know); a requester their own."""
    return user.role is not Role.REQUESTER or user.agency_id == agency_id


def get_agency_by_code(code: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(func.upper(Agency.code) == code.upper()))
    if agency is None:
        raise NotFound(f"No agency with code {code!r}.", field="agency")
    return agency


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_agency(
    *,
    actor: User | None,
    name: str,
    code: str,
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    local_policy_title: str = "",
    local_policy_adopted_on: date | None = None,
) -> Agency:
    name, code = name.strip(), code.strip().upper()
    if not name:
        raise ServiceError("The agency needs a name.", field="name")
    if not code or not code.replace("-", "").isalnum() or len(code) > 20:
        raise ServiceError("The code must be 1-20 letters, digits or hyphens.", field="code")
    if db.session.scalar(select(Agency).where(func.upper(Agency.code) == code)):
        raise ServiceError(f"An agency with code {code} already exists.", field="code")
    if db.session.scalar(select(Agency).where(func.lower(Agency.name) == name.lower())):
        raise ServiceError(f"An agency named {name!r} already exists.", field="name")
    agency = Agency(
        name=name,
        code=code,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    db.session.add(agency)
    set_local_policy(agency, title=local_policy_title, adopted_on=local_policy_adopted_on)
    db.session.flush()
    record_event(
        "agency.create",
        actor=actor,
        object_type="agency",
        object_id=agency.id,
        detail={"name": name, "agency_code": code, "local_policy": agency.local_policy},
    )
    return agency


def set_local_policy(agency: Agency, *, title: str, adopted_on: date | None) -> None:
    """Record (or clear) the agency's own facial recognition policy, as the unit has it on file
    (who did it is in the audit event of the change that calls this)."""
    title = (title or "").strip()[:200] or None
    if (title, adopted_on if title else None) == (agency.local_policy_title, agency.local_policy_adopted_on):
        return
    if title is not None and len(title) < 5:
        raise ServiceError(
            "Give the policy's title and number as the agency names it.", field="local_policy_title"
        )
    agency.local_policy_title = title
    agency.local_policy_adopted_on = adopted_on if title else None
    agency.local_policy_recorded_at = utcnow()


def create_user(
    *,
    actor: User | None,
    username: str,
    full_name: str,
    role: Role,
    agency: Agency,
    password: str,
    email: str | None = None,
    phone: str | None = None,
    must_change_password: bool = False,
    reason: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise ServiceError(
            "Usernames are 1-64 letters, digits, dots, hyphens or underscores.", field="username"
        )
    if get_user_by_username(username) is not None:
        raise ServiceError(f"The username {username!r} is taken.", field="username")
    problems = password_problems(password, username=username, full_name=full_name)
    if problems:
        raise ServiceError(" ".join(problems), field="password")
    user = User(
        username=username,
        full_name=full_name.strip() or username,
        email=email,
        phone=phone,
        role=Role(role),
        agency=agency,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        must_change_password=must_change_password,
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.create",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username, "role": str(user.role), "agency_code": agency.code},
    )
    return user


def new_password_problem(user: User, new_password: str) -> str | None:
    problems = password_problems(new_password, username=user.username, full_name=user.full_name)
    return " ".join(problems) if problems else None


def set_password(user: User, new_password: str) -> None:
    """The user's new password, once the caller has proved who is asking."""
    problem = new_password_problem(user, new_password)
    if problem:
        raise ServiceError(problem, field="new_password")
    if verify_password(user.password_hash, new_password):
        raise ServiceError("Choose a password different from the current one.", field="new_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    db.session.flush()
    record_event("user.password_change", actor=user, object_type="user", object_id=user.id)


def lock_user(*, actor: User | None, user: User, reason: str) -> None:
    user.locked = True
    user.locked_at = utcnow()
    db.session.flush()
    record_event(
        "user.lock",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username},
    )


def unlock_user(*, actor: User | None, user: User, reason: str | None = None) -> None:
    if not user.locked and user.failed_login_count == 0:
        raise ServiceError(f"{user.username} is not locked.")
    user.locked = False
    user.locked_at = None
    user.failed_login_count = 0
    user.first_failed_login_at = None
    user.failures_cleared_at = utcnow()  # the failures that locked it no longer count
    db.session.flush()
    record_event(
        "user.unlock",
        actor=actor,
        object_type="user",
        object_id=user.id,
        reason=reason,
        detail={"username": user.username},
    )


def certify_user(
    *,
    actor: User | None,
    user: User,
    provider: CertificationProvider,
    number: str,
    completed_on: date,
    expires_on: date,
) -> TrainingCertification:
    if actor is not None and actor.id == user.id:
        raise ServiceError("Nobody may record their own training certification.")
    if user.role is Role.REQUESTER:
        raise ServiceError(f"{user.username} is a requester; reviewers and administrators are certified.")
    number = number.strip()
    if not number:
        raise ServiceError("The certificate number is required.", field="number")
    if expires_on <= completed_on:
        raise ServiceError("The expiry date must be after the completion date.", field="expires_on")
    if completed_on > utcnow().date():
        raise ServiceError("The completion date cannot be in the future.", field="completed_on")
    cert = TrainingCertification(
        user=user,
        provider=CertificationProvider(provider),
        certificate_number=number,
        completed_on=completed_on,
        expires_on=expires_on,
        recorded_by_id=actor.id if actor else None,
    )
    db.session.add(cert)
    db.session.flush()
    record_event(
        "certification.add",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={
            "username": user.username,
            "provider": str(cert.provider),
            "certificate_number": number,
            "completed_on": completed_on.isoformat(),
            "expires_on": expires_on.isoformat(),
        },
    )
    return cert


@dataclass(frozen=True)
class SearchEligibility:
    """Whether a user may run face searches today, and if not, why and since when."""

    allowed: bool
    message: str
    certification: TrainingCertification | None = None

    def __bool__(self) -> bool:
        return self.allowed


def search_eligibility(user: User, on: date | None = None) -> SearchEligibility:
    on = on or utcnow().date()
    if user.role is Role.REQUESTER:
        return SearchEligibility(False, "Only facial reviewers run searches.")
    current = [c for c in user.certifications if c.is_current(on)]
    if current:
        cert = max(current, key=lambda c: c.expires_on)
        return SearchEligibility(
            True,
            f"{cert.provider} certification {cert.certificate_number} is current until "
            f"{cert.expires_on:%Y-%m-%d}.",
            cert,
        )
    past = [c for c in user.certifications if c.expires_on < on]
    if past:
        last = max(past, key=lambda c: c.expires_on)
        return SearchEligibility(
            False,
            f"You cannot run searches: your {last.provider} training certification "
            f"{last.certificate_number} expired on {last.expires_on:%Y-%m-%d}. "
            "Ask your local administrator to record your renewal.",
            last,
        )
    return SearchEligibility(
        False,
        "You cannot run searches: no FBI or LACRIS facial recognition training certification "
        f"is on record for you (account created {user.created_at:%Y-%m-%d}). "
        "Ask your local administrator to record it.",
    )


# --- signed acknowledgements (the policies and agreements a role works under) ----------------


@dataclass(frozen=True)
class Agreement:
    key: str
    title: str
    version: str
    statement: str


def agreements_for(user: User) -> list[Agreement]:
    """What ``user``'s role must have signed, in the versions the unit's configuration names."""
    return [
        Agreement(key, spec["title"], spec["version"], spec["statement"])
        for key, spec in current_app.config["AGREEMENTS"].items()
        if str(user.role) in spec["roles"]
    ]


def missing_agreements(user: User) -> list[Agreement]:
    signed = {
        (a.document, a.version)
        for a in db.session.scalars(
            select(PolicyAcknowledgement).where(PolicyAcknowledgement.user_id == user.id)
        )
    }
    return [a for a in agreements_for(user) if (a.key, a.version) not in signed]


def acknowledge(user: User, agreement: Agreement, *, typed_name: str) -> PolicyAcknowledgement:
    """Record that ``user`` signed ``agreement`` (typed full name, like the request form)."""
    if " ".join(typed_name.split()).casefold() != " ".join(user.full_name.split()).casefold():
        raise ServiceError(
            f"Type your full name as on your account ({user.full_name}) to sign.", field="typed_name"
        )
    record = PolicyAcknowledgement(
        user_id=user.id, document=agreement.key, version=agreement.version, typed_name=typed_name.strip()
    )
    db.session.add(record)
    db.session.flush()
    record_event(
        "user.acknowledge",
        actor=user,
        object_type="user",
        object_id=user.id,
        detail={"document": agreement.key, "version": agreement.version},
    )
    return record


def set_sign_in_with(user: User, how: str, *, actor: User | None, reason: str) -> None:
    """Whether the account's password is checked by the county directory or by LeadDesk
    ("local": the break-glass administrator). Audited as a change to the account."""
    if how not in ("local", "directory"):
        raise ServiceError("An account signs in with 'local' or 'directory'.")
    before, user.sign_in_with = user.sign_in_with, how
    db.session.flush()
    record_event(
        "user.update",
        actor=actor,
        object_type=ObjectType.USER,
        object_id=user.id,
        reason=reason,
        detail={"sign_in_with": {"before": before, "after": how}, "username": user.username},
    )
