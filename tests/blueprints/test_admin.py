"""The administrator's pages: agencies, people, certifications, the audit trail in the open."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Agency, AuditEvent, Role, User, UserSession
from app.services.identity import administration as admin_service
from app.services.identity.accounts import search_eligibility
from app.services.platform.errors import PermissionDenied


@pytest.fixture
def admin(make_user, auth):
    user = make_user(Role.ADMIN, full_name="Alex Morgan")
    auth.login(user)
    return user


def last(action: str) -> AuditEvent:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
    ).first()


def test_create_agency_and_user_then_forced_password_change(auth, client, admin):
    auth.post("/admin/agencies", {"name": "Harbor City PD", "code": "hcpd", "contact_email": "d@hc.example"})
    agency = db.session.scalar(select(Agency).where(Agency.code == "HCPD"))
    assert agency is not None and last("agency.create").actor_id == admin.id
    auth.post(
        "/admin/users",
        {
            "username": "jdoe",
            "full_name": "Jane Doe",
            "role": "requester",
            "agency": "HCPD",
            "password": "temporary pass 123",
            "reason": "new investigator",
        },
    )
    user = db.session.scalar(select(User).where(User.username == "jdoe"))
    assert user.must_change_password and last("user.create").reason == "new investigator"
    auth.logout()
    auth.clock.advance(seconds=30)
    auth.password_step("jdoe", "temporary pass 123")
    page = client.get("/auth/mfa").get_data(as_text=True)
    import pyotp

    secret = re.search(r'class="secret">([A-Z2-7]+)<', page).group(1)
    auth.post("/auth/mfa", {"code": pyotp.TOTP(secret).at(auth.clock.now)})
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/password")


def test_separation_of_duties(admin, make_user):
    with pytest.raises(PermissionDenied, match="own role"):
        admin_service.change_role_and_agency(
            admin, actor=admin, role=Role.REVIEWER, agency_code="HOME", reason="trying"
        )
    with pytest.raises(PermissionDenied):
        admin_service.set_user_active(admin, actor=admin, active=False, reason="trying")
    from app.services.identity.accounts import certify_user
    from app.services.platform.errors import ServiceError

    with pytest.raises(ServiceError, match="own"):
        certify_user(
            actor=admin,
            user=admin,
            provider="FBI",
            number="1",
            completed_on=admin.created_at.date(),
            expires_on=admin.created_at.date() + timedelta(days=10),
        )


@pytest.mark.clause("SD-6")
def test_deactivate_records_the_violation_and_ends_sessions(app, auth, client, admin, make_user):
    target = make_user(Role.REVIEWER)
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other, auth.clock).login(target)
    assert other.get("/").status_code == 200
    auth.post(
        f"/admin/users/{target.id}/deactivate",
        {"r-reason": "Searched without a case number", "r-violation": "y"},
        token_from=f"/admin/users/{target.id}",
    )
    db.session.refresh(target)
    assert not target.active and target.deactivated_reason == "Searched without a case number"
    event = last("user.deactivate")
    assert event.reason == "Searched without a case number" and '"violation":true' in event.detail
    assert other.get("/").status_code == 302  # the live session ended
    assert all(
        s.ended_at for s in db.session.scalars(select(UserSession).where(UserSession.user_id == target.id))
    )


def test_reset_password_and_mfa(auth, client, admin, make_user):
    target = make_user(Role.REQUESTER)
    page = auth.post(
        f"/admin/users/{target.id}/reset_password",
        {"r-reason": "forgotten password"},
        token_from=f"/admin/users/{target.id}",
    )
    temporary = re.search(r'class="secret">([^<]+)<', page.get_data(as_text=True)).group(1)
    db.session.refresh(target)
    assert target.must_change_password and temporary not in (last("user.password_reset").detail or "")
    url = f"/admin/users/{target.id}"
    auth.post(f"{url}/reset_mfa", {"r-reason": "lost phone"}, token_from=url)
    db.session.refresh(target)
    assert not target.mfa_enrolled and last("user.mfa_reset").reason == "lost phone"


@pytest.mark.clause("TR-1")
def test_certification_from_the_web_and_automatic_expiry(auth, client, admin, make_user, clock):
    reviewer = make_user(Role.REVIEWER, certified=False)
    today = clock.today()
    auth.post(
        f"/admin/users/{reviewer.id}/certifications",
        token_from=f"/admin/users/{reviewer.id}",
        data={
            "cert-provider": "LACRIS",
            "cert-number": "L-9",
            "cert-completed_on": (today - timedelta(days=1)).isoformat(),
            "cert-expires_on": (today + timedelta(days=20)).isoformat(),
        },
    )
    db.session.refresh(reviewer)
    assert search_eligibility(reviewer)
    assert (
        "L-9" in client.get("/admin/users").get_data(as_text=True).split("expiring within 30 days")[1][:400]
    )
    clock.advance(days=21)
    assert not search_eligibility(reviewer)  # rights end on their own, no job needed


def test_ninety_day_disablement(make_user, clock, admin):
    idle = make_user(Role.REQUESTER)
    clock.advance(days=91)
    busy = make_user(Role.REQUESTER)
    disabled = admin_service.disable_dormant_accounts()
    db.session.commit()
    assert idle in disabled and busy not in disabled
    db.session.refresh(idle)
    assert not idle.active and last("user.deactivate").actor_username == "system"


def test_audit_browser_filters_and_csv_matches(auth, client, admin, make_user):
    target = make_user(Role.REQUESTER, username="browsed")
    admin_service.reset_mfa(target, actor=admin, reason="lost phone")
    db.session.commit()
    page = client.get("/admin/audit?action=user.mfa_reset").get_data(as_text=True)
    assert "user.mfa_reset" in page and "auth.login" not in page
    export = client.get("/admin/audit.csv?action=user.mfa_reset")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["user.mfa_reset"] and rows[0]["reason"] == "lost phone"
    assert last("audit.export").actor_id == admin.id


def test_chain_check_page(auth, client, admin, intruder):
    ok = auth.post("/admin/audit/verify", {})
    assert "Intact" in ok.get_data(as_text=True)
    db.session.execute(text("UPDATE audit_event SET reason = 'x' WHERE seq = 2"))
    db.session.commit()
    broken = auth.post("/admin/audit/verify", {})
    assert "Broken at event 2" in broken.get_data(as_text=True)


def test_dashboard_draws_svg_and_warns_about_the_scheduler(auth, client, admin):
    page = client.get("/admin/").get_data(as_text=True)
    assert page.count("<svg") >= 3 and "Searches per month, by requesting agency" in page
    assert "The scheduler is not running" in page and "rebuild is overdue" in page
    # the charts are drawn on the server: the only script is the app's shared one, no inline code
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/app.js">']


def test_transparency_exports_match_the_screen(app, auth, client, admin):
    from app.services.oversight import transparency

    rows = transparency.transparency_rows(transparency.last_months(12))
    page = client.get("/admin/transparency").get_data(as_text=True)
    export = client.get("/admin/transparency.csv").get_data(as_text=True)
    exported = list(csv.DictReader(io.StringIO(export)))
    assert [r["period"] for r in exported] == [r["period"] for r in rows]
    assert all(r["period"] in page for r in exported)
    assert "requests_received" in export.splitlines()[0] and "name" not in export.splitlines()[0]
    pdf = client.get("/admin/transparency.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
