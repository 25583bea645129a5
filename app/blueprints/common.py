"""What every blueprint's views share: the one commit point, a CSRF-only form, validated
query strings, how an image is sent, and how a view's refusal becomes a page.

The commit point: a view never commits. ``perform(action)`` is one unit of work (committed,
or rolled back with its refusal audited); whatever else the request recorded (its reads,
refusals, a sign-in step) is committed once, after the view, by ``commit_point``. An error
page rolls back first, so a failed request leaves only its incident record.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import Flask, Response, abort, current_app, flash, request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms.fields.choices import SelectChoice

from app.errors import unavailable
from app.extensions import db
from app.models import Outcome
from app.services.oversight.audit import ACTIONS, record_event
from app.services.platform.errors import PermissionDenied, ServiceError

T = TypeVar("T")


class CsrfForm(FlaskForm):
    """A form with no fields: buttons that change something still carry a CSRF token."""


class QueryForm(FlaskForm):
    """Filters read from the query string: typed and range-checked, never trusted as given."""

    class Meta:
        csrf = False

    def __init__(self, *args, **kwargs):
        super().__init__(request.args, *args, **kwargs)


@dataclass(frozen=True)
class Done(Generic[T]):
    ok: bool
    value: T | None = None
    error: ServiceError | None = None


def audit_refusal(err: ServiceError) -> None:
    """Record a refused action: who, what, why; denied for a permission, failed otherwise."""
    user = current_user if current_user and current_user.is_authenticated else None
    action = err.audit_action or request.endpoint or ""
    record_event(
        action if action in ACTIONS else "action.refused",
        actor=user,
        outcome=Outcome.DENIED if isinstance(err, PermissionDenied) else Outcome.FAILED,
        object_type=err.object_type,
        object_id=err.object_id,
        reason=err.message[:1000],
        detail={"endpoint": request.endpoint, "method": request.method, **err.audit_detail},
    )


def perform(action: Callable[[], T], success: str | None = None, *, flash_error: bool = True) -> Done[T]:
    """One unit of work of a view that changes something (a page may do two: save, then
    submit, and the first stands even if the second is refused).

    Runs one service call and commits it; on a refusal rolls back all it did, audits the
    refusal in a transaction of its own, and (unless the page shows it another way) flashes
    the reason.
    """
    try:
        value = action()
    except ServiceError as err:
        db.session.rollback()
        audit_refusal(err)
        db.session.commit()
        if flash_error:
            flash(err.message, "error")
        return Done(False, None, err)
    db.session.commit()
    if success:
        flash(success, "success")
    return Done(True, value)


def register_commit_point(app: Flask) -> None:
    @app.after_request
    def commit_point(response: Response) -> Response:
        """What the request recorded and no unit of work committed (reads, refusals, a session
        touched), committed once after the view. A database that fails here answers 503."""
        try:
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            current_app.logger.exception("the commit at the end of the request failed")
            return unavailable()
        return response


def require_valid(form: FlaskForm) -> None:
    """For forms that are only buttons: a missing or stale CSRF token is a bad request."""
    if not form.validate_on_submit():
        abort(400)


def send_image(data: bytes, mimetype: str, download_name: str | None = None) -> Response:
    """A small image from bytes in hand (a stored file is read whole first): never cached, and
    no open file left behind when the browser revalidates (a 304 drops the response body
    without closing a file handle)."""
    return send_file(io.BytesIO(data), mimetype=mimetype, max_age=0, download_name=download_name)


def send_pdf(data: bytes, filename: str, *, inline: bool = False) -> Response:
    """A PDF made for this request, as a download (or shown in the browser, ``inline``)."""
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


def show_error(form: FlaskForm, err: ServiceError) -> None:
    """A service's refusal shown on the form that was sent, everything typed kept."""
    if err.field and err.field in form._fields:
        form[err.field].errors = [*form[err.field].errors, err.message]
    else:
        form.form_errors.append(err.message)


def choices(pairs, blank: str | None = None) -> list[SelectChoice]:
    """Select choices from (value, label) pairs or a dict, with an optional empty first choice."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return ([SelectChoice("", blank)] if blank is not None else []) + [
        SelectChoice(v, label) for v, label in items
    ]
