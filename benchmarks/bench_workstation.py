"""The comparison workstation with a 24 MP probe, in Chromium (docs/measured.md, "Workstation at
evidence resolution"): first paint (the aligned chips shown), the full-resolution source drawn
(the probe's 6000 × 4000 pixels, through the alignment transform), and a zoom step (key press to
the frame that shows it), at 1366 and 1920 px wide.

    python benchmarks/bench_workstation.py [--steps 15]

Builds its own instance (SQLite, the fixture gallery), one request whose probe is a fixture
photo enlarged to 24 MP, searches it through the services, serves the app on loopback and
drives Debian's Chromium with Playwright.
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time

import harness  # puts the project on sys.path
import requests
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (1366, 1920)
PROBE_SIZE = (6000, 4000)


def big_probe() -> bytes:
    """A real face photo, enlarged to 24 MP and centred on a wide canvas, as a phone JPEG."""
    face = Image.open(harness.FACES / "john_simm__2.jpg").convert("RGB")
    face = face.resize((int(face.width * 3000 / face.height), 3000), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", PROBE_SIZE, (96, 104, 112))
    canvas.paste(face, ((PROBE_SIZE[0] - face.width) // 2, 600))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def prepare():
    from app import create_app
    from app.extensions import db
    from app.models import Role, User
    from app.services.gallery.enrollment import import_manifest
    from app.services.gallery.index_builds import rebuild_index
    from app.services.intake import requests as request_service
    from app.services.intake.probe_images import Upload
    from app.services.intake.uploads import save_with_uploads
    from app.services.policy.provenance import ImageFacts
    from app.services.review import assignments, probes, searches
    from tests.gallery import fixture_rows, gallery_row, write_manifest
    from tests.support.intake import valid_form
    from tests.support.review import determine_all

    instance = harness.fresh_instance()
    app = create_app("testing")
    app.config.update(SESSION_COOKIE_SECURE=False, ADDRESS_THROTTLE_LIMIT=100000)
    harness.migrate(app)
    with app.app_context():
        rows = [r for r in fixture_rows() if not r["file"].startswith("special/")]
        manifest = [gallery_row(r["file"], f"BK-WS-{n:04d}", f"Subject {n:04d}") for n, r in enumerate(rows)]
        import_manifest(write_manifest(instance / "gallery.csv", manifest), actor=None, workers=2)
        rebuild_index(triggered_by="workstation benchmark")
        owner = harness.make_account(Role.REQUESTER, "WSB", "ws-requester")
        reviewer_account = harness.make_account(Role.REVIEWER, "FRU", "ws-reviewer")
        requester, reviewer = (
            db.session.get(User, owner.user_id),
            db.session.get(User, reviewer_account.user_id),
        )
        form = valid_form(requester)
        values = {k: v for k, v in form.items() if k in request_service.TEXT_FIELDS}
        said = {k.removeprefix("new-"): v for k, v in form.items() if k.startswith("new-")}
        said["extracted_from_video"] = True  # a still from the store's camera, as the form says
        fields = request_service.DraftFields(
            values, image_taken_on=None, affirmed=True, new_facts=ImageFacts(key="new", name="", **said)
        )
        started = time.perf_counter()
        draft = save_with_uploads(
            None, fields, [Upload("probe-24mp.jpg", big_probe())], actor=requester
        ).draft
        print(f"24 MP probe uploaded and checked in {time.perf_counter() - started:.1f} s", flush=True)
        request_service.submit_request(draft, actor=requester)
        assignments.claim(draft, reviewer=reviewer)
        determine_all(draft, reviewer)
        work = probes.probe_work(draft.images[0], reviewer)
        search = searches.run_search(draft, reviewer=reviewer, works=[work], top_k=10)
        db.session.commit()
        search_id = search.id
    return app, reviewer_account, search_id


def serve(app):
    from werkzeug.serving import make_server

    from tests.support.live import buffered

    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.port}"


def session_cookies(base: str, account) -> list[dict]:
    http = requests.Session()

    def get(path):
        response = http.get(base + path, allow_redirects=False)
        return response.status_code, response.text

    def post(path, data):
        response = http.post(base + path, data=data, allow_redirects=False)
        return response.status_code, response.text

    harness.sign_in(get, post, account)
    return [{"name": c.name, "value": c.value, "url": base} for c in http.cookies]


CHIPS_SHOWN = "() => Array.from(document.querySelectorAll('#compare img.chip')).every(i => i.complete)"
SOURCES_DRAWN = "() => document.querySelectorAll('#compare .pane.has-source').length === 2"
SOURCE_STATE = (
    "() => Array.from(document.querySelectorAll('img.source')).map(i => [i.src, i.complete, i.naturalWidth])"
)
ZOOM_STEP = """async () => {
  const start = performance.now();
  document.getElementById("zoom-in").click();
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - start;
}"""


def until(page, predicate: str, timeout: float = 60) -> None:
    """Poll from here (the page's CSP forbids Playwright's string predicates), every 5 ms."""
    deadline = time.perf_counter() + timeout
    while not page.evaluate(predicate):
        if time.perf_counter() > deadline:
            state = (page.url, page.evaluate(SOURCE_STATE), page.inner_text("main")[:300])
            raise TimeoutError(f"{predicate}: {state}")
        time.sleep(0.005)


def measure(browser, base: str, cookies, search_id: int, width: int, steps: int) -> dict:
    context = browser.new_context(viewport={"width": width, "height": 900 if width < 1900 else 1080})
    context.add_cookies(cookies)
    page = context.new_page()
    url = f"{base}/review/searches/{search_id}/candidates/1"
    page.goto(url)  # the first visit computes and caches nothing: every load is the same work
    started = time.perf_counter()
    page.goto(url)
    until(page, CHIPS_SHOWN)
    first_paint = time.perf_counter() - started
    until(page, SOURCES_DRAWN)
    source = time.perf_counter() - started
    natural = page.eval_on_selector(".pane-probe img.source", "e => e.naturalWidth + ' × ' + e.naturalHeight")
    zooms = [page.evaluate(ZOOM_STEP) for _ in range(steps)]
    scale = page.inner_text(".pane-probe .pixel-scale")
    context.close()
    return {
        "first_paint": first_paint,
        "source": source,
        "natural": natural,
        "zoom_median": statistics.median(zooms),
        "zoom_max": max(zooms),
        "scale": scale,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=15, help="zoom steps per width (×1.25 each)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    app, account, search_id = prepare()
    server, base = serve(app)
    cookies = session_cookies(base, account)
    heads = ("width", "first paint", "source drawn", "zoom step p50", "max")
    print()
    print("{:>6} {:>12} {:>13} {:>14} {:>7}  after zoom".format(*heads))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width in WIDTHS:
            m = measure(browser, base, cookies, search_id, width, args.steps)
            print(
                f"{width:>6} {m['first_paint'] * 1000:>9.0f} ms {m['source'] * 1000:>10.0f} ms "
                f"{m['zoom_median']:>11.1f} ms {m['zoom_max']:>5.1f} ms  {m['natural']} px, {m['scale']}"
            )
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
