"""What the browser tests share: Debian's Chromium driven by Playwright against a live server
on the test database, a visitor who signs in with both factors and keeps a log of every console
error (CSP violations included), screenshots, and the accessibility engine (axe-core, from the
test dependencies, injected by the test: never from a CDN)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

from tests.conftest import TEST_DATABASE, TEST_PASSWORD
from tests.support.live import buffered

CHROMIUM = os.environ.get("LEADDESK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / TEST_DATABASE
# Chromium as the machine's probe runs it: no sandbox as root, nothing phoned home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev)")
axe_package = pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
AXE_SOURCE = (Path(axe_package.__file__).parent / "axe.min.js").read_text()
BLOCKING_IMPACTS = ("serious", "critical")
EAGER_IMAGES = "document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })"

NEEDS_CHROMIUM = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does) to run this test",
    ),
]


@pytest.fixture
def live_server(gallery_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, buffered(gallery_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visitor:
    """One person at one browser: signs in with both factors, acts, and keeps a log of
    every console error and uncaught script error the pages produced."""

    def __init__(self, browser, base_url: str, clock, errors: list[str]) -> None:
        # a reviewer's workstation monitor; the pages are also checked at 800 px wide
        self.context = browser.new_context(
            base_url=base_url, accept_downloads=True, viewport={"width": 1600, "height": 1000}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.clock = clock
        self.page.on("console", lambda m: m.type == "error" and errors.append(f"{self.page.url}: {m.text}"))
        self.page.on("pageerror", lambda e: errors.append(f"{self.page.url}: {e}"))
        self.page.add_init_script(
            "document.addEventListener('securitypolicyviolation',"
            " e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )

    def enter_password(self, user) -> None:
        """The first step of signing in: username, password, the policy acknowledged."""
        page = self.page
        page.goto("/auth/login")
        page.fill("#username", user.username)
        page.fill("#password", TEST_PASSWORD)
        page.check("#acknowledge")
        page.click("button:has-text('Continue')")

    def sign_in(self, user) -> None:
        self.clock.advance(seconds=30)  # a fresh TOTP step for every sign-in
        page = self.page
        self.enter_password(user)
        page.fill("#code", pyotp.TOTP(user.totp_secret).at(self.clock.now))
        page.click("button:has-text('Verify')")
        page.wait_for_url("**/")
        assert user.full_name in page.content()

    def sign_in_with_keyboard(self, user) -> None:
        """The same, with the keyboard alone: Tab to each field, Space to tick, Enter to send."""
        self.clock.advance(seconds=30)
        page = self.page
        page.goto("/auth/login")
        self.tab_to("username")
        page.keyboard.type(user.username)
        self.tab_to("password")
        page.keyboard.type(TEST_PASSWORD)
        self.tab_to("acknowledge")
        page.keyboard.press("Space")
        page.keyboard.press("Enter")
        page.wait_for_url("**/auth/mfa")
        self.tab_to("code")
        page.keyboard.type(pyotp.TOTP(user.totp_secret).at(self.clock.now))
        page.keyboard.press("Enter")
        page.wait_for_url("**/")
        assert user.full_name in page.content()

    def tab_to(self, element_id: str, limit: int = 25) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if self.page.evaluate("document.activeElement.id") == element_id:
                return
        raise AssertionError(f"#{element_id} cannot be reached with the Tab key")

    def sign_out(self) -> None:
        self.page.click("button:has-text('Sign out')")
        self.context.close()

    def shot(self, name: str) -> None:
        (SCREENSHOTS / name).parent.mkdir(parents=True, exist_ok=True)
        self.page.evaluate(EAGER_IMAGES)
        wait_until(lambda: self.page.evaluate("Array.from(document.images).every(i => i.complete)"), 30)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def wait_until(condition, timeout: float = 15) -> None:
    """Poll from Python: the page's CSP rightly forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def wait_for_focus(page, element_id: str) -> None:
    """Focus is moved by the page's script once it has run: wait for it, briefly."""
    wait_until(lambda: page.evaluate("document.activeElement.id") == element_id, timeout=5)


def accessibility_violations(page) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now."""
    page.evaluate(AXE_SOURCE)  # evaluated through the DevTools protocol: the page's CSP still holds
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]
