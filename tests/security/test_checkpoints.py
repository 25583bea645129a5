"""The audit's anchors (finding 3 of the second red-team pass): signed checkpoints deleted by
someone with the database's rights, and `flask audit verify` then calling a log cut 100 events
deep, or an old event rewritten, intact. The checkpoints are now a chain, append-only, and
written outside the database as each commits."""

from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from app.models import AuditChainHead, AuditCheckpoint, AuditEvent
from app.services.oversight import checkpoints
from app.services.oversight.audit import record_event, verify_chain


def events(user, count: int) -> None:
    for n in range(count):
        record_event("request.view", actor=user, object_type="request", object_id=n)


def cut_tail_to(seq: int) -> None:
    """What an intruder does after deleting events: make the head row agree."""
    db.session.execute(text("DELETE FROM audit_event WHERE seq > :seq"), {"seq": seq})
    db.session.execute(
        update(AuditChainHead).values(last_seq=seq, last_hash=db.session.get(AuditEvent, seq).hash)
    )


def problems() -> list[str]:
    db.session.expire_all()
    return [p.problem for p in checkpoints.verify_checkpoints()]


@pytest.mark.clause("AU-2")
def test_deleting_the_checkpoints_after_a_cut_is_caught(app, runner, intruder, make_user, clock):
    user = make_user()
    events(user, 5)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    kept = db.session.get(AuditChainHead, 1).last_seq
    clock.advance(hours=24)
    events(user, 100)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    assert problems() == [] and runner.invoke(args=["audit", "verify"]).exit_code == 0
    cut_tail_to(kept)  # the last 100 events go, and the checkpoint that held them
    db.session.execute(text("DELETE FROM audit_checkpoint WHERE number = 2"))
    db.session.commit()
    assert verify_chain().ok  # the chain alone cannot tell
    found = problems()
    assert any("in the outside copy but not in the database" in p for p in found), found
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "checkpoints were deleted" in result.output


def test_deleting_a_checkpoint_from_the_middle_breaks_their_chain(app, intruder, make_user, clock):
    user = make_user()
    for _ in range(3):
        events(user, 2)
        checkpoints.sign_daily_checkpoint()
        db.session.commit()
        clock.advance(hours=24)
    checkpoints.outside_file().unlink()  # the intruder has the instance folder too
    db.session.execute(text("DELETE FROM audit_checkpoint WHERE number = 2"))
    db.session.commit()
    found = problems()
    assert any("checkpoint 2 before it is gone" in p for p in found), found
    assert any("no checkpoint for 1 day(s)" in p for p in found), found
    assert any("the checkpoints cannot be compared" in p for p in found), found


def test_the_database_refuses_changes_to_checkpoints(app, make_user):
    events(make_user(), 2)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    for statement in ("UPDATE audit_checkpoint SET head_seq = 0", "DELETE FROM audit_checkpoint"):
        with pytest.raises(DatabaseError, match=r"append-only|permission denied"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert problems() == []


def test_a_forged_link_is_refused(app, intruder, make_user):
    events(make_user(), 2)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    db.session.execute(text("UPDATE audit_checkpoint SET head_seq = 1"))
    db.session.commit()
    assert "the checkpoint's signature does not match" in problems()


def test_a_day_without_a_checkpoint_fails_verify(app, runner, make_user, clock):
    events(make_user(), 2)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    clock.advance(days=3)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    assert any("no checkpoint for 2 day(s)" in p for p in problems())
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_each_checkpoint_is_written_outside_once_it_commits(app, make_user):
    events(make_user(), 2)
    checkpoints.sign_daily_checkpoint()
    db.session.rollback()  # never committed: never written outside
    assert not checkpoints.outside_file().exists()
    signed = checkpoints.sign_daily_checkpoint()
    db.session.commit()
    lines = checkpoints.outside_file().read_text().splitlines()
    assert [json.loads(line)["signature"] for line in lines] == [signed.signature]
    assert db.session.get(AuditCheckpoint, signed.id).number == 1


def test_each_checkpoint_also_goes_to_syslog(app, make_user):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    app.config["AUDIT_CHECKPOINT_SYSLOG"] = f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        events(make_user(), 2)
        signed = checkpoints.sign_daily_checkpoint()
        db.session.commit()
        message = listener.recv(4096).decode()
    finally:
        listener.close()
    assert "leaddesk audit checkpoint" in message and signed.signature in message
