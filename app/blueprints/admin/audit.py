"""The audit trail in the open: browse with filters, export, check the chain. Browsing the
trail is itself audited."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Response, abort, render_template
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.blueprints.admin import bp
from app.blueprints.common import CsrfForm, QueryForm, choices
from app.clock import utcnow
from app.documents.csv_export import csv_bytes
from app.extensions import db
from app.models import AuditEvent, Outcome
from app.security.access import admin_required
from app.services.oversight.audit import ObjectType, record_event, verify_chain
from app.services.oversight.checkpoints import verify_checkpoints

PAGE_SIZE = 50
CSV_COLUMNS = [
    "seq",
    "occurred_at",
    "actor_username",
    "actor_agency",
    "source_address",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "reason",
    "detail",
    "prev_hash",
    "hash",
]


class AuditFilterForm(QueryForm):
    user = StringField("User", validators=[Optional(), Length(max=64)])
    agency = StringField("Agency", validators=[Optional(), Length(max=20)])
    action = StringField("Action", validators=[Optional(), Length(max=64)])
    outcome = SelectField(
        "Outcome",
        choices=choices(((o.value, o.value) for o in Outcome), "Any"),
        validators=[Optional()],
    )
    object_type = SelectField(
        "Object",
        choices=choices(((t.value, t.value) for t in ObjectType), "Any"),
        validators=[Optional()],
    )
    object_id = StringField("Object id", validators=[Optional(), Length(max=64)])
    case = StringField("Case number", validators=[Optional(), Length(max=60)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(1, 100_000)])

    def filters(self) -> dict[str, str]:
        return {
            name: str(field.data) for name, field in self._fields.items() if field.data and name != "page"
        }


def _day(value) -> datetime:
    return datetime.combine(value, time.min).replace(tzinfo=utcnow().tzinfo)


def _audit_query(form: AuditFilterForm):
    stmt = select(AuditEvent)
    if form.user.data:
        stmt = stmt.where(AuditEvent.actor_username == form.user.data.strip())
    if form.agency.data:
        stmt = stmt.where(AuditEvent.actor_agency == form.agency.data.strip().upper())
    if form.action.data:
        stmt = stmt.where(AuditEvent.action.startswith(form.action.data.strip()))
    if form.outcome.data:
        stmt = stmt.where(AuditEvent.outcome == Outcome(form.outcome.data))
    if form.object_type.data:
        stmt = stmt.where(AuditEvent.object_type == form.object_type.data)
    if form.object_id.data:
        stmt = stmt.where(AuditEvent.object_id == form.object_id.data.strip())
    if form.case.data:
        pattern = f"%{form.case.data.strip()}%"
        stmt = stmt.where(AuditEvent.reason.like(pattern) | AuditEvent.detail.like(pattern))
    if form.since.data:
        stmt = stmt.where(AuditEvent.occurred_at >= _day(form.since.data))
    if form.until.data:
        stmt = stmt.where(AuditEvent.occurred_at < _day(form.until.data) + timedelta(days=1))
    return stmt


def _valid_filters() -> AuditFilterForm:
    form = AuditFilterForm()
    if not form.validate():
        abort(400)
    return form


@bp.route("/audit")
@admin_required
def audit():
    form = _valid_filters()
    page = db.paginate(
        _audit_query(form).order_by(AuditEvent.seq.desc()),
        page=form.page.data or 1,
        per_page=PAGE_SIZE,
        error_out=False,
    )
    record_event(
        "audit.browse",
        actor=current_user,
        object_type=ObjectType.AUDIT,
        detail={"filters": form.filters(), "page": page.page},
    )
    return render_template(
        "admin/audit.html", events=page.items, pagination=page, form=form, args=form.filters()
    )


@bp.route("/audit.csv")
@admin_required
def audit_csv():
    form = _valid_filters()
    events = db.session.scalars(_audit_query(form).order_by(AuditEvent.seq)).all()
    rows = ([getattr(event, column) for column in CSV_COLUMNS] for event in events)
    data = csv_bytes(CSV_COLUMNS, rows)
    record_event(
        "audit.export",
        actor=current_user,
        object_type=ObjectType.AUDIT,
        detail={"rows": len(events), "filters": form.filters()},
    )
    return Response(
        data, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'}
    )


@bp.route("/audit/verify", methods=["GET", "POST"])
@admin_required
def audit_verify():
    report, checkpoints = None, []
    form = CsrfForm()
    if form.validate_on_submit():
        report, checkpoints = verify_chain(), verify_checkpoints()
        record_event(
            "audit.verify",
            actor=current_user,
            object_type=ObjectType.AUDIT,
            outcome=Outcome.SUCCESS if report.ok and not checkpoints else Outcome.FAILED,
            detail={
                "events": report.events_checked,
                "problem": report.problem,
                "checkpoints": len(checkpoints),
            },
        )
    return render_template("admin/verify.html", report=report, checkpoints=checkpoints, form=form)
