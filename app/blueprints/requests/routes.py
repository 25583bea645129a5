"""Requesters: fill in and submit a search request, follow the agency's requests.

The form's buttons each post to their own endpoint (save, remove a photo, submit); every one
keeps what was typed, and a refused submission shows the form again with the reasons first.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.common import CsrfForm, perform, require_valid, send_image, send_pdf
from app.documents.request_form import please_assist, render_request_form
from app.extensions import db
from app.models import ProbeImage, RequestStatus, Role, SearchRequest
from app.security.access import (
    get_for_agency_or_404,
    requester_required,
    require_need_to_know,
    roles_required,
)
from app.services.intake import answers, uploads
from app.services.intake import requests as service
from app.services.oversight.reads import record_read
from app.services.platform import storage
from app.services.platform.errors import ServiceError
from app.services.policy import rules
from app.services.reports.issuance import reports_for
from app.services.review.workflow import allowed_actions

from .forms import AnswerForm, SearchRequestForm, WithdrawForm

bp = Blueprint("requests", __name__)

viewer_required = roles_required(Role.REQUESTER, Role.REVIEWER, Role.ADMIN, certified_staff=True)


def _load(request_id: int) -> SearchRequest:
    found = get_for_agency_or_404(SearchRequest, request_id, agency_id_of=lambda r: r.agency_id)
    if current_user.role is not Role.REQUESTER:
        require_need_to_know(found)
    return found


def _own_draft(request_id: int) -> SearchRequest | None:
    """The requester's own draft; None (after a redirect is chosen) once it was submitted."""
    draft = _load(request_id)
    if draft.requester_id != current_user.id:
        abort(404)
    return draft if draft.status is RequestStatus.DRAFT else None


@bp.route("/")
@requester_required
def index():
    return render_template("requests/list.html", requests=service.agency_requests(current_user))


@bp.route("/new", methods=["GET", "POST"])
@requester_required
def new():
    form = SearchRequestForm()
    if request.method == "POST":
        return _save(None, form)
    form.prefill(current_user)
    return _render_form(form.bind_images(None), None)


@bp.route("/new/submit", methods=["POST"])
@requester_required
def submit_new():
    return _save(None, SearchRequestForm(), then_submit=True)


@bp.route("/drafts/<int:request_id>", methods=["GET", "POST"])
@requester_required
def edit_draft(request_id: int):
    draft = _own_draft(request_id)
    if draft is None:  # Back after submitting: the request, not a dead draft
        flash("This request has been submitted; here is where it stands.", "info")
        return redirect(url_for("requests.detail", request_id=request_id))
    if request.method == "POST":
        return _save(draft, SearchRequestForm())
    return _render_form(SearchRequestForm.from_draft(draft), draft)


@bp.route("/drafts/<int:request_id>/submit", methods=["POST"])
@requester_required
def submit_draft(request_id: int):
    draft = _own_draft(request_id)
    if draft is None:
        return redirect(url_for("requests.detail", request_id=request_id))
    return _save(draft, SearchRequestForm(), then_submit=True)


@bp.route("/drafts/<int:request_id>/delete", methods=["POST"])
@requester_required
def delete_draft(request_id: int):
    draft = _own_draft(request_id)
    require_valid(CsrfForm())
    if draft is None:
        return redirect(url_for("requests.detail", request_id=request_id))
    done = perform(lambda: service.discard_draft(draft, actor=current_user), "The draft was deleted.")
    return redirect(
        url_for("requests.index") if done.ok else url_for("requests.edit_draft", request_id=request_id)
    )


@bp.route("/drafts/<int:request_id>/images/<int:image_id>/remove", methods=["POST"])
@requester_required
def remove_image(request_id: int, image_id: int):
    draft = _own_draft(request_id)
    image = db.session.get(ProbeImage, image_id)
    if draft is None or image is None or image.request_id != draft.id:
        abort(404)
    return _save(draft, SearchRequestForm(), remove=image)


def _save(draft: SearchRequest | None, form: SearchRequestForm, *, then_submit=False, remove=None):
    """Keep what was typed and the photos sent; then submit if asked. Nothing is lost to a refusal."""
    form.bind_images(draft)
    if not form.validate():
        db.session.rollback()
        return _render_form(form, draft)
    done = perform(
        lambda: uploads.save_with_uploads(
            draft, form.draft_fields(), form.uploads(), actor=current_user, remove_image=remove
        ),
        flash_error=False,
    )
    if not done.ok:
        form.form_errors.append(done.error.message)
        return _render_form(form, draft)
    change = done.value
    for message in change.upload_errors:
        flash(message, "error")
    if not then_submit or change.upload_errors:
        if not change.upload_errors and remove is None:
            flash("Draft saved. Check the photos below, then submit.", "info")
        return redirect(url_for("requests.edit_draft", request_id=change.draft.id))
    submitted = perform(lambda: service.submit_request(change.draft, actor=current_user), flash_error=False)
    if not submitted.ok:
        return _refused(form, change.draft, submitted.error)
    flash(f"Request {change.draft.tracking_number} submitted.", "success")
    return redirect(url_for("requests.confirmation", request_id=change.draft.id))


