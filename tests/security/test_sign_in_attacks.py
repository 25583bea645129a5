"""Sign-in under attack, against a live server: guesses fired in parallel, a lock that must
not answer whether a guess was right, one TOTP code presented by several sessions at once,
and sessions that outlive a password change."""

from __future__ import annotations

import pyotp
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, LoginAttempt, Role, UserSession
from tests.conftest import TEST_PASSWORD
from tests.support.live import at_once, flashes, refresh

WRONG = "an entirely wrong password"


def test_thirty_parallel_wrong_passwords_lock_the_account(live, make_user, app):
    """Found: 30 guesses at once ended with a failure count of 3 and no lock."""
    user = make_user()
    username = user.username  # the threads have no app context to load it in
    attackers = [live.client() for _ in range(30)]
    tokens = [a.csrf("/auth/login") for a in attackers]
    responses = at_once(30, lambda i: attackers[i].password_step(username, WRONG, token=tokens[i]))
    assert all(r.status_code == 200 for r in responses)  # every one answered, none signed in
    refresh(user)
    threshold = app.config["LOCKOUT_THRESHOLD"]
    assert user.locked and user.failed_login_count >= threshold
    checked = db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.user_id == user.id))
    assert checked <= threshold  # the rest were refused before their password was looked at
    locks = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.lock")).all()
    assert len(locks) == 1
    # and the right password does not get in afterwards
    assert live.client().password_step(user.username).status_code == 200
    assert db.session.scalar(select(func.count(UserSession.id))) == 0


def test_parallel_guesses_from_one_address_are_throttled(live, make_user, app):
    """Found: the per-address throttle was beaten the same way (rows counted before the
    attempts in flight were saved)."""
    app.config["ADDRESS_THROTTLE_LIMIT"] = 10
    attackers = [live.client() for _ in range(30)]
    tokens = [a.csrf("/auth/login") for a in attackers]
    responses = at_once(30, lambda i: attackers[i].password_step(f"guess{i}", WRONG, token=tokens[i]))
    checked = db.session.scalar(select(func.count(LoginAttempt.id)))
    assert checked <= 10
    assert sum(r.status_code == 429 for r in responses) >= 20
    # a real user with the right password, from the same address, is refused too (for now)
    assert live.client().password_step(make_user().username).status_code == 429


def test_the_window_slides(client, auth, make_user):
    """Found: the 15-minute window was fixed: 8 failures within about a minute, split across a
    window edge, did not lock."""
    user = make_user()
    auth.password_step(user.username, WRONG)
    auth.clock.advance(minutes=14, seconds=30)
    for _ in range(3):
        auth.password_step(user.username, WRONG)
    auth.clock.advance(seconds=45)  # the first failure's fixed window has ended here
    for _ in range(2):
        auth.password_step(user.username, WRONG)
    refresh(user)
    assert user.locked  # five failures within the last 15 minutes (1 m 15 s, in fact)


def test_a_locked_account_never_says_whether_the_password_was_right(live, make_user):
    """Found: after the lock, the right password answered "locked", a wrong one the generic
    message: guessing could go on past the lock."""
    user = make_user()
    browser = live.client()
    for _ in range(5):
        browser.password_step(user.username, WRONG)
    refresh(user)
    assert user.locked
    right, wrong = browser.password_step(user.username), browser.password_step(user.username, "x" * 20)
    assert right.status_code == wrong.status_code == 200
    assert flashes(right) == flashes(wrong)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert "was not checked" in event.reason


def test_one_totp_code_signs_in_one_session(live, make_user, clock):
    """Found: six sessions past the password step posted the same code at once; three got in."""
    user = make_user()
    sessions = [live.client() for _ in range(6)]
    for browser in sessions:
        assert browser.password_step(user.username).status_code == 302
    code = pyotp.TOTP(user.totp_secret).at(clock.now)
    tokens = [b.csrf("/auth/mfa") for b in sessions]
    responses = at_once(6, lambda i: sessions[i].post("/auth/mfa", {"code": code, "csrf_token": tokens[i]}))
    signed_in = [b for b in sessions if b.get("/").status_code == 200]
    assert len(signed_in) == 1, [r.status_code for r in responses]
    refresh(user)
    assert not user.locked  # five "already used" refusals are failures, but not six


def test_a_password_change_ends_every_other_session(live, make_user, clock, app):
    user = make_user()
    here, elsewhere = live.client().login(user, clock), live.client().login(user, clock)
    assert elsewhere.get("/").status_code == 200
    new = "a brand new passphrase for this account"
    response = here.post(
        "/auth/password", {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new}
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302  # back to the sign-in page
    ended = db.session.scalars(select(UserSession).where(UserSession.end_reason == "password_changed")).all()
    assert len(ended) == 1


def test_wrong_current_passwords_count_toward_the_lock(live, make_user, clock):
    user = make_user()
    browser = live.client().login(user, clock)
    new = "a brand new passphrase for this account"
    for _ in range(5):
        clock.advance(seconds=2)
        browser.post("/auth/password", {"current_password": WRONG, "new_password": new, "confirm": new})
    refresh(user)
    assert user.locked
    assert browser.get("/").status_code == 302  # the locked account's session ended
    failures = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.password_change", AuditEvent.outcome == "failed")
    ).all()
    assert len(failures) == 5


def test_sessions_page_and_sign_out_everywhere(live, make_user, clock):
    user = make_user(Role.REVIEWER)
    first, second, third = (live.client().login(user, clock) for _ in range(3))
    page = first.get("/auth/sessions").text
    assert page.count("<tr>") == 4 and "This session" in page  # a header row and three sessions
    first.post("/auth/sessions/end-others", token_from="/auth/sessions")
    assert first.get("/").status_code == 200 and second.get("/").status_code == 302
    third_again = live.client().login(user, clock)
    first.post("/auth/sessions/end-all", token_from="/auth/sessions")
    assert first.get("/").status_code == 302 and third_again.get("/").status_code == 302
    assert third.get("/").status_code == 302


def test_forged_or_missing_csrf_tokens_are_refused_and_audited(live, make_user, clock):
    user = make_user()
    browser = live.client().login(user, clock)
    response = browser.http.post(f"{live.url}/auth/sessions/end-others", data={"csrf_token": "forged"})
    assert response.status_code == 400
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "security.csrf_failure")).one()
    assert event.actor_id == user.id and event.outcome == "denied"
    assert browser.get("/").status_code == 200  # nothing was ended


def test_a_locked_account_costs_the_same_hashing_as_a_wrong_password(auth, make_user, monkeypatch):
    """Found (finding 13): a locked account answered in 17 ms against about 380 ms for a wrong
    password, so the lock (and the username) leaked by timing. The same password hashing is done
    either way; counted here rather than timed."""
    from app.services.identity import passwords

    hashed = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda *a: hashed.append(1) or real(*a))
    user, locked = make_user(), make_user()
    for _ in range(5):
        auth.password_step(locked.username, WRONG)
    refresh(locked)
    assert locked.locked
    counts = []
    for username in (user.username, locked.username, "nobody-at-all"):
        hashed.clear()
        auth.password_step(username, WRONG)
        counts.append(len(hashed))
    assert counts == [1, 1, 1]
