"""Agencies, accounts and training certifications; every change has a reason and is audited."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin import bp
from app.blueprints.common import CsrfForm, perform, show_error
from app.extensions import db
from app.models import Agency, PendingApproval, Role, User
from app.security.access import admin_required
from app.services.identity import accounts, approvals
from app.services.identity import administration as service
from app.services.identity.signin import fresh_sign_in_at
from app.services.oversight.reads import record_list_view

from .forms import AgencyForm, CertificationForm, ReasonForm, RoleForm, UserForm


def _agency_choices() -> list[SelectChoice]:
    agencies = db.session.scalars(select(Agency).order_by(Agency.name))
    return [SelectChoice(a.code, f"{a.name} ({a.code})") for a in agencies]


def _agency_or_404(agency_id: int) -> Agency:
    return db.get_or_404(Agency, agency_id)


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/agencies", methods=["GET", "POST"])
@admin_required
def agencies():
    form = AgencyForm()
    if form.validate_on_submit():
        done = perform(
            lambda: accounts.create_agency(actor=current_user, **form.agency_fields()),
            f"Agency {form.code.data.upper()} created.",
        )
        if done.ok:
            return redirect(url_for("admin.agencies"))
    rows = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    return render_template("admin/agencies.html", agencies=rows, form=form, open_form=form.is_submitted())


@bp.route("/agencies/<int:agency_id>")
@admin_required
def agency(agency_id: int):
    return _agency_page(_agency_or_404(agency_id))


def _agency_page(target: Agency, form: AgencyForm | None = None):
    return render_template(
        "admin/agency.html",
        agency=target,
        form=form or AgencyForm(obj=target),
        toggle=ReasonForm(),
        **approvals.pending_approvals_for(current_user, agency=target),
    )


@bp.route("/agencies/<int:agency_id>/update", methods=["POST"])
@admin_required
def update_agency(agency_id: int):
    target = _agency_or_404(agency_id)
    form = AgencyForm()
    if form.validate_on_submit():
        done = perform(
            lambda: service.update_agency(
                target, actor=current_user, reason=form.reason.data or "", **form.agency_fields(code=False)
            ),
            "Agency updated.",
        )
        if done.ok:
            return redirect(url_for("admin.agency", agency_id=agency_id))
    return _agency_page(target, form)


@bp.route("/agencies/<int:agency_id>/<any(activate, deactivate):change>", methods=["POST"])
@admin_required
def set_agency_active(agency_id: int, change: str):
    target = _agency_or_404(agency_id)
    form = ReasonForm()
    if form.validate_on_submit():
        done = perform(
            lambda: approvals.request_agency_change(
                target,
                actor=current_user,
                active=change == "activate",
                reason=form.reason.data,
                fresh_at=fresh_sign_in_at(g.user_session),
            )
        )
        if isinstance(done.error, service.FreshSignInRequired):
            return redirect(url_for("auth.confirm", next=url_for("admin.agency", agency_id=agency_id)))
        if done.ok:
            flash(done.value, "success")
    else:
        flash("Give the reason (it is kept in the audit trail).", "error")
    return redirect(url_for("admin.agency", agency_id=agency_id))


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = UserForm()
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        done = perform(
            lambda: approvals.create_account(
                actor=current_user, fresh_at=fresh_sign_in_at(g.user_session), **form.account_fields()
            ),
            flash_error=False,
        )
        if isinstance(done.error, service.FreshSignInRequired):
            flash(
                "Making an administrator needs a fresh sign-in: confirm, then submit the form again.", "error"
            )
            return redirect(url_for("auth.confirm", next=url_for("admin.users")))
        if done.ok:
            flash(done.value, "success")
            return redirect(url_for("admin.users"))
        show_error(form, done.error)
    overview = service.people_overview()
    record_list_view("user.list", actor=current_user, shown=len(overview["users"]))
    return render_template("admin/users.html", form=form, open_form=form.is_submitted(), **overview)


def _user_page(target: User, **forms):
    service.record_user_view(target, actor=current_user)
    role_form = forms.pop("role_form", None) or RoleForm(
        prefix="role", role=target.role.value, agency=target.agency.code
    )
    role_form.agency.choices = _agency_choices()
    return render_template(
        "admin/user.html",
        user=target,
        role_form=role_form,
        reason_form=forms.pop("reason_form", None) or ReasonForm(prefix="r"),
        cert_form=forms.pop("cert_form", None) or CertificationForm(prefix="cert"),
        eligibility=accounts.search_eligibility(target) if target.role is not Role.REQUESTER else None,
        approval_form=CsrfForm(),
        **approvals.pending_approvals_for(current_user, target=target),
        **forms,
    )


@bp.route("/users/<int:user_id>")
@admin_required
def user(user_id: int):
    return _user_page(_user_or_404(user_id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@admin_required
def change_role(user_id: int):
    target = _user_or_404(user_id)
    form = RoleForm(prefix="role")
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        done = perform(
            lambda: approvals.request_or_apply(
                "change_role",
                target,
                actor=current_user,
                fresh_at=fresh_sign_in_at(g.user_session),
                reason=form.reason.data,
                role=form.role.data,
                agency_code=form.agency.data,
            ),
        )
        if done.ok:
            flash(done.value, "success")
            return redirect(url_for("admin.user", user_id=user_id))
        if isinstance(done.error, service.FreshSignInRequired):
            return _confirm_first(user_id)
    return _user_page(target, role_form=form)


def _confirm_first(user_id: int):
    return redirect(url_for("auth.confirm", next=url_for("admin.user", user_id=user_id)))


ACCOUNT_CHANGES = "any(deactivate, reactivate, unlock, reset_password, reset_mfa)"


@bp.route(f"/users/<int:user_id>/<{ACCOUNT_CHANGES}:change>", methods=["POST"])
@admin_required
def change_account(user_id: int, change: str):
    target = _user_or_404(user_id)
    form = ReasonForm(prefix="r")
    if not form.validate_on_submit():
        flash("Check the form: a reason is always required.", "error")
        return _user_page(target, reason_form=form)
    done = perform(
        lambda: approvals.request_or_apply(
            change,
            target,
            actor=current_user,
            fresh_at=fresh_sign_in_at(g.user_session),
            reason=form.reason.data,
            violation=form.violation.data,
        )
    )
    if isinstance(done.error, service.FreshSignInRequired):
        return _confirm_first(user_id)
    if not done.ok:
        return _user_page(target, reason_form=form)
    if isinstance(done.value, service.TemporaryPassword):  # shown once, on this page, never stored in clear
        return _user_page(target, temporary=done.value.password)
    flash(done.value, "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/certifications", methods=["POST"])
@admin_required
def certify(user_id: int):
    target = _user_or_404(user_id)
    form = CertificationForm(prefix="cert")
    if form.validate_on_submit():
        done = perform(
            lambda: accounts.certify_user(
                actor=current_user,
                user=target,
                provider=form.provider.data,
                number=form.number.data,
                completed_on=form.completed_on.data,
                expires_on=form.expires_on.data,
            ),
            "Certification recorded.",
        )
        if done.ok:
            return redirect(url_for("admin.user", user_id=user_id))
    return _user_page(target, cert_form=form)


@bp.route("/approvals/<int:approval_id>/<any(approve, decline):verdict>", methods=["POST"])
@admin_required
def decide_approval(approval_id: int, verdict: str):
    form = CsrfForm()
    approval = db.get_or_404(PendingApproval, approval_id)
    if form.validate_on_submit():
        done = perform(
            lambda: approvals.decide_approval(
                approval,
                actor=current_user,
                approve=verdict == "approve",
                fresh_at=fresh_sign_in_at(g.user_session),
            )
        )
        if isinstance(done.error, service.FreshSignInRequired):
            return redirect(url_for("auth.confirm", next=_subject_url(approval)))
        if done.ok and isinstance(done.value, service.TemporaryPassword):
            return _user_page(approval.target, temporary=done.value.password)
        if done.ok:
            flash(done.value, "success")
    return redirect(_subject_url(approval))


def _subject_url(approval: PendingApproval) -> str:
    if approval.target_id is None:
        return url_for("admin.agency", agency_id=approval.agency_id)
    return url_for("admin.user", user_id=approval.target_id)
