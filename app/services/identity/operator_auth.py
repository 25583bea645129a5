"""An operator proving who they are outside a browser (the command-line search): password and
a current TOTP code, through the sign-in page's own throttle, lockout and single-use codes."""

from __future__ import annotations

from app.clock import utcnow
from app.models import Outcome, User
from app.services.identity import mfa, signin
from app.services.oversight.audit import ObjectType, record_event


def authenticate_operator(username: str, password: str, code: str, *, address: str) -> User | None:
    """Both factors outside a browser (an operator at the command line): the same throttle,
    lockout and single-use codes as the sign-in page. None when either fails (audited, and
    counted toward the lock: the caller commits even then)."""
    result = signin.check_password(signin.reserve_attempt(username, address), password)
    user = result.user
    if user is None:
        return None
    attempt = signin.reserve_attempt(username, address, factor="totp", user=user)
    if attempt.refused is not None:
        return None
    secret = mfa.decrypt_secret(user.mfa_secret_encrypted) if user.mfa_secret_encrypted else None
    step = mfa.matching_step(secret, code, utcnow().timestamp()) if secret else None
    reason = "MFA code did not match" if step is None else None
    if step is not None and not signin.still_allowed(user):
        signin.finish_attempt(attempt, succeeded=False)
        return None
    if step is not None and not signin.use_code_step(user, step):
        reason = "MFA code already used"
    if reason is not None:
        signin.register_failure(user, attempt, reason)
        record_event(
            "auth.operator",
            actor=user,
            outcome=Outcome.FAILED,
            object_type=ObjectType.USER,
            object_id=user.id,
            reason=reason,
        )
        return None
    signin.finish_attempt(attempt, succeeded=True)
    record_event(
        "auth.operator",
        actor=user,
        object_type=ObjectType.USER,
        object_id=user.id,
        detail={"factors": ["password", "totp"], "channel": "cli"},
    )
    return user
