"""The whole path in a real browser: Playwright driving Debian's Chromium against a live server.

A requester submits two photos; a reviewer claims, checks suitability, crops, searches,
compares side by side and in overlay, fills in the checklist and records a lead; a second
reviewer verifies blind; the report is issued; the requester downloads the PDF; the admin
finds every step in the audit browser and the chain verifies. Screenshots of the key pages
go to ``test-artifacts/browser/``. Any browser console error (CSP violations included) fails.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import AuditEvent, Report, SearchRequest
from app.services.review import examinations
from tests.conftest import TEST_DATABASE, TEST_PASSWORD

CHROMIUM = os.environ.get("LEADDESK_CHROMIUM", "/usr/bin/chromium")
FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
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
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does) to run this test",
    ),
]


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.fixture
def live_server(gallery_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, gallery_app, threaded=True)
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
        self.context = browser.new_context(base_url=base_url, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.clock = clock
        self.page.on("console", lambda m: m.type == "error" and errors.append(f"{self.page.url}: {m.text}"))
        self.page.on("pageerror", lambda e: errors.append(f"{self.page.url}: {e}"))
        self.page.add_init_script(
            "document.addEventListener('securitypolicyviolation',"
            " e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )

    def sign_in(self, user) -> None:
        self.clock.advance(seconds=30)  # a fresh TOTP step for every sign-in
        page = self.page
        page.goto("/auth/login")
        page.fill("#username", user.username)
        page.fill("#password", TEST_PASSWORD)
        page.check("#acknowledge")
        page.click("button:has-text('Continue')")
        page.fill("#code", pyotp.TOTP(user.totp_secret).at(self.clock.now))
        page.click("button:has-text('Verify')")
        page.wait_for_url("**/")
        assert user.full_name in page.content()

    def sign_out(self) -> None:
        self.page.click("button:has-text('Sign out')")
        self.context.close()

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def wait_until(condition, timeout: float = 15) -> None:
    """Poll from Python: the page's CSP rightly forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def submit_request(visitor: Visitor, requester) -> None:
    page = visitor.page
    page.goto("/requests/new")
    page.fill("#requester_phone", "(555) 010-0100")
    page.fill("#requester_email", "det@example.invalid")
    page.fill("#case_number", "HC-2026-0042")
    page.check("input[name=purpose][value=active_investigation]")
    page.fill("#reason", "Identify the man who robbed the Main Street liquor store at gunpoint.")
    page.fill("#situation", "On 1 November a man robbed the Main Street liquor store; the clerk was unhurt.")
    page.fill("#reasonable_suspicion", "The store's camera shows the robber's face as he points the gun.")
    page.select_option("#crime_type", "robbery")
    page.select_option("#image_source", "surveillance_still")
    page.fill("#legally_obtained", "The store owner gave us the footage voluntarily.")
    page.fill("#image_taken_place", "Main Street liquor store")
    page.check("input[name=extracted_from_video][value=yes]")
    page.set_input_files("#images", [FACES / "john_simm__2.jpg", FACES / "john_simm__3.jpg"])
    page.click("button[value=check]")  # uploaded and checked for faces before signing
    page.wait_for_url("**/requests/drafts/*")
    assert "john_simm__2.jpg" in page.content() and "john_simm__3.jpg" in page.content()
    page.check("#affirmed")
    page.fill("#signature", requester.full_name)
    page.fill("#printed_name", requester.full_name)
    visitor.shot("01-request-form")
    page.click("button[value=submit]")
    page.wait_for_url("**/submitted")
    visitor.shot("02-request-confirmation")


def first_review(visitor: Visitor, request_id: int) -> None:
    page = visitor.page
    page.goto("/review/")
    visitor.shot("03-review-queue")
    page.click(f"a[href='/review/requests/{request_id}']")
    page.click("button:has-text('Claim this request')")
    assert "Claimed" in page.content() or "claimed" in page.content()

    # suitability and one processing step on the first probe
    page.click("a:has-text('Probe 1')")
    assert page.locator("#suit .verdict").text_content().strip().lower() in {"suitable", "marginal"}
    with Image.open(FACES / "john_simm__2.jpg") as photo:
        width, height = photo.size
    for name, value in (("left", 10), ("top", 5), ("right", width - 10), ("bottom", height - 5)):
        page.fill(f"#crop-{name}", str(value))
    page.click("button:has-text('Apply crop')")
    assert "crop" in page.locator("section[aria-labelledby=hist] ol").inner_text().lower()
    visitor.shot("04-probe-suitability-crop")
    page.click("a:has-text('Back to')")

    # both probes searched together: one fused list
    for box in page.locator("input[name=work_id]").all():
        box.check()
    page.fill("#top_k", "10")
    page.click("button:has-text('Search the gallery')")
    page.wait_for_url("**/review/searches/*")
    visitor.shot("05-candidate-list")

    page.click("a[href$='/candidates/1']")
    page.click("button[data-mode=side]")
    page.locator("#compare.mode-side").wait_for()
    wait_until(  # both aligned chips arrived and decoded
        lambda: page.eval_on_selector_all(
            "#compare img", "els => els.every(e => e.complete && e.naturalWidth)"
        )
    )
    probe, candidate = (
        page.locator(f"#compare .pane-{p} img").bounding_box() for p in ("probe", "candidate")
    )
    assert candidate["x"] >= probe["x"] + probe["width"]  # next to each other
    visitor.shot("06-compare-side-by-side")
    page.click("button[data-mode=overlay]")
    page.locator("#compare.mode-overlay").wait_for()
    probe, candidate = (
        page.locator(f"#compare .pane-{p} img").bounding_box() for p in ("probe", "candidate")
    )
    assert abs(candidate["x"] - probe["x"]) < 2 and abs(candidate["y"] - probe["y"]) < 2  # one on the other
    visitor.shot("07-compare-overlay")
    examine(visitor, "Consistent ear and nose morphology.")
    visitor.shot("08-checklist-concluded")

    page.click("a:has-text('Candidate list')")
    page.click("a:has-text('Back to')")
    decide_lead(visitor)
    assert "Awaiting verification" in page.content() or "awaiting" in page.content().lower()


