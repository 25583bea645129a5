"""The whole path in a real browser: Playwright driving Debian's Chromium against a live server.

A requester submits two photos; a reviewer claims, checks suitability, crops, searches,
compares side by side and in overlay, fills in the checklist and records a lead; a second
reviewer verifies blind; the report is issued; the requester downloads the PDF; the admin
finds every step in the audit browser and the chain verifies. Screenshots of the key pages
go to ``test-artifacts/browser/``. Any browser console error (CSP violations included) fails.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Report, SearchRequest
from app.services.review.examinations import FEATURE_KEYS
from tests.support.browser import (
    NEEDS_CHROMIUM,
    Visitor,
    accessibility_violations,
    wait_for_focus,
    wait_until,
)
from tests.support.photos import FACES

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def app(gallery_app):
    return gallery_app


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
    page.fill("#image_taken_place", "Main Street liquor store")
    # where the photos came from, stated as facts (given to each photo attached with them)
    page.select_option("#new-device", "fixed_camera")
    page.check("input[name=new-mode][value=recorded]")
    page.check("input[name=new-extracted_from_video][value=yes]")
    page.select_option("#new-provided_by", "business")
    page.fill("#new-legally_obtained", "The store owner gave us the footage voluntarily.")
    page.set_input_files("#images", [FACES / "john_simm__2.jpg", FACES / "john_simm__3.jpg"])
    page.click("button[value=check]")  # uploaded and checked for faces before signing
    page.wait_for_url("**/requests/drafts/*")
    assert "john_simm__2.jpg" in page.content() and "john_simm__3.jpg" in page.content()
    draft_url = page.url
    page.click("button[value=submit]")  # not affirmed, not signed: refused, everything kept
    page.locator("#error-summary").wait_for()
    wait_for_focus(page, "error-summary")
    assert "gunpoint" in page.input_value("#reason") and page.input_value("#case_number") == "HC-2026-0042"
    visitor.shot("01-request-form-refused")
    page.check("#affirmed")
    page.fill("#signature", requester.full_name)
    page.fill("#printed_name", requester.full_name)
    visitor.shot("01-request-form")
    page.click("button[value=submit]")
    page.wait_for_url("**/submitted")
    visitor.shot("02-request-confirmation")
    page.goto(draft_url)  # what Back to the draft loads after submitting: never "Not found"
    assert "here is where it stands" in page.content() and "Not found" not in page.content()


def transform(page, pane: str = "probe") -> tuple[float, float, float]:
    """(scale, x, y) of a pane's stage, read from its computed CSS transform."""
    matrix = page.eval_on_selector(f"#compare .pane-{pane} .stage", "e => getComputedStyle(e).transform")
    if matrix == "none":
        return 1.0, 0.0, 0.0
    a, _, _, _, e, f = (float(v) for v in matrix[len("matrix(") : -1].split(","))
    return a, e, f


