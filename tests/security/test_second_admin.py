"""An administrator acting alone (finding 2 of the second red-team pass), an approval sent from
eight connections at once (finding 4) and a reset without a fresh sign-in (finding 9), each
attacked the way it was found."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, AuditEvent, PendingApproval, Role, User
from tests.conftest import TEST_PASSWORD
from tests.support.live import at_once, refresh


def events(action: str, outcome: str = "success") -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == outcome)
        )
    )


def confirm(auth, user: User) -> None:
    """A fresh sign-in inside the session: password and a new code."""
    auth.clock.advance(seconds=30)
    response = auth.post(
        "/auth/confirm", {"password": TEST_PASSWORD, "code": auth.totp_code(user.totp_secret)}
    )
    assert response.status_code == 302


def new_admin_form(username: str) -> dict:
    return {
        "username": username,
        "full_name": "Puppet Admin",
        "role": "admin",
        "agency": "HOME",
        "password": "correct horse battery staple 42",
        "reason": "a second pair of hands",
    }


def test_an_admin_made_through_the_user_form_is_inactive_until_a_second_admin_approves(auth, make_user):
    ada, ben = make_user(Role.ADMIN, username="ada"), make_user(Role.ADMIN, username="ben")
    auth.login(ada)
    auth.clock.advance(minutes=10)  # no longer fresh
    response = auth.post("/admin/users", new_admin_form("puppet"))
    assert "/auth/confirm" in response.headers["Location"]
    assert db.session.scalar(select(User).where(User.username == "puppet")) is None
    confirm(auth, ada)
    auth.post("/admin/users", new_admin_form("puppet"))
    puppet = db.session.scalars(select(User).where(User.username == "puppet")).one()
    assert puppet.role is Role.ADMIN and not puppet.active
    approval = db.session.scalars(select(PendingApproval)).one()
    assert approval.target_id == puppet.id and approval.requested_by_id == ada.id
    page = auth.client.get(f"/admin/users/{puppet.id}").get_data(as_text=True)
    assert "Approve" not in page and "not the one asking" in page
    refused = auth.post(f"/admin/approvals/{approval.id}/approve", {}, token_from=f"/admin/users/{puppet.id}")
    assert refused.status_code in (302, 403)
    assert not db.session.get(User, puppet.id).active
    auth.logout()
    # the puppet cannot sign in to approve anything
    assert auth.password_step("puppet", "correct horse battery staple 42").status_code == 200  # refused
    auth.login(ben)
    auth.post(f"/admin/approvals/{approval.id}/approve", {}, token_from=f"/admin/users/{puppet.id}")
    refresh(puppet)
    assert puppet.active and puppet.admin_granted_by_id == ada.id


def test_an_admin_made_at_ones_request_is_not_ones_second_admin(auth, make_user, clock):
    """Found: admin1 made an admin, signed in as it and approved a reset of admin2."""
    ada, ben, cy = (make_user(Role.ADMIN, username=n) for n in ("ada", "ben", "cy"))
    puppet = make_user(Role.ADMIN, username="puppet")
    puppet.admin_granted_by_id, puppet.admin_granted_at = ada.id, clock.now
    db.session.commit()
    auth.login(ada)
    url = f"/admin/users/{ben.id}"
    auth.post(f"{url}/reset_password", {"r-reason": "take over ben"}, token_from=url)
    approval = db.session.scalars(select(PendingApproval)).one()
    auth.logout()
    auth.login(puppet)
    page = auth.client.get(url).get_data(as_text=True)
    assert "Approve" not in page and "independent of the one asking" in page
    auth.post(f"/admin/approvals/{approval.id}/approve", {}, token_from=url)
    refresh(ben, approval)
    assert approval.decided_at is None and not ben.must_change_password
    assert events("admin.approval_decide", "denied")
    auth.logout()
    auth.login(cy)  # an administrator independent of ada decides
    auth.post(f"/admin/approvals/{approval.id}/decline", {}, token_from=url)
    refresh(approval)
    assert approval.decided_by_id == cy.id and approval.approved is False


def test_deactivating_another_admins_agency_needs_a_second_admin_and_audits_each_account(auth, make_user):
    """Found: deactivating an agency deactivated its administrator with no second admin and
    no user.deactivate row."""
    ada, cy = make_user(Role.ADMIN, username="ada"), make_user(Role.ADMIN, username="cy")
    other = Agency(code="EAST", name="East Station")
    db.session.add(other)
    db.session.commit()
    ben = make_user(Role.ADMIN, username="ben", agency=other)
    clerk = make_user(Role.REQUESTER, username="clerk", agency=other)
    auth.login(ada)
    url = f"/admin/agencies/{other.id}"
    auth.post(f"{url}/deactivate", {"reason": "the station closed"}, token_from=url)
    refresh(ben, clerk, other)
    assert other.active and ben.active and clerk.active  # waiting for a second administrator
    approval = db.session.scalars(select(PendingApproval)).one()
    assert approval.agency_id == other.id and approval.target_id is None
    auth.logout()
    auth.login(cy)
    assert "Approve" in auth.client.get(url).get_data(as_text=True)
    auth.post(f"/admin/approvals/{approval.id}/approve", {}, token_from=url)
    refresh(ben, clerk, other)
    assert not other.active and not ben.active and not clerk.active
    deactivated = {e.object_id for e in events("user.deactivate")}
    assert {str(ben.id), str(clerk.id)} <= deactivated


def test_an_agency_without_an_administrator_is_deactivated_at_once(auth, make_user):
    ada = make_user(Role.ADMIN, username="ada")
    other = Agency(code="WEST", name="West Station")
    db.session.add(other)
    db.session.commit()
    clerk = make_user(Role.REQUESTER, username="clerk", agency=other)
    auth.login(ada)
    url = f"/admin/agencies/{other.id}"
    auth.post(f"{url}/deactivate", {"reason": "the station closed"}, token_from=url)
    refresh(clerk, other)
    assert not other.active and not clerk.active
    assert db.session.scalar(select(func.count(PendingApproval.id))) == 0
    assert [e.object_id for e in events("user.deactivate")] == [str(clerk.id)]


def test_one_approval_sent_from_eight_connections_applies_once(live, make_user, clock):
    """Found: one pending approval, approved from eight connections at once, was applied eight
    times (both databases)."""
    ada, ben, cy = (make_user(Role.ADMIN, username=n) for n in ("ada", "ben", "cy"))
    approval = PendingApproval(
        change="reset_password",
        target_id=cy.id,
        requested_by_id=ada.id,
        requested_at=clock.now,
        reason="forgotten password",
        parameters={"requested_by": ada.id},
    )
    db.session.add(approval)
    db.session.commit()
    browsers = [live.client().login(ben, clock) for _ in range(8)]
    page = f"/admin/users/{cy.id}"
    tokens = [b.csrf(page) for b in browsers]
    url = f"/admin/approvals/{approval.id}/approve"
    responses = at_once(8, lambda i: browsers[i].post(url, {"csrf_token": tokens[i]}))
    assert all(r.status_code in (200, 302) for r in responses)
    db.session.expire_all()
    assert len(events("admin.approval_decide")) == 1
    assert len(events("user.password_reset")) == 1
    shown = [r for r in responses if re.search(r'class="secret">', r.text)]
    assert len(shown) == 1  # one temporary password, shown once


def test_every_reset_needs_a_fresh_sign_in_and_the_owner_is_told(auth, make_user):
    """Found: an admin reset a reviewer's password and authenticator without a fresh sign-in
    and signed in as them."""
    ada = make_user(Role.ADMIN, username="ada")
    reviewer = make_user(Role.REVIEWER, username="rita")
    auth.login(ada)
    auth.clock.advance(minutes=10)
    url = f"/admin/users/{reviewer.id}"
    for change in ("reset_password", "reset_mfa"):
        response = auth.post(f"{url}/{change}", {"r-reason": "asked by phone"}, token_from=url)
        assert "/auth/confirm" in response.headers["Location"]
    refresh(reviewer)
    assert reviewer.mfa_enrolled and not reviewer.must_change_password
    confirm(auth, ada)
    auth.post(f"{url}/reset_mfa", {"r-reason": "asked by phone"}, token_from=url)
    refresh(reviewer)
    assert not reviewer.mfa_enrolled
    auth.logout()
    # rita enrols a new authenticator at her next sign-in and is told who reset it
    auth.clock.advance(seconds=30)
    assert auth.password_step("rita").status_code == 302
    page = auth.client.get("/auth/mfa").get_data(as_text=True)
    secret = re.search(r"[A-Z2-7]{32}", page).group(0)
    response = auth.post("/auth/mfa", {"code": auth.totp_code(secret)})
    landing = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your authenticator was reset by ada" in landing
