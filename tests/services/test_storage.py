"""Probe files share their transaction's fate: no orphan file, no row pointing at nothing."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Role
from app.services.intake import probe_images
from app.services.intake import requests as request_service
from app.services.platform.errors import ServiceError

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "john_simm__1.jpg"


@pytest.fixture
def draft(app, make_user):
    requester = make_user(Role.REQUESTER)
    draft = request_service.new_draft(requester=requester)
    db.session.commit()
    return draft


def files_of(app) -> set[Path]:
    root = Path(app.instance_path) / "probes"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_upload_rolled_back_leaves_no_file(app, draft):
    probe_images.add_probe_image(draft, "probe.jpg", PHOTO.read_bytes(), actor=draft.requester)
    assert len(files_of(app)) == 2  # the original and the display copy, pending
    db.session.rollback()  # e.g. the database went away before the commit
    assert files_of(app) == set()


def test_upload_committed_keeps_its_files(app, draft):
    image = probe_images.add_probe_image(draft, "probe.jpg", PHOTO.read_bytes(), actor=draft.requester)
    db.session.commit()
    assert {p.name for p in files_of(app)} == {Path(image.original_path).name, Path(image.display_path).name}


def test_removal_deletes_files_only_once_committed(app, draft):
    image = probe_images.add_probe_image(draft, "probe.jpg", PHOTO.read_bytes(), actor=draft.requester)
    db.session.commit()
    probe_images.remove_probe_image(draft, image, actor=draft.requester)
    db.session.rollback()
    assert len(files_of(app)) == 2  # the row is back, so are its files
    image = draft.images[0]
    probe_images.remove_probe_image(draft, image, actor=draft.requester)
    db.session.commit()
    assert files_of(app) == set()


def test_full_disk_gives_a_message_and_keeps_nothing(app, draft, monkeypatch):
    real_write = Path.write_bytes
    calls = []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) == 2:  # the original fits, the display copy does not
            real_write(path, data[: len(data) // 2])  # a partial temporary file, as on a real disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(Path, "write_bytes", fill_up)
    with pytest.raises(ServiceError, match="could not be stored"):
        probe_images.add_probe_image(draft, "probe.jpg", PHOTO.read_bytes(), actor=draft.requester)
    db.session.rollback()
    assert files_of(app) == set() and not draft.images


def test_sweep_removes_only_old_files_no_record_refers_to(app, draft, runner):
    image = probe_images.add_probe_image(draft, "probe.jpg", PHOTO.read_bytes(), actor=draft.requester)
    db.session.commit()
    root = Path(app.instance_path)
    two_hours_ago = time.time() - 7200
    stray_upload = root / Path(image.original_path).parent / "left-by-a-killed-worker.jpg"
    stray_report = root / "reports" / "never-recorded.pdf"
    young = root / Path(image.original_path).parent / "upload-in-flight.jpg"
    not_swept = root / "index" / "v000001" / "vectors.f32"
    for path in (stray_upload, stray_report, young, not_swept):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"data")
    recorded = [root / image.original_path, root / image.display_path]
    for path in (stray_upload, stray_report, not_swept, *recorded):
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(young, (time.time(), time.time()))  # just written, by the clock the sweep reads
    orphans = sorted(str(p.relative_to(root)) for p in (stray_upload, stray_report))

    dry = runner.invoke(args=["files", "sweep", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphans[0]}" in dry.output and "nothing removed (dry run)" in dry.output
    assert stray_upload.exists() and stray_report.exists()

    result = runner.invoke(args=["files", "sweep"])
    assert result.exit_code == 0, result.output
    assert "2 no record refers to (probes 1, reports 1); removed" in result.output
    assert not stray_upload.exists() and not stray_report.exists()
    assert young.exists() and not_swept.exists()  # too young to judge; not a swept folder
    assert (root / image.original_path).exists() and (root / image.display_path).exists()
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "files.sweep"))
    assert event.actor_username.startswith("cli:")
    assert json.loads(event.detail)["files"] == orphans

    again = runner.invoke(args=["files", "sweep"])
    assert "0 no record refers to" in again.output
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "files.sweep")) == 1
