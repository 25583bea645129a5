"""Facial reviewers: the queue, a request's workspace, probe work, searches, comparison."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from PIL import Image
from sqlalchemy import select

from app.blueprints.common import commit_or_flash, send_image
from app.clock import utcnow
from app.extensions import db
from app.matching.images import load_image
from app.matching.processing import describe_step
from app.models import (
    Agency,
    Booking,
    CandidateExamination,
    Conclusion,
    DecisionOutcome,
    FaceSearch,
    ProbeWork,
    ReviewState,
    Role,
    SearchRequest,
    User,
)
from app.security.access import (
    admin_required,
    certified_reviewer_required,
    deny,
    staff_required,
)
from app.services import policy
from app.services import review as service
from app.services.accounts import search_eligibility
from app.services.errors import ServiceError
from app.services.reports import reports_for

from .forms import (
    ActionForm,
    DecisionForm,
    EyesForm,
    QuestionForm,
    ReassignForm,
    RejectForm,
    SearchForm,
    StepForm,
)

bp = Blueprint("review", __name__)


def _request_or_404(request_id: int) -> SearchRequest:
    found = db.session.get(SearchRequest, request_id)
    if found is None or found.tracking_number is None:
        abort(404)
    return found


def _commit_or_flash(action, success: str, to: str):
    commit_or_flash(action, success)
    return redirect(to)


@bp.route("/")
@staff_required
def queue():
    state = request.args.get("state") or None
    agency_id = request.args.get("agency", type=int)
    reviewer_id = request.args.get("reviewer", type=int)
    try:
        state_filter = ReviewState(state) if state else None
    except ValueError:
        state_filter = None
    items = service.queue(state=state_filter, agency_id=agency_id, reviewer_id=reviewer_id)
    now = utcnow()
    eligibility = search_eligibility(current_user) if current_user.role is Role.REVIEWER else None
    expiring = (
        eligibility.certification
        if eligibility
        and eligibility.certification
        and eligibility.certification.expires_on <= (now + timedelta(days=30)).date()
        else None
    )
    return render_template(
        "review/queue.html",
        items=items,
        now=now,
        states=list(ReviewState),
        agencies=db.session.scalars(select(Agency).order_by(Agency.name)).all(),
        reviewers=db.session.scalars(
            select(User).where(User.role == Role.REVIEWER).order_by(User.full_name)
        ).all(),
        selected={"state": state, "agency": agency_id, "reviewer": reviewer_id},
        holder=service.current_assignment,
        eligibility=eligibility,
        expiring=expiring,
        lead_notice=True,
    )


@bp.route("/requests/<int:request_id>")
@staff_required
def workspace(request_id: int):
    search_request = _request_or_404(request_id)
    service.record_view_for_review(search_request, actor=current_user)
    db.session.commit()
    capacity = service.capacity_of(search_request, current_user)
    works = [service.probe_work(p, current_user) for p in search_request.images] if capacity else []
    db.session.commit()
    searches = db.session.scalars(
        select(FaceSearch)
        .where(FaceSearch.request_id == search_request.id, FaceSearch.reviewer_id == current_user.id)
        .order_by(FaceSearch.id.desc())
    ).all()
    if capacity == "verifier" and not searches:
        first = service.primary_search(search_request)
        searches = [first] if first else []
    reviewers = db.session.scalars(
        select(User).where(User.role == Role.REVIEWER, User.active.is_(True))
    ).all()
    reassign_form = ReassignForm()
    reassign_form.reviewer_id.choices = [(r.id, r.full_name) for r in reviewers]
    show_decisions = current_user.role is Role.ADMIN or search_request.review_state in (
        ReviewState.VERIFIED,
        ReviewState.CLOSED,
    )
    return render_template(
        "review/workspace.html",
        search_request=search_request,
        capacity=capacity,
        works=works,
        searches=searches,
        holder=service.current_assignment(search_request, "primary"),
        verifier=service.current_assignment(search_request, "verifier"),
        decisions=service.decisions(search_request) if show_decisions else [],
        my_examinations=service.examinations_of(search_request, current_user),
        policy=policy,
        action_form=ActionForm(),
        question_form=QuestionForm(),
        reject_form=RejectForm(),
        reassign_form=reassign_form,
        search_form=SearchForm(),
        decision_form=DecisionForm(),
        eligibility=search_eligibility(current_user) if current_user.role is Role.REVIEWER else None,
        reports=reports_for(search_request),
        lead_notice=True,
    )


@bp.route("/requests/<int:request_id>/claim", methods=["POST"])
@certified_reviewer_required
def claim(request_id: int):
    search_request = _request_or_404(request_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    to = url_for("review.workspace", request_id=request_id)
    try:
        service.claim(search_request, reviewer=current_user)
    except ServiceError as err:
        db.session.commit()  # the refused claim is audited
        flash(err.message, "error")
        return redirect(to)
    db.session.commit()
    flash(f"You have claimed {search_request.tracking_number}.", "success")
    return redirect(to)


@bp.route("/requests/<int:request_id>/release", methods=["POST"])
@certified_reviewer_required
def release(request_id: int):
    search_request = _request_or_404(request_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _commit_or_flash(
        lambda: service.release(search_request, reviewer=current_user),
        "Released back to the queue.",
        url_for("review.queue"),
    )


@bp.route("/requests/<int:request_id>/return", methods=["POST"])
@certified_reviewer_required
def return_question(request_id: int):
    search_request = _request_or_404(request_id)
    form = QuestionForm()
    if not form.validate_on_submit():
        flash("Write the question for the requester.", "error")
        return redirect(url_for("review.workspace", request_id=request_id))
    return _commit_or_flash(
        lambda: service.return_with_question(
            search_request, reviewer=current_user, question=form.question.data
        ),
        "Returned to the requester with your question.",
        url_for("review.workspace", request_id=request_id),
    )


@bp.route("/requests/<int:request_id>/reject", methods=["POST"])
@certified_reviewer_required
def reject(request_id: int):
    search_request = _request_or_404(request_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Name the clause and write a note.", "error")
        return redirect(url_for("review.workspace", request_id=request_id))
    return _commit_or_flash(
        lambda: service.reject_out_of_policy(
            search_request, reviewer=current_user, clause=form.clause.data, note=form.note.data
        ),
        "Rejected as out of policy; the requester sees the clause and your note.",
        url_for("review.workspace", request_id=request_id),
    )


@bp.route("/requests/<int:request_id>/reassign", methods=["POST"])
@admin_required
def reassign(request_id: int):
    search_request = _request_or_404(request_id)
    form = ReassignForm()
    form.reviewer_id.choices = [(u.id, u.full_name) for u in db.session.scalars(select(User))]
    to = url_for("review.workspace", request_id=request_id)
    if not form.validate_on_submit():
        flash("Choose a reviewer and give a reason.", "error")
        return redirect(to)
    reviewer = db.session.get(User, form.reviewer_id.data)
    if reviewer is None or reviewer.role is not Role.REVIEWER:
        flash("Choose a reviewer.", "error")
        return redirect(to)
    return _commit_or_flash(
        lambda: service.reassign(
            search_request, admin=current_user, reviewer=reviewer, reason=form.reason.data
        ),
        f"Assigned to {reviewer.full_name}.",
        to,
    )


@bp.route("/requests/<int:request_id>/verify", methods=["POST"])
@certified_reviewer_required
def claim_verification(request_id: int):
    search_request = _request_or_404(request_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    to = url_for("review.workspace", request_id=request_id)
    try:
        service.claim_verification(search_request, reviewer=current_user)
    except ServiceError as err:
        db.session.commit()
        flash(err.message, "error")
        return redirect(to)
    db.session.commit()
    flash(
        "You are verifying this request. You see the probe and the candidate list, not the first review.",
        "info",
    )
    return redirect(to)


# --- probe work ------------------------------------------------------------------------------


def _work_or_404(work_id: int) -> ProbeWork:
    work = db.session.get(ProbeWork, work_id)
    if work is None or work.reviewer_id != current_user.id:
        abort(404)
    return work


@bp.route("/probes/<int:work_id>")
@certified_reviewer_required
def probe(work_id: int):
    work = _work_or_404(work_id)
    try:
        prepared = service.prepare(work)
    except ServiceError as err:
        flash(err.message, "error")
        prepared = None
    return render_template(
        "review/probe.html",
        work=work,
        prepared=prepared,
        steps=[describe_step(s) for s in work.step_list],
        step_form=StepForm(),
        eyes_form=EyesForm(),
        action_form=ActionForm(),
        lead_notice=True,
    )


@bp.route("/probes/<int:work_id>/process", methods=["POST"])
@certified_reviewer_required
def process(work_id: int):
    work = _work_or_404(work_id)
    action = request.form.get("action", "")
    to = url_for("review.probe", work_id=work_id)
    steps = work.step_list
    kwargs: dict = {}
    if action == "add":
        form = StepForm()
        if not form.validate_on_submit():
            abort(400)
        step = {"op": form.op.data}
        for name in ("left", "top", "right", "bottom", "degrees", "factor", "value", "amount"):
            value = getattr(form, name).data
            if value not in (None, ""):
                step[name] = float(value) if isinstance(value, str) else value
        kwargs["steps"] = [*steps, step]
    elif action in ("undo", "reset", "face", "clear_eyes"):
        if not ActionForm().validate_on_submit():
            abort(400)
        if action == "undo":
            kwargs["steps"] = steps[:-1]
        elif action == "reset":
            kwargs["steps"] = []
        elif action == "face":
            kwargs["face_index"] = request.form.get("face_index", type=int) or 0
        else:
            kwargs["clear_eyes"] = True
    elif action == "eyes":
        form = EyesForm()
        if not form.validate_on_submit():
            flash("Give both eye centres in pixels of the processed image.", "error")
            return redirect(to)
        kwargs["manual_eyes"] = [[form.left_x.data, form.left_y.data], [form.right_x.data, form.right_y.data]]
    else:
        abort(400)
    try:
        service.update_probe_work(work, reviewer=current_user, **kwargs)
    except (ServiceError, ValueError) as err:
        db.session.rollback()
        flash(getattr(err, "message", str(err)), "error")
        return redirect(to)
    db.session.commit()
    return redirect(to)


@bp.route("/probes/<int:work_id>/<any(original, processed):which>.png")
@certified_reviewer_required
def probe_image(work_id: int, which: str):
    work = _work_or_404(work_id)
    if which == "original":
        path = Path(current_app.instance_path, work.probe.display_path)
        return send_image(path.read_bytes(), "image/jpeg")
    if not work.processed_path:
        service.update_probe_work(work, reviewer=current_user)
        db.session.commit()
    return send_image(Path(current_app.instance_path, work.processed_path).read_bytes(), "image/png")


# --- searches and candidates --------------------------------------------------------------------


@bp.route("/requests/<int:request_id>/search", methods=["POST"])
@certified_reviewer_required
def search(request_id: int):
    search_request = _request_or_404(request_id)
    form = SearchForm()
    to = url_for("review.workspace", request_id=request_id)
    if not form.validate_on_submit():
        flash("K must be between 1 and 50.", "error")
        return redirect(to)
    ids = [int(v) for v in request.form.getlist("work_id") if v.isdigit()]
    works = [
        w
        for w in (db.session.get(ProbeWork, i) for i in ids)
        if w is not None and w.reviewer_id == current_user.id and w.probe.request_id == search_request.id
    ]
    try:
        found = service.run_search(search_request, reviewer=current_user, works=works, top_k=form.top_k.data)
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(to)
    db.session.commit()
    return redirect(url_for("review.candidates", search_id=found.id))


def _search_or_404(search_id: int) -> FaceSearch:
    found = db.session.get(FaceSearch, search_id)
    if found is None or service.capacity_of(found.request, current_user) is None:
        abort(404)
    return found


@bp.route("/searches/<int:search_id>")
@certified_reviewer_required
def candidates(search_id: int):
    found = _search_or_404(search_id)
    examinations = {e.booking_id: e for e in service.examinations_in(found, current_user)}
    return render_template(
        "review/candidates.html",
        search=found,
        entries=found.result_list,
        probes=json.loads(found.probes),
        examinations=examinations,
        bookings={
            b.id: b
            for b in db.session.scalars(
                select(Booking).where(Booking.id.in_([e["booking_id"] for e in found.result_list]))
            )
        },
        decision_form=DecisionForm(),
        lead_notice=True,
    )


@bp.route("/searches/<int:search_id>/candidates/<int:rank>")
@certified_reviewer_required
def compare(search_id: int, rank: int):
    found = _search_or_404(search_id)
    try:
        examination = service.open_candidate(found, rank, reviewer=current_user)
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("review.candidates", search_id=search_id))
    db.session.commit()
    entry = next(e for e in found.result_list if e["rank"] == rank)
    try:
        probe_chip = service.probe_chip(found, entry)
    except ServiceError as err:  # the recorded probe is gone or changed
        flash(err.message, "error")
        return redirect(url_for("review.candidates", search_id=search_id))
    booking_chip = _booking_chip(examination.booking)
    return render_template(
        "review/compare.html",
        search=found,
        entry=entry,
        examination=examination,
        checklist=json.loads(examination.checklist or "{}"),
        features=service.FISWG_FEATURES,
        marks=service.CHECKLIST_MARKS,
        conclusions=list(Conclusion),
        landmarks=json.dumps({"probe": probe_chip.landmarks, "candidate": booking_chip.landmarks}),
        revealed=examination.conclusion is not None,
        booking=examination.booking,
        action_form=ActionForm(),
        decision_form=DecisionForm(),
        lead_notice=True,
    )


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/examine", methods=["POST"])
@certified_reviewer_required
def examine(search_id: int, rank: int):
    found = _search_or_404(search_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    examination = service.open_candidate(found, rank, reviewer=current_user)
    checklist = {
        feature: {"mark": request.form.get(f"mark-{i}", ""), "note": request.form.get(f"note-{i}", "")}
        for i, feature in enumerate(service.FISWG_FEATURES)
    }
    conclusion = request.form.get("conclusion") or None
    to = url_for("review.compare", search_id=search_id, rank=rank)
    try:
        service.record_examination(
            examination,
            reviewer=current_user,
            checklist=checklist,
            conclusion=Conclusion(conclusion) if conclusion in {c.value for c in Conclusion} else None,
            note=request.form.get("note", ""),
        )
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(to)
    db.session.commit()
    flash("Checklist saved." if not conclusion else "Conclusion recorded.", "success")
    return redirect(to)


@bp.route("/searches/<int:search_id>/chips/<any(probe, candidate):which>/<int:rank>.png")
@certified_reviewer_required
def chip(search_id: int, which: str, rank: int):
    found = _search_or_404(search_id)
    entry = next((e for e in found.result_list if e["rank"] == rank), None)
    if entry is None:
        abort(404)
    if which == "probe":
        try:
            pixels = service.probe_chip(found, entry).pixels
        except ServiceError:
            abort(404)
    else:
        pixels = _booking_chip(db.session.get(Booking, entry["booking_id"])).pixels
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return send_image(buffer.getvalue(), "image/png")


@bp.route("/bookings/<int:booking_id>/thumbnail.jpg")
@certified_reviewer_required
def thumbnail(booking_id: int):
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.sealed:
        abort(404)
    image = load_image(Path(current_app.instance_path, booking.photo_path)).pil
    image.thumbnail((200, 200))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return send_image(buffer.getvalue(), "image/jpeg")


def _booking_chip(booking: Booking) -> service.AlignedChip:
    if booking.sealed:
        deny("sealed record", status=404, object_type="booking", object_id=booking.id)
    return service.booking_chip(booking)


@bp.route("/requests/<int:request_id>/decide", methods=["POST"])
@certified_reviewer_required
def decide(request_id: int):
    search_request = _request_or_404(request_id)
    form = DecisionForm()
    to = url_for("review.workspace", request_id=request_id)
    if not form.validate_on_submit():
        abort(400)
    examination = (
        db.session.get(CandidateExamination, int(form.examination_id.data))
        if (form.examination_id.data or "").isdigit()
        else None
    )
    found = (
        db.session.get(FaceSearch, int(form.search_id.data))
        if (form.search_id.data or "").isdigit()
        else None
    )
    try:
        outcome = DecisionOutcome(form.outcome.data)
        service.decide(
            search_request,
            reviewer=current_user,
            outcome=outcome,
            search=found,
            examination=examination,
            comments=form.comments.data or "",
        )
    except (ServiceError, ValueError) as err:
        db.session.rollback()
        flash(getattr(err, "message", "Choose a decision."), "error")
        return redirect(to)
    db.session.commit()
    flash("Decision recorded.", "success")
    return redirect(to)
