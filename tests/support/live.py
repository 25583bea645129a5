"""The attacker's kit: a live threaded server on loopback (the real WSGI stack, not the test
client), clients that sign in through the real forms, and a way to fire requests at once."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyotp
import requests
from werkzeug.serving import make_server

from app.extensions import db
from tests.conftest import TEST_PASSWORD

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
FLASH = re.compile(r'class="flash flash-(\w+)"[^>]*>([^<]*)<')


@dataclass
class LiveServer:
    url: str

    def client(self) -> Browser:
        return Browser(self.url)


class Browser:
    """One person's browser: its own cookies, CSRF tokens read from the pages it loads."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=60, **kwargs)

    def csrf(self, path: str) -> str:
        match = CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, token_from: str | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(token_from or path))
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=60, **kwargs)

    def password_step(self, username: str, password: str = TEST_PASSWORD, token: str | None = None):
        data = {"username": username, "password": password, "acknowledge": "y"}
        if token:
            data["csrf_token"] = token
        return self.post("/auth/login", data)

    def login(self, user, clock) -> Browser:
        clock.advance(seconds=30)  # a fresh TOTP step for every sign-in
        assert self.password_step(user.username).status_code == 302
        response = self.post("/auth/mfa", {"code": pyotp.TOTP(user.totp_secret).at(clock.now)})
        assert response.status_code == 302, response.text[:300]
        return self


def flashes(response: requests.Response) -> list[tuple[str, str]]:
    return FLASH.findall(response.text)


def at_once(count: int, action: Callable[[int], object]) -> list:
    """Run ``action(i)`` for i in range(count) in threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def fire(i: int):
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(fire, range(count)))


def buffered(app):
    """Each response read whole, its file closed, before a byte is sent: a browser that leaves a
    page mid-download (a favicon, a frame) makes Werkzeug's development server drop the
    connection without closing the response (gunicorn, in production, closes it)."""

    def respond(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return respond


def serve(app) -> tuple[LiveServer, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        db.session.remove()

    return LiveServer(f"http://127.0.0.1:{server.server_port}"), stop


def refresh(*objects) -> None:
    """See what the server's requests committed."""
    db.session.expire_all()
    for obj in objects:
        db.session.refresh(obj)


def free_port() -> int:
    """A TCP port free on loopback now (for a server the test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
