"""The hash-chained audit trail detects edited, deleted, inserted and truncated events."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import delete, select, text, update

from app.extensions import db
from app.models import AuditChainHead, AuditEvent, Outcome
from app.services.oversight.audit import event_hash, record_event, verify_chain
from tests.conftest import TEST_DATABASE


@pytest.fixture
def chain(app, make_user):
    actor = make_user()
    for n in range(1, 6):
        record_event("request.view", actor=actor, object_type="request", object_id=n, detail={"n": n})
    db.session.commit()
    return actor


@pytest.mark.clause("AU-2")
def test_intact_chain_verifies(chain):
    report = verify_chain()
    assert report.ok and report.events_checked == 5 and report.head_seq == 5


def test_events_link_to_their_predecessor(chain):
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert all(event_hash(e) == e.hash for e in events)
    assert events[0].actor_agency == "HOME"


def test_the_database_refuses_changes_to_audit_events(chain):
    from sqlalchemy.exc import DatabaseError

    for statement in (
        "UPDATE audit_event SET reason = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 5",
    ):
        with pytest.raises(DatabaseError, match=r"append-only|permission denied"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert verify_chain().ok


def test_edited_event_is_named(chain, intruder):
    db.session.execute(text("UPDATE audit_event SET reason = 'nothing to see' WHERE seq = 3"))
    db.session.commit()
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 3 and "changed" in report.problem


def test_deleted_event_is_named(chain, intruder):
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    db.session.commit()
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 2 and "removed" in report.problem


def test_inserted_event_is_detected(chain, intruder):
    """A forged event slipped in at 3, renumbering the rest, breaks the links after it."""
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).all()
    for event in events:
        if event.seq >= 3:
            db.session.execute(
                update(AuditEvent).where(AuditEvent.seq == event.seq).values(seq=event.seq + 1)
            )
    db.session.commit()
    db.session.expunge_all()
    second = db.session.get(AuditEvent, 2)
    forged = AuditEvent(
        seq=3,
        occurred_at=second.occurred_at,
        actor_username="intruder",
        action="test.action",
        outcome=Outcome.SUCCESS,
        detail="{}",
        prev_hash=second.hash,
    )
    forged.hash = event_hash(forged)  # a perfectly self-consistent forgery
    db.session.add(forged)
    db.session.commit()
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 4


def test_truncated_tail_is_detected_by_the_head(chain, intruder):
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    db.session.commit()
    report = verify_chain()
    assert not report.ok and "removed from the end" in report.problem
    assert db.session.get(AuditChainHead, 1).last_seq == 5


def test_detail_never_carries_secrets(app):
    with pytest.raises(ValueError, match="secrets"):
        record_event("request.view", actor=None, detail={"password": "hunter2"})


def test_cli_verify_exit_codes(chain, runner, intruder):
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 5 events" in ok.output
    db.session.execute(text("UPDATE audit_event SET action = 'other' WHERE seq = 4"))
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert "event 4" in broken.output


@pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="PostgreSQL roles: runs on the PostgreSQL pass")
def test_the_app_role_cannot_get_around_the_triggers(chain):
    """The app connects as an ordinary role: no TRUNCATE, and no switching triggers off."""
    from sqlalchemy.exc import DatabaseError

    superuser = text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    assert db.session.execute(superuser).scalar() is False
    with pytest.raises(DatabaseError, match="permission denied"):
        db.session.execute(text("TRUNCATE audit_event"))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="permission denied"):
        db.session.execute(text("SET session_replication_role = replica"))
    db.session.rollback()
    assert verify_chain().ok and verify_chain().events_checked == 5
