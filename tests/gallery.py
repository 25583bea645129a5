"""Fixtures: a gallery enrolled once per test session from the fixture photos, copied for each test."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.clock import set_clock
from app.extensions import db
from app.models import Role, SearchRequest
from app.services.gallery.enrollment import MANIFEST_COLUMNS, import_manifest
from app.services.gallery.index_builds import rebuild_index
from tests.conftest import CLOCK_START, FrozenClock, IsolatedClient, ScratchDatabase

FACES = Path(__file__).resolve().parent / "fixtures" / "faces"


def fixture_rows() -> list[dict]:
    with (FACES / "manifest.csv").open() as handle:
        return list(csv.DictReader(handle))


def identity_photos() -> dict[str, list[str]]:
    """Single-face photos of people with at least two photos, by identity."""
    photos: dict[str, list[str]] = {}
    for row in fixture_rows():
        if not row["file"].startswith("special/"):
            photos.setdefault(row["identity"], []).append(row["file"])
    return {k: sorted(v) for k, v in photos.items()}


def distractors() -> list[str]:
    return sorted(r["file"] for r in fixture_rows() if r["file"].startswith("special/distractor__"))


def booking_number_for(identity: str) -> str:
    return f"BK-{identity.upper()}"


def write_manifest(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return path


def gallery_row(file: str, booking_number: str, name: str) -> list[str]:
    """A booking record: the photo and its made-up record, with a SID of its own name's (so
    two rows with one name are one person's bookings)."""
    sid = "S" + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10].upper()
    return [str(FACES / file), booking_number, name, "1970-01-02", sid, "", "", "2024-05-06"]


@dataclass(frozen=True)
class EnrolledInstance:
    folder: Path  # the instance folder with the index files
    database: ScratchDatabase


# What the enrolled gallery depends on: a cached copy is reused only while none of these changed.
GALLERY_INPUTS = (
    "migrations/versions/*.py",
    "app/models/*.py",
    "app/matching/*.py",
    "app/services/gallery/enrollment.py",
    "app/services/gallery/index_builds.py",
    "app/services/gallery/search.py",
    "app/config.py",
    "tests/gallery.py",
    "tests/fixtures/faces/manifest.csv",
)


def gallery_cache_key() -> str:
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for pattern in GALLERY_INPUTS:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


@pytest.fixture(scope="session")
def enrolled_instance(tmp_path_factory, migrated_database) -> EnrolledInstance:
    """First photo of each identity plus the distractors, enrolled (2 processes) and indexed.

    With ``LEADDESK_TEST_GALLERY_CACHE`` set (the mutation check sets it), a SQLite run reuses
    the instance a previous run enrolled from the same code and photos."""
    cache = os.environ.get("LEADDESK_TEST_GALLERY_CACHE")
    cached = Path(cache) / gallery_cache_key() if cache and migrated_database.server is None else None
    if cached is not None and (cached / "complete").exists():
        root = tmp_path_factory.mktemp("enrolled-instance")
        shutil.copytree(cached / "instance", root, dirs_exist_ok=True)
        return EnrolledInstance(root, ScratchDatabase(None, file=root / "leaddesk.sqlite3"))
    enrolled = _enroll(tmp_path_factory, migrated_database)
    if cached is not None:
        building = cached.with_name(f"{cached.name}.{os.getpid()}")
        shutil.copytree(enrolled.folder, building / "instance")
        (building / "complete").touch()
        with contextlib.suppress(OSError):  # another run finished first: theirs is the same
            building.rename(cached)
    return enrolled


def _enroll(tmp_path_factory, migrated_database) -> EnrolledInstance:
    root = tmp_path_factory.mktemp("enrolled-instance")
    rows = [gallery_row(files[0], booking_number_for(i), i) for i, files in identity_photos().items()]
    rows += [gallery_row(f, f"BK-DISTRACTOR-{n}", Path(f).stem) for n, f in enumerate(distractors())]
    manifest = write_manifest(tmp_path_factory.mktemp("manifest") / "gallery.csv", rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADDESK_INSTANCE_PATH", str(root))
        database = migrated_database.clone_into(root, patch)
        app = create_app("testing")
        set_clock(FrozenClock(CLOCK_START))  # enrolled and built at the tests' own instant
        try:
            with app.app_context():
                summary = import_manifest(manifest, actor=None, workers=2)
                assert summary.enrolled == len(rows) and not summary.rejected, summary
                rebuild_index(triggered_by="tests")
                db.session.remove()
                db.engine.dispose()
        finally:
            set_clock(None)
    return EnrolledInstance(root, database)


@pytest.fixture
def gallery_app(tmp_path, monkeypatch, enrolled_instance, clock):
    instance = tmp_path / "instance"
    shutil.copytree(enrolled_instance.folder, instance)
    monkeypatch.setenv("LEADDESK_INSTANCE_PATH", str(instance))
    database = enrolled_instance.database.clone_into(instance, monkeypatch)
    app = create_app("testing")
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    database.drop()


# --- a submitted request and the people who work it (review and report tests) ---


@pytest.fixture
def people(gallery_app, make_user, make_agency):
    agency = make_agency(code="HCPD", name="Harbor City PD")
    return {
        "requester": make_user(Role.REQUESTER, agency=agency, full_name="Dana Whitfield"),
        "first": make_user(Role.REVIEWER, full_name="Riley Chen"),
        "second": make_user(Role.REVIEWER, full_name="Sam Ortiz"),
        "third": make_user(Role.REVIEWER, full_name="Kim Lee"),
        "uncertified": make_user(Role.REVIEWER, certified=False, full_name="Pat Novak"),
        "admin": make_user(Role.ADMIN, full_name="Alex Morgan"),
    }


@pytest.fixture
def submitted(gallery_app, auth, people):
    """A request with two other photos of the same person as the gallery's john_simm."""
    from tests.support.intake import submit, valid_form
    from tests.support.photos import photo

    auth.login(people["requester"])
    response = submit(
        auth, valid_form(people["requester"]), [photo("john_simm__2.jpg"), photo("john_simm__3.jpg")]
    )
    assert response.status_code == 302
    auth.logout()
    return db.session.scalars(select(SearchRequest)).one()
