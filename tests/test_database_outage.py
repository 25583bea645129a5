"""The portal rides out its database going away: a clean 503 while it is down, and the same
session working again within seconds of it coming back, with no restart of the app."""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from tests.conftest import TEST_DATABASE

pytestmark = pytest.mark.skipif(
    TEST_DATABASE != "postgresql", reason="needs a database server to stop: runs on the PostgreSQL pass"
)


def test_server_crash_and_recovery(app, auth, client, make_user, postgres_server):
    user = make_user()
    name = user.full_name
    auth.login(user)
    assert client.get("/").status_code == 200
    db.session.close()  # the test's own session holds no connection through the crash

    postgres_server.stop("immediate")  # as a crash: no goodbye to the connections in the pool
    try:
        for _ in range(3):
            down = client.get("/")
            assert down.status_code == 503
            assert b"cannot reach its database" in down.data
        assert client.get("/healthz").status_code == 503
    finally:
        postgres_server.start()
    postgres_server.wait_until_ready()

    started = time.monotonic()
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() - started < 10, "the app did not reconnect within 10 s"
        time.sleep(0.2)
    back = client.get("/")
    assert back.status_code == 200 and name in back.get_data(as_text=True)
