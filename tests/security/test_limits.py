"""Heavy hands (finding 8 of the second red-team pass): five free-text fields had no length
limit; a 30 MB reason was stored, each staff read copied it into an audit row and the request
PDF took 2 min 48 s. Every field has a limit, the service refuses beyond it, and the audit
keeps a bounded amount of any text."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Regexp

import app.blueprints as blueprints
from app.extensions import db
from app.models import AuditEvent, Role, SearchRequest
from app.services.intake import requests as request_service
from app.services.oversight.audit import MAX_AUDIT_TEXT, record_event
from app.services.platform.errors import ServiceError
from tests.support.intake import submit, valid_form
from tests.support.photos import photo


def forms():
    for module in pkgutil.walk_packages(blueprints.__path__, "app.blueprints."):
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, FlaskForm) and cls.__module__ == loaded.__name__:
                yield cls


def test_every_text_field_of_every_form_has_a_limit():
    unbounded = []
    for form in forms():
        for name, field in vars(form).items():
            if getattr(field, "field_class", None) not in (StringField, TextAreaField, PasswordField):
                continue
            validators = field.kwargs.get("validators", [])
            limited = any(
                (isinstance(v, Length) and v.max and v.max > 0) or isinstance(v, Regexp | AnyOf)
                for v in validators
            )
            if not limited:
                unbounded.append(f"{form.__module__}.{form.__name__}.{name}")
    assert unbounded == []


@pytest.mark.parametrize("field", ["reason", "situation", "reasonable_suspicion", "person_condition"])
def test_a_huge_field_is_refused_and_nothing_is_stored(auth, make_user, field):
    requester = make_user(Role.REQUESTER)
    auth.login(requester)
    huge = "robbery at the store " * 5_000  # 105,000 characters
    response = submit(auth, valid_form(requester, **{field: huge}), [photo("john_simm__1.jpg")])
    assert response.status_code == 200
    assert "characters" in response.get_data(as_text=True)
    stored = db.session.scalars(select(SearchRequest)).all()
    assert all(len(getattr(r, field) or "") <= request_service.TEXT_FIELDS[field] for r in stored)


def test_the_service_refuses_what_the_form_would(make_user):
    requester = make_user(Role.REQUESTER)
    draft = request_service.new_draft(requester=requester)
    fields = request_service.DraftFields(
        values={"reason": "x" * 5000},
        image_taken_on=None,
        affirmed=False,
        threat_to_life=None,
        person_at_risk=None,
        image_facts={},
    )
    with pytest.raises(ServiceError, match="at most 2,000 characters") as refused:
        request_service.save_draft(draft, fields, actor=requester)
    assert refused.value.field == "reason"


def test_the_audit_keeps_a_bounded_amount_of_any_text(app):
    event = record_event("request.view", actor=None, reason="r" * 100_000, detail={"note": "n" * 50_000})
    db.session.commit()
    stored = db.session.get(AuditEvent, event.seq)
    assert len(stored.reason) < MAX_AUDIT_TEXT + 40 and "(+98,000 characters)" in stored.reason
    assert len(stored.detail) < MAX_AUDIT_TEXT + 80