def workstation(visitor: Visitor, search_url: str) -> None:
    """Zoom to the cursor, drag-pan, modes and shortcuts, next with the view kept, quick
    exclude, a refused checklist that keeps its marks, then the full checklist."""
    page = visitor.page
    page.goto(f"{search_url}/candidates/1")
    wait_until(  # both aligned chips arrived and decoded
        lambda: page.eval_on_selector_all(
            "#compare img", "els => els.every(e => e.complete && e.naturalWidth)"
        )
    )
    page.evaluate("sessionStorage.clear()")
    page.reload()
    evidence_resolution(page)
    probe, candidate = (
        page.locator(f"#compare .pane-{p} .viewport").bounding_box() for p in ("probe", "candidate")
    )
    assert candidate["x"] >= probe["x"] + probe["width"] and probe["width"] >= 400  # large, side by side
    checklist = page.locator(".workstation-checklist").bounding_box()
    assert checklist["x"] >= candidate["x"] + candidate["width"] - 1  # the checklist beside the images
    save = page.locator("form.checklist-form .save-bar button").bounding_box()
    assert save["y"] + save["height"] <= page.viewport_size["height"]  # Save in view, no scrolling
    visitor.shot("06-compare-side-by-side")

    # wheel zoom keeps the point under the cursor where it was
    cx, cy = probe["x"] + probe["width"] * 0.3, probe["y"] + probe["height"] * 0.4
    px, py = cx - probe["x"], cy - probe["y"]
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    wait_until(lambda: transform(page)[0] > 1.5)
    scale, x, y = transform(page)
    assert abs((px - x) / scale - px) < 2 and abs((py - y) / scale - py) < 2
    assert transform(page, "candidate") == (scale, x, y)  # the panes move together
    # unlocked, each pane zooms alone; locked again, the candidate follows the probe
    page.keyboard.press("u")
    assert page.get_attribute("#lock-panes", "aria-pressed") == "false"
    box = page.locator("#compare .pane-candidate .viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    wait_until(lambda: transform(page, "candidate")[0] > scale * 1.3)
    assert transform(page) == (scale, x, y) and "unlocked" in page.inner_text("#mode-indicator")
    page.keyboard.press("u")
    wait_until(lambda: transform(page, "candidate") == (scale, x, y))
    # drag-pan follows the pointer while the button is held, and only then
    page.mouse.move(cx, cy)
    page.mouse.down()
    for step in range(1, 7):
        page.mouse.move(cx - 10 * step, cy - 5 * step)
    page.mouse.up()
    _, x2, y2 = transform(page)
    assert abs((x2 - x) + 60) < 2 and abs((y2 - y) + 30) < 2
    page.mouse.move(cx + 80, cy + 80)  # no button held: nothing moves
    assert transform(page)[1:] == (x2, y2)
    # the keyboard pans and zooms too, and the active mode is visible
    page.locator("#compare .pane-probe .viewport").focus()
    page.keyboard.press("ArrowRight")
    assert transform(page)[1] < x2
    page.keyboard.press("2")
    assert page.get_attribute("button[data-mode=overlay]", "aria-pressed") == "true"
    assert page.get_attribute("button[data-mode=side]", "aria-pressed") == "false"
    assert "Overlay" in page.inner_text("#mode-indicator")
    probe_box, candidate_box = (
        page.locator(f"#compare .pane-{p} .viewport").bounding_box() for p in ("probe", "candidate")
    )
    assert abs(candidate_box["x"] - probe_box["x"]) < 2 and abs(candidate_box["y"] - probe_box["y"]) < 2
    visitor.shot("07-compare-overlay-zoomed")
    page.keyboard.press("l")
    assert page.get_attribute("#show-landmarks", "aria-pressed") == "true"
    page.keyboard.press("1")
    kept = transform(page)

    # next candidate: the probe stays as it was (zoom, pan, mode)
    page.keyboard.press("n")
    page.wait_for_url("**/candidates/2")
    wait_until(lambda: abs(transform(page)[0] - kept[0]) < 0.01)
    assert all(abs(a - b) < 1 for a, b in zip(transform(page), kept, strict=True)), (transform(page), kept)
    assert page.get_attribute("#show-landmarks", "aria-pressed") == "true"
    assert "Shortcuts do nothing while you type" in page.content()  # the shortcuts are listed

    # quick exclude in two actions: the feature, then Exclude; on to the next one
    page.keyboard.press("x")
    wait_for_focus(page, "feature")
    page.select_option("#feature", "Ears")
    page.click("button:has-text('Exclude: not a lead')")
    page.wait_for_url("**/candidates/3")
    assert "Rank 2 excluded: Ears dissimilar." in page.inner_text(".flashes")

    # a refused checklist keeps every mark, the note and the conclusion; focus goes to the summary
    page.goto(f"{search_url}/candidates/1")
    adjust_and_mark(page)
    for key in list(FEATURE_KEYS)[:10]:
        page.check(f"input[name=feature_{key}-mark][value=similar]")
    page.fill("#feature_hair-note", "thin, arched")
    page.fill("#note", "Consistent ear and nose morphology.")
    page.check("input[name=conclusion][value=viable_lead]")
    page.click("form.checklist-form button[type=submit]")
    page.locator("#error-summary").wait_for()
    wait_for_focus(page, "error-summary")
    assert all(
        page.is_checked(f"input[name=feature_{key}-mark][value=similar]") for key in list(FEATURE_KEYS)[:10]
    )
    assert page.input_value("#feature_hair-note") == "thin, arched"
    assert page.is_checked("input[name=conclusion][value=viable_lead]")
    visitor.shot("08-checklist-refused-kept")
    examine(visitor, "Consistent ear and nose morphology.")
    record = page.inner_text("section.record")
    assert "Booking number" in record and "BK-JOHN_SIMM" in record  # beside the candidate, once concluded
    visitor.shot("08-checklist-concluded")
    # what was applied and marked is kept with the conclusion and shown again
    assert page.inner_text("#annotation-list").startswith("1. probe, point · Facial marks: mole")
    assert "contrast(1.5)" in page.eval_on_selector("#compare .pane-probe img", "e => e.style.filter")
    page.goto(search_url)
    assert "Viable investigative lead" in page.content() and "Not a lead" in page.content()
    visitor.shot("05-candidate-list-examined")


def evidence_resolution(page) -> None:
    """Each pane draws its full-resolution source (not the 512-px chip) once it has arrived,
    aligned exactly over the chip; zoomed past 1:1 its pixels show as pixels."""
    for pane in ("probe", "candidate"):
        source = f"#compare .pane-{pane} img.source"
        wait_until(lambda s=source: page.eval_on_selector(s, "e => e.complete && e.naturalWidth > 0"))
        natural = page.eval_on_selector(source, "e => [e.naturalWidth, e.naturalHeight]")
        assert natural == [
            int(page.get_attribute(source, "width")),
            int(page.get_attribute(source, "height")),
        ]
        assert "has-source" in page.get_attribute(f"#compare .pane-{pane}", "class")
        # the source's box, through its transform, sits where the chip's landmarks say the face is
        assert page.eval_on_selector(source, "e => getComputedStyle(e).visibility") == "visible"
    page.locator("#compare .pane-probe .viewport").focus()
    for _ in range(30):
        page.keyboard.press("+")
    scale = page.inner_text("#compare .pane-probe .pixel-scale")
    assert scale.endswith(":1") and float(scale.strip("· ").split(":")[0]) >= 3, scale  # ≥ 3 screen px each
    assert "pixels" in page.get_attribute("#compare .pane-probe img.source", "class")
    page.keyboard.press("0")
    fitted = page.inner_text("#compare .pane-probe .pixel-scale").strip("· ")
    # at fit, a source smaller than the pane is shown as what it is (its pixels, not smoothed)
    upscaled = fitted.endswith(":1") and float(fitted.split(":")[0]) > 1
    assert ("pixels" in page.get_attribute("#compare .pane-probe img.source", "class")) == upscaled


def adjust_and_mark(page) -> None:
    """A live view adjustment on one pane, reset in one key, set again; a point marked on the
    probe with a feature and a note: both written into the checklist's hidden fields."""
    page.fill("#adjust-probe-contrast", "1.5")
    assert "contrast(1.5)" in page.eval_on_selector("#compare .pane-probe img", "e => e.style.filter")
    assert "contrast(1)" in page.eval_on_selector("#compare .pane-candidate img", "e => e.style.filter")
    page.locator("#compare .pane-probe .viewport").focus()
    page.keyboard.press("r")
    assert "contrast(1)" in page.eval_on_selector("#compare .pane-probe img", "e => e.style.filter")
    page.fill("#adjust-probe-contrast", "1.5")
    page.check("[data-adjust=mirror][data-adjust-pane=candidate]")
    assert "scaleX(-1)" in page.eval_on_selector("#compare .pane-candidate .frame", "e => e.style.transform")
    page.select_option("#annotation-feature", "Facial marks")
    page.fill("#annotation-note", "mole")
    page.locator("#compare .pane-probe .viewport").focus()
    page.keyboard.press("0")  # fit: a viewport point is the image point
    page.keyboard.press("m")
    box = page.locator("#compare .pane-probe .viewport").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    marks = json.loads(page.input_value("#checklist-form input[name=annotations]"))
    assert len(marks) == 1 and marks[0]["feature"] == "Facial marks" and marks[0]["note"] == "mole"
    ((x, y),) = marks[0]["points"]
    assert abs(x - 0.25) < 0.02 and abs(y - 0.75) < 0.02, marks  # where it was clicked on the image
    views = json.loads(page.input_value("#checklist-form input[name=view_adjustments]"))
    assert views["probe"]["contrast"] == 1.5 and views["candidate"]["mirror"] is True
    page.keyboard.press("m")
    # one key shows the untouched original beside the images (fetched only then: an audited read)
    assert page.get_attribute("#original-beside img", "src") is None
    page.keyboard.press("o")
    wait_until(lambda: page.eval_on_selector("#original-beside img", "e => e.complete && e.naturalWidth > 0"))
    page.keyboard.press("o")


def first_review(visitor: Visitor, request_id: int) -> None:
    page = visitor.page
    page.goto("/review/")
    visitor.shot("03-review-queue")
    page.click(f"a[href='/review/requests/{request_id}']")
    assert page.locator("section[aria-labelledby=photos-title] img").count() == 2  # before claiming
    page.click("button:has-text('Claim this request')")
    assert "determinations" in " ".join(page.inner_text(".case-status").split())
    # the second person on every source: each photo's stated source, and the First Amendment
    assert page.locator("button:has-text('Search the gallery')").count() == 0
    for choice in page.locator("input[name$='-decision'][value=confirm]").all():
        choice.check()
    page.check("#fa_confirm")
    visitor.shot("03b-determinations")
    page.click("button:has-text('Record the determinations')")
    assert "Waiting for: its reviewer" in " ".join(page.inner_text(".case-status").split())

    # suitability and one processing step on the first probe; a bad number is refused, not a 500
    page.click("a:has-text('Probe 1')")
    assert page.locator("#suit .verdict").text_content().strip().lower() in {"suitable", "marginal"}
    page.eval_on_selector("#gamma-value", "e => { e.type = 'text'; }")  # as a crafted request would
    page.fill("#gamma-value", "abc")
    page.click("button:has-text('Apply gamma')")
    assert "Enter a number" in page.content() or "Not a valid decimal" in page.content()
    with Image.open(FACES / "john_simm__2.jpg") as photo:
        width, height = photo.size
    for name, value in (("left", 10), ("top", 5), ("right", width - 10), ("bottom", height - 5)):
        page.fill(f"#crop-{name}", str(value))
    page.click("button:has-text('Apply crop')")
    assert "crop" in page.locator("section[aria-labelledby=hist] ol").inner_text().lower()
    visitor.shot("04-probe-suitability-crop")
    page.click("a:has-text('Back to')")

    # both probes searched together: one fused list, ten people
    for box in page.locator("input[name=work_id]").all():
        box.check()
    page.fill("#top_k", "10")
    page.click("button:has-text('Search the gallery')")
    page.wait_for_url("**/review/searches/*")
    assert page.locator("aside.pinned-probe img").count() == 1
    visitor.shot("05-candidate-list")
    workstation(visitor, page.url.split("?")[0])

    page.click("a:has-text('Back to')")
    # a refused decision keeps what was typed
    page.select_option("#outcome", "lead")
    page.fill("#comments", "Arrested 2024 in Long Beach.")
    page.click("button:has-text('Record decision')")
    page.locator("#error-summary").wait_for()
    assert page.input_value("#comments") == "Arrested 2024 in Long Beach."
    assert page.input_value("#outcome") == "lead"
    decide_lead(visitor)
    status = " ".join(page.inner_text(".case-status").split())
    assert "Your decision (reviewer): Investigative lead" in status and "verify it blind" in status
    assert page.locator("button:has-text('Record decision')").count() == 0
    assert page.locator("button:has-text('Search the gallery')").count() == 0
    visitor.shot("09-workspace-after-decision")


def examine(visitor: Visitor, note: str) -> None:
    """The checklist by keyboard: C to the first feature, one key per mark (S similar), then
    the note, the conclusion and Save."""
    page = visitor.page
    page.wait_for_url("**/candidates/**")
    page.wait_for_load_state("load")  # the page's scripts hold the keys
    page.locator("#compare .pane-probe .viewport").focus()
    page.keyboard.press("c")
    wait_until(lambda: page.evaluate("document.activeElement.type") == "radio")
    for key in FEATURE_KEYS:
        page.keyboard.press("s")
        wait_until(lambda k=key: page.is_checked(f"input[name=feature_{k}-mark][value=similar]"), timeout=5)
    assert page.evaluate("document.activeElement.name") == "conclusion"  # the marks done, on to concluding
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
    visitor.shot("10-verification-workspace")
    page.click("#searches + ul a, section[aria-labelledby=searches] a")
    listed = page.inner_text(".candidate-grid")
    assert "Not a lead" not in listed and "Viable" not in listed  # the first conclusions stay hidden
    assert listed.count("Not examined") == 10
    page.click("a[href$='/candidates/1']")
    assert "Consistent ear and nose" not in page.content()  # the first checklist stays hidden
    examine(visitor, "Independent comparison: consistent.")
    page.click("a:has-text('Candidate list')")
    page.click("a:has-text('Back to')")
    decide_lead(visitor)
    assert "Arrested 2024 in Long Beach." in page.input_value("#report-comments")  # carried over
    page.fill("#report-comments", page.input_value("#report-comments") + "\nLast contact: Pier 39.")
    page.click("button:has-text('Issue report')")
    page.wait_for_url("**/reports/*")
    visitor.shot("11-report-issued")


def download_report(visitor: Visitor, request_id: int) -> bytes:
    page = visitor.page
    page.goto("/requests/")
    page.click(f"a[href='/requests/{request_id}']")
    page.click("section[aria-labelledby=reports] a")
    visitor.shot("12-requester-report")
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
    admin.shot("13-audit-browser")
    page.click("a:has-text('Check the chain')")
    page.click("button:has-text('Check now')")
    assert "Intact" in page.locator(".flash-success").inner_text()
    admin.shot("14-audit-chain-intact")
    admin.sign_out()

    assert db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    every_main_page_for_every_role(browser, live_server, people, clock, search_request, errors)
    assert errors == [], errors


NARROW = {"width": 800, "height": 1000}
LAPTOP = {"width": 1366, "height": 900}


def sweep(visitor: Visitor, role: str, pages: list[tuple[str, str]], problems: list[str]) -> None:
    """Each page: no serious or critical accessibility violation, nothing wider than 800 px
    (wide tables scroll inside their own box), a screenshot at 1366 and at 800 px."""
    page = visitor.page
    for name, path in pages:
        page.set_viewport_size(LAPTOP)
        response = page.goto(path)
        assert response.status == 200, f"{role} {path}: {response.status}"
        problems += [f"{role} {path}: {v}" for v in accessibility_violations(page)]
        visitor.shot(f"pages/{role}-{name}")
        page.set_viewport_size(NARROW)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{role} {path}: {overflow} px wider than an 800 px window")
        visitor.shot(f"pages/{role}-{name}-800px")


def every_main_page_for_every_role(browser, live_server, people, clock, search_request, errors) -> None:
    from app.models import Booking, FaceSearch, ProbeWork
    from app.services.oversight.monthly_audit import generate_monthly_audit
    from app.services.oversight.monthly_figures import local_zone

    db.session.expire_all()
    report = db.session.scalars(select(Report)).one()
    search = db.session.scalars(select(FaceSearch).order_by(FaceSearch.id)).first()
    work = db.session.scalars(select(ProbeWork).where(ProbeWork.reviewer_id == people["first"].id)).first()
    month = clock.now.astimezone(local_zone()).strftime("%Y-%m")
    clock.advance(days=40)  # the month is over: its audit can be generated and read
    generate_monthly_audit(month, generated_by="tests")
    db.session.commit()
    problems: list[str] = []
    request_id = search_request.id

    anonymous = Visitor(browser, live_server, clock, errors)
    sweep(anonymous, "anonymous", [("sign-in", "/auth/login")], problems)
    anonymous.context.close()

    requester = Visitor(browser, live_server, clock, errors)
    requester.sign_in_with_keyboard(people["requester"])
    sweep(
        requester,
        "requester",
        [
            ("dashboard", "/"),
            ("requests", "/requests/"),
            ("request", f"/requests/{request_id}"),
            ("new-request", "/requests/new"),
            ("report", f"/reports/{report.id}"),
            ("check-a-report", "/reports/verify"),
            ("agency", f"/agencies/{people['requester'].agency_id}"),
            ("sessions", "/auth/sessions"),
            ("password", "/auth/password"),
        ],
        problems,
    )
    requester.sign_out()

    reviewer = Visitor(browser, live_server, clock, errors)
    reviewer.sign_in(people["first"])
    sweep(
        reviewer,
        "reviewer",
        [
            ("dashboard", "/"),
            ("queue", "/review/"),
            ("workspace", f"/review/requests/{request_id}"),
            ("probe", f"/review/probes/{work.id}"),
            ("candidates", f"/review/searches/{search.id}"),
            ("candidates-by-photo", f"/review/searches/{search.id}?by=photo"),
            ("compare", f"/review/searches/{search.id}/candidates/1"),
            ("compare-unexamined", f"/review/searches/{search.id}/candidates/4"),
            ("candidates-grid", f"/review/searches/{search.id}/grid?rank=1&rank=2&rank=3&rank=4"),
        ],
        problems,
    )
    reviewer.sign_out()

    admin = Visitor(browser, live_server, clock, errors)
    admin.sign_in(people["admin"])
    lead = db.session.get(Booking, report.lead_booking_id)
    sweep(
        admin,
        "admin",
        [
            ("dashboard", "/"),
            ("oversight", "/admin/"),
            ("people", "/admin/users"),
            ("person", f"/admin/users/{people['first'].id}"),
            ("agencies", "/admin/agencies"),
            ("agency", f"/admin/agencies/{people['requester'].agency_id}"),
            ("audit", "/admin/audit"),
            ("monthly-audits", "/admin/monthly"),
            ("monthly-audit", f"/admin/monthly/{month}"),
            ("transparency", "/admin/transparency"),
            ("policy-clauses", "/admin/policy"),
            ("sealed-records", "/reports/sealed"),
            ("queue", "/review/"),
            ("report", f"/reports/{report.id}"),
        ],
        problems,
    )
    admin.sign_out()
    assert lead is not None
    assert problems == [], "\n".join(problems)
