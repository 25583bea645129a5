"""Sign-in with the county directory, against a real OpenLDAP server started here (LDAPS and
StartTLS with a test CA): the directory checks the password, TOTP stays required, a plain bind
is refused, a deleted entry or one outside the required group cannot sign in, the lockout
applies, and the break-glass local account keeps its own password."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Role
from app.services.identity import directory
from tests.conftest import TEST_PASSWORD
from tests.support import directory as ldap_test
from tests.support.live import refresh

pytestmark = pytest.mark.skipif(
    not ldap_test.available(),
    reason="no slapd: `apt-get install slapd ldap-utils` (make test does) to run the directory tests",
)
RITA = ldap_test.PEOPLE["rita"]


@pytest.fixture(scope="module")
def ldap_server():
    server = ldap_test.DirectoryServer.start()
    yield server
    server.stop()


@pytest.fixture(params=["ldaps", "starttls"])
def directory_app(app, ldap_server, request):
    if request.param == "ldaps":
        url, starttls = f"ldaps://127.0.0.1:{ldap_server.ldaps_port}", False
    else:
        url, starttls = f"ldap://127.0.0.1:{ldap_server.ldap_port}", True
    app.config.update(
        DIRECTORY_URL=url,
        DIRECTORY_USE_STARTTLS=starttls,
        DIRECTORY_CA_FILE=ldap_server.ca_file,
        DIRECTORY_USER_DN=f"uid={{username}},ou=people,{ldap_test.SUFFIX}",
        DIRECTORY_REQUIRED_GROUP=ldap_test.GROUP_DN,
    )
    return app


def directory_user(make_user, username: str):
    user = make_user(Role.REVIEWER, username=username)
    user.sign_in_with = directory.DIRECTORY
    db.session.commit()
    return user


def test_the_directory_checks_the_password_and_totp_stays_required(directory_app, auth, make_user):
    rita = directory_user(make_user, "rita")
    assert auth.password_step("rita", TEST_PASSWORD).status_code == 200  # LeadDesk's hash is not used
    response = auth.password_step("rita", RITA)
    assert response.status_code == 302 and "/auth/mfa" in response.headers["Location"]
    auth.post("/auth/mfa", {"code": auth.totp_code(rita.totp_secret)})
    assert auth.client.get("/").status_code == 200


def test_outside_the_group_or_deleted_cannot_sign_in(directory_app, auth, make_user, ldap_server):
    directory_user(make_user, "sam")  # right password, not in leaddesk-users
    assert auth.password_step("sam", ldap_test.PEOPLE["sam"]).status_code == 200
    directory_user(make_user, "rita")
    with ldap_server.admin() as admin:
        admin.delete(ldap_test.person_dn("rita"))
    try:
        assert auth.password_step("rita", RITA).status_code == 200
    finally:
        with ldap_server.admin() as admin:
            admin.add(
                ldap_test.person_dn("rita"),
                "inetOrgPerson",
                {"uid": "rita", "cn": "Rita", "sn": "Rita", "userPassword": RITA},
            )
    assert auth.password_step("rita", RITA).status_code == 302


def test_wrong_directory_passwords_lock_the_account(directory_app, auth, make_user):
    rita = directory_user(make_user, "rita")
    for _ in range(5):
        auth.password_step("rita", "not the passphrase")
    refresh(rita)
    assert rita.locked
    assert auth.password_step("rita", RITA).status_code == 200  # locked: the directory is not asked
    failures = db.session.scalars(select(AuditEvent).where(AuditEvent.reason == "wrong password")).all()
    assert len(failures) == 5


def test_the_break_glass_local_account_keeps_its_password(directory_app, auth, make_user):
    admin = make_user(Role.ADMIN, username="breakglass")  # sign_in_with stays "local"
    assert auth.password_step(admin.username, TEST_PASSWORD).status_code == 302


def test_a_plain_bind_is_refused_at_start(instance_path, monkeypatch):
    monkeypatch.setenv("LEADDESK_DIRECTORY_URL", "ldap://127.0.0.1:389")
    monkeypatch.setenv("LEADDESK_DIRECTORY_USER_DN", "uid={username},ou=people,dc=county,dc=test")
    with pytest.raises(RuntimeError, match="plain bind is refused"):
        create_app("testing")


def test_the_dn_can_come_from_a_search_as_the_service_account(directory_app, auth, make_user):
    directory_app.config.update(
        DIRECTORY_USER_DN=None,
        DIRECTORY_SEARCH_BASE=f"ou=people,{ldap_test.SUFFIX}",
        DIRECTORY_BIND_DN=ldap_test.SERVICE_DN,
        DIRECTORY_BIND_PASSWORD=ldap_test.SERVICE_PASSWORD,
    )
    directory_user(make_user, "rita")
    assert auth.password_step("rita", RITA).status_code == 302
    directory_user(make_user, "nobody-there")
    assert auth.password_step("nobody-there", RITA).status_code == 200


def test_the_operator_marks_an_account_for_the_directory(app, runner, make_user):
    user = make_user(Role.REVIEWER, username="rita")
    db.session.commit()
    assert runner.invoke(args=["users", "sign-in-with", "rita", "directory"]).exit_code == 0
    refresh(user)
    assert user.sign_in_with == directory.DIRECTORY
    assert runner.invoke(args=["users", "sign-in-with", "rita", "ldap"]).exit_code != 0
