"""Enrollment, 1:N search, sealing and the index life cycle, on real photos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.matching.images import load_image
from app.models import AuditEvent, Booking, BuildOutcome, FaceTemplate, IndexBuild, Subject
from app.services.gallery import enrollment, index_builds
from app.services.gallery import search as matching
from app.services.platform.errors import ServiceError
from tests.gallery import (
    FACES,
    booking_number_for,
    gallery_row,
    identity_photos,
    write_manifest,
)
from tests.support.gallery import search_file


def test_every_other_photo_finds_its_identity_at_rank_1(gallery_app):
    misses = []
    probes = 0
    for identity, files in identity_photos().items():
        for file in files[1:]:
            probes += 1
            result = search_file(file)
            assert result.mode == "index" and result.index_version == 1
            if result.candidates[0].booking_number != booking_number_for(identity):
                misses.append((file, [c.booking_number for c in result.candidates[:3]]))
    assert probes >= 20
    assert misses == []


def test_candidates_are_ranked_and_scored(gallery_app):
    result = search_file("barack_obama__2.jpg", top_k=5)
    assert [c.rank for c in result.candidates] == [1, 2, 3, 4, 5]
    distances = [c.distance for c in result.candidates]
    assert distances == sorted(distances)
    assert result.candidates[0].score > 50 > result.candidates[1].score
    with pytest.raises(ServiceError):
        matching.search_descriptor(result.candidates and load_probe_vector("barack_obama__2.jpg"), 51)


def load_probe_vector(name: str):
    return matching.describe_probe(load_image(FACES / name).pixels)[0].descriptor


@pytest.mark.clause("DB-3", "SD-3")
def test_import_reports_each_bad_row(gallery_app, tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_text("this is not a photo")
    rows = [
        gallery_row("rose_leslie__2.jpg", "NEW-1", "Good Row"),
        gallery_row("special/noface_grayscale__table_objects.jpg", "NEW-2", "No Face"),
        gallery_row("special/multi__eva_longoria_bradley_cooper.jpg", "NEW-3", "Two Faces"),
        gallery_row("special/corrupt__truncated.jpg", "NEW-4", "Corrupt"),
        [str(junk), "NEW-5", "Not An Image", "", "S5", "", "", ""],
        [str(FACES / "john_lennon__2.jpg"), "NEW-6", "Bad Date", "1970-13-45", "S6", "", "", ""],
        [str(FACES / "john_lennon__2.jpg"), "", "No Number", "", "S7", "", "", ""],
        [str(FACES / "john_lennon__2.jpg"), "NEW-1", "Repeated", "", "S8", "", "", ""],
        [str(tmp_path / "missing.jpg"), "NEW-7", "Missing File", "", "S9", "", "", ""],
        # a photo with no criminal history record: not a booking (a DMV or scraped photo, say)
        [str(FACES / "john_lennon__2.jpg"), "NEW-8", "Licence Photo", "1980-01-01", "", "", "D1234567", ""],
    ]
    manifest = write_manifest(tmp_path / "batch.csv", rows)
    before = db.session.scalar(select(func.count(Booking.id)))
    summary = enrollment.import_manifest(manifest, actor=None, workers=1)
    assert summary.enrolled == 1 and summary.skipped == 0
    reasons = {r.line: r.reason for r in summary.rejected}
    assert "no face" in reasons[3]
    assert "2 faces" in reasons[4]
    assert "damaged" in reasons[5]
    assert "not an image" in reasons[6]
    assert "bad date" in reasons[7]
    assert "missing booking number" in reasons[8]
    assert "repeated" in reasons[9]
    assert "unreadable" in reasons[10]
    assert "not a booking record: no SID or MAIN number" in reasons[11]
    assert db.session.scalar(select(func.count(Booking.id))) == before + 1
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "gallery.import")).all()[-1]
    assert json.loads(event.detail)["enrolled"] == 1
    again = enrollment.import_manifest(manifest, actor=None, workers=1)
    assert again.enrolled == 0 and again.skipped == 1
    assert db.session.scalar(select(func.count(Booking.id))) == before + 1


def test_manifest_header_is_checked(gallery_app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("photo,number\nx.jpg,1\n")
    with pytest.raises(ServiceError, match="lacks the column"):
        enrollment.import_manifest(bad, actor=None)


def test_interrupted_import_leaves_whole_records(gallery_app, tmp_path, monkeypatch):
    rows = [gallery_row(f"john_simm__{n}.jpg", f"INT-{n}", f"Interrupted {n}") for n in (2, 3)]
    rows.append(gallery_row("john_lennon__2.jpg", "INT-9", "Interrupted 9"))
    manifest = write_manifest(tmp_path / "interrupted.csv", rows)
    monkeypatch.setattr(enrollment, "COMMIT_EVERY", 1)
    real_store = enrollment._store_photo
    calls = {"n": 0}

    def store_then_die(row, embedding):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_store(row, embedding)

    monkeypatch.setattr(enrollment, "_store_photo", store_then_die)
    with pytest.raises(KeyboardInterrupt):
        enrollment.import_manifest(manifest, actor=None, workers=1)
    db.session.rollback()
    numbers = set(
        db.session.scalars(select(Booking.booking_number).where(Booking.booking_number.like("INT-%")))
    )
    assert numbers == {"INT-2", "INT-3"}
    orphans = db.session.scalar(select(func.count(Booking.id)).where(~Booking.templates.any()))
    assert orphans == 0
    monkeypatch.setattr(enrollment, "_store_photo", real_store)
    resumed = enrollment.import_manifest(manifest, actor=None, workers=1)
    assert (resumed.enrolled, resumed.skipped) == (1, 2)


def test_record_enrolled_after_build_is_found(gallery_app, tmp_path):
    manifest = write_manifest(tmp_path / "late.csv", [gallery_row("john_lennon__2.jpg", "LATE-1", "Late")])
    enrollment.import_manifest(manifest, actor=None, workers=1)
    result = search_file("john_lennon__2.jpg", top_k=3)
    assert result.index_version == 1
    assert result.candidates[0].booking_number == "LATE-1"
    assert result.candidates[0].distance < 0.05


@pytest.mark.clause("SR-1")
def test_sealed_record_is_never_returned(gallery_app, runner_for):
    target = booking_number_for("kit_harington")
    assert search_file("kit_harington__2.jpeg").candidates[0].booking_number == target
    result = runner_for(gallery_app).invoke(args=["gallery", "seal", target, "--reference", "PC 851.91 #42"])
    assert result.exit_code == 0, result.output
    found = [c.booking_number for c in search_file("kit_harington__2.jpeg", top_k=50).candidates]
    assert target not in found and len(found) > 0
    index_builds.rebuild_index(triggered_by="tests")
    found = [c.booking_number for c in search_file("kit_harington__2.jpeg", top_k=50).candidates]
    assert target not in found
    sealed = db.session.scalar(select(Booking).where(Booking.booking_number == target))
    assert sealed.seal_reference == "PC 851.91 #42" and sealed.sealed_at is not None
    again = runner_for(gallery_app).invoke(args=["gallery", "seal", target, "--reference", "x"])
    assert again.exit_code != 0 and "already sealed" in again.output


def test_failed_build_leaves_previous_index_serving(gallery_app, monkeypatch):
    import app.matching.index as index_module

    def disk_full(path):  # fails after the forest and vectors are written, before the switch
        raise OSError(28, "No space left on device (disk full while building)")

    monkeypatch.setattr(index_module, "sha256_file", disk_full)
    with pytest.raises(ServiceError, match="failed"):
        index_builds.rebuild_index(triggered_by="tests")
    monkeypatch.undo()
    failed = db.session.scalar(select(IndexBuild).order_by(IndexBuild.version.desc()))
    assert failed.outcome is BuildOutcome.FAILED and "disk full" in failed.error
    result = search_file("john_simm__2.jpg", top_k=3)
    assert result.index_version == 1 and result.mode == "index"
    assert result.candidates[0].booking_number == booking_number_for("john_simm")
    status = index_builds.index_status()
    assert status.version == 1 and status.last_failure.version == failed.version
    assert not list(Path(gallery_app.instance_path, "index").glob(".*building"))


def test_damaged_index_falls_back_to_exact_scan(gallery_app):
    index_dir = Path(gallery_app.instance_path) / "index" / "v000001"
    data = bytearray((index_dir / "annoy.ann").read_bytes())
    data[100:200] = bytes(100)
    (index_dir / "annoy.ann").write_bytes(bytes(data))
    result = search_file("john_simm__2.jpg", top_k=3)
    assert result.mode == "exact-fallback" and result.index_version is None
    assert "damaged" in result.notes[0]
    assert result.candidates[0].booking_number == booking_number_for("john_simm")
    assert "damaged" in index_builds.index_status().problem


def test_rebuild_switches_versions_and_workers_notice(gallery_app):
    store = matching.index_store()
    assert store.open_current().version == 1
    build = index_builds.rebuild_index(triggered_by="tests")
    assert build.version == 2 and build.outcome is BuildOutcome.SUCCEEDED
    assert store.open_current().version == 2
    assert search_file("john_simm__2.jpg").index_version == 2
    templates = db.session.scalar(select(func.count(FaceTemplate.id)))
    assert build.template_count == templates


def test_subjects_share_bookings_by_sid(gallery_app, tmp_path):
    rows = [
        [
            str(FACES / "eric_clapton__2.jpg"),
            "SID-A",
            "Same Person",
            "1945-03-30",
            "SID123",
            "",
            "",
            "2020-01-01",
        ],
        [
            str(FACES / "john_lennon__2.jpg"),
            "SID-B",
            "Same Person",
            "1945-03-30",
            "SID123",
            "",
            "",
            "2021-01-01",
        ],
    ]
    enrollment.import_manifest(write_manifest(tmp_path / "sid.csv", rows), actor=None, workers=1)
    subject = db.session.scalar(select(Subject).where(Subject.sid == "SID123"))
    assert [b.booking_number for b in subject.bookings] == ["SID-A", "SID-B"]


@pytest.fixture
def runner_for():
    return lambda app: app.test_cli_runner()


@pytest.fixture
def app(gallery_app):
    """make_user and friends work in the enrolled gallery's app."""
    return gallery_app


