"""In Chromium: the enrolment QR code scans (decoded from a screenshot), the idle timeout warns
before it ends a session and the text typed survives it, and a refused "create account" keeps
what the administrator typed with focus on the summary of what to fix."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from PIL import Image

from app.models import Role
from tests.conftest import TEST_PASSWORD
from tests.support.browser import NEEDS_CHROMIUM, Visitor, wait_for_focus, wait_until

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is not installed (requirements-dev)")
pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def app(gallery_app):
    return gallery_app


def test_the_enrolment_qr_code_scans_to_the_secret_shown(browser, live_server, make_user, clock):
    newcomer = make_user(Role.REQUESTER, enrolled=False, full_name="Nia Newcomer")
    errors: list[str] = []
    visitor = Visitor(browser, live_server, clock, errors)
    page = visitor.page
    visitor.enter_password(newcomer)
    page.wait_for_url("**/auth/mfa")
    visitor.shot("onboarding/enrol-authenticator")
    box = page.locator(".qr svg").bounding_box()
    assert box["width"] >= 180 and abs(box["width"] - box["height"]) < 2  # whole and square
    shown = "".join(page.inner_text(".secret").split())
    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator(".qr").screenshot())))
    assert len(scanned) == 1, "the QR code on the page cannot be read"
    uri = urlsplit(scanned[0].text)
    secret = parse_qs(uri.query)["secret"][0]
    assert uri.scheme == "otpauth" and secret == shown
    page.fill("#code", pyotp.TOTP(secret).at(clock.now))  # what a phone that scanned it would show
    page.click("button:has-text('Verify')")
    page.wait_for_url("**/")
    assert "Nia Newcomer" in page.content() and errors == [], errors


def test_the_idle_timeout_warns_and_typed_text_survives_it(app, browser, live_server, people, clock):
    app.config.update(SESSION_IDLE_TIMEOUT=timedelta(seconds=8), SESSION_WARNING_BEFORE=timedelta(seconds=5))
    errors: list[str] = []
    visitor = Visitor(browser, live_server, clock, errors)
    visitor.sign_in(people["requester"])
    page = visitor.page
    page.goto("/requests/new")
    page.fill("#reason", "Identify the man who robbed the Main Street liquor store.")
    page.fill("#situation", "A robbery at gunpoint on 1 November; the clerk was unhurt.")
    dialog = page.locator(".idle-dialog")
    dialog.wait_for(timeout=8_000)  # three seconds in: five before the end
    assert "you will be signed out in" in dialog.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Stay signed in"
    visitor.shot("sessions/idle-warning")
    page.keyboard.press("Enter")  # stay signed in
    wait_until(lambda: dialog.count() == 0)

    clock.advance(minutes=5)  # then the person walks away: the server ends the session
    page.locator(".idle-dialog:has-text('Your session has ended')").wait_for(timeout=12_000)
    visitor.shot("sessions/idle-ended")
    page.click("button:has-text('Sign in again')")
    page.wait_for_url(re.compile(r".*/auth/login\?next=.*"))
    clock.advance(seconds=30)
    page.fill("#username", people["requester"].username)
    page.fill("#password", TEST_PASSWORD)
    page.check("#acknowledge")
    page.click("button:has-text('Continue')")
    page.fill("#code", pyotp.TOTP(people["requester"].totp_secret).at(clock.now))
    page.click("button:has-text('Verify')")
    page.wait_for_url("**/requests/new")
    assert page.input_value("#reason") == "Identify the man who robbed the Main Street liquor store."
    assert page.input_value("#situation") == "A robbery at gunpoint on 1 November; the clerk was unhurt."
    assert "put back" in page.content()
    visitor.shot("sessions/typed-text-restored")
    assert errors == [], errors


def test_a_refused_account_keeps_what_was_typed(browser, live_server, people, clock):
    errors: list[str] = []
    admin = Visitor(browser, live_server, clock, errors)
    admin.sign_in(people["admin"])
    page = admin.page
    page.goto("/admin/users")
    page.click("summary:has-text('Create an account')")
    page.fill("#username", "jdoe")
    page.fill("#full_name", "Jordan Doe")
    page.fill("#email", "not-an-email")
    page.fill("#password", "short")
    page.fill("#reason", "New detective at HCPD")
    page.click("button:has-text('Create account')")
    page.locator("#error-summary").wait_for()
    wait_for_focus(page, "error-summary")
    assert page.is_visible("#username")  # the form stays open
    assert page.input_value("#username") == "jdoe" and page.input_value("#full_name") == "Jordan Doe"
    assert page.input_value("#reason") == "New detective at HCPD"
    admin.shot("admin/create-account-refused")
    assert errors == [], errors
