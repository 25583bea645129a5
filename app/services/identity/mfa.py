"""TOTP second factor (RFC 6238) with secrets encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from app.models import User

STEP_SECONDS = 30
ALLOWED_DRIFT_STEPS = 1  # at most one step either side (CJIS: a window of +/- 1)


def _fernet() -> Fernet:
    key = current_app.config.get("MFA_ENCRYPTION_KEY")
    if not key:
        # Derive a dedicated key so the raw SECRET_KEY is never the encryption key.
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"leaddesk-mfa", info=b"totp-secret"
        ).derive(current_app.config["SECRET_KEY"].encode())
        key = base64.urlsafe_b64encode(derived)
    return Fernet(key)


def new_secret() -> str:
    return pyotp.random_base32()


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key: the operator changed SECRET_KEY or the MFA key
        raise RuntimeError("MFA secret cannot be decrypted with the configured key") from exc


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.username, issuer_name=current_app.config["TOTP_ISSUER"]
    )


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG markup (no external image, no script)."""
    # a viewBox and no fixed size: the page scales it whole (a fixed size squeezed by CSS clipped it)
    return segno.make(uri, error="m").svg_inline(omitsize=True, dark="#111", light="#fff")


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code equals ``code`` (within the drift window), or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now // STEP_SECONDS)
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def secret_fingerprint(secret: str) -> str:
    """A short non-reversible tag for audit detail (never the secret itself)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