def test_index_status_cli(gallery_app, runner_for):
    result = runner_for(gallery_app).invoke(args=["index", "status", "--json"])
    status = json.loads(result.output)
    assert status["version"] == 1 and status["overdue"] is False and status["template_count"] > 10
    text = runner_for(gallery_app).invoke(args=["index", "status"]).output
    assert "Index version 1" in text and "up to date" in text


@pytest.mark.parametrize("strategy", ["exact", "two-stage", "annoy"])
def test_every_strategy_finds_the_same_mate(gallery_app, strategy):
    gallery_app.config["SEARCH_STRATEGY"] = strategy
    result = search_file("steve_wozniak__2.jpg", top_k=5)
    assert result.strategy == strategy
    assert result.candidates[0].booking_number == booking_number_for("steve_wozniak")


def test_rebuilds_never_overlap(gallery_app):
    from app.services.gallery.index_builds import rebuild_lock
    from app.services.gallery.search import index_store

    with rebuild_lock(index_store().root), pytest.raises(ServiceError, match="already running"):
        index_builds.rebuild_index(triggered_by="tests")


def test_scheduler_runs_the_nightly_rebuild_once(gallery_app):
    from app.scheduler import build_scheduler, nightly_index_rebuild

    scheduler = build_scheduler(gallery_app, blocking=False)
    job = scheduler.get_job("nightly-index-rebuild")
    assert job.max_instances == 1 and "hour='2'" in str(job.trigger)
    nightly_index_rebuild(gallery_app)
    latest = db.session.scalar(select(IndexBuild).order_by(IndexBuild.version.desc()))
    assert latest.version == 2 and latest.triggered_by == "scheduler"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "index.rebuild")).all()[-1]
    assert event.actor_username == "scheduler"


