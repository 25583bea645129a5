"""Sign-in (password, then TOTP), enrolment, fresh sign-in, password change, sessions, sign-out.

Every factor is checked in two steps, each committed: the attempt is reserved under a lock
(so parallel guesses are counted before any is checked), then checked (see services.identity.signin).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from app.blueprints.common import perform, require_valid, show_error
from app.security.access import (
    SESSION_TOKEN_KEY,
    mfa_pending_allowed,
    public,
    safe_next_url,
    signed_in,
)
from app.services.identity import administration, mfa
from app.services.identity import sessions as sessions_service
from app.services.identity import signin as auth_service
from app.services.identity.accounts import acknowledge, missing_agreements, new_password_problem
from app.services.identity.signin import LoginFailure

from .forms import AgreementForm, ChangePasswordForm, ConfirmIdentityForm, EndSessionForm, LoginForm, TotpForm

bp = Blueprint("auth", __name__)

NEXT_KEY = "next_url"

FAILURE_MESSAGES = {
    LoginFailure.BAD_CREDENTIALS: "Sign-in failed: the username or password is not correct, or the account "
    "is locked or deactivated. After five failed attempts within 15 minutes an account is locked "
    "until an administrator unlocks it.",
    LoginFailure.THROTTLED: "Too many failed sign-ins from this computer. Wait 15 minutes and try again.",
}
LOCKED_MESSAGE = "This account is now locked. Contact your local administrator to unlock it."


def _address() -> str:
    return request.remote_addr or "unknown"


def _reserve(username: str, factor: str, user=None) -> auth_service.Attempt:
    """The attempt is reserved in a unit of its own: it counts for every parallel request from
    the moment it is committed, while this one checks the factor."""
    return perform(lambda: auth_service.reserve_attempt(username, _address(), factor, user=user)).value


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if g.get("user_session") is not None and g.user_session.mfa_verified_at is not None:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    attempt = _reserve(form.username.data, "password")
    result = auth_service.check_password(attempt, form.password.data)
    if result.user is None:
        flash(FAILURE_MESSAGES[result.failure], "error")
        status = 429 if result.failure is LoginFailure.THROTTLED else 200
        return render_template("auth/login.html", form=form), status
    token = sessions_service.start_session(result.user, _address(), request.user_agent.string)
    next_url = safe_next_url(request.args.get("next"))
    session.clear()  # a new session at every sign-in: nothing from before survives
    session[SESSION_TOKEN_KEY] = token
    if next_url:
        session[NEXT_KEY] = next_url
    return redirect(url_for("auth.mfa"))


@bp.route("/mfa", methods=["GET", "POST"], endpoint="mfa")
@mfa_pending_allowed
def mfa_step():
    user_session = g.user_session
    if user_session.mfa_verified_at is not None:
        return redirect(url_for("main.index"))
    user = user_session.user
    form = TotpForm()
    enrolling = not user.mfa_enrolled
    if form.validate_on_submit():
        attempt = _reserve(user.username, "totp", user=user)
        check = auth_service.confirm_enrolment if enrolling else auth_service.verify_second_factor
        previous_sign_in = user.last_logon_at
        ok = check(user_session, attempt, form.code.data)
        if ok:
            for notice in administration.changes_told_at_sign_in(user, since=previous_sign_in):
                flash(notice, "warning")
            return redirect(safe_next_url(session.pop(NEXT_KEY, None)) or url_for("main.index"))
        if user_session.ended_at is not None:
            session.clear()
            flash(LOCKED_MESSAGE, "error")
            return redirect(url_for("auth.login"))
        flash("That code is not valid (each code can be used only once). Try the next one.", "error")
    secret = auth_service.enrolment_secret(user_session) if enrolling else None
    context = {"form": form, "enrolling": enrolling}
    if enrolling:
        context.update(secret=secret, qr_svg=mfa.qr_svg(mfa.provisioning_uri(user, secret)))
    return render_template("auth/mfa.html", **context)


@bp.route("/agreements", methods=["GET", "POST"])
@signed_in
def agreements():
    """The policy and agreements the user's role works under, signed before anything else."""
    user = g.user_session.user
    missing = missing_agreements(user)
    next_url = safe_next_url(request.args.get("next")) or url_for("main.index")
    if not missing:
        return redirect(next_url)
    form = AgreementForm()
    if form.validate_on_submit():
        done = perform(
            lambda: [acknowledge(user, agreement, typed_name=form.typed_name.data) for agreement in missing],
            flash_error=False,
        )
        if done.ok:
            flash("Thank you: your signature is recorded.", "success")
            return redirect(next_url)
        show_error(form, done.error)
    return render_template("auth/agreements.html", form=form, missing=missing)


