"""Requesters: fill in and submit a search request, follow the agency's requests."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.common import perform, send_image
from app.documents.request_form import RequestFormData, render_request_form
from app.extensions import db
from app.models import ProbeImage, RequestStatus, Role, SearchRequest
from app.security.access import get_for_agency_or_404, requester_required, roles_required
from app.services import policy
from app.services import requests as service
from app.services.errors import ServiceError
from app.services.reports import reports_for

from .forms import AnswerForm, SearchRequestForm, WithdrawForm

bp = Blueprint("requests", __name__)

viewer_required = roles_required(Role.REQUESTER, Role.REVIEWER, Role.ADMIN)


def _load(request_id: int) -> SearchRequest:
    return get_for_agency_or_404(SearchRequest, request_id, agency_id_of=lambda r: r.agency_id)


def _own_draft(request_id: int) -> SearchRequest:
    draft = _load(request_id)
    if draft.status is not RequestStatus.DRAFT or draft.requester_id != current_user.id:
        abort(404)
    return draft


@bp.route("/")
@requester_required
def index():
    return render_template("requests/list.html", requests=service.agency_requests(current_user))


@bp.route("/new", methods=["GET", "POST"])
@requester_required
def new():
    form = SearchRequestForm()
    if request.method == "POST":
        draft = service.new_draft(requester=current_user)
        return _handle_post(draft, form)
    form.requester_name.data = current_user.full_name
    form.requester_email.data = current_user.email
    form.requester_phone.data = current_user.phone
    form.printed_name.data = current_user.full_name
    return _render_form(form, None)


@bp.route("/drafts/<int:request_id>", methods=["GET", "POST"])
@requester_required
def edit_draft(request_id: int):
    draft = _own_draft(request_id)
    form = SearchRequestForm(obj=None if request.method == "POST" else draft)
    if request.method == "POST":
        return _handle_post(draft, form)
    form.extracted_from_video.data = {True: "yes", False: "no"}.get(draft.extracted_from_video)
    return _render_form(form, draft)


def _handle_post(draft: SearchRequest, form: SearchRequestForm):
    if not form.validate():
        db.session.rollback()
        return _render_form(form, None if draft.id is None else draft, status=400)
    values = {name: getattr(form, name).data or "" for name in service.TEXT_FIELDS}
    fields = service.DraftFields(
        values=values,
        extracted_from_video={"yes": True, "no": False}.get(form.extracted_from_video.data),
        image_taken_on=form.image_taken_on.data,
        affirmed=bool(form.affirmed.data),
    )
    service.save_draft(draft, fields, actor=current_user)
    upload_errors = []
    for upload in request.files.getlist(form.images.name):
        # One byte past the limit is enough to refuse: memory stays bounded per file.
        data = upload.stream.read(service.MAX_IMAGE_BYTES + 1)
        if not upload.filename and not data:
            continue  # the empty part a browser sends when no file was chosen
        try:
            with db.session.begin_nested():
                service.add_probe_image(draft, upload.filename, data, actor=current_user)
        except ServiceError as err:
            upload_errors.append(err.message)
    for message in upload_errors:
        flash(message, "error")
    removal = request.form.get("remove_image", type=int)
    if removal:
        image = db.session.get(ProbeImage, removal)
        if image is not None and image.request_id == draft.id:
            service.remove_probe_image(draft, image, actor=current_user)
    if request.form.get("action") != "submit" or upload_errors or removal:
        db.session.commit()
        if not upload_errors and not removal:
            flash("Draft saved. Check the photos below, then submit.", "info")
        return redirect(url_for("requests.edit_draft", request_id=draft.id))
    try:
        service.submit_request(draft, actor=current_user)
    except service.PolicyRefusal as refusal:
        db.session.commit()  # keep the draft and the audited refusal
        for violation in refusal.violations:
            target = getattr(form, violation.field, None)
            if target is not None:
                target.errors = [*target.errors, violation.message]
        return _render_form(form, draft, violations=refusal.violations, status=422)
    db.session.commit()
    flash(f"Request {draft.tracking_number} submitted.", "success")
    return redirect(url_for("requests.confirmation", request_id=draft.id))


def _render_form(form: SearchRequestForm, draft: SearchRequest | None, violations=None, status: int = 200):
    return (
        render_template(
            "requests/form.html",
            form=form,
            draft=draft,
            violations=violations or [],
            policy=policy,
            action=url_for("requests.edit_draft", request_id=draft.id) if draft else url_for("requests.new"),
        ),
        status,
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
    service.record_view(search_request, actor=current_user)
    db.session.commit()
    return render_template(
        "requests/detail.html",
        search_request=search_request,
        policy=policy,
        withdraw_form=WithdrawForm(),
        answer_form=AnswerForm(),
        reports=reports_for(search_request),
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
    service.record_view(search_request, actor=current_user, what="request.image_view", image_id=probe.id)
    db.session.commit()
    path = Path(current_app.instance_path) / probe.display_path
    return send_image(path.read_bytes(), "image/jpeg", download_name=f"probe-{probe.id}.jpg")


@bp.route("/<int:request_id>/form.pdf")
@viewer_required
def request_pdf(request_id: int):
    search_request = _load(request_id)
    if search_request.status is RequestStatus.DRAFT:
        abort(404)
    pdf = render_request_form(form_data(search_request))
    service.record_view(search_request, actor=current_user, what="request.pdf_download")
    db.session.commit()
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{search_request.tracking_number}.pdf"'
    return response


def form_data(search_request: SearchRequest) -> RequestFormData:
    source = policy.IMAGE_SOURCES.get(search_request.image_source, search_request.image_source)
    if search_request.image_source == policy.OTHER_SOURCE:
        source = f"{source}: {search_request.image_source_other}"
    crime = policy.CRIME_TYPES.get(search_request.crime_type, search_request.crime_type)
    if search_request.crime_type == "other":
        crime = f"{crime}: {search_request.crime_type_other}"
    taken = ", ".join(
        part
        for part in (
            search_request.image_taken_on.isoformat() if search_request.image_taken_on else "",
            search_request.image_taken_place,
        )
        if part
    )
    return RequestFormData(
        unit_name=current_app.config["UNIT_NAME"],
        tracking_number=search_request.tracking_number,
        agency=f"{search_request.agency.name} ({search_request.agency.code})",
        requester_name=search_request.requester_name,
        requester_phone=search_request.requester_phone,
        requester_email=search_request.requester_email,
        case_number=search_request.case_number,
        reason=search_request.reason,
        purpose=policy.PURPOSES.get(search_request.purpose, search_request.purpose),
        situation=search_request.situation,
        reasonable_suspicion=search_request.reasonable_suspicion,
        crime_type=crime,
        person_condition=search_request.person_condition,
        image_source=source,
        legally_obtained=search_request.legally_obtained,
        image_taken=taken,
        extracted_from_video=search_request.extracted_from_video,
        image_names=[i.original_name for i in search_request.images],
        affirmation=policy.AFFIRMATION,
        first_amendment_notice=policy.FIRST_AMENDMENT_NOTICE,
        signature=search_request.signature,
        printed_name=search_request.printed_name,
        signed_at=search_request.signed_at,
        submitted_on=search_request.submitted_at.date() if search_request.submitted_at else None,
    )


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
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/answer", methods=["POST"])
@requester_required
def answer(request_id: int):
    search_request = _load(request_id)
    form = AnswerForm()
    if form.validate_on_submit():
        perform(
            lambda: service.answer_question(search_request, actor=current_user, body=form.body.data or ""),
            "Your answer was sent to the reviewer.",
        )
    return redirect(url_for("requests.detail", request_id=request_id))
