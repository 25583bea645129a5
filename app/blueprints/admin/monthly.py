"""Monthly audits: generate, review the flags, clear them with a note, sign off, download."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.admin import bp
from app.blueprints.common import perform
from app.clock import utcnow
from app.extensions import db
from app.models import MonthlyAudit
from app.security.access import admin_required
from app.services.oversight import monthly_audit as oversight

from .forms import MonthForm, ReasonForm


def _monthly_or_404(month: str) -> MonthlyAudit:
    return db.first_or_404(select(MonthlyAudit).where(MonthlyAudit.month == month))


@bp.route("/monthly", methods=["GET", "POST"])
@admin_required
def monthly_audits():
    form = MonthForm()
    if form.validate_on_submit():
        done = perform(
            lambda: oversight.generate_monthly_audit(
                form.month.data.strip(), generated_by=current_user.username, actor=current_user
            ),
            f"Monthly audit {form.month.data} generated.",
        )
        if done.ok:
            return redirect(url_for("admin.monthly_audits"))
    audits = db.session.scalars(select(MonthlyAudit).order_by(MonthlyAudit.month.desc())).all()
    form.month.data = form.month.data or oversight.previous_month(utcnow().date())
    return render_template("admin/monthly_list.html", audits=audits, form=form)


@bp.route("/monthly/current")
@admin_required
def monthly_preview():
    month, rows, flags = oversight.preview_current_month(actor=current_user)
    return render_template("admin/monthly_preview.html", month=month, rows=rows, flags=flags)


@bp.route("/monthly/<month>")
@admin_required
def monthly_audit(month: str):
    audit = _monthly_or_404(month)
    oversight.record_monthly_view(audit, actor=current_user)
    return render_template(
        "admin/monthly.html",
        audit=audit,
        rows=audit.figures,
        clear_form=ReasonForm(),
        sign_form=ReasonForm(prefix="sign"),
    )


@bp.route("/monthly/<month>/flags/<int:flag_id>/clear", methods=["POST"])
@admin_required
def clear_flag(month: str, flag_id: int):
    audit = _monthly_or_404(month)
    flag = next((f for f in audit.flags if f.id == flag_id), None)
    form = ReasonForm()
    if flag is not None and form.validate_on_submit():
        perform(
            lambda: oversight.clear_flag(flag, actor=current_user, note=form.reason.data), "Flag cleared."
        )
    else:
        flash("A note is required to clear a flag.", "error")
    return redirect(url_for("admin.monthly_audit", month=month))


@bp.route("/monthly/<month>/sign-off", methods=["POST"])
@admin_required
def sign_off(month: str):
    audit = _monthly_or_404(month)
    form = ReasonForm(prefix="sign")
    if form.validate_on_submit():
        perform(
            lambda: oversight.sign_off(audit, actor=current_user, note=form.reason.data),
            f"Monthly audit {month} signed off.",
        )
    else:
        flash("Add a sign-off note.", "error")
    return redirect(url_for("admin.monthly_audit", month=month))


@bp.route("/monthly/<month>/file.<any(pdf, csv):kind>")
@admin_required
def monthly_file(month: str, kind: str):
    audit = _monthly_or_404(month)
    done = perform(lambda: oversight.read_monthly_file(audit, kind, actor=current_user))
    if not done.ok:
        return redirect(url_for("admin.monthly_audit", month=month))
    return Response(
        done.value,
        mimetype="application/pdf" if kind == "pdf" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{month}.{kind}"'},
    )
