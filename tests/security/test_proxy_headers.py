"""Forged proxy headers (finding 6 of the second red-team pass), through gunicorn as production
runs it: with `PROXY_FIX=true`, `X-Forwarded-For` was trusted from any client (`PROXY_IPS`
only configured gunicorn), so 40 spoofed guesses were all checked and the audit recorded 40
forged addresses. The header is now believed only from the configured proxies, in the app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, LoginAttempt
from app.security.proxy import parse_proxy_ips
from tests.support.live import Browser, free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@contextmanager
def gunicorn(proxy_ips: str, log: Path):
    """The production server (gunicorn.conf.py, one worker) on the test's own database."""
    port = free_port()
    env = os.environ | {
        "LEADDESK_CONFIG": "testing",
        "LEADDESK_BIND": f"127.0.0.1:{port}",
        "LEADDESK_WORKERS": "1",
        "LEADDESK_THREADS": "4",
        "LEADDESK_PROXY_FIX": "true",
        "LEADDESK_PROXY_IPS": proxy_ips,
        "LEADDESK_ADDRESS_THROTTLE_LIMIT": "20",
    }
    errors = log.open("wb")
    server = subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors.close()


def sources(action: str) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(AuditEvent.source_address).where(AuditEvent.action == action)))


def test_forged_forwarded_for_from_a_client_is_ignored(app, tmp_path):
    # the proxy is elsewhere: we are a client
    with gunicorn(proxy_ips="10.9.9.9", log=tmp_path / "gunicorn.log") as base:
        browser = Browser(base)
        token = browser.csrf("/auth/login")
        answers = []
        for i in range(40):
            forged = {"X-Forwarded-For": f"203.0.113.{i}", "X-Forwarded-Proto": "https"}
            data = {"username": f"guess{i}", "password": "wrong-password-here", "acknowledge": "y"}
            data["csrf_token"] = token
            answers.append(browser.http.post(base + "/auth/login", data=data, headers=forged, timeout=30))
    assert sum(a.status_code == 429 for a in answers) >= 20  # one address, throttled at 20
    db.session.expire_all()
    checked = set(db.session.scalars(select(LoginAttempt.source_address)))
    assert checked == {"127.0.0.1"}
    assert sources("auth.login") <= {"127.0.0.1"} and "203.0.113.1" not in sources("auth.login")


def test_the_configured_proxy_is_believed(app, tmp_path):
    with gunicorn(proxy_ips="127.0.0.1, ::1", log=tmp_path / "gunicorn.log") as base:
        browser = Browser(base)
        token = browser.csrf("/auth/login")
        data = {
            "username": "nobody",
            "password": "wrong-password-here",
            "acknowledge": "y",
            "csrf_token": token,
        }
        browser.http.post(
            base + "/auth/login", data=data, headers={"X-Forwarded-For": "198.51.100.7"}, timeout=30
        )
    db.session.expire_all()
    assert "198.51.100.7" in set(db.session.scalars(select(LoginAttempt.source_address)))


def test_proxy_ips_must_be_addresses():
    assert [str(n) for n in parse_proxy_ips("10.0.0.5, 10.0.1.0/24")] == ["10.0.0.5/32", "10.0.1.0/24"]
    try:
        parse_proxy_ips("proxy.county.local")
    except ValueError as err:
        assert "not an IP address" in str(err)
    else:
        raise AssertionError("a host name was accepted as a proxy address")
