"""Configuration: instance overrides, prefixed environment variables, production guards."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.support.config import STRONG_SECRET, production_env


def test_production_refuses_without_secret_key(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_TRUSTED_HOSTS", '["leaddesk.example"]')
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_refuses_without_trusted_hosts(instance_path, monkeypatch, tmp_path):
    production_env(monkeypatch, tmp_path, LEADDESK_TRUSTED_HOSTS="")
    with pytest.raises(RuntimeError, match="TRUSTED_HOSTS"):
        create_app("production")


def test_production_starts_with_everything_it_needs(instance_path, monkeypatch, tmp_path):
    production_env(monkeypatch, tmp_path)
    assert create_app("production").config["CONFIG_NAME"] == "production"


@pytest.mark.parametrize(
    "weak",
    [
        "s" * 48,
        "abcabcabcabcabcabcabcabcabcabcabcabc",
        "password1234password1234password12",
        "short",
        "abcdefghijklmnopqrstuvwxyz0123456789",  # found (finding 16): every character differs
        "zyxwvutsrqponmlkjihgfedcba9876543210",
        "0123456789" * 4,
        "Kx9#" * 12,
    ],
)
def test_production_refuses_a_guessable_secret_key(instance_path, monkeypatch, tmp_path, weak):
    production_env(monkeypatch, tmp_path, LEADDESK_SECRET_KEY=weak)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_keeps_the_checkpoint_key_out_of_the_instance(instance_path, monkeypatch, tmp_path):
    production_env(monkeypatch, tmp_path, LEADDESK_AUDIT_CHECKPOINT_KEY_FILE="")
    with pytest.raises(RuntimeError, match="outside the instance folder"):
        create_app("production")
    production_env(monkeypatch, tmp_path, LEADDESK_AUDIT_CHECKPOINT_KEY_FILE=str(instance_path / "k.key"))
    with pytest.raises(RuntimeError, match="inside the instance folder"):
        create_app("production")
    production_env(
        monkeypatch, tmp_path, LEADDESK_AUDIT_CHECKPOINT_KEY_FILE="", LEADDESK_AUDIT_CHECKPOINT_KEY="x" * 40
    )
    with pytest.raises(RuntimeError, match="too weak"):
        create_app("production")
    production_env(
        monkeypatch,
        tmp_path,
        LEADDESK_AUDIT_CHECKPOINT_KEY_FILE="",
        LEADDESK_AUDIT_CHECKPOINT_KEY=STRONG_SECRET,
    )
    assert create_app("production")


@pytest.mark.clause("MR-6")
def test_production_refuses_the_placeholder_unit_contact(instance_path, monkeypatch, tmp_path):
    production_env(monkeypatch, tmp_path, LEADDESK_UNIT_CONTACT="")
    with pytest.raises(RuntimeError, match="UNIT_CONTACT"):
        create_app("production")


@pytest.mark.parametrize(
    ("given", "seconds"), [("1800", 1800), ("30m", 1800), ("2h", 7200), ("15 minutes", 900), ("90.5", 90.5)]
)
def test_durations_from_the_environment(instance_path, monkeypatch, given, seconds):
    monkeypatch.setenv("LEADDESK_SESSION_IDLE_TIMEOUT", given)
    app = create_app("testing")
    assert app.config["SESSION_IDLE_TIMEOUT"].total_seconds() == seconds


@pytest.mark.parametrize("given", ["soon", "-5", "0", "10 fortnights", "true"])
def test_bad_durations_stop_the_start_with_their_name(instance_path, monkeypatch, given):
    monkeypatch.setenv("LEADDESK_SESSION_IDLE_TIMEOUT", given)
    with pytest.raises(RuntimeError, match="SESSION_IDLE_TIMEOUT"):
        create_app("testing")


def test_an_idle_timeout_from_the_environment_works_after_sign_in(
    instance_path, monkeypatch, migrated_database, clock
):
    """docs/configuration.md invites LEADDESK_SESSION_IDLE_TIMEOUT=1800: every page must keep working."""
    import pyotp

    from tests.conftest import AuthActions, IsolatedClient

    SECRET = pyotp.random_base32()
    monkeypatch.setenv("LEADDESK_SESSION_IDLE_TIMEOUT", "1800")
    database = migrated_database.clone_into(instance_path, monkeypatch)
    app = create_app("testing")
    app.test_client_class = IsolatedClient
    with app.app_context():
        from app.models import Agency, PolicyAcknowledgement, Role, User
        from app.services.identity import mfa
        from app.services.identity.accounts import agreements_for
        from tests.conftest import TEST_PASSWORD_HASH

        agency = Agency(code="T", name="T")
        user = User(
            username="idle",
            full_name="Idle User",
            role=Role.REQUESTER,
            agency=agency,
            password_hash=TEST_PASSWORD_HASH,
            mfa_secret_encrypted=mfa.encrypt_secret(SECRET),
        )
        db.session.add(user)
        db.session.flush()
        for agreement in agreements_for(user):
            db.session.add(
                PolicyAcknowledgement(
                    user_id=user.id, document=agreement.key, version=agreement.version, typed_name="Idle User"
                )
            )
        db.session.commit()
        user.totp_secret = SECRET
        client = app.test_client()
        AuthActions(client, clock).login(user)
        assert client.get("/").status_code == 200
        clock.advance(minutes=31)
        assert client.get("/").status_code == 302
        db.session.remove()
        db.engine.dispose()
    database.drop()


def test_an_unknown_descriptor_runtime_stops_the_start_with_its_name(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_DESCRIPTOR_RUNTIME", "tensorflow")
    with pytest.raises(RuntimeError, match="DESCRIPTOR_RUNTIME must be one of onnx, dlib"):
        create_app("testing")


def test_a_misspelt_search_strategy_stops_the_start_instead_of_scanning_exactly(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_SEARCH_STRATEGY", "two_stage")
    with pytest.raises(RuntimeError, match="SEARCH_STRATEGY must be one of auto, exact, two-stage, annoy"):
        create_app("testing")


def test_instance_config_then_environment(instance_path, monkeypatch):
    (instance_path / "config.py").write_text('UNIT_NAME = "From instance"\nUNIT_CONTACT = "inst@x"\n')
    monkeypatch.setenv("LEADDESK_UNIT_CONTACT", "env@x")
    app = create_app("testing")
    assert app.config["UNIT_NAME"] == "From instance"
    assert app.config["UNIT_CONTACT"] == "env@x"
    assert app.instance_path == str(instance_path)


def test_sqlite_defaults(instance_path, monkeypatch):
    monkeypatch.delenv("LEADDESK_DATABASE_URL", raising=False)  # set on the PostgreSQL run
    app = create_app("testing")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance_path / 'leaddesk.sqlite3'}"
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_database_url_switches_engine(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_DATABASE_URL", "postgresql://leaddesk@127.0.0.1:5432/leaddesk")
    app = create_app("testing")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://")


def test_create_app_stays_cheap(instance_path):
    """A fresh interpreter: building the app loads no face models and starts no scheduler."""
    import subprocess
    import sys

    probe = (
        "import sys, threading; from app import create_app; create_app('testing'); "
        "print(sorted(m for m in ('dlib', 'annoy', 'apscheduler.schedulers.base') if m in sys.modules), "
        "threading.active_count())"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["[]", "1"]


def test_migrations_match_models(app):
    """Autogenerate finds nothing to do: the migrations build exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_database_down_gives_a_clean_503(instance_path, monkeypatch):
    """Nothing listens on port 1: every database call fails, the page says so and no more."""
    monkeypatch.setenv(
        "LEADDESK_DATABASE_URL", "postgresql://leaddesk@127.0.0.1:1/leaddesk?connect_timeout=2"
    )
    app = create_app("testing")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert b"cannot reach its database" in response.data and b"127.0.0.1" not in response.data
