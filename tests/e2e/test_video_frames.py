"""Frames from a recorded video in a real browser: a requester attaches a clip made by the test
(PyAV), steps through it by key and by time, sees the faces found in each frame, and picks a
frame, which comes back on the draft as a probe photo. The stepper is checked with axe-core at
1600 and 800 px and screenshotted."""

from __future__ import annotations

import pytest

from tests.support.browser import NEEDS_CHROMIUM, Visitor, accessibility_violations, wait_until
from tests.support.video import write_clip

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def app(gallery_app):
    return gallery_app


def test_a_requester_steps_through_a_video_and_picks_a_frame(browser, live_server, people, clock, tmp_path):
    clip = write_clip(tmp_path / "store-camera.mp4", ["john_simm__1.jpg", "barack_obama__1.jpg"], fps=10)
    errors: list[str] = []
    visitor = Visitor(browser, live_server, clock, errors)
    visitor.sign_in(people["requester"])
    page = visitor.page
    page.goto("/requests/new")
    page.select_option("#new-device", "fixed_camera")
    page.check("input[name=new-mode][value=recorded]")
    page.check("input[name=new-extracted_from_video][value=yes]")
    page.select_option("#new-provided_by", "business")
    page.fill("#new-legally_obtained", "The store owner gave us the footage voluntarily.")
    page.set_input_files("#images", [clip])
    page.click("button[value=check]")
    page.wait_for_url("**/requests/drafts/*")
    assert "store-camera.mp4" in page.content() and "20 frames" in page.content()
    page.click("a:has-text('Step through store-camera.mp4')")
    page.wait_for_url("**/videos/*")
    assert "Frame 0 of 20" in page.inner_text("#where") and "1 face found" in page.inner_text(
        "#faces-in-frame"
    )
    page.keyboard.press("ArrowRight")
    wait_until(lambda: "Frame 1 of 20" in page.inner_text("#where"))
    page.wait_for_load_state("load")  # the stepper's keys are the page's script
    page.keyboard.press("Shift+ArrowRight")  # one second on: the second photo
    wait_until(lambda: "Frame 11 of 20" in page.inner_text("#where"))
    page.fill("#t", "0:01.5")
    page.click("form:has(#t) button")
    page.wait_for_load_state()
    assert "Frame 15 of 20" in page.inner_text("#where"), (page.url, page.inner_text("#where"))
    assert page.eval_on_selector(".video-frame img", "e => e.complete && e.naturalWidth") == 640
    visitor.shot("15-video-stepper")
    assert accessibility_violations(page) == []
    page.set_viewport_size({"width": 800, "height": 1000})
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    assert accessibility_violations(page) == []
    visitor.shot("15-video-stepper-800px")
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.click("button:has-text('Pick frame 15 as a probe photo')")
    page.wait_for_url("**/requests/drafts/*")
    assert "1 picked" in page.content() and "frame 15" in page.content().lower()
    assert errors == []
