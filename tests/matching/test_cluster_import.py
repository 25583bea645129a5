"""`gallery import --scheduler`: photos embedded by a Dask cluster, recorded by the importer."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.matching.enroll import embed_photo
from app.models import AuditEvent, Booking, FaceTemplate
from app.services.gallery import enrollment
from app.services.gallery.search import engine_settings
from app.services.platform.errors import ServiceError
from tests.gallery import FACES, fixture_rows, gallery_row, write_manifest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded worker processes on this host (each under a
    nanny that restarts it when killed), as `dask worker` would run them on other hosts."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as local:
        yield local


def manifest_of_fixtures(tmp_path, extra: list[list[str]] = ()):
    rows = [gallery_row(r["file"], f"BK-{i:03d}", r["identity"]) for i, r in enumerate(fixture_rows())]
    return write_manifest(tmp_path / "manifest.csv", rows + list(extra)), len(rows)


def worker_pids(cluster) -> dict[str, int]:
    """Each worker's address and process id."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        return client.run(os.getpid)


def chunks_running_on(cluster, address: str) -> int:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        return len(client.processing().get(address, ()))


def test_a_worker_killed_mid_import_costs_a_redone_chunk_never_a_lost_or_double_record(
    app, cluster, tmp_path
):
    app.config["GALLERY_CLUSTER_CHUNK"] = 2  # many chunks, so the kill lands mid-import
    unreadable = [str(tmp_path / "missing.jpg"), "BK-MISSING", "Nobody", "", "SNOBODY", "", "", ""]
    manifest, photos = manifest_of_fixtures(tmp_path, [unreadable])
    victim, victim_pid = next(iter(worker_pids(cluster).items()))
    killed = threading.Event()
    running_when_killed = []

    def kill_a_worker_after_the_first_results(total):
        def watch(pairs):
            for count, pair in enumerate(pairs):
                if count == 3 and not killed.is_set():
                    running_when_killed.append(chunks_running_on(cluster, victim))
                    os.kill(victim_pid, signal.SIGKILL)
                    killed.set()
                yield pair

        return watch

    summary = enrollment.import_manifest(
        manifest,
        actor=None,
        scheduler=cluster.scheduler_address,
        insecure_local=True,
        progress=kill_a_worker_after_the_first_results,
    )
    assert killed.is_set() and running_when_killed[0] >= 1  # killed in the middle of a chunk
    assert victim_pid not in worker_pids(cluster).values()
    assert summary.enrolled + len(summary.rejected) == photos + 1
    assert any(r.booking_number == "BK-MISSING" and "unreadable" in r.reason for r in summary.rejected)
    numbers = db.session.scalars(select(Booking.booking_number)).all()
    assert len(numbers) == len(set(numbers)) == summary.enrolled
    assert db.session.scalar(select(func.count()).select_from(FaceTemplate)) == summary.enrolled
    # Each template is what this host would have computed for that photo.
    settings = engine_settings(app.config, role="gallery")
    for row in fixture_rows()[:4]:
        local = embed_photo(str(FACES / row["file"]), settings)
        stored = db.session.scalar(
            select(FaceTemplate)
            .join(Booking)
            .where(Booking.photo_sha256 == local.sha256, Booking.booking_number.like("BK-%"))
            .limit(1)
        )
        if local.ok:
            recorded = np.frombuffer(stored.descriptor, "<f4")
            assert np.abs(recorded - np.frombuffer(local.descriptor, "<f4")).max() <= 1e-6
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "gallery.import"))
    assert cluster.scheduler_address in event.detail

    again = enrollment.import_manifest(
        manifest, actor=None, scheduler=cluster.scheduler_address, insecure_local=True
    )
    assert again.enrolled == 0 and again.skipped == summary.enrolled


def test_an_unreachable_scheduler_is_said_plainly_and_records_nothing(app, tmp_path):
    manifest, _ = manifest_of_fixtures(tmp_path)
    app.config["GALLERY_CLUSTER_CONNECT_SECONDS"] = 2
    with pytest.raises(ServiceError, match="Cannot reach the Dask scheduler"):
        enrollment.import_manifest(
            manifest, actor=None, scheduler="tcp://127.0.0.1:9", workers=1, insecure_local=True
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
