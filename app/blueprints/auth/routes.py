"""Sign-in (password, then TOTP), enrolment, password change, sign-out."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from app.extensions import db
from app.security.access import (
    SESSION_TOKEN_KEY,
    mfa_pending_allowed,
    public,
    safe_next_url,
    signed_in,
)
from app.services import auth as auth_service
from app.services import mfa
from app.services.accounts import change_password as change_password_service
from app.services.auth import LoginFailure
from app.services.errors import ServiceError

from .forms import ChangePasswordForm, LoginForm, TotpForm

bp = Blueprint("auth", __name__)

NEXT_KEY = "next_url"

FAILURE_MESSAGES = {
    LoginFailure.BAD_CREDENTIALS: "The username or password is not correct. "
    "After five failed attempts the account is locked until an administrator unlocks it.",
    LoginFailure.LOCKED: "This account is locked. Contact your local administrator to unlock it.",
    LoginFailure.INACTIVE: "This account is deactivated. Contact your local administrator.",
    LoginFailure.THROTTLED: "Too many failed sign-ins from this computer. Wait 15 minutes and try again.",
}


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if g.get("user_session") is not None and g.user_session.mfa_verified_at is not None:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        result = auth_service.check_password(form.username.data, form.password.data, address)
        if result.user is None:
            db.session.commit()
            flash(FAILURE_MESSAGES[result.failure], "error")
            status = 429 if result.failure is LoginFailure.THROTTLED else 200
            return render_template("auth/login.html", form=form), status
        token = auth_service.start_session(result.user, address, request.user_agent.string)
        db.session.commit()
        next_url = safe_next_url(request.args.get("next"))
        # A new session at every sign-in: nothing from before the sign-in survives.
        session.clear()
        session[SESSION_TOKEN_KEY] = token
        if next_url:
            session[NEXT_KEY] = next_url
        return redirect(url_for("auth.mfa"))
    return render_template("auth/login.html", form=form)


@bp.route("/mfa", methods=["GET", "POST"], endpoint="mfa")
@mfa_pending_allowed
def mfa_step():
    user_session = g.user_session
    if user_session.mfa_verified_at is not None:
        return redirect(url_for("main.index"))
    user = user_session.user
    form = TotpForm()
    enrolling = not user.mfa_enrolled
    secret = auth_service.enrolment_secret(user_session) if enrolling else None
    if form.validate_on_submit():
        if enrolling:
            ok = auth_service.confirm_enrolment(user_session, form.code.data)
        else:
            ok = auth_service.verify_second_factor(user_session, form.code.data)
        db.session.commit()
        if ok:
            return redirect(safe_next_url(session.pop(NEXT_KEY, None)) or url_for("main.index"))
        if user_session.ended_at is not None:
            session.clear()
            flash(FAILURE_MESSAGES[LoginFailure.LOCKED], "error")
            return redirect(url_for("auth.login"))
        flash("That code is not valid (each code can be used only once). Try the next one.", "error")
    db.session.commit()  # keeps the enrolment secret for the next attempt
    context = {"form": form, "enrolling": enrolling}
    if enrolling:
        uri = mfa.provisioning_uri(user, secret)
        context.update(secret=secret, qr_svg=mfa.qr_svg(uri))
    return render_template("auth/mfa.html", **context)


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    user = g.user_session.user
    if form.validate_on_submit():
        try:
            change_password_service(
                user=user,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
            )
        except ServiceError as err:
            db.session.rollback()
            getattr(form, err.field or "new_password").errors.append(err.message)
        else:
            db.session.commit()
            flash("Your password has been changed.", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/logout", methods=["POST"])
@mfa_pending_allowed
def logout():
    user_session = g.get("user_session")
    if user_session is None:
        abort(400)
    auth_service.logout(user_session)
    db.session.commit()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
