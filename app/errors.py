"""Error pages that say what happened and nothing about the inside of the system."""

from __future__ import annotations

import contextlib

from flask import Flask, g, render_template
from flask_login import AnonymousUserMixin
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError, ServiceUnavailable

from app.extensions import db

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Access denied",
    404: "Not found",
    405: "Not allowed",
    413: "Upload too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}

MESSAGES = {
    400: "The request could not be understood. If you were filling in a form, go back and try again.",
    401: "Please sign in.",
    403: "You do not have access to this page.",
    404: "There is nothing here, or you do not have access to it.",
    405: "That action is not allowed on this page.",
    413: "The upload is larger than the portal accepts (20 MB per image, 10 images per request).",
    429: "Too many attempts. Wait a few minutes and try again.",
    500: "The portal hit an unexpected error. It has been logged; please try again.",
    503: "The portal cannot reach its database right now. Please try again in a moment.",
}


def _render(code: int, message: str | None = None):
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=TITLES.get(code, "Error"),
            message=message or MESSAGES.get(code, "The request failed."),
        ),
        code,
    )


def register(app: Flask) -> None:
    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # No template: building any URL for an untrusted Host would fail again.
        return "Bad request.", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        # Only 403 carries our own wording (e.g. why a search is refused); others stay generic.
        message = error.description if code == 403 and getattr(error, "description", None) else None
        if code == 403 and message == type(error).description:
            message = None
        return _render(code, message)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        app.logger.error("database error: %s", error.__class__.__name__)
        with contextlib.suppress(OperationalError):  # the connection is gone; the pool replaces it
            db.session.rollback()
        # The page must not touch the database, which the signed-in user's details would be
        # loaded from: it is shown as to a visitor.
        g._login_user = AnonymousUserMixin()
        return _render(ServiceUnavailable.code)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _render(InternalServerError.code)
