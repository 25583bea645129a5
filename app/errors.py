"""Error pages that say what happened and nothing about the inside of the system."""

from __future__ import annotations

import contextlib
import secrets

from flask import Flask, Response, g, make_response, render_template, request
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError, ServiceUnavailable

from app.extensions import db
from app.models import Outcome
from app.services.oversight.audit import ObjectType, record_event

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
    500: "The portal hit an unexpected error. It has been logged; please try again, and quote "
    "the incident number below if you call the unit.",
    503: "The portal cannot reach its database right now. Please try again in a moment.",
}


def _render(code: int, message: str | None = None, incident: str | None = None):
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=TITLES.get(code, "Error"),
            message=message or MESSAGES.get(code, "The request failed."),
            incident=incident,
        ),
        code,
    )


def unavailable() -> Response:
    """The 503 page, drawn as for a visitor: the signed-in user's details would come from the
    database that just failed."""
    g._login_user = AnonymousUserMixin()
    return make_response(_render(ServiceUnavailable.code))


def new_incident_id() -> str:
    return f"INC-{secrets.token_hex(4).upper()}"


def register(app: Flask) -> None:
    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # No template: building any URL for an untrusted Host would fail again.
        return "Bad request.", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        # A forged or stale form: refused, and recorded with who sent it and where.
        db.session.rollback()
        user = current_user if current_user and current_user.is_authenticated else None
        record_event(
            "security.csrf_failure",
            actor=user,
            outcome=Outcome.DENIED,
            object_type=ObjectType.ROUTE,
            object_id=request.endpoint,
            reason=error.description,
            detail={"method": request.method, "path": request.path},
        )
        return _render(400)

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
        return unavailable()

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        incident = new_incident_id()
        app.logger.exception("unhandled error, incident %s", incident)
        db.session.rollback()
        return _render(InternalServerError.code, incident=incident)
