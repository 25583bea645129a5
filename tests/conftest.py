"""Fixtures in the style of Flask's tutorial: app, client, runner, auth, a user factory,
and a controllable clock. The schema comes from the real migrations, built once."""

from __future__ import annotations

import contextvars
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from app import create_app
from app.clock import set_clock
from app.database_roles import grant_serving_role
from app.extensions import db
from app.models import Agency, CertificationProvider, PolicyAcknowledgement, Role, TrainingCertification, User
from app.services.identity import mfa
from app.services.identity.accounts import agreements_for

pytest_plugins = ["tests.gallery"]  # the enrolled-gallery fixtures


def pytest_addoption(parser):
    parser.addoption(
        "--clause",
        action="append",
        default=[],
        metavar="ID",
        help="run only the tests that carry this policy clause (repeatable): the mutation check's selection",
    )


def pytest_collection_modifyitems(config, items):
    wanted = set(config.getoption("--clause"))
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        carried = {arg for marker in item.iter_markers("clause") for arg in marker.args}
        (keep if carried & wanted else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    # the quick tests first, and the policy's own before the others: with -x, a rule removed is
    # usually caught before the gallery is even needed
    items[:] = sorted(
        keep,
        key=lambda item: (
            "gallery_app" in getattr(item, "fixturenames", ()),
            not item.nodeid.startswith("tests/policy/"),
        ),
    )


TEST_PASSWORD = "correct horse battery staple 42"
# Pre-hashed with few iterations: the stored hash names its own cost, so checks stay fast.
TEST_PASSWORD_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")
TEST_ADDRESS = "127.0.0.1"
# `make test` runs the suite twice: on SQLite (the embedded default) and on PostgreSQL.
TEST_DATABASE = os.environ.get("LEADDESK_TEST_DATABASE", "sqlite")


class FrozenClock:
    """Time stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def today(self) -> date:
        return self.now.date()


# Every test starts at the same instant, whatever day the suite runs: nothing may depend on
# the machine's date (certifications, months, retention and expiry all follow this clock).
CLOCK_START = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    frozen = FrozenClock(CLOCK_START)
    set_clock(frozen)
    yield frozen
    set_clock(None)


@pytest.fixture(scope="session")
def postgres_server():
    """The run's own PostgreSQL server, when the suite runs on PostgreSQL."""
    if TEST_DATABASE != "postgresql":
        yield None
        return
    from tests.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


class ScratchDatabase:
    """A test's database: a SQLite file in its instance folder, or a PostgreSQL database
    cloned from a template database (``CREATE DATABASE … TEMPLATE``) on the run's server."""

    _names = iter(range(1, 1_000_000))

    def __init__(self, server, *, file: Path | None = None, name: str | None = None) -> None:
        self.server, self.file, self.name = server, file, name

    @classmethod
    def fresh(cls, server, instance: Path, monkeypatch) -> ScratchDatabase:
        if server is None:
            return cls(None, file=instance / "leaddesk.sqlite3")
        name = f"leaddesk_{next(cls._names)}"
        server.create_database(name)
        monkeypatch.setenv("LEADDESK_DATABASE_URL", server.url(name))
        return cls(server, name=name)

    def clone_into(self, instance: Path, monkeypatch) -> ScratchDatabase:
        """A copy for one test; the app made afterwards (same env) connects to it."""
        if self.server is None:
            target = instance / "leaddesk.sqlite3"
            if target != self.file:
                shutil.copy(self.file, target)
            return ScratchDatabase(None, file=target)
        name = f"leaddesk_{next(self._names)}"
        self.server.create_database(name, template=self.name)
        monkeypatch.setenv("LEADDESK_DATABASE_URL", self.server.url(name))
        return ScratchDatabase(self.server, name=name)

    def drop(self) -> None:
        if self.server is not None:
            self.server.drop_database(self.name)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory, postgres_server) -> ScratchDatabase:
    """Run the real migrations once; every test starts from a copy of the result."""
    from flask_migrate import upgrade

    instance = tmp_path_factory.mktemp("template-instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADDESK_INSTANCE_PATH", str(instance))
        template = ScratchDatabase.fresh(postgres_server, instance, patch)
        if template.server is not None:
            from tests.postgres import APP_ROLE, OWNER_ROLE

            # migrate as the owner, then grant the serving role
            patch.setenv("LEADDESK_DATABASE_URL", template.server.url(template.name, role=OWNER_ROLE))
        app = create_app("testing")
        with app.app_context():
            upgrade()
            if template.server is not None:
                with db.engine.begin() as connection:
                    grant_serving_role(connection, APP_ROLE)
            db.engine.dispose()
    return template


