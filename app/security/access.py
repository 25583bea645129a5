"""Who may reach which route: one rule per view, checked before every request.

Deny by default: a view without a rule is refused, and a test walks the URL map to prove
every route has one. The decorators only attach the rule; ``enforce_access`` applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Outcome, Role, User
from app.services.identity.accounts import missing_agreements, search_eligibility, sees_agency
from app.services.identity.need_to_know import may_open
from app.services.identity.sessions import load_session, touch_session
from app.services.oversight.audit import OBJECT_TYPE_OF_TABLE, record_event

F = TypeVar("F", bound=Callable)

SESSION_TOKEN_KEY = "sid"  # noqa: S105 - the cookie key, not a secret  # nosec B105


@dataclass(frozen=True)
class AccessRule:
    public: bool = False
    roles: frozenset[Role] | None = None  # None: any signed-in user
    allow_pending_mfa: bool = False  # reachable between the password and the TOTP step
    certified: bool = False  # needs a current FBI/LACRIS training certification
    # Reviewers and administrators need a current certification here (requesters do not):
    # pages that show probes, decisions or reports (Training: "personnel accessing the facial
    # recognition system shall have successfully completed training").
    certified_staff: bool = False
    # Reviewers need a current certification here, administrators (overseeing) do not: the
    # queue, which names requests, agencies and purposes.
    reviewers_certified: bool = False
    # Reached by a peer unit only, proven by its client certificate (the interconnect's API):
    # no session, no CSRF token, the peer in ``g.peer``.
    peer_unit: bool = False


def _attach(rule: AccessRule) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorator


public = _attach(AccessRule(public=True))
signed_in = _attach(AccessRule())
mfa_pending_allowed = _attach(AccessRule(allow_pending_mfa=True))
peer_unit_required = _attach(AccessRule(peer_unit=True))


def roles_required(
    *roles: Role, certified: bool = False, certified_staff: bool = False, reviewers_certified: bool = False
) -> Callable[[F], F]:
    return _attach(
        AccessRule(
            roles=frozenset(roles),
            certified=certified,
            certified_staff=certified_staff,
            reviewers_certified=reviewers_certified,
        )
    )


requester_required = roles_required(Role.REQUESTER)
reviewer_required = roles_required(Role.REVIEWER)
admin_required = roles_required(Role.ADMIN)
staff_required = roles_required(Role.REVIEWER, Role.ADMIN)
queue_required = roles_required(Role.REVIEWER, Role.ADMIN, reviewers_certified=True)
certified_staff_required = roles_required(Role.REVIEWER, Role.ADMIN, certified=True)
# Search work: reviewers, and an administrator with a current certification acting as a
# third reviewer; the services decide by the capacity held.


def rule_for_endpoint(endpoint: str) -> AccessRule | None:
    if endpoint == "static":
        return AccessRule(public=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def load_user_session() -> None:
    """Resolve the cookie's token to a live server-side session (or none)."""
    g.user_session = None
    token = session.get(SESSION_TOKEN_KEY)
    if not token:
        return
    user_session = load_session(token)
    if user_session is None:
        session.pop(SESSION_TOKEN_KEY, None)
        g.session_expired = True
        return
    touch_session(user_session)  # recorded at most every 15 s, committed with the request
    g.user_session = user_session


def deny(
    reason: str,
    *,
    status: int = 403,
    object_type: str | None = None,
    object_id=None,
    shown: str | None = None,
) -> None:
    """Audit a refused access (``reason``, which may name internals) on its own (what the
    request did before is rolled back; the commit point keeps the record), and abort with
    ``shown`` (or ``reason``) as the page's message."""
    db.session.rollback()
    user = current_user if current_user.is_authenticated else None
    record_event(
        "access.denied",
        actor=user,
        outcome=Outcome.DENIED,
        object_type=object_type or "route",
        object_id=object_id if object_id is not None else request.endpoint,
        reason=reason,
        detail={"method": request.method, "path": request.path, "status": status},
    )
    abort(status, description=(shown or reason) if status == 403 else None)


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _admit_peer():
    """The peer unit this connection's certificate proves, or a refusal (audited, JSON)."""
    from app.services.interconnect import peers, trust

    try:
        g.peer = peers.connecting_peer(request.environ)
    except trust.PeerRefused as err:
        db.session.rollback()
        record_event(
            "interconnect.refused",
            actor=None,
            outcome=Outcome.DENIED,
            object_type="route",
            object_id=request.endpoint,
            reason=err.message,
            detail={"path": request.path},
        )
        return {"error": f"refused: {err.message}"}, 403
    return None


def enforce_access():
    endpoint = request.endpoint
    if endpoint is None:
        return None  # routing already failed: 404 or 405 follows
    rule = rule_for_endpoint(endpoint)
    if rule is None:
        current_app.logger.error("route %s has no access rule; refused", endpoint)
        abort(403)
    if rule.public:
        return None
    if rule.peer_unit:
        return _admit_peer()
    user_session = g.get("user_session")
    if user_session is None:
        if g.get("session_expired"):
            flash("Your session has ended. Please sign in again.", "info")
        next_url = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=next_url))
    if user_session.mfa_verified_at is None and not rule.allow_pending_mfa:
        return redirect(url_for("auth.mfa"))
    user: User = user_session.user
    if (
        user.must_change_password
        and user_session.mfa_verified_at is not None
        and endpoint not in ("auth.change_password", "auth.logout")
    ):
        flash("Choose a new password before you continue.", "info")
        return redirect(url_for("auth.change_password"))
    if (
        user_session.mfa_verified_at is not None
        and endpoint not in ("auth.agreements", "auth.logout", "auth.change_password")
        and missing_agreements(user)
    ):
        return redirect(url_for("auth.agreements", next=request.full_path.rstrip("?")))
    if rule.roles is not None and user.role not in rule.roles:
        deny(
            f"role {user.role} may not use {endpoint}",
            shown=f"Your role ({user.role}) does not give access to this page.",
        )
    if (
        rule.certified
        or (rule.certified_staff and user.role is not Role.REQUESTER)
        or (rule.reviewers_certified and user.role is Role.REVIEWER)
    ):
        eligibility = search_eligibility(user)
        if not eligibility:
            deny(eligibility.message)
    return None


def require_need_to_know(search_request) -> None:
    """Staff outside their work are sent to give their reason first (recorded, audited)."""
    user: User = current_user
    if user.role is Role.REQUESTER or may_open(search_request, user):
        return
    record_event(
        "access.need_to_know",
        actor=user,
        outcome=Outcome.DENIED,
        object_type="request",
        object_id=search_request.id,
        reason="outside the reviewer's work and no recorded reason",
        detail={"path": request.path},
    )
    abort(
        redirect(url_for("review.justify", request_id=search_request.id, next=request.full_path.rstrip("?")))
    )


def get_for_agency_or_404(model, object_id: int, *, agency_id_of: Callable[[object], int]):
    """Fetch ``model`` by id; a requester from another agency gets 404, and it is audited.

    Staff (reviewers, admins) see every agency's objects.
    """
    obj = db.session.get(model, object_id)
    user: User = current_user
    if obj is not None and sees_agency(user, agency_id_of(obj)):
        return obj
    reason = "object does not exist" if obj is None else "object belongs to another agency"
    deny(reason, status=404, object_type=OBJECT_TYPE_OF_TABLE[model.__tablename__], object_id=object_id)
    return None  # unreachable: deny aborts
