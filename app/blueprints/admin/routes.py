"""Local administrators: agencies, people and certifications, and the audit trail in the open."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, time, timedelta
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.common import CsrfForm, commit_or_flash
from app.clock import utcnow
from app.extensions import db
from app.models import Agency, AuditEvent, MonthlyAudit, Outcome, Role, TrainingCertification, User
from app.security.access import admin_required
from app.services import accounts, oversight
from app.services import admin as service
from app.services import reports as reports_service
from app.services.audit import record_event, verify_chain

from .forms import AgencyForm, CertificationForm, MonthForm, ReasonForm, RoleForm, UserForm

bp = Blueprint("admin", __name__)
PAGE_SIZE = 50


def _agency_choices() -> list[tuple[str, str]]:
    return [
        (a.code, f"{a.name} ({a.code})") for a in db.session.scalars(select(Agency).order_by(Agency.name))
    ]


def _done(action, success: str, to: str):
    _, result = commit_or_flash(action, success)
    return redirect(to), result


@bp.route("/agencies", methods=["GET", "POST"])
@admin_required
def agencies():
    form = AgencyForm()
    if form.validate_on_submit():
        response, _ = _done(
            lambda: accounts.create_agency(
                actor=current_user,
                name=form.name.data,
                code=form.code.data,
                contact_name=form.contact_name.data,
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data,
            ),
            f"Agency {form.code.data.upper()} created.",
            url_for("admin.agencies"),
        )
        return response
    rows = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    return render_template("admin/agencies.html", agencies=rows, form=form)


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@admin_required
def agency(agency_id: int):
    target = db.session.get(Agency, agency_id) or abort(404)
    form = AgencyForm(obj=target)
    toggle = ReasonForm(prefix="toggle")
    to = url_for("admin.agency", agency_id=agency_id)
    if request.form.get("action") == "update" and form.validate_on_submit():
        response, _ = _done(
            lambda: service.update_agency(
                target,
                actor=current_user,
                name=form.name.data,
                contact_name=form.contact_name.data,
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data,
                reason=form.reason.data or "",
            ),
            "Agency updated.",
            to,
        )
        return response
    if request.form.get("action") in ("deactivate", "activate") and toggle.validate_on_submit():
        response, _ = _done(
            lambda: service.set_agency_active(
                target,
                actor=current_user,
                active=request.form["action"] == "activate",
                reason=toggle.reason.data,
            ),
            "Agency status changed.",
            to,
        )
        return response
    return render_template("admin/agency.html", agency=target, form=form, toggle=toggle)


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = UserForm()
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():

        def create():
            return accounts.create_user(
                actor=current_user,
                username=form.username.data,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                agency=accounts.get_agency_by_code(form.agency.data),
                password=form.password.data,
                email=form.email.data,
                phone=form.phone.data,
                must_change_password=True,
                reason=form.reason.data,
            )

        response, _ = _done(create, f"Account {form.username.data} created.", url_for("admin.users"))
        return response
    today = utcnow().date()
    rows = db.session.scalars(select(User).order_by(User.agency_id, User.full_name)).all()
    expiring = db.session.scalars(
        select(TrainingCertification)
        .where(TrainingCertification.expires_on.between(today, today + timedelta(days=30)))
        .order_by(TrainingCertification.expires_on)
    ).all()
    return render_template(
        "admin/users.html", users=rows, form=form, expiring=expiring, eligibility=accounts.search_eligibility
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user(user_id: int):
    target = db.session.get(User, user_id) or abort(404)
    to = url_for("admin.user", user_id=user_id)
    role_form = RoleForm(prefix="role", role=target.role.value, agency=target.agency.code)
    role_form.agency.choices = _agency_choices()
    reason_form = ReasonForm(prefix="r")
    cert_form = CertificationForm(prefix="cert")
    action = request.form.get("action")
    temporary = None
    if action == "role" and role_form.validate_on_submit():
        return _done(
            lambda: service.change_role_and_agency(
                target,
                actor=current_user,
                role=Role(role_form.role.data),
                agency_code=role_form.agency.data,
                reason=role_form.reason.data,
            ),
            "Role and agency updated.",
            to,
        )[0]
    if (
        action in ("deactivate", "reactivate", "unlock", "reset_password", "reset_mfa")
        and reason_form.validate_on_submit()
    ):
        reason = reason_form.reason.data
        handlers = {
            "deactivate": lambda: service.set_user_active(
                target, actor=current_user, active=False, reason=reason, violation=reason_form.violation.data
            ),
            "reactivate": lambda: service.set_user_active(
                target, actor=current_user, active=True, reason=reason
            ),
            "unlock": lambda: accounts.unlock_user(actor=current_user, user=target, reason=reason),
            "reset_password": lambda: service.reset_password(target, actor=current_user, reason=reason),
            "reset_mfa": lambda: service.reset_mfa(target, actor=current_user, reason=reason),
        }
        response, result = _done(handlers[action], "Done.", to)
        if action != "reset_password" or result is None:
            return response
        temporary = result  # shown once, on this page, never stored in clear
    if action == "certify" and cert_form.validate_on_submit():
        return _done(
            lambda: accounts.certify_user(
                actor=current_user,
                user=target,
                provider=cert_form.provider.data,
                number=cert_form.number.data,
                completed_on=cert_form.completed_on.data,
                expires_on=cert_form.expires_on.data,
            ),
            "Certification recorded.",
            to,
        )[0]
    if action and request.method == "POST" and temporary is None:
        flash("Check the form: a reason is always required.", "error")
    return render_template(
        "admin/user.html",
        user=target,
        role_form=role_form,
        reason_form=reason_form,
        cert_form=cert_form,
        temporary=temporary,
        eligibility=accounts.search_eligibility(target) if target.role is Role.REVIEWER else None,
    )


def _audit_query():
    args = request.args
    stmt = select(AuditEvent)
    if args.get("user"):
        stmt = stmt.where(AuditEvent.actor_username == args["user"].strip())
    if args.get("agency"):
        stmt = stmt.where(AuditEvent.actor_agency == args["agency"].strip().upper())
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action.startswith(args["action"].strip()))
    if args.get("outcome") in {o.value for o in Outcome}:
        stmt = stmt.where(AuditEvent.outcome == Outcome(args["outcome"]))
    if args.get("object_type"):
        stmt = stmt.where(AuditEvent.object_type == args["object_type"].strip())
    if args.get("object_id"):
        stmt = stmt.where(AuditEvent.object_id == args["object_id"].strip())
    if args.get("case"):
        pattern = f"%{args['case'].strip()}%"
        stmt = stmt.where(AuditEvent.reason.like(pattern) | AuditEvent.detail.like(pattern))
    for name, op in (("from", "ge"), ("to", "lt")):
        value = args.get(name)
        if value:
            try:
                day = datetime.combine(datetime.fromisoformat(value).date(), time.min).replace(
                    tzinfo=utcnow().tzinfo
                )
            except ValueError:
                continue
            if op == "ge":
                stmt = stmt.where(AuditEvent.occurred_at >= day)
            else:
                stmt = stmt.where(AuditEvent.occurred_at < day + timedelta(days=1))
    return stmt


@bp.route("/audit")
@admin_required
def audit():
    page = max(1, request.args.get("page", 1, type=int))
    stmt = _audit_query().order_by(AuditEvent.seq.desc())
    events = db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "admin/audit.html",
        events=events[:PAGE_SIZE],
        page=page,
        has_next=len(events) > PAGE_SIZE,
        args=args,
        outcomes=list(Outcome),
    )


@bp.route("/audit.csv")
@admin_required
def audit_csv():
    stmt = _audit_query().order_by(AuditEvent.seq)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = [
        "seq",
        "occurred_at",
        "actor_username",
        "actor_agency",
        "source_address",
        "action",
        "object_type",
        "object_id",
        "outcome",
        "reason",
        "detail",
        "prev_hash",
        "hash",
    ]
    writer.writerow(columns)
    count = 0
    for event in db.session.scalars(stmt):
        writer.writerow(
            [getattr(event, c).isoformat() if c == "occurred_at" else getattr(event, c) for c in columns]
        )
        count += 1
    record_event(
        "audit.export",
        actor=current_user,
        object_type="audit",
        detail={"rows": count, "filters": {k: v for k, v in request.args.items()}},
    )
    db.session.commit()
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
    )


@bp.route("/audit/verify", methods=["GET", "POST"])
@admin_required
def audit_verify():
    report = None
    form = CsrfForm()
    if form.validate_on_submit():
        report = verify_chain()
        record_event(
            "audit.verify",
            actor=current_user,
            object_type="audit",
            outcome=Outcome.SUCCESS if report.ok else Outcome.FAILED,
            detail={"events": report.events_checked, "problem": report.problem},
        )
        db.session.commit()
    return render_template("admin/verify.html", report=report, form=form)


# --- monthly audits ------------------------------------------------------------------------


def _monthly_or_404(month: str) -> MonthlyAudit:
    return db.session.scalar(select(MonthlyAudit).where(MonthlyAudit.month == month)) or abort(404)


@bp.route("/monthly", methods=["GET", "POST"])
@admin_required
def monthly_audits():
    form = MonthForm()
    if form.validate_on_submit():
        response, _ = _done(
            lambda: oversight.generate_monthly_audit(
                form.month.data.strip(), generated_by=current_user.username, actor=current_user
            ),
            f"Monthly audit {form.month.data} generated.",
            url_for("admin.monthly_audits"),
        )
        return response
    audits = db.session.scalars(select(MonthlyAudit).order_by(MonthlyAudit.month.desc())).all()
    form.month.data = form.month.data or oversight.previous_month(utcnow().date())
    return render_template("admin/monthly_list.html", audits=audits, form=form)


@bp.route("/monthly/<month>")
@admin_required
def monthly_audit(month: str):
    audit = _monthly_or_404(month)
    return render_template(
        "admin/monthly.html",
        audit=audit,
        rows=json.loads(audit.figures),
        clear_form=ReasonForm(),
        sign_form=ReasonForm(prefix="sign"),
    )


@bp.route("/monthly/<month>/flags/<int:flag_id>/clear", methods=["POST"])
@admin_required
def clear_flag(month: str, flag_id: int):
    audit = _monthly_or_404(month)
    flag = next((f for f in audit.flags if f.id == flag_id), None) or abort(404)
    form = ReasonForm()
    to = url_for("admin.monthly_audit", month=month)
    if not form.validate_on_submit():
        flash("A note is required to clear a flag.", "error")
        return redirect(to)
    return _done(
        lambda: oversight.clear_flag(flag, actor=current_user, note=form.reason.data), "Flag cleared.", to
    )[0]


@bp.route("/monthly/<month>/sign-off", methods=["POST"])
@admin_required
def sign_off(month: str):
    audit = _monthly_or_404(month)
    form = ReasonForm(prefix="sign")
    to = url_for("admin.monthly_audit", month=month)
    if not form.validate_on_submit():
        flash("Add a sign-off note.", "error")
        return redirect(to)
    return _done(
        lambda: oversight.sign_off(audit, actor=current_user, note=form.reason.data),
        f"Monthly audit {month} signed off.",
        to,
    )[0]


@bp.route("/monthly/<month>/file.<any(pdf, csv):kind>")
@admin_required
def monthly_file(month: str, kind: str):
    audit = _monthly_or_404(month)
    path, sha = (audit.pdf_path, audit.pdf_sha256) if kind == "pdf" else (audit.csv_path, audit.csv_sha256)
    data = (Path(current_app.instance_path) / path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha:
        flash("The stored file does not match its recorded SHA-256.", "error")
        return redirect(url_for("admin.monthly_audit", month=month))
    record_event(
        "audit.monthly_download",
        actor=current_user,
        object_type="monthly_audit",
        object_id=month,
        detail={"kind": kind},
    )
    db.session.commit()
    return Response(
        data,
        mimetype="application/pdf" if kind == "pdf" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{month}.{kind}"'},
    )


# --- dashboard and transparency ------------------------------------------------------------


def _scheduler_heartbeat_age() -> timedelta | None:
    from app.scheduler import HEARTBEAT_FILE

    path = Path(current_app.instance_path, HEARTBEAT_FILE)
    if not path.exists():
        return None
    beat = datetime.fromisoformat(json.loads(path.read_text())["at"])
    return utcnow() - beat


@bp.route("/")
@admin_required
def dashboard():
    from app.charts import stacked_bars
    from app.services import transparency
    from app.services.matching import index_status

    months = transparency.last_months(12)
    labels = [m[2:] for m in months]
    heartbeat = _scheduler_heartbeat_age()
    return render_template(
        "admin/dashboard.html",
        by_agency=stacked_bars(
            "Searches per month, by requesting agency", labels, transparency.searches_by(months, "agency")
        ),
        by_purpose=stacked_bars(
            "Searches per month, by purpose", labels, transparency.searches_by(months, "purpose")
        ),
        outcomes=stacked_bars("Outcomes per month", labels, transparency.outcomes_by_month(months)),
        lead_outcomes=transparency.lead_outcomes(),
        index=index_status(),
        heartbeat=heartbeat,
        scheduler_stale=heartbeat is None or heartbeat > timedelta(minutes=5),
        outstanding_seals=len(reports_service.outstanding_seal_notices()),
    )


@bp.route("/transparency")
@admin_required
def transparency_figures():
    from app.services import transparency

    rows = transparency.transparency_rows(transparency.last_months(12))
    return render_template("admin/transparency.html", rows=rows, columns=transparency.TRANSPARENCY_COLUMNS)


@bp.route("/transparency.<any(csv, pdf):kind>")
@admin_required
def transparency_export(kind: str):
    from app.services import transparency

    rows = transparency.transparency_rows(transparency.last_months(12))
    if kind == "csv":
        data, mimetype = transparency.transparency_csv(rows), "text/csv"
    else:
        data, mimetype = (
            transparency.transparency_pdf(rows, current_app.config["UNIT_NAME"]),
            "application/pdf",
        )
    record_event("transparency.export", actor=current_user, object_type="transparency", detail={"kind": kind})
    db.session.commit()
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="transparency.{kind}"'},
    )
