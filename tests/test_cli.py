"""Operator commands: agencies, users (password never on the command line), certification."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, AuditEvent, Role, User
from app.services.identity.accounts import search_eligibility

GOOD_PASSWORD = "river stones in late autumn"


def last_event() -> AuditEvent:
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def test_create_agency_and_user_from_stdin(runner):
    result = runner.invoke(args=["agencies", "create", "Harbor City PD", "--code", "hcpd"])
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(Agency)).one().code == "HCPD"
    result = runner.invoke(
        args=[
            "users",
            "create",
            "jdoe",
            "--role",
            "requester",
            "--agency",
            "HCPD",
            "--password-stdin",
            "--full-name",
            "Jane Doe",
        ],
        input=GOOD_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert user.role is Role.REQUESTER and user.agency.code == "HCPD"
    assert user.password_hash.startswith("pbkdf2:sha256:600000$")
    assert GOOD_PASSWORD not in result.output
    event = last_event()
    assert event.action == "user.create" and event.actor_username.startswith("cli:")
    assert event.source_address == "cli"


def test_password_prompt_and_refusals(runner):
    runner.invoke(args=["agencies", "create", "Unit", "--code", "FRU"])
    result = runner.invoke(
        args=["users", "create", "admin1", "--role", "admin", "--agency", "FRU"],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    weak = runner.invoke(
        args=["users", "create", "weak", "--role", "admin", "--agency", "FRU", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    common = runner.invoke(
        args=["users", "create", "weak", "--role", "admin", "--agency", "FRU", "--password-stdin"],
        input="password1234\n",
    )
    assert common.exit_code != 0 and "commonly used" in common.output
    unknown = runner.invoke(
        args=["users", "create", "x", "--role", "admin", "--agency", "NOPE", "--password-stdin"],
        input=GOOD_PASSWORD + "\n",
    )
    assert unknown.exit_code != 0 and "No agency" in unknown.output
    assert db.session.scalars(select(User.username)).all() == ["admin1"]


def test_long_passphrases_with_spaces_are_fine(runner):
    runner.invoke(args=["agencies", "create", "Unit", "--code", "FRU"])
    passphrase = "a very long passphrase " * 4  # 92 characters, spaces included
    result = runner.invoke(
        args=["users", "create", "pp", "--role", "admin", "--agency", "FRU", "--password-stdin"],
        input=passphrase + "\n",
    )
    assert result.exit_code == 0, result.output


def test_certify_gives_search_rights(runner, make_user, clock):
    reviewer = make_user(Role.REVIEWER, certified=False)
    assert not search_eligibility(reviewer)
    completed = clock.today() - timedelta(days=10)
    expires = clock.today() + timedelta(days=365)
    result = runner.invoke(
        args=[
            "users",
            "certify",
            reviewer.username,
            "--provider",
            "FBI",
            "--number",
            "FBI-1234",
            "--completed",
            completed.isoformat(),
            "--expires",
            expires.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    db.session.refresh(reviewer)
    eligibility = search_eligibility(reviewer)
    assert eligibility and "FBI-1234" in eligibility.message
    assert last_event().action == "certification.add"
    # it lapses on its own once the expiry date passes
    assert not search_eligibility(reviewer, on=expires + timedelta(days=1))


def test_certify_refusals(runner, make_user):
    requester = make_user(Role.REQUESTER)
    result = runner.invoke(
        args=[
            "users",
            "certify",
            requester.username,
            "--provider",
            "LACRIS",
            "--number",
            "L1",
            "--completed",
            "2026-01-01",
            "--expires",
            "2027-01-01",
        ],
    )
    assert result.exit_code != 0 and "reviewers and administrators are certified" in result.output
    reviewer = make_user(Role.REVIEWER, certified=False)
    backwards = runner.invoke(
        args=[
            "users",
            "certify",
            reviewer.username,
            "--provider",
            "LACRIS",
            "--number",
            "L1",
            "--completed",
            "2026-01-01",
            "--expires",
            "2025-01-01",
        ],
    )
    assert backwards.exit_code != 0 and "after the completion date" in backwards.output
    bad_provider = runner.invoke(
        args=[
            "users",
            "certify",
            reviewer.username,
            "--provider",
            "DMV",
            "--number",
            "L1",
            "--completed",
            "2026-01-01",
            "--expires",
            "2027-01-01",
        ],
    )
    assert bad_provider.exit_code != 0


def test_unlock_unknown_and_not_locked(runner, make_user):
    assert runner.invoke(args=["users", "unlock", "ghost"]).exit_code != 0
    user = make_user()
    result = runner.invoke(args=["users", "unlock", user.username])
    assert result.exit_code != 0 and "not locked" in result.output


def test_demo_seed_is_idempotent(runner, instance_path, clock):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "password:" in first.output
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert db.session.scalar(select(db.func.count(User.id))) == 5
    assert (instance_path / "demo-credentials.json").stat().st_mode & 0o077 == 0
    reviewers = db.session.scalars(select(User).where(User.role == Role.REVIEWER)).all()
    assert all(search_eligibility(r) for r in reviewers)
    assert clock.today() < max(c.expires_on for r in reviewers for c in r.certifications)


def test_demo_gallery_ships_with_the_app(runner, instance_path):
    """The demo photos are package data: the product never reads the test fixtures."""
    result = runner.invoke(args=["gallery", "demo"])
    assert result.exit_code == 0, result.output
    assert "enrolled 18 made-up booking records" in result.output and "Index version 1" in result.output
    assert "not empty" in runner.invoke(args=["gallery", "demo"]).output
    from app.cli import demo

    assert "tests" not in demo.DEMO_GALLERY.parts