def _refused(form: SearchRequestForm, draft: SearchRequest, error: ServiceError):
    violations = getattr(error, "violations", [])
    draft = db.session.get(SearchRequest, draft.id)
    form.bind_images(draft)
    for violation in violations:
        target = form.field_named(violation.field)
        if target is not None:
            target.errors = [*target.errors, violation.message]
    if not violations:
        form.form_errors.append(error.message)
    return _render_form(form, draft, violations=violations)


def _render_form(form: SearchRequestForm, draft: SearchRequest | None, violations=None):
    config = current_app.config
    target = url_for("requests.edit_draft", request_id=draft.id) if draft else url_for("requests.new")
    submit = (
        url_for("requests.submit_draft", request_id=draft.id) if draft else url_for("requests.submit_new")
    )
    return render_template(
        "requests/form.html",
        form=form,
        draft=draft,
        violations=violations or [],
        policy=rules,
        please_assist=please_assist(config["REPOSITORY_NAME"], config["INTERCONNECT_NAME"]),
        action=target,
        submit_action=submit,
    )


@bp.route("/<int:request_id>/submitted")
@requester_required
def confirmation(request_id: int):
    submitted = _load(request_id)
    if submitted.status is RequestStatus.DRAFT:
        return redirect(url_for("requests.edit_draft", request_id=request_id))
    return render_template("requests/confirmation.html", search_request=submitted)


@bp.route("/<int:request_id>")
@viewer_required
def detail(request_id: int):
    search_request = _load(request_id)
    if search_request.status is RequestStatus.DRAFT:
        if search_request.requester_id == current_user.id:
            return redirect(url_for("requests.edit_draft", request_id=request_id))
        abort(404)
    record_read("request.view", search_request, actor=current_user)
    return render_template(
        "requests/detail.html",
        search_request=search_request,
        policy=rules,
        withdraw_form=WithdrawForm(),
        answer_form=AnswerForm(),
        reports=reports_for(search_request),
        actions=allowed_actions(search_request, current_user),
    )


@bp.route("/<int:request_id>/images/<int:image_id>")
@viewer_required
def image(request_id: int, image_id: int):
    search_request = _load(request_id)
    probe = db.session.get(ProbeImage, image_id)
    if probe is None or probe.request_id != search_request.id:
        abort(404)
    if search_request.status is RequestStatus.DRAFT and search_request.requester_id != current_user.id:
        abort(404)
    record_read("request.image_view", search_request, actor=current_user, image_id=probe.id)
    data = storage.path_of(probe.display_path).read_bytes()
    return send_image(data, "image/jpeg", download_name=f"probe-{probe.id}.jpg")


@bp.route("/<int:request_id>/form.pdf")
@viewer_required
def request_pdf(request_id: int):
    search_request = _load(request_id)
    if search_request.status is RequestStatus.DRAFT:
        abort(404)
    pdf = render_request_form(service.request_form_document(search_request))
    record_read("request.pdf_download", search_request, actor=current_user)
    return send_pdf(pdf, f"{search_request.tracking_number}.pdf")


@bp.route("/<int:request_id>/withdraw", methods=["POST"])
@requester_required
def withdraw(request_id: int):
    search_request = _load(request_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        perform(
            lambda: service.withdraw_request(
                search_request, actor=current_user, reason=form.reason.data or ""
            ),
            f"Request {search_request.tracking_number} withdrawn.",
        )
    else:
        flash("Not withdrawn: tick the confirmation to withdraw the request.", "error")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/answer", methods=["POST"])
@requester_required
def answer(request_id: int):
    search_request = _load(request_id)
    form = AnswerForm()
    if form.validate_on_submit():
        perform(
            lambda: answers.answer_question(
                search_request,
                actor=current_user,
                body=form.body.data or "",
                uploads=form.uploads(),
                facts=form.facts(),
            ),
            "Your answer was sent to the reviewer.",
        )
    return redirect(url_for("requests.detail", request_id=request_id))
