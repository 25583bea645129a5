"""What every blueprint's views share: a CSRF-only form, the commit-at-the-boundary step and
how an image is sent."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Response, flash, send_file
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


def send_image(data: bytes, mimetype: str, download_name: str | None = None) -> Response:
    """A small image from bytes in hand (a stored file is read whole first): never cached, and
    no open file left behind when the browser revalidates (a 304 drops the response body
    without closing a file handle)."""
    return send_file(io.BytesIO(data), mimetype=mimetype, max_age=0, download_name=download_name)
