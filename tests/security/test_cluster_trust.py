"""The cluster import (finding 1 of the second red-team pass): `gallery import --scheduler`
spoke plain TCP with no authentication, so any client that reached the scheduler could make the
workers answer the importer with whatever it liked; forged templates were enrolled and audited
as a success, and booking photos crossed the network in the clear. The cluster now speaks
Dask's TLS with the unit's own authority, plain TCP is refused off loopback, and every answer
is checked before it is believed. Attacked here with a real scheduler and worker on loopback."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.matching.enroll import PhotoEmbedding
from app.models import AuditEvent, Booking
from app.services.gallery import cluster_certs, enrollment
from app.services.gallery.cluster import QUALITY_KEYS, checked_answers, cluster_security
from app.services.platform.errors import ServiceError
from tests.gallery import FACES, fixture_rows, gallery_row, write_manifest
from tests.support.live import free_port

distributed = pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-tls")
    cluster_certs.make_unit_certificates(folder, unit="Test unit", hosts=("127.0.0.1",))
    return folder


@pytest.fixture(scope="module")
def tls_cluster(certificates, tmp_path_factory):
    """`dask scheduler` and one `dask worker`, each with its own certificate from the unit's CA."""
    port = free_port()
    address = f"tls://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("cluster-logs")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    tls = ["--tls-ca-file", str(certificates / "ca.pem")]
    handles = [(logs / "scheduler.log").open("wb"), (logs / "worker.log").open("wb")]
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", ":0", *tls, "--tls-cert", str(certificates / "scheduler.pem"),
         "--tls-key", str(certificates / "scheduler-key.pem")],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=handles[0],
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(DASK), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-nanny", *tls,
         "--tls-cert", str(certificates / "worker.pem"), "--tls-key", str(certificates / "worker-key.pem")],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=handles[1],
    )  # fmt: skip
    security = cluster_security(address, tls_dir=str(certificates), insecure_local=False)
    deadline = time.monotonic() + 90
    while True:
        try:
            with distributed.Client(address, security=security, timeout=5, set_as_default=False) as client:
                if client.nthreads():
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                (logs / "scheduler.log").read_text()[-2000:] + (logs / "worker.log").read_text()[-2000:]
            )
        time.sleep(0.5)
    yield address
    for process in (worker, scheduler):
        process.terminate()
        process.wait(timeout=30)
    for handle in handles:
        handle.close()


def manifest(tmp_path, count: int = 4) -> Path:
    rows = [
        gallery_row(r["file"], f"TLS-{i:03d}", r["identity"]) for i, r in enumerate(fixture_rows()[:count])
    ]
    return write_manifest(tmp_path / "manifest.csv", rows)


def test_an_import_over_the_units_tls_is_checked_and_says_which_worker(
    app, tls_cluster, certificates, tmp_path
):
    app.config["GALLERY_CLUSTER_TLS_DIR"] = str(certificates)
    app.config["GALLERY_CLUSTER_CHUNK"] = 2
    summary = enrollment.import_manifest(manifest(tmp_path), actor=None, scheduler=tls_cluster)
    assert summary.enrolled >= 3
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "gallery.import")).one()
    assert event.outcome == "success" and '"by_worker":{"tls://127.0.0.1:' in event.detail


def test_a_client_without_the_units_certificate_is_refused(tls_cluster, tmp_path):
    """A rogue client: its own CA and certificate, or none at all, gets no connection."""
    rogue = tmp_path / "rogue"
    cluster_certs.make_unit_certificates(rogue, unit="Rogue", hosts=("127.0.0.1",))
    security = cluster_security(tls_cluster, tls_dir=str(rogue), insecure_local=False)
    with pytest.raises((OSError, TimeoutError)):
        distributed.Client(tls_cluster, security=security, timeout=5, set_as_default=False)
    with pytest.raises((OSError, TimeoutError)):
        distributed.Client(tls_cluster.replace("tls://", "tcp://"), timeout=5, set_as_default=False)


def test_plain_tcp_is_refused_unless_it_is_a_loopback_test(app, tmp_path):
    path = manifest(tmp_path, 1)
    with pytest.raises(ServiceError, match="plain TCP"):
        enrollment.import_manifest(path, actor=None, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ServiceError, match="loopback"):
        enrollment.import_manifest(path, actor=None, scheduler="tcp://10.1.2.3:8786", insecure_local=True)
    with pytest.raises(ServiceError, match="GALLERY_CLUSTER_TLS_DIR"):
        enrollment.import_manifest(path, actor=None, scheduler="tls://10.1.2.3:8786")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "gallery.import")).all()
    assert [e.outcome for e in refused] == ["failed"] * 3


def _answer(sent_path: str, data: bytes, **changes) -> dict:
    good = PhotoEmbedding(
        sent_path,
        sha256=hashlib.sha256(data).hexdigest(),
        format="JPEG",
        descriptor=(b"\x00\x00\x80\x3d" * 128),  # 128 x 0.0625: norm 0.71
        detector="hog",
        quality=dict.fromkeys(QUALITY_KEYS, 1.0),
        box=(1, 2, 30, 40),
    )
    return asdict(good) | changes


@pytest.mark.parametrize(
    "forgery",
    [
        {"path": "/other/photo.jpg"},
        {"sha256": "0" * 64},
        {"descriptor": b"\x00" * 100},
        {"descriptor": b"\x00\x00\xc0\x7f" * 128},  # NaN
        {"descriptor": b"\x00\x00\x00\x00" * 128},  # no face gives a zero vector
        {"detector": "os.system"},
        {"quality": {"face_width_px": 1.0}},
        {"box": (1, 2, "3", 4)},
        {"format": "EXE"},
        {"error": "boom", "error_code": "rm -rf"},
        {"extra": "field"},
    ],
)
def test_a_forged_answer_is_refused_and_names_the_worker(forgery):
    data = (FACES / fixture_rows()[0]["file"]).read_bytes()
    path = "/photos/a.jpg"
    sent = [(path, hashlib.sha256(data).hexdigest())]
    assert checked_answers([_answer(path, data)], sent, "tls://10.0.0.9:4000")[0].ok
    with pytest.raises(ServiceError, match=re.escape("tls://10.0.0.9:4000")):
        checked_answers([_answer(path, data, **forgery)], sent, "tls://10.0.0.9:4000")
    with pytest.raises(ServiceError, match="different number"):
        checked_answers([], sent, "tls://10.0.0.9:4000")
