"""What every blueprint's views share: a CSRF-only form and the commit-at-the-boundary step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash
from flask_wtf import FlaskForm

from app.extensions import db
from app.services.errors import ServiceError


class CsrfForm(FlaskForm):
    """A form with no fields: buttons that change something still carry a CSRF token."""


def commit_or_flash(action: Callable[[], Any], success: str) -> tuple[bool, Any]:
    """Run one service call: commit and flash ``success``, or roll back and flash its message."""
    try:
        result = action()
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return False, None
    db.session.commit()
    flash(success, "success")
    return True, result