@pytest.fixture
def instance_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("LEADDESK_INSTANCE_PATH", str(path))
    return path


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a real server would.

    The test itself holds an app context (for ``db.session``); without this, requests would
    share its ``g`` (and Flask-Login's cached user) with one another.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()  # the test's own session sees what the request committed
        return response


@pytest.fixture(autouse=True)
def fresh_audit_source():
    """CLI commands run in-process set who acts; each test starts as the plain system."""
    from app.services.oversight.audit import set_audit_source

    set_audit_source("local", system_actor="system")


@pytest.fixture
def app(instance_path, migrated_database, clock, monkeypatch):
    database = migrated_database.clone_into(instance_path, monkeypatch)
    app = create_app("testing")
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    database.drop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_agency(app):
    counter = iter(range(1, 10_000))

    def factory(code: str | None = None, name: str | None = None) -> Agency:
        n = next(counter)
        agency = Agency(
            code=code or f"AG{n:03d}",
            name=name or f"Agency number {n}",
            local_policy_title="Policy 345: Facial Recognition",  # its own FR policy, on file
            local_policy_adopted_on=date(2025, 1, 15),
        )
        db.session.add(agency)
        db.session.commit()
        return agency

    return factory


@pytest.fixture
def make_user(app, make_agency, clock):
    """``make_user(role=Role.REVIEWER, certified=True)``: a ready-to-sign-in account.

    The user is enrolled in TOTP with a known secret (``user.totp_secret`` for tests) unless
    ``enrolled=False``; staff hold a current certification unless ``certified=False``; the
    policies the role works under are signed unless ``acknowledged=False``.
    """
    counter = iter(range(1, 10_000))
    default_agency: list[Agency] = []

    def factory(
        role: Role = Role.REQUESTER,
        *,
        agency: Agency | None = None,
        username: str | None = None,
        enrolled: bool = True,
        certified: bool | None = None,
        acknowledged: bool = True,
        **fields,
    ) -> User:
        if agency is None:
            if not default_agency:
                default_agency.append(make_agency(code="HOME", name="Home Agency"))
            agency = default_agency[0]
        n = next(counter)
        username = username or f"{role.value}{n}"
        secret = pyotp.random_base32()
        user = User(
            username=username,
            full_name=fields.pop("full_name", f"Test {role.value.title()} {n}"),
            email=f"{username}@example.invalid",
            role=role,
            agency=agency,
            password_hash=TEST_PASSWORD_HASH,
            **fields,
        )
        if enrolled:
            user.mfa_secret_encrypted = mfa.encrypt_secret(secret)
        db.session.add(user)
        db.session.flush()
        if certified if certified is not None else role is not Role.REQUESTER:
            db.session.add(
                TrainingCertification(
                    user=user,
                    provider=CertificationProvider.LACRIS,
                    certificate_number=f"L-{n:05d}",
                    completed_on=clock.today() - timedelta(days=30),
                    expires_on=clock.today() + timedelta(days=335),
                )
            )
        if acknowledged:  # the policies the role works under, signed
            for agreement in agreements_for(user):
                db.session.add(
                    PolicyAcknowledgement(
                        user_id=user.id,
                        document=agreement.key,
                        version=agreement.version,
                        typed_name=user.full_name,
                    )
                )
        db.session.commit()
        user.totp_secret = secret
        return user

    return factory


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str | bytes) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = CSRF_RE.search(text)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


@dataclass
class AuthActions:
    client: object
    clock: FrozenClock

    def csrf(self, url: str = "/auth/login") -> str:
        return csrf_from(self.client.get(url).data)

    def post(self, url: str, data: dict | None = None, token_from: str | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(token_from or url))
        return self.client.post(url, data=data, **kwargs)

    def password_step(self, username: str, password: str = TEST_PASSWORD, acknowledge: bool = True):
        data = {"username": username, "password": password}
        if acknowledge:
            data["acknowledge"] = "y"
        return self.post("/auth/login", data)

    def totp_code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.clock.now)

    def login(self, user: User, password: str = TEST_PASSWORD):
        """Both factors through the real forms. Moves the clock one TOTP step so codes
        are never reused between sign-ins."""
        self.clock.advance(seconds=30)
        response = self.password_step(user.username, password)
        assert response.status_code == 302, response.data[:500]
        response = self.post("/auth/mfa", {"code": self.totp_code(user.totp_secret)})
        assert response.status_code == 302, response.data[:2000]
        return response

    def logout(self):
        return self.post("/auth/logout", token_from="/")


@pytest.fixture
def auth(client, clock):
    return AuthActions(client, clock)


AUDIT_TABLES = ("audit_event", "audit_checkpoint")


@pytest.fixture
def intruder(app):
    """Someone with the database owner's rights, who can drop the append-only triggers and
    change the audit tables' rows (what the hash chain and the signed checkpoints exist to
    catch)."""
    from sqlalchemy import create_engine, text

    if db.engine.dialect.name == "postgresql":  # the table's owner may drop its triggers
        triggers = [
            f"{table}_no_{kind} ON {table}" for table in AUDIT_TABLES for kind in ("change", "truncate")
        ]
    else:
        triggers = [f"{table}_no_{kind}" for table in AUDIT_TABLES for kind in ("update", "delete")]

    def drop_guards() -> None:
        db.session.commit()
        if db.engine.dialect.name != "postgresql":
            for trigger in triggers:
                db.session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            db.session.commit()
            return
        # as the owner: drop the triggers, and let the app's own role change the rows too
        from tests.postgres import APP_ROLE, OWNER_ROLE

        owner = create_engine(db.engine.url.set(username=OWNER_ROLE))
        with owner.begin() as connection:
            for trigger in triggers:
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            for table in AUDIT_TABLES:
                connection.execute(text(f"GRANT UPDATE, DELETE, TRUNCATE ON {table} TO {APP_ROLE}"))
        owner.dispose()

    drop_guards()
    return drop_guards
