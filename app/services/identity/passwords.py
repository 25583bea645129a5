"""Password rules (CJIS 5.6.2.1.1, after NIST SP 800-63B): length, not common, no
composition rules; PBKDF2-HMAC-SHA256 hashing."""

from __future__ import annotations

from functools import cache
from importlib import resources

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

# Verified against when the username is unknown, so timing does not reveal which usernames
# exist. Its value is irrelevant; the iteration count must match real hashes.
_DUMMY_HASH_SOURCE = "not-a-real-password-for-timing-only"


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("app.data").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, username: str = "", full_name: str = "") -> list[str]:
    """Why ``password`` is not acceptable; empty when it is."""
    cfg = current_app.config
    problems = []
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        problems.append(f"Use at least {cfg['PASSWORD_MIN_LENGTH']} characters.")
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        problems.append(f"Use at most {cfg['PASSWORD_MAX_LENGTH']} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        problems.append("This password is on the list of commonly used passwords; choose another.")
    elif len(set(password)) <= 2:
        problems.append("This password repeats one or two characters; choose another.")
    words = [username.lower(), *full_name.lower().split()]
    if any(len(w) >= 4 and w in lowered for w in words):
        problems.append("The password must not contain your username or name.")
    return problems


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    return _dummy_hash_for(method)


@cache
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash(_DUMMY_HASH_SOURCE, method=method)