@bp.route("/confirm", methods=["GET", "POST"])
@signed_in
def confirm():
    """Prove it is you again (password and a new code) before a sensitive change."""
    user_session = g.user_session
    form = ConfirmIdentityForm()
    next_url = safe_next_url(request.args.get("next")) or url_for("main.index")
    if form.validate_on_submit():
        attempt = _reserve(user_session.user.username, "reauth", user=user_session.user)
        ok = auth_service.confirm_identity(user_session, attempt, form.password.data, form.code.data)
        if ok:
            flash("Identity confirmed for the next few minutes.", "success")
            return redirect(next_url)
        if user_session.ended_at is not None:
            session.clear()
            flash(LOCKED_MESSAGE, "error")
            return redirect(url_for("auth.login"))
        flash("The password or the code is not correct (each code can be used only once).", "error")
    return render_template("auth/confirm.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    user_session = g.user_session
    if form.validate_on_submit():
        problem = new_password_problem(user_session.user, form.new_password.data)
        if problem:
            form.new_password.errors.append(problem)
            return render_template("auth/change_password.html", form=form)
        attempt = _reserve(user_session.user.username, "password_change", user=user_session.user)
        refusal = auth_service.change_own_password(
            user_session, attempt, form.current_password.data, form.new_password.data
        )
        if user_session.ended_at is not None:
            session.clear()
            flash(LOCKED_MESSAGE, "error")
            return redirect(url_for("auth.login"))
        if refusal is None:
            flash("Your password has been changed; every other session of your account has ended.", "success")
            return redirect(url_for("main.index"))
        form.current_password.errors.append(refusal)
    return render_template("auth/change_password.html", form=form)


@bp.route("/sessions")
@signed_in
def sessions():
    live = sessions_service.live_sessions(g.user_session.user)
    return render_template("auth/sessions.html", live=live, current=g.user_session, form=EndSessionForm())


@bp.route("/sessions/end-others", methods=["POST"])
@signed_in
def end_other_sessions():
    require_valid(EndSessionForm())
    ended = sessions_service.end_other_sessions(
        g.user_session.user, keep=g.user_session, reason="ended_by_user"
    )
    flash(f"{ended} other session(s) ended.", "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/sessions/end-all", methods=["POST"])
@signed_in
def sign_out_everywhere():
    require_valid(EndSessionForm())
    sessions_service.end_other_sessions(g.user_session.user, keep=g.user_session, reason="ended_by_user")
    sessions_service.logout(g.user_session)
    session.clear()
    flash("You have signed out everywhere.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/keepalive", methods=["POST"])
@signed_in
def keepalive():
    """Called by the page when the reviewer chooses to stay signed in (CSRF-checked like any POST)."""
    idle = sessions_service.keep_alive(g.user_session)
    return {"idle_seconds": int(idle.total_seconds())}


@bp.route("/logout", methods=["POST"])
@mfa_pending_allowed
def logout():
    user_session = g.get("user_session")
    if user_session is None:
        abort(400)
    sessions_service.logout(user_session)
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
