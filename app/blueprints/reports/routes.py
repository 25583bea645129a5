"""Report issuance and delivery: issue, correct, download, verify a copy, lead outcomes,
and the sealed-record procedure."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.blueprints.common import CsrfForm as ActionForm
from app.blueprints.common import perform, send_pdf
from app.extensions import db
from app.models import LeadOutcome, Report, Role, SearchRequest
from app.security.access import (
    admin_required,
    certified_staff_required,
    get_for_agency_or_404,
    requester_required,
    require_need_to_know,
    roles_required,
    signed_in,
)
from app.services.gallery import enrollment as gallery_service
from app.services.gallery import sealing
from app.services.identity.accounts import sees_agency
from app.services.oversight.reads import record_read
from app.services.reports import issuance as service
from app.services.reports import preview as previews

bp = Blueprint("reports", __name__)
# Requesters see their agency's reports; staff need a current certification and need to know.
viewer_required = roles_required(Role.REQUESTER, Role.REVIEWER, Role.ADMIN, certified_staff=True)


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
        "What became of the lead", choices=[SelectChoice(o.value, o.label) for o in LeadOutcome]
    )
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class VerifyForm(FlaskForm):
    pdf = FileField("Report PDF", validators=[DataRequired()])


class SealForm(FlaskForm):
    booking_number = StringField("Booking number", validators=[DataRequired(), Length(max=40)])
    reference = StringField("Sealing order or notice reference", validators=[DataRequired(), Length(max=100)])


def _report(report_id: int) -> Report:
    report = get_for_agency_or_404(Report, report_id, agency_id_of=lambda r: r.request.agency_id)
    if current_user.role is not Role.REQUESTER:
        require_need_to_know(report.request)
    return report


@bp.route("/issue/<int:request_id>", methods=["POST"])
@certified_staff_required
def issue(request_id: int):
    search_request = db.get_or_404(SearchRequest, request_id)
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    done = perform(
        lambda: service.issue_report(search_request, actor=current_user, comments=form.comments.data or "")
    )
    if not done.ok:
        return redirect(url_for("review.workspace", request_id=request_id))
    flash(f"Report {done.value.report_number} issued to {search_request.agency.name}.", "success")
    return redirect(url_for("reports.detail", report_id=done.value.id))


@bp.route("/preview/<int:request_id>", methods=["POST"])
@certified_staff_required
def preview(request_id: int):
    """The report as it would be issued with the comments typed so far (nothing issued)."""
    search_request = db.get_or_404(SearchRequest, request_id)
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    comments = form.comments.data or ""
    done = perform(lambda: previews.preview_report(search_request, actor=current_user, comments=comments))
    if not done.ok:
        return redirect(url_for("review.workspace", request_id=request_id))
    return send_pdf(done.value, f"preview-{search_request.tracking_number}.pdf", inline=True)


@bp.route("/<int:report_id>")
@viewer_required
def detail(report_id: int):
    report = _report(report_id)
    record_read("report.view", report, actor=current_user)
    if not service.can_open_report(report, current_user):
        flash("This version was superseded by a correction.", "warning")
    return render_template(
        "reports/detail.html",
        report=report,
        versions=service.reports_for(report.request),
        correct_form=CorrectForm(comments=report.comments),
        outcome_form=OutcomeForm(  # what was saved, shown as chosen
            outcome=report.lead_outcome.value if report.lead_outcome else None, note=report.lead_outcome_note
        ),
        action_form=ActionForm(),
        lead_notice=True,
    )


@bp.route("/<int:report_id>/download")
@viewer_required
def download(report_id: int):
    report = _report(report_id)
    done = perform(lambda: service.read_report(report, actor=current_user))
    if not done.ok:
        return redirect(url_for("reports.detail", report_id=report_id))
    return send_pdf(done.value, f"{report.report_number}.pdf")


@bp.route("/<int:report_id>/correct", methods=["POST"])
@certified_staff_required
def correct(report_id: int):
    report = _report(report_id)
    form = CorrectForm()
    if not form.validate_on_submit():
        flash("Give the reason for the correction.", "error")
        return redirect(url_for("reports.detail", report_id=report_id))
    done = perform(
        lambda: service.correct_report(
            report, actor=current_user, reason=form.reason.data, comments=form.comments.data or ""
        )
    )
    if not done.ok:
        return redirect(url_for("reports.detail", report_id=report_id))
    flash(f"Report {done.value.report_number} supersedes {report.report_number}.", "success")
    return redirect(url_for("reports.detail", report_id=done.value.id))


@bp.route("/<int:report_id>/outcome", methods=["POST"])
@requester_required
def outcome(report_id: int):
    report = _report(report_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        perform(
            lambda: service.save_lead_outcome(
                report, actor=current_user, outcome=LeadOutcome(form.outcome.data), note=form.note.data or ""
            ),
            "Thank you: the outcome of the lead is recorded.",
        )
    return redirect(url_for("reports.detail", report_id=report_id))


@bp.route("/<int:report_id>/destroyed", methods=["POST"])
@requester_required
def confirm_destroyed(report_id: int):
    report = _report(report_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    perform(
        lambda: sealing.confirm_destroyed(report, actor=current_user),
        "Destruction confirmed and recorded.",
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
        visible = report is not None and sees_agency(current_user, report.request.agency_id)
        result = {"sha256": sha, "report": report if visible else None, "matches": report is not None}
    return render_template("reports/verify.html", form=form, result=result)


@bp.route("/sealed", methods=["GET", "POST"])
@admin_required
def sealed():
    form = SealForm()
    if form.validate_on_submit():
        number = form.booking_number.data.strip()
        done = perform(
            lambda: sealing.seal_booking(
                gallery_service.get_booking(number), reference=form.reference.data, actor=current_user
            )
        )
        if done.ok:
            flash(done.value.summary(), "success")
            return redirect(url_for("reports.sealed"))
    return render_template("reports/sealed.html", form=form, outstanding=sealing.outstanding_seal_notices())
