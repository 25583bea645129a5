"""Configuration: instance overrides, prefixed environment variables, production guards."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db


def test_production_refuses_without_secret_key(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_TRUSTED_HOSTS", '["leaddesk.example"]')
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_refuses_without_trusted_hosts(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_SECRET_KEY", "s" * 48)
    with pytest.raises(RuntimeError, match="TRUSTED_HOSTS"):
        create_app("production")


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
