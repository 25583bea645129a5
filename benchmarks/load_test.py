"""Load: 50 reviewers and 10 requesters against gunicorn and PostgreSQL on loopback.

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/load_test.py [--minutes 10]

Starts its own PostgreSQL server (Debian's binaries, as the test run does), migrates, enrolls
the fixture gallery, creates the accounts and one claimed request per reviewer, serves the
portal with gunicorn.conf.py in the production configuration, runs locust headless, and
prints p50/p95/p99 and errors per page.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness  # puts the project on sys.path: tests.* below come from it

BIN = Path(sys.executable).parent


def prepare(instance: Path, reviewers: int, requesters: int) -> dict:
    """Gallery, accounts and one claimed request per reviewer, straight through the services."""
    from app import create_app
    from app.extensions import db
    from app.models import Role
    from app.services.gallery.enrollment import import_manifest
    from app.services.gallery.index_builds import rebuild_index
    from app.services.intake import requests as request_service
    from app.services.intake.probe_images import Upload
    from app.services.intake.uploads import save_with_uploads
    from app.services.policy.provenance import ImageFacts
    from app.services.review import assignments
    from tests.gallery import distractors, fixture_rows, gallery_row, write_manifest
    from tests.support.intake import valid_form
    from tests.support.review import determine_all

    app = create_app("testing")
    harness.migrate(app)
    rows = fixture_rows()
    people = [r for r in rows if not r["file"].startswith("special/")]
    manifest = [
        gallery_row(r["file"], f"BK-LOAD-{n:04d}", f"Load Subject {n:04d}") for n, r in enumerate(people)
    ]
    manifest += [
        gallery_row(f, f"BK-LOAD-D{n:03d}", f"Load Distractor {n:03d}") for n, f in enumerate(distractors())
    ]
    photos = sorted(harness.FACES.glob("*__2.jpg")) + sorted(harness.FACES.glob("*__3.jpg"))
    with app.app_context():
        summary = import_manifest(write_manifest(instance / "gallery.csv", manifest), actor=None, workers=2)
        rebuild_index(triggered_by="load test")
        print(f"gallery: {summary.enrolled} enrolled, {summary.rejected} rejected", flush=True)
        accounts = {"reviewers": [], "requesters": [], "photo": str(photos[0])}
        requester_accounts = [
            harness.make_account(Role.REQUESTER, "LOAD", f"load-requester-{n:02d}") for n in range(requesters)
        ]
        from app.models import User

        for n in range(reviewers):
            reviewer = harness.make_account(Role.REVIEWER, "FRU", f"load-reviewer-{n:02d}")
            owner = requester_accounts[n % requesters]
            requester = db.session.get(User, owner.user_id)
            form = valid_form(requester)
            values = {k: v for k, v in form.items() if k in request_service.TEXT_FIELDS}
            said = {k.removeprefix("new-"): v for k, v in form.items() if k.startswith("new-")}
            said["extracted_from_video"] = True
            stated = ImageFacts(key="new", name="", **said)
            fields = request_service.DraftFields(values, image_taken_on=None, affirmed=True, new_facts=stated)
            uploads = [
                Upload(photo.name, photo.read_bytes())
                for photo in (photos[(2 * n) % len(photos)], photos[(2 * n + 1) % len(photos)])
            ]
            draft = save_with_uploads(None, fields, uploads, actor=requester).draft
            request_service.submit_request(draft, actor=requester)
            assignments.claim(draft, reviewer=db.session.get(User, reviewer.user_id))
            db.session.commit()
            determine_all(draft, db.session.get(User, reviewer.user_id))
            accounts["reviewers"].append({**vars(reviewer), "request_id": draft.id})
            if n < requesters:
                accounts["requesters"].append({**vars(owner), "request_id": draft.id})
        db.session.remove()
        db.engine.dispose()
    return accounts


def report(stats_csv: Path, errors_csv: Path) -> None:
    rows = list(csv.DictReader(stats_csv.open()))
    print(f"\n{'page':<26} {'requests':>9} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row in rows:
        print(
            f"{row['Name'][:26]:<26} {row['Request Count']:>9} {row['Failure Count']:>7} "
            f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7}"
        )
    errors = list(csv.DictReader(errors_csv.open())) if errors_csv.exists() else []
    server_errors = [e for e in errors if "50" in e.get("Error", "")[:40]]
    print(f"\nerrors: {len(errors)} kinds; 5xx kinds: {len(server_errors)}")
    for error in errors[:10]:
        print(f"  {error['Occurrences']:>5} x {error['Method']} {error['Name']}: {error['Error'][:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--requesters", type=int, default=10)
    args = parser.parse_args()
    from tests.postgres import PostgresServer, free_port

    # One key for the set-up and the served portal: it also seals the stored TOTP secrets.
    os.environ["LEADDESK_SECRET_KEY"] = os.urandom(24).hex()
    server = PostgresServer()
    server.start()
    gunicorn = None
    try:
        database = server.create_database("leaddesk")
        instance = harness.fresh_instance(database)
        started = time.perf_counter()
        accounts = prepare(instance, args.reviewers, args.requesters)
        print(f"prepared in {time.perf_counter() - started:.0f} s", flush=True)
        accounts_file = instance / "load-accounts.json"
        accounts_file.write_text(json.dumps(accounts))

        port = free_port()
        gunicorn = harness.serve_portal(instance, port)
        workers = os.environ.get("LEADDESK_WORKERS", "gunicorn.conf.py default")
        print(f"gunicorn on port {port} (workers: {workers}); locust for {args.minutes:g} min", flush=True)

        rss_series = [harness.worker_rss_mb(gunicorn.pid)]
        sampling = threading.Event()

        def sample_memory() -> None:
            while not sampling.wait(60):
                rss_series.append(harness.worker_rss_mb(gunicorn.pid))

        threading.Thread(target=sample_memory, daemon=True).start()
        prefix = Path(tempfile.mkdtemp(prefix="leaddesk-load-")) / "run"
        users = args.reviewers + args.requesters
        subprocess.run(
            [
                str(BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                "-u", str(users), "-r", "5", "-t", f"{int(args.minutes * 60)}s",
                "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
                "--loglevel", "WARNING",
            ],
            env={**os.environ, "LEADDESK_LOAD_ACCOUNTS": str(accounts_file)},
            check=False,
        )  # fmt: skip
        report(Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv"))
        sampling.set()
        print("worker RSS (MB), at the start and every minute after:")
        print("  " + " | ".join(", ".join(f"{v:.0f}" for v in sizes) for sizes in rss_series))
        statuses = [line for line in (instance / "gunicorn.log").read_text().splitlines() if '" 5' in line]
        print(f"5xx lines in gunicorn's access log: {len(statuses)}")
    finally:
        if gunicorn is not None:
            harness.stop_portal(gunicorn)
        server.destroy()


if __name__ == "__main__":
    main()
