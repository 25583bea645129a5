"""Facial reviewers: the queue, a request's workspace, probe work, searches, comparison.

Views validate a form, call one service, commit at the boundary (``perform``) and redirect.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.blueprints.common import perform, require_valid, send_image
from app.clock import utcnow
from app.extensions import db
from app.matching.images import encode_jpeg, encode_png
from app.matching.processing import LABELS, describe_step
from app.models import (
    Agency,
    Booking,
    CandidateExamination,
    Capacity,
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
    certified_staff_required,
    deny,
    require_need_to_know,
    safe_next_url,
    staff_required,
)
from app.services import need_to_know, policy, storage
from app.services.accounts import search_eligibility
from app.services.errors import ServiceError
from app.services.reports import reports_for
from app.services.review import assignments, decisions, examinations, probes, searches
from app.services.workflow import Action, allowed_actions, capacity_of, current_assignment
from app.services.workflow import decisions as standing_decisions

from .forms import (
    STEP_FORMS,
    ActionForm,
    ChecklistForm,
    DecisionForm,
    EyesForm,
    FaceChoiceForm,
    JustifyForm,
    QuestionForm,
    QueueFilterForm,
    ReassignForm,
    ReexamineForm,
    RejectForm,
    ScreeningForm,
    SearchForm,
    step_from,
)

bp = Blueprint("review", __name__)
THUMBNAIL_SIDE = 200


def _request_or_404(request_id: int) -> SearchRequest:
    found = db.session.get(SearchRequest, request_id)
    if found is None or found.tracking_number is None:
        deny("no such submitted request", status=404, object_type="request", object_id=request_id)
    return found


def _to_workspace(request_id: int):
    return redirect(url_for("review.workspace", request_id=request_id))


def _expiring_certification():
    if current_user.role is not Role.REVIEWER:
        return None
    eligibility = search_eligibility(current_user)
    cert = eligibility.certification if eligibility else None
    return cert if cert and cert.expires_on <= (utcnow() + timedelta(days=30)).date() else None


@bp.route("/")
@staff_required
def queue():
    form = QueueFilterForm()
    if not form.validate():
        abort(400)
    items = assignments.queue(
        state=ReviewState(form.state.data) if form.state.data else None,
        agency_id=form.agency.data,
        reviewer_id=form.reviewer.data,
    )
    return render_template(
        "review/queue.html",
        items=items,
        now=utcnow(),
        form=form,
        agencies=db.session.scalars(select(Agency).order_by(Agency.name)).all(),
        reviewers=db.session.scalars(
            select(User).where(User.role == Role.REVIEWER).order_by(User.full_name)
        ).all(),
        eligibility=search_eligibility(current_user) if current_user.role is Role.REVIEWER else None,
        expiring=_expiring_certification(),
        lead_notice=True,
    )


def _reassign_form() -> ReassignForm:
    """Active reviewers, and administrators with a current certification (a third review when
    only two reviewers exist)."""
    form = ReassignForm()
    staff = db.session.scalars(
        select(User)
        .where(User.role.in_([Role.REVIEWER, Role.ADMIN]), User.active.is_(True))
        .order_by(User.full_name)
    )
    form.reviewer_id.choices = [
        SelectChoice(u.id, u.full_name + (" (administrator)" if u.role is Role.ADMIN else ""))
        for u in staff
        if u.role is Role.REVIEWER or search_eligibility(u)
    ]
    return form


@bp.route("/requests/<int:request_id>")
@certified_staff_required
def workspace(request_id: int):
    search_request = _request_or_404(request_id)
    require_need_to_know(search_request)
    assignments.record_view_for_review(search_request, actor=current_user)
    capacity = capacity_of(search_request, current_user)
    works = [probes.probe_work(p, current_user) for p in search_request.images] if capacity else []
    db.session.commit()
    return render_template(
        "review/workspace.html",
        search_request=search_request,
        capacity=capacity,
        actions=allowed_actions(search_request, current_user),
        works=works,
        searches=searches.searches_for(search_request, current_user) if capacity else [],
        holder=current_assignment(search_request, Capacity.PRIMARY),
        verifier=current_assignment(search_request, Capacity.VERIFIER),
        decisions=standing_decisions(search_request),
        my_examinations=examinations.examinations_of(search_request, current_user),
        policy=policy,
        action_form=ActionForm(),
        question_form=QuestionForm(),
        reject_form=RejectForm(),
        reassign_form=_reassign_form(),
        search_form=SearchForm(),
        decision_form=DecisionForm(),
        screening_form=ScreeningForm(),
        eligibility=search_eligibility(current_user) if current_user.role is Role.REVIEWER else None,
        reports=reports_for(search_request),
        lead_notice=True,
    )


@bp.route("/requests/<int:request_id>/first-amendment", methods=["POST"])
@certified_reviewer_required
def screen(request_id: int):
    search_request = _request_or_404(request_id)
    form = ScreeningForm()
    if not form.validate_on_submit():
        flash("Explain in at least 20 characters why the search is not based on the flagged terms.", "error")
        return _to_workspace(request_id)
    perform(
        lambda: assignments.record_first_amendment_determination(
            search_request, reviewer=current_user, note=form.note.data
        ),
        "Your determination is recorded; the request can be searched.",
    )
    return _to_workspace(request_id)


@bp.route("/requests/<int:request_id>/access", methods=["GET", "POST"])
@certified_staff_required
def justify(request_id: int):
    """Staff outside their work give their reason before opening a request (need to know)."""
    search_request = _request_or_404(request_id)
    form = JustifyForm()
    next_url = safe_next_url(request.args.get("next")) or url_for("review.workspace", request_id=request_id)
    if form.validate_on_submit():
        done = perform(
            lambda: need_to_know.grant_access(search_request, user=current_user, reason=form.reason.data)
        )
        if done.ok:
            return redirect(next_url)
    return render_template("review/justify.html", search_request=search_request, form=form)


@bp.route("/requests/<int:request_id>/claim", methods=["POST"])
@certified_reviewer_required
def claim(request_id: int):
    search_request = _request_or_404(request_id)
    require_valid(ActionForm())
    perform(
        lambda: assignments.claim(search_request, reviewer=current_user),
        f"You have claimed {search_request.tracking_number}.",
    )
    return _to_workspace(request_id)


@bp.route("/requests/<int:request_id>/release", methods=["POST"])
@certified_reviewer_required
def release(request_id: int):
    search_request = _request_or_404(request_id)
    require_valid(ActionForm())
    done = perform(
        lambda: assignments.release(search_request, reviewer=current_user), "Released back to the queue."
    )
    return redirect(url_for("review.queue")) if done.ok else _to_workspace(request_id)


@bp.route("/requests/<int:request_id>/return", methods=["POST"])
@certified_reviewer_required
def return_question(request_id: int):
    search_request = _request_or_404(request_id)
    form = QuestionForm()
    if not form.validate_on_submit():
        flash("Write the question for the requester (at least 10 characters).", "error")
        return _to_workspace(request_id)
    perform(
        lambda: assignments.return_with_question(
            search_request, reviewer=current_user, question=form.question.data
        ),
        "Returned to the requester with your question.",
    )
    return _to_workspace(request_id)


@bp.route("/requests/<int:request_id>/reject", methods=["POST"])
@certified_reviewer_required
def reject(request_id: int):
    search_request = _request_or_404(request_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Name the clause and write a note (at least 10 characters).", "error")
        return _to_workspace(request_id)
    perform(
        lambda: assignments.reject_out_of_policy(
            search_request, reviewer=current_user, clause=form.clause.data, note=form.note.data
        ),
        "Rejected as out of policy; the requester sees the clause and your note.",
    )
    return _to_workspace(request_id)


@bp.route("/requests/<int:request_id>/reassign", methods=["POST"])
@admin_required
def reassign(request_id: int):
    search_request = _request_or_404(request_id)
    form = _reassign_form()
    if not form.validate_on_submit():
        flash("Choose an active reviewer and give a reason.", "error")
        return _to_workspace(request_id)
    reviewer = db.session.get(User, form.reviewer_id.data)
    perform(
        lambda: assignments.reassign(
            search_request, admin=current_user, reviewer=reviewer, reason=form.reason.data
        ),
        f"Assigned to {reviewer.full_name}.",
    )
    return _to_workspace(request_id)


@bp.route("/requests/<int:request_id>/verify", methods=["POST"])
@certified_reviewer_required
def claim_verification(request_id: int):
    search_request = _request_or_404(request_id)
    require_valid(ActionForm())
    perform(
        lambda: assignments.claim_verification(search_request, reviewer=current_user),
        "You are verifying this request. You see the probe and the candidate list, not the first review.",
    )
    return _to_workspace(request_id)


# --- probe work ------------------------------------------------------------------------------


def _work_or_404(work_id: int) -> ProbeWork:
    work = db.session.get(ProbeWork, work_id)
    if work is None or work.reviewer_id != current_user.id:
        deny("probe work of another reviewer, or none", status=404, object_type="probe", object_id=work_id)
    return work


@bp.route("/probes/<int:work_id>")
@certified_reviewer_required
def probe(work_id: int):
    work = _work_or_404(work_id)
    probes.record_probe_read(work, actor=current_user)
    db.session.commit()
    try:
        prepared = probes.prepare(work)
    except ServiceError as err:
        flash(err.message, "error")
        prepared = None
    return render_template(
        "review/probe.html",
        work=work,
        prepared=prepared,
        steps=[describe_step(s) for s in work.step_list],
        step_forms={op: form(prefix=op) for op, form in STEP_FORMS.items()},
        step_labels=LABELS,
        eyes_form=EyesForm(),
        face_form=FaceChoiceForm(),
        action_form=ActionForm(),
        lead_notice=True,
    )


def _change_probe(work: ProbeWork, **change):
    perform(lambda: probes.update_probe_work(work, reviewer=current_user, **change))
    return redirect(url_for("review.probe", work_id=work.id))


STEP_OPS = "any(crop, rotate, brightness, contrast, gamma, equalize, grayscale, sharpen)"


@bp.route(f"/probes/<int:work_id>/steps/<{STEP_OPS}:op>", methods=["POST"])
@certified_reviewer_required
def add_step(work_id: int, op: str):
    work = _work_or_404(work_id)
    form = STEP_FORMS[op](prefix=op)
    if not form.validate_on_submit():
        for field, messages in form.errors.items():
            flash(f"{LABELS.get(op, op)}: {field} — {'; '.join(map(str, messages))}", "error")
        return redirect(url_for("review.probe", work_id=work_id))
    return _change_probe(work, steps=[*work.step_list, step_from(op, form)])


@bp.route("/probes/<int:work_id>/undo", methods=["POST"])
@certified_reviewer_required
def undo_step(work_id: int):
    work = _work_or_404(work_id)
    require_valid(ActionForm())
    return _change_probe(work, steps=work.step_list[:-1])


@bp.route("/probes/<int:work_id>/reset", methods=["POST"])
@certified_reviewer_required
def reset_steps(work_id: int):
    work = _work_or_404(work_id)
    require_valid(ActionForm())
    return _change_probe(work, steps=[])


@bp.route("/probes/<int:work_id>/face", methods=["POST"])
@certified_reviewer_required
def choose_face(work_id: int):
    work = _work_or_404(work_id)
    form = FaceChoiceForm()
    require_valid(form)
    return _change_probe(work, face_index=form.face_index.data)


@bp.route("/probes/<int:work_id>/eyes", methods=["POST"])
@certified_reviewer_required
def place_eyes(work_id: int):
    work = _work_or_404(work_id)
    form = EyesForm()
    if not form.validate_on_submit():
        flash("Give both eye centres in pixels of the processed image.", "error")
        return redirect(url_for("review.probe", work_id=work_id))
    eyes = [[form.left_x.data, form.left_y.data], [form.right_x.data, form.right_y.data]]
    return _change_probe(work, manual_eyes=eyes)


@bp.route("/probes/<int:work_id>/detection", methods=["POST"])
@certified_reviewer_required
def use_detection(work_id: int):
    work = _work_or_404(work_id)
    require_valid(ActionForm())
    return _change_probe(work, clear_eyes=True)


@bp.route("/probes/<int:work_id>/<any(original, processed):which>.<any(jpg, png):ext>")
@certified_reviewer_required
def probe_image(work_id: int, which: str, ext: str):
    work = _work_or_404(work_id)
    probes.record_probe_read(work, actor=current_user, which=which)
    if which == "original":
        db.session.commit()
        return send_image(storage.path_of(work.probe.display_path).read_bytes(), "image/jpeg")
    if not work.processed_path:
        probes.update_probe_work(work, reviewer=current_user)
    db.session.commit()
    return send_image(storage.path_of(work.processed_path).read_bytes(), "image/png")


# --- searches and candidates --------------------------------------------------------------------


@bp.route("/requests/<int:request_id>/search", methods=["POST"])
@certified_reviewer_required
def search(request_id: int):
    search_request = _request_or_404(request_id)
    form = SearchForm()
    mine = db.session.scalars(select(ProbeWork).where(ProbeWork.reviewer_id == current_user.id))
    form.work_id.choices = [SelectChoice(w.id, str(w.id)) for w in mine]
    if not form.validate_on_submit():
        flash("Choose at least one probe and a K between 1 and 50.", "error")
        return _to_workspace(request_id)
    works = [db.session.get(ProbeWork, i) for i in form.work_id.data]
    done = perform(
        lambda: searches.run_search(
            search_request,
            reviewer=current_user,
            works=works,
            top_k=form.top_k.data,
            override_reason=form.override_reason.data or "",
        )
    )
    return (
        redirect(url_for("review.candidates", search_id=done.value.id))
        if done.ok
        else _to_workspace(request_id)
    )


def _search_or_404(search_id: int) -> FaceSearch:
    """A search of a request the reviewer works (need to know); any other id is refused, audited."""
    found = db.session.get(FaceSearch, search_id)
    if found is None or found.request is None or capacity_of(found.request, current_user) is None:
        deny(
            "search of a request the reviewer does not work, or none",
            status=404,
            object_type="search",
            object_id=search_id,
        )
    return found


@bp.route("/searches/<int:search_id>")
@certified_reviewer_required
def candidates(search_id: int):
    found = _search_or_404(search_id)
    searches.record_list_read(found, actor=current_user)
    db.session.commit()
    return render_template(
        "review/candidates.html",
        search=found,
        entries=found.result_list,
        probes=found.probe_list,
        examinations=examinations.examinations_in(found, current_user),
        lead_notice=True,
    )


def _examination_or_redirect(found: FaceSearch, rank: int) -> CandidateExamination | None:
    done = perform(lambda: examinations.open_candidate(found, rank, reviewer=current_user))
    return done.value


def _render_compare(found: FaceSearch, examination: CandidateExamination, form: ChecklistForm, status=200):
    entry = examinations.entry_at(found, examination.rank)
    try:
        probe_chip = examinations.probe_chip(found, entry)
        booking_chip = examinations.booking_chip(examination.booking)
    except ServiceError as err:  # the recorded probe is gone or changed
        flash(err.message, "error")
        return redirect(url_for("review.candidates", search_id=found.id))
    ranks = [e["rank"] for e in found.result_list]
    position = ranks.index(entry["rank"])
    return render_template(
        "review/compare.html",
        search=found,
        entry=entry,
        examination=examination,
        booking=examination.booking,
        revealed=examination.conclusion is not None,
        landmarks={"probe": probe_chip.landmarks, "candidate": booking_chip.landmarks},
        previous_rank=ranks[position - 1] if position > 0 else None,
        next_rank=ranks[position + 1] if position + 1 < len(ranks) else None,
        features=examinations.FISWG_FEATURES,
        form=form,
        reexamine_form=ReexamineForm(),
        can_examine=Action.SEARCH in allowed_actions(found.request, current_user),
        lead_notice=True,
    ), status


@bp.route("/searches/<int:search_id>/candidates/<int:rank>")
@certified_reviewer_required
def compare(search_id: int, rank: int):
    found = _search_or_404(search_id)
    examination = _examination_or_redirect(found, rank)
    if examination is None:
        return redirect(url_for("review.candidates", search_id=search_id))
    return _render_compare(found, examination, ChecklistForm(data=examinations.form_data(examination)))


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/examine", methods=["POST"])
@certified_reviewer_required
def examine(search_id: int, rank: int):
    found = _search_or_404(search_id)
    examination = _examination_or_redirect(found, rank)
    if examination is None:
        return redirect(url_for("review.candidates", search_id=search_id))
    form = ChecklistForm()
    if form.validate_on_submit():
        conclusion = Conclusion(form.conclusion.data) if form.conclusion.data else None
        done = perform(
            lambda: examinations.record_examination(
                examination,
                reviewer=current_user,
                checklist=form.checklist(),
                conclusion=conclusion,
                note=form.note.data or "",
            ),
            "Conclusion recorded." if conclusion else "Checklist saved.",
            flash_error=False,
        )
        if done.ok:
            return redirect(url_for("review.compare", search_id=search_id, rank=rank))
        form.form_errors.append(done.error.message)
    return _render_compare(found, db.session.get(CandidateExamination, examination.id), form)


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/reexamine", methods=["POST"])
@certified_reviewer_required
def reexamine(search_id: int, rank: int):
    found = _search_or_404(search_id)
    examination = _examination_or_redirect(found, rank)
    form = ReexamineForm()
    if examination is not None and form.validate_on_submit():
        perform(
            lambda: examinations.reexamine(examination, reviewer=current_user, reason=form.reason.data),
            "A new examination of this candidate is open; it is recorded as made after the reveal.",
        )
    elif examination is not None:
        flash("Say why you examine this candidate again (at least 10 characters).", "error")
    return redirect(url_for("review.compare", search_id=search_id, rank=rank))


def _candidate_image(found: FaceSearch, rank: int, which: str):
    """An image of a candidate on a search the reviewer works, audited like any read."""
    entry = examinations.entry_at(found, rank)
    booking = db.session.get(Booking, entry["booking_id"])
    if booking is None or booking.sealed:
        deny("sealed record", status=404, object_type="booking", object_id=entry["booking_id"])
    examinations.record_candidate_image_read(found, entry, actor=current_user, which=which)
    db.session.commit()
    return booking, entry


@bp.route("/searches/<int:search_id>/chips/<any(probe, candidate):which>/<int:rank>.png")
@certified_reviewer_required
def chip(search_id: int, which: str, rank: int):
    found = _search_or_404(search_id)
    try:
        booking, entry = _candidate_image(found, rank, f"{which} chip")
        pixels = (
            examinations.probe_chip(found, entry) if which == "probe" else examinations.booking_chip(booking)
        ).pixels
    except ServiceError:
        abort(404)
    return send_image(encode_png(pixels), "image/png")


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/thumbnail.jpg")
@certified_reviewer_required
def thumbnail(search_id: int, rank: int):
    found = _search_or_404(search_id)
    try:
        booking, _ = _candidate_image(found, rank, "thumbnail")
        pixels = examinations.booking_chip(booking).pixels
    except ServiceError:
        abort(404)
    return send_image(encode_jpeg(pixels, quality=85, max_side=THUMBNAIL_SIDE), "image/jpeg")


@bp.route("/requests/<int:request_id>/decide", methods=["POST"])
@certified_reviewer_required
def decide(request_id: int):
    search_request = _request_or_404(request_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash("Choose a decision and the search it rests on.", "error")
        return _to_workspace(request_id)
    found = db.session.get(FaceSearch, form.search_id.data)
    examination = (
        db.session.get(CandidateExamination, form.examination_id.data) if form.examination_id.data else None
    )
    perform(
        lambda: decisions.decide(
            search_request,
            reviewer=current_user,
            outcome=DecisionOutcome(form.outcome.data),
            search=found,
            examination=examination,
            comments=form.comments.data or "",
        ),
        "Decision recorded.",
    )
    return _to_workspace(request_id)
