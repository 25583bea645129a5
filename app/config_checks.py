"""Settings checked at start-up, so a bad value stops the portal with a clear message instead
of breaking pages later.

- Durations may be given as a ``timedelta`` (config classes, ``instance/config.py``), a number
  of seconds (``LEADDESK_SESSION_IDLE_TIMEOUT=1800``) or a string with a unit (``"30m"``,
  ``"12h"``, ``"15 minutes"``); anything else is refused by name, as is a
  ``DESCRIPTOR_RUNTIME`` other than ``onnx`` or ``dlib``.
- Production refuses to start with a guessable ``SECRET_KEY``, without ``TRUSTED_HOSTS``,
  with the audit checkpoint key inside the instance folder (beside the database it protects)
  or with the shipped placeholder unit contact.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import Flask

from app.config import DEV_SECRET_KEY, PLACEHOLDER_UNIT_AGENCY, PLACEHOLDER_UNIT_CONTACT

DURATION_SETTINGS = (
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "LOCKOUT_WINDOW",
    "FRESH_SIGN_IN_WINDOW",
    "APPROVAL_WINDOW",
    "UPLOAD_RATE_WINDOW",
    "SESSION_WARNING_BEFORE",
)
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*?)s?\s*$", re.IGNORECASE)
MIN_SECRET_BITS = 128


def parse_duration(name: str, value) -> timedelta:
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, bool):
        raise RuntimeError(f"{name} must be a duration (seconds, or e.g. '30m'), not {value!r}.")
    elif isinstance(value, int | float):
        parsed = timedelta(seconds=value)
    else:
        match = _DURATION.match(str(value))
        unit = match.group(2).lower() if match else None
        if match is None or (unit and unit not in _UNITS):
            raise RuntimeError(
                f"{name} must be a duration such as 1800 (seconds), '30m' or '12h'; got {value!r}."
            )
        parsed = timedelta(seconds=float(match.group(1)) * _UNITS.get(unit or "s", 1))
    if parsed <= timedelta(0):
        raise RuntimeError(f"{name} must be longer than zero; got {value!r}.")
    return parsed


def normalise_durations(app: Flask) -> None:
    for name in DURATION_SETTINGS:
        if name in app.config:
            app.config[name] = parse_duration(name, app.config[name])


def check_choices(app: Flask) -> None:
    """Settings with a fixed set of values: a wrong one stops the start, not a later search."""
    from app.matching.faces import RUNTIMES
    from app.matching.tuning import STRATEGIES

    for name, allowed in (("DESCRIPTOR_RUNTIME", RUNTIMES), ("SEARCH_STRATEGY", ("auto", *STRATEGIES))):
        if app.config.get(name) not in allowed:
            raise RuntimeError(f"{name} must be one of {', '.join(allowed)}; got {app.config.get(name)!r}.")


def secret_bits(secret: str) -> float:
    """A cautious estimate of the secret's entropy in bits: the least of what its characters
    carry, what the steps between neighbouring characters carry (so ``abcdef…`` or ``135797…``
    counts for little), and what one repetition of its shortest repeating unit carries (so
    ``abcdabcd…`` counts as ``abcd``)."""
    if not secret:
        return 0.0
    steps = "".join(chr(0x10000 + ord(b) - ord(a)) for a, b in itertools.pairwise(secret))
    unit = _repeating_unit(secret)
    return min(
        _shannon_bits(secret), _shannon_bits(steps) + 8, _shannon_bits(unit) if unit != secret else math.inf
    )


def _shannon_bits(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    per_char = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return per_char * len(text)


def _repeating_unit(text: str) -> str:
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def check_production_config(app: Flask) -> None:
    config = app.config
    secret = str(config.get("SECRET_KEY") or "")
    if not secret or secret == DEV_SECRET_KEY or len(secret) < 32 or secret_bits(secret) < MIN_SECRET_BITS:
        raise RuntimeError(
            "Production needs a real SECRET_KEY: 32+ random characters with enough entropy "
            '(e.g. python -c "import secrets; print(secrets.token_hex(32))"), in instance/config.py '
            "or LEADDESK_SECRET_KEY."
        )
    if not config.get("TRUSTED_HOSTS"):
        raise RuntimeError(
            "Production needs TRUSTED_HOSTS, e.g. LEADDESK_TRUSTED_HOSTS='[\"leaddesk.county.local\"]'."
        )
    _check_checkpoint_key(app)
    if config.get("UNIT_CONTACT") in (None, "", PLACEHOLDER_UNIT_CONTACT):
        raise RuntimeError(
            "Production needs UNIT_CONTACT: the unit's e-mail or phone that every report names "
            "(LEADDESK_UNIT_CONTACT)."
        )
    if config.get("UNIT_AGENCY_NAME") in (None, "", PLACEHOLDER_UNIT_AGENCY):
        raise RuntimeError("Production needs UNIT_AGENCY_NAME: the agency that owns the reports.")


def _check_checkpoint_key(app: Flask) -> None:
    key = app.config.get("AUDIT_CHECKPOINT_KEY")
    if key:
        if len(str(key)) < 32 or secret_bits(str(key)) < MIN_SECRET_BITS:
            raise RuntimeError("AUDIT_CHECKPOINT_KEY is too weak: use 32+ random characters.")
        return
    key_file = app.config.get("AUDIT_CHECKPOINT_KEY_FILE")
    instance = Path(app.instance_path).resolve()
    if not key_file:
        raise RuntimeError(
            "Production needs the audit checkpoint key outside the instance folder: set "
            "LEADDESK_AUDIT_CHECKPOINT_KEY, or LEADDESK_AUDIT_CHECKPOINT_KEY_FILE to a file elsewhere."
        )
    path = Path(key_file).resolve()
    if path == instance or instance in path.parents:
        raise RuntimeError(
            f"AUDIT_CHECKPOINT_KEY_FILE ({path}) is inside the instance folder, beside the database it "
            "protects: keep it elsewhere (another volume, a secrets store)."
        )
