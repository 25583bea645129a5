"""The audit tables against the app's own database role (finding 3): on PostgreSQL the app
served as the role that owned `audit_event`, so it could switch the append-only trigger off.
The migrations now run as an owner role and the app serves as a role that may only add to and
read the audit tables; everything here is attempted as that serving role."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from app.database_roles import serving_role_problems
from app.extensions import db
from app.services.oversight import checkpoints
from app.services.oversight.audit import record_event, verify_chain
from tests.conftest import TEST_DATABASE

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="PostgreSQL roles: the PostgreSQL pass")

ATTACKS = [
    "UPDATE audit_event SET reason = 'nothing to see'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "UPDATE audit_checkpoint SET head_seq = 0",
    "DELETE FROM audit_checkpoint",
    "TRUNCATE audit_checkpoint",
    "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_event_no_change ON audit_event",
    "DROP TRIGGER audit_checkpoint_no_change ON audit_checkpoint",
    "ALTER TABLE audit_checkpoint OWNER TO leaddesk",
    "DROP TABLE audit_checkpoint",
    "DELETE FROM alembic_version",
    "SET session_replication_role = replica",
]


@pytest.fixture
def anchored(app, make_user):
    user = make_user()
    for n in range(3):
        record_event("request.view", actor=user, object_type="request", object_id=n)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()


@pytest.mark.clause("AU-2")
@pytest.mark.parametrize("statement", ATTACKS)
def test_the_serving_role_cannot_change_the_audit_tables(anchored, statement):
    with pytest.raises(DatabaseError, match=r"permission denied|must be owner|must be the owner"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert verify_chain().ok and checkpoints.verify_checkpoints() == []


def test_the_serving_role_still_adds_and_reads(anchored):
    record_event("request.view", actor=None, object_type="request", object_id=99)
    db.session.commit()
    assert verify_chain().events_checked >= 4


def test_the_start_check_passes_the_serving_role_and_refuses_the_owner(anchored, runner):
    with db.engine.connect() as connection:
        assert serving_role_problems(connection) == []
    assert runner.invoke(args=["database", "check-serving-role"]).exit_code == 0
    from tests.postgres import OWNER_ROLE

    owner = create_engine(db.engine.url.set(username=OWNER_ROLE))
    with owner.connect() as connection:
        problems = serving_role_problems(connection)
    owner.dispose()
    assert any("owns audit_event" in p for p in problems)
