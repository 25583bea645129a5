"""The oversight dashboard and the transparency figures (counts only)."""

from __future__ import annotations

from flask import Response, current_app, render_template
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import Optional, Regexp

from app.blueprints.admin import bp
from app.blueprints.common import QueryForm
from app.clock import utcnow
from app.security.access import admin_required
from app.services.oversight import dashboard as dashboard_service
from app.services.oversight import monthly_audit, transparency
from app.services.oversight.audit import ObjectType, record_event
from app.services.policy.clause_map import evidence_for


class MonthQueryForm(QueryForm):
    month = StringField("Month", validators=[Optional(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$")])


@bp.route("/")
@admin_required
def dashboard():
    return render_template("admin/dashboard.html", **dashboard_service.dashboard())


@bp.route("/transparency")
@admin_required
def transparency_figures():
    rows = transparency.transparency_rows(transparency.last_months(12))
    return render_template("admin/transparency.html", rows=rows, columns=transparency.TRANSPARENCY_COLUMNS)


@bp.route("/transparency.<any(csv, pdf):kind>")
@admin_required
def transparency_export(kind: str):
    rows = transparency.transparency_rows(transparency.last_months(12))
    if kind == "csv":
        data, mimetype = transparency.transparency_csv(rows), "text/csv"
    else:
        data, mimetype = (
            transparency.transparency_pdf(rows, current_app.config["UNIT_NAME"]),
            "application/pdf",
        )
    record_event(
        "transparency.export", actor=current_user, object_type=ObjectType.TRANSPARENCY, detail={"kind": kind}
    )
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="transparency.{kind}"'},
    )


@bp.route("/policy")
@admin_required
def clause_map():
    """The policy clause by clause (read-only), with each clause's evidence in a month."""
    form = MonthQueryForm()
    month = (
        form.month.data
        if form.validate() and form.month.data
        else monthly_audit.previous_month(utcnow().date())
    )
    start, end = monthly_audit.month_bounds(month)
    return render_template("admin/clause_map.html", month=month, rows=evidence_for(start, end), form=form)