def examine(visitor: Visitor, note: str) -> None:
    page = visitor.page
    for index in range(len(examinations.FISWG_FEATURES)):
        page.check(f"input[name=features-{index}-mark][value=similar]")
    page.fill("#note", note)
    page.check("input[name=conclusion][value=viable_lead]")
    page.click("form.checklist-form button[type=submit]")
    page.wait_for_load_state()


def decide_lead(visitor: Visitor) -> None:
    page = visitor.page
    page.select_option("#outcome", "lead")
    page.select_option("#examination_id", index=1)
    page.click("button:has-text('Record decision')")
    page.wait_for_load_state()


def verify_blind(visitor: Visitor, request_id: int, first_reviewer_name: str) -> None:
    page = visitor.page
    page.goto(f"/review/requests/{request_id}")
    page.click("button:has-text('Verify (blind second review)')")
    assert first_reviewer_name not in page.locator("#searches").inner_text()
    visitor.shot("09-verification-workspace")
    page.click("#searches + ul a, section[aria-labelledby=searches] a")
    page.click("a[href$='/candidates/1']")
    assert "Consistent ear and nose" not in page.content()  # the first checklist stays hidden
    examine(visitor, "Independent comparison: consistent.")
    page.click("a:has-text('Candidate list')")
    page.click("a:has-text('Back to')")
    decide_lead(visitor)
    page.fill("#comments", "Arrested 2024 in Long Beach.")
    page.click("button:has-text('Issue report')")
    page.wait_for_url("**/reports/*")
    visitor.shot("10-report-issued")


def download_report(visitor: Visitor, request_id: int) -> bytes:
    page = visitor.page
    page.goto("/requests/")
    page.click(f"a[href='/requests/{request_id}']")
    page.click("section[aria-labelledby=reports] a")
    visitor.shot("11-requester-report")
    with page.expect_download() as info:
        page.click("a:has-text('Download the PDF')")
    return Path(info.value.path()).read_bytes()


def test_whole_path_in_chromium(browser, live_server, people, clock):
    errors: list[str] = []

    requester = Visitor(browser, live_server, clock, errors)
    requester.sign_in(people["requester"])
    submit_request(requester, people["requester"])
    requester.sign_out()
    search_request = db.session.scalars(select(SearchRequest)).one()

    first = Visitor(browser, live_server, clock, errors)
    first.sign_in(people["first"])
    first_review(first, search_request.id)
    first.sign_out()

    second = Visitor(browser, live_server, clock, errors)
    second.sign_in(people["second"])
    verify_blind(second, search_request.id, people["first"].full_name)
    second.sign_out()

    requester = Visitor(browser, live_server, clock, errors)
    requester.sign_in(people["requester"])
    pdf = download_report(requester, search_request.id)
    requester.sign_out()
    db.session.expire_all()
    report = db.session.scalars(select(Report)).one()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == report.sha256

    admin = Visitor(browser, live_server, clock, errors)
    admin.sign_in(people["admin"])
    page = admin.page
    page.goto("/admin/audit")
    seen = set(page.locator("table.audit tbody td:nth-child(5)").all_inner_texts())
    for step in (
        "request.submit",
        "review.claim",
        "probe.process",
        "search.run",
        "candidate.examine",
        "review.decide",
        "review.verify_claim",
        "report.issue",
        "report.download",
    ):
        page.fill("input[name=action]", step)
        page.click("button:has-text('Filter')")
        rows = page.locator("table.audit tbody tr")
        assert "No events match" not in rows.first.inner_text(), step
        seen.add(step)
    admin.shot("12-audit-browser")
    page.click("a:has-text('Check the chain')")
    page.click("button:has-text('Check now')")
    assert "Intact" in page.locator(".flash-success").inner_text()
    admin.shot("13-audit-chain-intact")
    admin.sign_out()

    assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    assert errors == [], errors
