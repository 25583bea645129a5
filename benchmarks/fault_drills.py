"""Fault drills against gunicorn and PostgreSQL on loopback; prints what held.

    .venv/bin/python benchmarks/fault_drills.py

1. The database killed (immediate shutdown, as a crash) five times during uploads and searches.
2. A web worker killed (SIGKILL) three times mid-upload.
3. The serving index file corrupted; then rebuilt.
4. The disk for uploads full (a 3 MB tmpfs over instance/probes; needs root to mount).

After each: every acknowledged action is in the database, no half-written record or orphan
file, no 5xx but the 503s of the outage, the audit chain verifies, and searches give the
same answers as before.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import harness  # puts the project on sys.path
import requests
from load_test import prepare


class Session:
    """A signed-in person over HTTP, counting status codes."""

    def __init__(self, base: str, account: dict, statuses: Counter) -> None:
        self.base, self.http, self.statuses = base, requests.Session(), statuses
        self.account = account
        harness.sign_in(self.get, self.post, harness.Account.from_record(account))

    def _record(self, response):
        for hop in [*response.history, response]:
            self.statuses[hop.status_code] += 1
        return response

    def get(self, url):
        r = self._record(self.http.get(self.base + url, timeout=30, allow_redirects=False))
        return r.status_code, r.text

    def post(self, url, data):
        r = self._record(self.http.post(self.base + url, data=data, timeout=30, allow_redirects=False))
        return r.status_code, r.text

    def page(self, url):
        return self._record(self.http.get(self.base + url, timeout=30))

    def submit(self, url, data, files=None):
        return self._record(self.http.post(self.base + url, data=data, files=files, timeout=60))


class Workload:
    """Requesters uploading and reviewers searching until stopped; keeps what was acknowledged."""

    def __init__(self, base: str, accounts: dict, photos: list[Path]) -> None:
        self.statuses: Counter = Counter()
        self.uploads: list[tuple[int, str]] = []  # (draft id, file name) the portal confirmed
        self.searches: list[int] = []
        self.stop = threading.Event()
        self.base, self.accounts, self.photos = base, accounts, photos
        self.lock = threading.Lock()

    def _retrying(self, make):
        while not self.stop.is_set():
            try:
                return make()
            except requests.RequestException:
                time.sleep(0.5)  # an outage: try again once it is over
            except RuntimeError:
                time.sleep(31 - time.time() % 30)  # a code is good once: wait for the next one
        return None

    def uploader(self, account: dict, seed: int) -> None:
        person = self._retrying(lambda: Session(self.base, account, self.statuses))
        n = seed
        while person and not self.stop.is_set():
            photo = self.photos[n % len(self.photos)]
            n += 1
            try:
                form = person.page("/requests/new")
                token = harness.csrf(form.text) if form.status_code == 200 else None
                if not token:
                    time.sleep(0.3)
                    continue
                name = f"drill-{seed}-{n}.jpg"
                response = person.submit(
                    "/requests/new",
                    {"csrf_token": token, "action": "check"},
                    {"images": (name, photo.read_bytes(), "image/jpeg")},
                )
            except requests.RequestException:
                time.sleep(0.3)
                continue
            found = re.search(r"/requests/drafts/(\d+)", response.url)
            refused = "flash-error" in response.text  # e.g. the disk is full: said, not kept
            if response.status_code == 200 and found and name in response.text and not refused:
                with self.lock:
                    self.uploads.append((int(found.group(1)), name))

    def searcher(self, account: dict) -> None:
        person = self._retrying(lambda: Session(self.base, account, self.statuses))
        request_id = account["request_id"]
        while person and not self.stop.is_set():
            try:
                page = person.page(f"/review/requests/{request_id}")
                works = sorted(set(re.findall(r"/review/probes/(\d+)\"", page.text)))
                if page.status_code != 200 or not works:
                    time.sleep(0.3)
                    continue
                response = person.submit(
                    f"/review/requests/{request_id}/search",
                    {"csrf_token": harness.csrf(page.text), "work_id": works, "top_k": "10"},
                )
            except (requests.RequestException, RuntimeError):
                time.sleep(0.3)
                continue
            found = re.search(r"/review/searches/(\d+)$", response.url)
            if response.status_code == 200 and found:
                with self.lock:
                    self.searches.append(int(found.group(1)))

    def run(self, fault, uploaders: int = 3, searchers: int = 3) -> None:
        threads = [
            threading.Thread(target=self.uploader, args=(self.accounts["requesters"][i], 1000 * i))
            for i in range(uploaders)
        ] + [
            threading.Thread(target=self.searcher, args=(self.accounts["reviewers"][i],))
            for i in range(searchers)
        ]
        for thread in threads:
            thread.start()
        try:
            fault()
        finally:
            time.sleep(3)  # let the last actions after the fault finish
            self.stop.set()
            for thread in threads:
                thread.join()


def check_consistency(app, instance: Path, workload: Workload | None) -> list[str]:
    """Acknowledged actions present; rows and files agree; the chain verifies."""
    from app.extensions import db
    from app.models import FaceSearch, ProbeImage
    from app.services.oversight.audit import verify_chain
    from app.services.oversight.housekeeping import find_orphans, referenced_files

    problems = []
    with app.app_context():
        images = db.session.query(ProbeImage).all()
        _, orphans = find_orphans(grace_seconds=0)  # the nightly sweep would find these
        missing = [p for p in referenced_files() if not (instance / p).is_file()]
        if orphans:
            problems.append(f"{len(orphans)} orphan file(s), e.g. {orphans[0]}")
        if missing:
            problems.append(f"{len(missing)} row(s) pointing at a missing file")
        if workload:
            names = {(i.request_id, i.original_name) for i in images}
            lost_uploads = [u for u in workload.uploads if u not in names]
            searches = {s for (s,) in db.session.query(FaceSearch.id)}
            lost_searches = [s for s in workload.searches if s not in searches]
            if lost_uploads or lost_searches:
                problems.append(f"lost: {len(lost_uploads)} upload(s), {len(lost_searches)} search(es)")
            if workload.statuses.get(500):
                problems.append(f"{workload.statuses[500]} HTTP 500")
        chain = verify_chain()
        if not chain.ok:
            problems.append(f"audit chain: {chain.problem}")
        db.session.remove()
    return problems


def summary(name: str, workload: Workload | None, problems: list[str], extra: str = "") -> None:
    verdict = "HELD" if not problems else "FAILED: " + "; ".join(problems)
    counts = ""
    if workload:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(workload.statuses.items()))
        acknowledged = f"{len(workload.uploads)} uploads and {len(workload.searches)} searches acknowledged"
        counts = f"{acknowledged}; HTTP {statuses}"
    print(f"\n== {name}: {verdict}\n   {counts}{extra}", flush=True)


def search_answers(app, probes: list[Path]) -> list[list[int]]:
    from app.matching.images import load_image
    from app.services.gallery.search import probe_engine, search_descriptor

    with app.app_context():
        answers = []
        for probe in probes:
            face = probe_engine().analyze(load_image(probe).pixels)[0]
            answers.append([c.booking_id for c in search_descriptor(face.descriptor, 10).candidates])
        return answers


def main() -> None:
    from tests.postgres import PostgresServer, free_port

    os.environ["LEADDESK_SECRET_KEY"] = os.urandom(24).hex()
    server = PostgresServer()
    server.start()
    portal = None
    failures = 0
    try:
        instance = harness.fresh_instance(server.create_database("leaddesk"))
        accounts = prepare(instance, reviewers=4, requesters=4)
        from app import create_app

        app = create_app("testing")
        photos = sorted(harness.FACES.glob("*__2.jpg"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        portal = harness.serve_portal(instance, port, LEADDESK_WORKERS="2")

        # 1. the database crashes five times under uploads and searches
        workload = Workload(base, accounts, photos)
        outages = []

        def crash_database():
            time.sleep(4)
            for _ in range(5):
                server.stop("immediate")
                time.sleep(2)
                down = time.monotonic()
                server.start()
                server.wait_until_ready()
                while True:  # how long until the portal answers again
                    try:
                        if requests.get(base + "/healthz", timeout=2).status_code == 200:
                            break
                    except requests.RequestException:
                        pass
                    time.sleep(0.1)
                outages.append(time.monotonic() - down)
                time.sleep(4)

        workload.run(crash_database)
        problems = check_consistency(app, instance, workload)
        back = ", ".join(f"{s:.1f}" for s in outages)
        summary(
            "database killed 5x", workload, problems, f"\n   portal healthy again after restart (s): {back}"
        )
        failures += bool(problems)

        # 2. web workers killed mid-upload
        workload = Workload(base, accounts, photos)

        def kill_workers():
            for _ in range(3):
                time.sleep(4)
                children = subprocess.run(
                    ["pgrep", "-P", str(portal.pid)], capture_output=True, text=True
                ).stdout.split()
                if children:
                    os.kill(int(children[0]), 9)
            time.sleep(4)

        workload.run(kill_workers, uploaders=4, searchers=1)
        problems = check_consistency(app, instance, workload)
        summary("web worker SIGKILLed 3x mid-upload", workload, problems)
        failures += bool(problems)

        # 3. the serving index corrupted, then rebuilt
        import json

        from app.services.gallery.index_builds import rebuild_index

        probes = sorted(harness.FACES.glob("*__3.jpg"))[:8]
        before = search_answers(app, probes)
        pointer = json.loads((instance / "index" / "current.json").read_text())
        current = pointer["version"]
        for damaged in (instance / "index" / pointer["directory"]).iterdir():
            if damaged.name != "manifest.json":  # every data file, so no strategy escapes it
                with damaged.open("r+b") as handle:
                    handle.seek(damaged.stat().st_size // 2)
                    handle.write(os.urandom(min(4096, damaged.stat().st_size // 2)))
        corrupted = search_answers(app, probes)
        with app.app_context():
            rebuild_index(triggered_by="fault drill")
        rebuilt_version = json.loads((instance / "index" / "current.json").read_text())["version"]
        after = search_answers(app, probes)
        problems = []
        if corrupted != before:
            problems.append("answers changed while the index file was corrupt")
        if after != before or rebuilt_version == current:
            problems.append("the rebuilt index answers differently")
        problems += check_consistency(app, instance, None)
        summary(
            "index file corrupted", None, problems,
            f"   {len(probes)} probes: same top-10 while corrupt (exact fallback) and after rebuild "
            f"v{current} -> v{rebuilt_version}",
        )  # fmt: skip
        failures += bool(problems)

        # 4. the upload disk full: the probes folder on a tmpfs with 3 MB to spare
        probes_dir = instance / "probes"
        used = sum(p.stat().st_size for p in probes_dir.rglob("*") if p.is_file())
        staged = instance / "probes-outside-drill"
        probes_dir.rename(staged)
        probes_dir.mkdir()
        size_kb = (used + 3 * 1024 * 1024) // 1024 + 512  # room for the folder entries too
        mount = ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(probes_dir)]
        if subprocess.run(mount, check=False).returncode:
            print("\n== disk full: SKIPPED (mounting a small tmpfs needs root)")
            probes_dir.rmdir()
            staged.rename(probes_dir)
        else:
            subprocess.run(["cp", "-a", f"{staged}/.", str(probes_dir)], check=True)
            try:
                workload = Workload(base, accounts, photos)
                workload.run(lambda: time.sleep(25), uploaders=2, searchers=0)
                person = Session(base, accounts["requesters"][3], workload.statuses)
                form = person.page("/requests/new")
                response = person.submit(
                    "/requests/new",
                    {"csrf_token": harness.csrf(form.text), "action": "check"},
                    {"images": ("full.jpg", photos[0].read_bytes() + os.urandom(3_500_000), "image/jpeg")},
                )
                message = "could not be stored" in response.text
                leftovers = list(probes_dir.rglob(".*.tmp"))
                problems = check_consistency(app, instance, workload)
                if not message:
                    problems.append("no clear message when the disk was full")
                if leftovers:
                    problems.append(f"{len(leftovers)} partial temporary file(s)")
                note = f"\n   a 3.5 MB photo on the full disk refused with a message: {message}"
                summary("upload disk full (tmpfs, 3 MB free)", workload, problems, note)
                failures += bool(problems)
            finally:
                subprocess.run(["cp", "-a", f"{probes_dir}/.", str(staged)], check=False)
                subprocess.run(["umount", str(probes_dir)], check=False)
                probes_dir.rmdir()
                staged.rename(probes_dir)
    finally:
        if portal is not None:
            harness.stop_portal(portal)
        server.destroy()
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
