"""The queue and a request's workspace: claim, release, questions, rejection, reassignment,
the First Amendment determination, need-to-know reasons, blind verification, decisions."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.blueprints.common import perform, require_valid, show_error
from app.blueprints.review import bp
from app.blueprints.review.common import request_or_404, to_workspace
from app.clock import utcnow
from app.extensions import db
from app.models import (
    Agency,
    CandidateExamination,
    Capacity,
    DecisionOutcome,
    FaceSearch,
    ReviewState,
    Role,
    User,
)
from app.security.access import (
    admin_required,
    certified_staff_required,
    queue_required,
    require_need_to_know,
    safe_next_url,
)
from app.services.identity import need_to_know
from app.services.identity.accounts import search_eligibility
from app.services.interconnect import peer_search
from app.services.oversight.reads import record_list_view, record_read
from app.services.policy import rules
from app.services.reports.issuance import report_comments_from, reports_for
from app.services.review import assignments, decisions, examinations, intake, probes, searches
from app.services.review.workflow import (
    Action,
    allowed_actions,
    capacity_of,
    current_assignment,
    third_reviewer_candidates,
    waiting_for,
)
from app.services.review.workflow import decisions as standing_decisions

from .forms import (
    ActionForm,
    DecisionForm,
    JustifyForm,
    QuestionForm,
    QueueFilterForm,
    ReassignForm,
    RejectForm,
    ScreeningForm,
    SearchForm,
    repository_choices,
)


def _expiring_certification():
    if current_user.role is not Role.REVIEWER:
        return None
    eligibility = search_eligibility(current_user)
    cert = eligibility.certification if eligibility else None
    return cert if cert and cert.expires_on <= (utcnow() + timedelta(days=30)).date() else None


@bp.route("/")
@queue_required
def queue():
    form = QueueFilterForm()
    if not form.validate():
        abort(400)
    items = assignments.queue(
        state=ReviewState(form.state.data) if form.state.data else None,
        agency_id=form.agency.data,
        reviewer_id=form.reviewer.data,
    )
    record_list_view(
        "queue.view",
        actor=current_user,
        shown=len(items),
        state=form.state.data,
        agency=form.agency.data,
        reviewer=form.reviewer.data,
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


def _render_workspace(search_request, **forms):
    """The workspace: where the case stands, who acts next, and only the actions possible now
    (the services' own rule); a refused form comes back with what was typed."""
    capacity = capacity_of(search_request, current_user)
    works = probes.works_of(search_request, current_user) if capacity else []
    mine = searches.searches_for(search_request, current_user) if capacity else []
    decision_form = forms.pop("decision_form", None) or DecisionForm()
    search_form = forms.pop("search_form", None) or SearchForm(
        work_id=searches.last_searched_works(mine, works),
        repositories=[p.name for p in peer_search.chosen_peers(None)],
    )
    search_form.repositories.choices = repository_choices()
    return render_template(
        "review/workspace.html",
        search_request=search_request,
        capacity=capacity,
        actions=allowed_actions(search_request, current_user),
        waiting_for=waiting_for(search_request),
        works=works,
        searches=mine,
        holder=current_assignment(search_request, Capacity.PRIMARY),
        verifier=current_assignment(search_request, Capacity.VERIFIER),
        decisions=standing_decisions(search_request),
        my_examinations=examinations.examinations_of(search_request, current_user),
        third_candidates=third_reviewer_candidates(search_request)
        if search_request.review_state is ReviewState.DISPUTED
        else [],
        policy=rules,
        action_form=ActionForm(),
        question_form=QuestionForm(),
        reject_form=RejectForm(),
        reassign_form=_reassign_form(),
        search_form=search_form,
        decision_form=decision_form,
        issue_comments=report_comments_from(search_request),
        screening_form=forms.pop("screening_form", None) or ScreeningForm().bind_images(search_request),
        needs_a_note=intake.needs_a_note,
        eligibility=search_eligibility(current_user) if current_user.role is not Role.REQUESTER else None,
        reports=reports_for(search_request),
        lead_notice=True,
        **forms,
    )


@bp.route("/requests/<int:request_id>")
@certified_staff_required
def workspace(request_id: int):
    search_request = request_or_404(request_id)
    require_need_to_know(search_request)
    record_read("review.view", search_request, actor=current_user)
    return _render_workspace(search_request)


@bp.route("/requests/<int:request_id>/determinations", methods=["POST"])
@certified_staff_required
def screen(request_id: int):
    """The reviewer's determinations before any search: each image's source, the First Amendment."""
    search_request = request_or_404(request_id)
    form = ScreeningForm().bind_images(search_request, request.form)
    require_valid(form)
    perform(
        lambda: intake.save_determinations(
            search_request,
            reviewer=current_user,
            images=form.determinations(),
            first_amendment=form.first_amendment(search_request),
        ),
        "Your determinations are recorded.",
    )
    return to_workspace(request_id)


@bp.route("/requests/<int:request_id>/access", methods=["GET", "POST"])
@certified_staff_required
def justify(request_id: int):
    """Staff outside their work give their reason before opening a request (need to know)."""
    search_request = request_or_404(request_id)
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
@certified_staff_required
def claim(request_id: int):
    search_request = request_or_404(request_id)
    require_valid(ActionForm())
    perform(
        lambda: assignments.claim(search_request, reviewer=current_user),
        f"You have claimed {search_request.tracking_number}.",
    )
    return to_workspace(request_id)


@bp.route("/requests/<int:request_id>/release", methods=["POST"])
@certified_staff_required
def release(request_id: int):
    search_request = request_or_404(request_id)
    require_valid(ActionForm())
    done = perform(
        lambda: assignments.release(search_request, reviewer=current_user), "Released back to the queue."
    )
    return redirect(url_for("review.queue")) if done.ok else to_workspace(request_id)


@bp.route("/requests/<int:request_id>/return", methods=["POST"])
@certified_staff_required
def return_question(request_id: int):
    search_request = request_or_404(request_id)
    form = QuestionForm()
    if not form.validate_on_submit():
        flash("Write the question for the requester (at least 10 characters).", "error")
        return to_workspace(request_id)
    perform(
        lambda: assignments.return_with_question(
            search_request, reviewer=current_user, question=form.question.data
        ),
        "Returned to the requester with your question.",
    )
    return to_workspace(request_id)


@bp.route("/requests/<int:request_id>/reject", methods=["POST"])
@certified_staff_required
def reject(request_id: int):
    search_request = request_or_404(request_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Name the clause and write a note (at least 10 characters).", "error")
        return to_workspace(request_id)
    perform(
        lambda: assignments.reject_out_of_policy(
            search_request, reviewer=current_user, clause=form.clause.data, note=form.note.data
        ),
        "Rejected as out of policy; the requester sees the clause and your note.",
    )
    return to_workspace(request_id)


@bp.route("/requests/<int:request_id>/reassign", methods=["POST"])
@admin_required
def reassign(request_id: int):
    search_request = request_or_404(request_id)
    form = _reassign_form()
    if not form.validate_on_submit():
        flash("Choose an active reviewer and give a reason.", "error")
        return to_workspace(request_id)
    reviewer = db.session.get(User, form.reviewer_id.data)
    perform(
        lambda: assignments.reassign(
            search_request, admin=current_user, reviewer=reviewer, reason=form.reason.data
        ),
        f"Assigned to {reviewer.full_name}.",
    )
    return to_workspace(request_id)


@bp.route("/requests/<int:request_id>/verify", methods=["POST"])
@certified_staff_required
def claim_verification(request_id: int):
    search_request = request_or_404(request_id)
    require_valid(ActionForm())
    perform(
        lambda: assignments.claim_verification(search_request, reviewer=current_user),
        "You are verifying this request. You see the probe and the candidate list, not the first review.",
    )
    return to_workspace(request_id)


@bp.route("/requests/<int:request_id>/decide", methods=["POST"])
@certified_staff_required
def decide(request_id: int):
    search_request = request_or_404(request_id)
    form = DecisionForm()
    if form.validate_on_submit():
        done = perform(
            lambda: decisions.decide(
                search_request,
                reviewer=current_user,
                outcome=DecisionOutcome(form.outcome.data),
                search=db.session.get(FaceSearch, form.search_id.data),
                examination=db.session.get(CandidateExamination, form.examination_id.data or 0),
                comments=form.comments.data or "",
                confirmed_unexamined=form.confirm_unexamined.data,
            ),
            "Decision recorded.",
            flash_error=False,
        )
        if done.ok:
            return to_workspace(request_id)
        if Action.DECIDE not in allowed_actions(search_request, current_user):
            # a stale tab: the request moved on (decided elsewhere, released, withdrawn), so
            # the form is no longer on the page; say so instead of dropping the decision
            flash(f"Your decision was not recorded: {done.error.message}", "error")
            return to_workspace(request_id)
        show_error(form, done.error)
    return _render_workspace(search_request, decision_form=form)
