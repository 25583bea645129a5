"""Sign-in to the CJIS Security Policy: notice, two factors, lockout, sessions."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Outcome, Role, User, UserSession
from tests.conftest import TEST_PASSWORD, csrf_from


def events(action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def test_login_page_shows_system_use_notice(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert "System use notification" in html
    assert "may be monitored, recorded and audited" in html
    assert "criminal and civil penalties" in html
    assert "consent to monitoring" in html


def test_notice_must_be_acknowledged(auth, make_user):
    user = make_user()
    response = auth.password_step(user.username, acknowledge=False)
    assert response.status_code == 200
    assert b"acknowledge the system-use notice" in response.data
    assert db.session.scalars(select(UserSession)).first() is None


def test_full_sign_in_with_enrolment(auth, client, make_user):
    user = make_user(Role.ADMIN, enrolled=False)
    response = auth.password_step(user.username)
    assert response.headers["Location"].endswith("/auth/mfa")
    page = client.get("/auth/mfa").get_data(as_text=True)
    assert "<svg" in page  # the QR code, inline
    secret = re.search(r'class="secret">([A-Z2-7]+)<', page).group(1)
    # the same secret is offered until confirmed (a reload does not re-key)
    assert secret in client.get("/auth/mfa").get_data(as_text=True)
    response = auth.post("/auth/mfa", {"code": pyotp.TOTP(secret).at(auth.clock.now)})
    assert response.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b"Dashboard" in dashboard.data
    db.session.refresh(user)
    assert user.mfa_enrolled and user.mfa_secret_encrypted != secret  # stored encrypted
    assert secret not in user.mfa_secret_encrypted
    assert user.last_logon_at is not None
    assert [e.outcome for e in events("auth.mfa_enrol")] == [Outcome.SUCCESS]
    assert events("auth.login")[-1].outcome == Outcome.SUCCESS
    # the secret is never shown again
    auth.logout()
    auth.clock.advance(seconds=30)
    auth.password_step(user.username)
    assert secret not in client.get("/auth/mfa").get_data(as_text=True)


def test_protected_pages_wait_for_second_factor(auth, client, make_user):
    user = make_user()
    auth.password_step(user.username)
    for url in ("/", f"/agencies/{user.agency_id}", "/auth/password"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/auth/mfa")


def test_totp_code_is_accepted_once(auth, client, make_user):
    user = make_user()
    auth.password_step(user.username)
    code = auth.totp_code(user.totp_secret)
    assert auth.post("/auth/mfa", {"code": code}).status_code == 302
    auth.logout()
    auth.password_step(user.username)  # same time step: the same code again
    response = auth.post("/auth/mfa", {"code": code})
    assert response.status_code == 200
    assert b"can be used only once" in response.data
    assert client.get("/").status_code == 302
    assert events("auth.mfa")[-1].reason == "MFA code already used"


def test_totp_window_is_one_step(auth, make_user):
    user = make_user()
    totp = pyotp.TOTP(user.totp_secret)
    auth.password_step(user.username)
    two_steps_old = totp.at(auth.clock.now.timestamp() - 60)
    assert auth.post("/auth/mfa", {"code": two_steps_old}).status_code == 200
    one_step_old = totp.at(auth.clock.now.timestamp() - 30)
    assert auth.post("/auth/mfa", {"code": one_step_old}).status_code == 302


def test_five_failures_lock_the_account(auth, make_user, runner):
    user = make_user()
    for _ in range(4):
        auth.password_step(user.username, "wrong password guess")
    db.session.refresh(user)
    assert not user.locked and user.failed_login_count == 4
    auth.password_step(user.username, "wrong password guess")
    db.session.refresh(user)
    assert user.locked
    lock = events("user.lock")
    assert len(lock) == 1 and "5 failed sign-in attempts" in lock[0].reason
    # the right password cannot sign in now, and gets the same answer as a wrong one (the
    # password of a locked account is not even checked): nothing tells a guesser it was right
    right = auth.password_step(user.username)
    wrong = auth.password_step(user.username, "another wrong guess")
    assert b"locked" in right.data and flashed(right) == flashed(wrong)
    assert db.session.scalars(select(UserSession)).first() is None
    # an administrator unlocks (here through the CLI), and sign-in works again
    result = runner.invoke(args=["users", "unlock", user.username])
    assert result.exit_code == 0, result.output
    assert events("user.unlock")[-1].actor_username.startswith("cli:")
    auth.login(user)
    assert auth.client.get("/").status_code == 200


def flashed(response) -> list[str]:
    return re.findall(r'class="flash flash-\w+"[^>]*>([^<]*)<', response.get_data(as_text=True))


def test_failures_outside_the_window_do_not_add_up(auth, make_user):
    user = make_user()
    for _ in range(4):
        auth.password_step(user.username, "wrong password guess")
    auth.clock.advance(minutes=16)
    for _ in range(4):
        auth.password_step(user.username, "wrong password guess")
    db.session.refresh(user)
    assert not user.locked


def test_failed_second_factors_count_towards_lockout(auth, make_user):
    user = make_user()
    auth.password_step(user.username)
    for _ in range(5):
        auth.post("/auth/mfa", {"code": "000000"})
    db.session.refresh(user)
    assert user.locked
    assert auth.client.get("/").status_code == 302


def test_per_address_throttle(app, auth, make_user):
    app.config["ADDRESS_THROTTLE_LIMIT"] = 3
    victims = [make_user() for _ in range(3)]
    for victim in victims:
        auth.password_step(victim.username, "a wrong password guess")
    response = auth.password_step(make_user().username)  # even a right password is refused
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.data
    assert events("auth.login")[-1].outcome == Outcome.DENIED


def test_unknown_user_is_audited_without_revealing_it(auth):
    response = auth.password_step("nobody-here", "some wrong password")
    assert b"username or password is not correct" in response.data
    event = events("auth.login")[-1]
    assert event.outcome == Outcome.FAILED and event.actor_username == "nobody-here"


def test_idle_timeout(auth, client, make_user):
    user = make_user()
    auth.login(user)
    auth.clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    auth.clock.advance(minutes=31)
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    ended = db.session.scalars(select(UserSession)).one()
    assert ended.end_reason == "idle_timeout"
    assert events("auth.session_end")[-1].reason == "idle_timeout"


def test_absolute_timeout_even_when_active(auth, client, make_user):
    user = make_user()
    auth.login(user)
    for _ in range(24):  # active every 25 minutes for 10 hours
        auth.clock.advance(minutes=25)
        assert client.get("/").status_code == 200
    for _ in range(5):
        auth.clock.advance(minutes=25)
        client.get("/")
    assert client.get("/").status_code == 302
    assert db.session.scalars(select(UserSession)).one().end_reason == "absolute_timeout"


def test_copied_cookie_is_useless_after_logout(app, auth, client, make_user):
    user = make_user()
    auth.login(user)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    response = thief.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert events("auth.logout")


def test_sign_in_starts_a_new_session(app, auth, client, make_user):
    user = make_user()
    client.get("/auth/login")
    before = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    auth.login(user)
    after = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert before != after
    planted = app.test_client()  # a cookie from before sign-in gives no access
    planted.set_cookie(app.config["SESSION_COOKIE_NAME"], before)
    assert planted.get("/").status_code == 302


def test_session_cookie_flags_and_no_remember_me(app, auth, client, make_user):
    user = make_user()
    response = auth.password_step(user.username)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith(app.config["SESSION_COOKIE_NAME"])]
    assert session_cookie and "HttpOnly" in session_cookie[0] and "SameSite=Strict" in session_cookie[0]
    assert "Expires" not in session_cookie[0]  # a browser-session cookie
    assert not [c for c in cookies if c.startswith("remember_token")]


def test_secure_cookie_in_production(monkeypatch, instance_path, tmp_path):
    from app import create_app
    from tests.support.config import production_env

    production_env(monkeypatch, tmp_path)
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_next_url_is_followed_only_within_the_site(auth, client, make_user):
    user = make_user()
    auth.clock.advance(seconds=30)
    token = csrf_from(client.get("/auth/login").data)
    client.post(
        "/auth/login?next=https://evil.example/",
        data={"csrf_token": token, "username": user.username, "password": TEST_PASSWORD, "acknowledge": "y"},
    )
    response = auth.post("/auth/mfa", {"code": auth.totp_code(user.totp_secret)})
    assert response.headers["Location"] == "/"


def test_change_password(auth, client, make_user):
    user = make_user()
    auth.login(user)
    response = auth.post(
        "/auth/password",
        {"current_password": TEST_PASSWORD, "new_password": "password1234", "confirm": "password1234"},
    )
    assert b"commonly used passwords" in response.data
    new = "a long passphrase with spaces"
    response = auth.post(
        "/auth/password", {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new}
    )
    assert response.status_code == 302
    user = db.session.get(User, user.id)
    assert user.password_hash.startswith("pbkdf2:sha256:600000$")
    auth.logout()
    auth.login(user, password=new)
    assert client.get("/").status_code == 200
