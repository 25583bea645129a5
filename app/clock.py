"""The one source of "now" for the app, so tests can move time (timeouts, expiries)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_override: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Timezone-aware current UTC time (or the test clock's)."""
    return _override() if _override is not None else datetime.now(UTC)


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Install a replacement clock (tests); ``None`` restores the real one."""
    global _override
    _override = source
