"""Report issuance and delivery: issue, correct, download, verify a copy, lead outcomes,
and the sealed-record procedure."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.blueprints.common import CsrfForm as ActionForm
from app.blueprints.common import commit_or_flash
from app.extensions import db
from app.models import LeadOutcome, Report, Role, SearchRequest
from app.security.access import (
    admin_required,
    get_for_agency_or_404,
    requester_required,
    signed_in,
    staff_required,
)
from app.services import gallery as gallery_service
from app.services import reports as service
from app.services.errors import ServiceError

bp = Blueprint("reports", __name__)
viewer_required = signed_in  # agency scoping is enforced per object below


class IssueForm(FlaskForm):
    comments = TextAreaField(
        "Comments",
        validators=[Optional(), Length(max=5000)],
        description="Pertinent information: recent arrests, contact locations.",
    )


class CorrectForm(FlaskForm):
    reason = StringField("Why the report is corrected", validators=[DataRequired(), Length(max=500)])
    comments = TextAreaField("Comments", validators=[Optional(), Length(max=5000)])


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "What became of the lead",
        choices=[SelectChoice(o.value, o.label) for o in LeadOutcome],
        validate_choice=False,
    )
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class VerifyForm(FlaskForm):
    pdf = FileField("Report PDF", validators=[DataRequired()])


class SealForm(FlaskForm):
    booking_number = StringField("Booking number", validators=[DataRequired(), Length(max=40)])
    reference = StringField("Sealing order or notice reference", validators=[DataRequired(), Length(max=100)])


def _report(report_id: int) -> Report:
    return get_for_agency_or_404(Report, report_id, agency_id_of=lambda r: r.request.agency_id)


@bp.route("/issue/<int:request_id>", methods=["POST"])
@staff_required
def issue(request_id: int):
    search_request = db.session.get(SearchRequest, request_id) or abort(404)
    form = IssueForm()
    to = url_for("review.workspace", request_id=request_id)
    if not form.validate_on_submit():
        abort(400)
    try:
        report = service.issue_report(search_request, actor=current_user, comments=form.comments.data or "")
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(to)
    db.session.commit()
    flash(f"Report {report.report_number} issued to {search_request.agency.name}.", "success")
    return redirect(url_for("reports.detail", report_id=report.id))


@bp.route("/<int:report_id>")
@viewer_required
def detail(report_id: int):
    report = _report(report_id)
    if report.superseded and current_user.role is Role.REQUESTER:
        flash("This version was superseded by a correction.", "warning")
    return render_template(
        "reports/detail.html",
        report=report,
        versions=service.reports_for(report.request),
        correct_form=CorrectForm(),
        outcome_form=OutcomeForm(),
        action_form=ActionForm(),
        lead_notice=True,
    )


@bp.route("/<int:report_id>/download")
@viewer_required
def download(report_id: int):
    report = _report(report_id)
    try:
        data = service.read_report(report, actor=current_user)
    except ServiceError as err:
        db.session.commit()
        flash(err.message, "error")
        return redirect(url_for("reports.detail", report_id=report_id))
    db.session.commit()
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{report.report_number}.pdf"'
    return response


@bp.route("/<int:report_id>/correct", methods=["POST"])
@staff_required
def correct(report_id: int):
    report = _report(report_id)
    form = CorrectForm()
    if not form.validate_on_submit():
        flash("Give the reason for the correction.", "error")
        return redirect(url_for("reports.detail", report_id=report_id))
    try:
        new = service.correct_report(
            report, actor=current_user, reason=form.reason.data, comments=form.comments.data or ""
        )
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("reports.detail", report_id=report_id))
    db.session.commit()
    flash(f"Report {new.report_number} supersedes {report.report_number}.", "success")
    return redirect(url_for("reports.detail", report_id=new.id))


@bp.route("/<int:report_id>/outcome", methods=["POST"])
@requester_required
def outcome(report_id: int):
    report = _report(report_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            service.record_lead_outcome(
                report, actor=current_user, outcome=LeadOutcome(form.outcome.data), note=form.note.data or ""
            )
        except (ServiceError, ValueError) as err:
            db.session.rollback()
            flash(getattr(err, "message", "Choose an outcome."), "error")
        else:
            db.session.commit()
            flash("Thank you: the outcome of the lead is recorded.", "success")
    return redirect(url_for("reports.detail", report_id=report_id))


@bp.route("/<int:report_id>/destroyed", methods=["POST"])
@requester_required
def confirm_destroyed(report_id: int):
    report = _report(report_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: service.confirm_destroyed(report, actor=current_user), "Destruction confirmed and recorded."
    )
    return redirect(url_for("reports.detail", report_id=report_id))


@bp.route("/verify", methods=["GET", "POST"])
@signed_in
def verify():
    form = VerifyForm()
    result = None
    if form.validate_on_submit():
        data = request.files[form.pdf.name].read()
        sha, report = service.check_copy(data, actor=current_user)
        db.session.commit()
        visible = report is not None and (
            current_user.role is not Role.REQUESTER or report.request.agency_id == current_user.agency_id
        )
        result = {"sha256": sha, "report": report if visible else None, "matches": report is not None}
    return render_template("reports/verify.html", form=form, result=result)


@bp.route("/sealed", methods=["GET", "POST"])
@admin_required
def sealed():
    form = SealForm()
    if form.validate_on_submit():
        try:
            booking = gallery_service.get_booking(form.booking_number.data.strip())
            gallery_service.seal_booking(booking, reference=form.reference.data, actor=current_user)
        except ServiceError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            db.session.commit()
            flash(
                f"Booking {booking.booking_number} sealed: it has left every search, and the agencies "
                "holding reports that named it have been notified.",
                "success",
            )
            return redirect(url_for("reports.sealed"))
    return render_template("reports/sealed.html", form=form, outstanding=service.outstanding_seal_notices())
