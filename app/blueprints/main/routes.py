"""The signed-in landing page and the agency profile."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.models import Agency, RequestStatus, Role, TrainingCertification, User
from app.security.access import get_for_agency_or_404, public, signed_in
from app.services.identity.accounts import search_eligibility
from app.services.intake.requests import agency_requests
from app.services.review.waiting import waiting_on

bp = Blueprint("main", __name__)


@bp.route("/")
@signed_in
def index():
    user: User = current_user
    context = {"waiting": waiting_on(user)}
    if user.role is Role.ADMIN:
        today = utcnow().date()
        context["counts"] = {
            "agencies": db.session.scalar(select(func.count(Agency.id))),
            "users": db.session.scalar(select(func.count(User.id))),
            "locked": db.session.scalar(select(func.count(User.id)).where(User.locked.is_(True))),
            "expiring": db.session.scalar(
                select(func.count(TrainingCertification.id)).where(
                    TrainingCertification.expires_on.between(today, today + timedelta(days=30))
                )
            ),
        }
    if user.role is Role.REVIEWER:
        context["eligibility"] = search_eligibility(user)
    if user.role is Role.REQUESTER:
        submitted = [r for r in agency_requests(user) if r.status is not RequestStatus.DRAFT]
        context["recent_requests"] = submitted[:10]
    return render_template("main/index.html", **context)


@bp.route("/agencies/<int:agency_id>")
@signed_in
def agency(agency_id: int):
    agency = get_for_agency_or_404(Agency, agency_id, agency_id_of=lambda a: a.id)
    members = db.session.scalars(
        select(User).where(User.agency_id == agency.id).order_by(User.full_name)
    ).all()
    return render_template("main/agency.html", agency=agency, members=members)


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(select(1))
    return {"status": "ok"}