def test_index_status_reports_overdue(gallery_app, clock):
    assert not index_builds.index_status().overdue
    clock.advance(hours=27)
    assert index_builds.index_status().overdue


def test_the_search_setting_is_the_one_measured_at_the_build(gallery_app):
    from app.matching.index import IndexManifest
    from app.services.gallery.search import search_setting

    def manifest(count: int, tuning: dict | None = None) -> IndexManifest:
        return IndexManifest(1, "v000001", count, count, {}, "model", "2026-11-29", tuning=tuning)

    # built before builds measured anything: by size, as measured (docs/measured.md)
    assert search_setting(manifest(1_000)) == ("exact", 0)
    assert search_setting(manifest(100_000)) == ("two-stage", 1000)
    assert search_setting(manifest(1_000_000)) == ("annoy", 100_000)
    # measured: the build's choice
    assert search_setting(manifest(1_000_000, {"strategy": "annoy", "effort": 200_000})) == ("annoy", 200_000)
    assert search_setting(manifest(1_000_000, {"strategy": "exact", "effort": 0})) == ("exact", 0)


def test_the_largest_galleries_get_a_smaller_forest(gallery_app):
    gallery_app.config["ANNOY_LARGE_GALLERY"] = 10**9
    normal = index_builds.rebuild_index(triggered_by="test")
    gallery_app.config["ANNOY_LARGE_GALLERY"] = 1  # as if this gallery were ten million strong
    large = index_builds.rebuild_index(triggered_by="test")
    assert normal.parameters["n_trees"] == gallery_app.config["ANNOY_N_TREES"] == 50
    assert large.parameters["n_trees"] == gallery_app.config["ANNOY_N_TREES_LARGE"] == 25
    assert matching.search_descriptor(load_probe_vector("barack_obama__2.jpg")).index_version == large.version


def test_index_damaged_in_place_while_serving_is_noticed(gallery_app):
    """The process already serves the version from memory maps; a stray write to its files
    must send searches to the exact scan, not return garbage ids."""
    before = search_file("john_simm__2.jpg", top_k=5)
    assert before.mode == "index"
    ids = Path(gallery_app.instance_path) / "index" / "v000001" / "ids.npy"
    with ids.open("r+b") as handle:
        handle.seek(ids.stat().st_size - 16)
        handle.write(b"\xff" * 16)
    after = search_file("john_simm__2.jpg", top_k=5)
    assert after.mode == "exact-fallback" and "damaged" in after.notes[0]
    assert [c.booking_number for c in after.candidates] == [c.booking_number for c in before.candidates]
