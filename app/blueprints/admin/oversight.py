"""The oversight dashboard and the transparency figures (counts only)."""

from __future__ import annotations

from flask import Response, current_app, render_template
from flask_login import current_user

from app.blueprints.admin import bp
from app.extensions import db
from app.security.access import admin_required
from app.services import dashboard as dashboard_service
from app.services import transparency
from app.services.audit import ObjectType, record_event


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
    db.session.commit()
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="transparency.{kind}"'},
    )
