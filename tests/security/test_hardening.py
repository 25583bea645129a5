"""The smaller findings: spreadsheet formulas in exports, a log truncated after the last
checkpoint, images grown past every limit, upload floods, changes to administrator accounts,
an unexplained 500, query strings that crashed pages."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.matching.images import ImageTooLargeError, load_image
from app.matching.processing import ProcessingError, apply_steps
from app.models import AuditChainHead, AuditEvent, PendingApproval, ProbeImage, Role, SearchRequest
from app.security.access import rule_for_endpoint
from app.services.oversight import checkpoints
from app.services.oversight.audit import record_event, verify_chain
from tests.support.live import at_once
from tests.support.photos import FACES


def test_exports_cannot_carry_spreadsheet_formulas(auth, client, make_user):
    """Found: a username or case number starting with =, +, -, @ reached a CSV cell as is."""
    admin = make_user(Role.ADMIN)
    evil = make_user(Role.REQUESTER, username="=HYPERLINK(x)")
    record_event("request.view", actor=evil, object_type="request", object_id=1, reason="+cmd|' /C calc'!A0")
    record_event("request.view", actor=evil, object_type="request", object_id=2, reason="@SUM(1+1)")
    record_event("request.view", actor=evil, object_type="request", object_id=3, reason="-2+3")
    db.session.commit()
    auth.login(admin)
    rows = list(
        csv.DictReader(io.StringIO(client.get("/admin/audit.csv?action=request.view").get_data(as_text=True)))
    )
    assert [r["reason"] for r in rows] == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)", "'-2+3"]
    assert {r["actor_username"] for r in rows} == {"'=HYPERLINK(x)"}
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())


def test_a_daily_checkpoint_catches_a_tail_cut_after_it(app, runner, intruder, make_user):
    """Found: the chain could be truncated or rewritten after the last (monthly) checkpoint
    without detection. Checkpoints are now signed daily."""
    user = make_user()
    for n in range(6):
        record_event("request.view", actor=user, object_type="request", object_id=n)
    checkpoints.sign_daily_checkpoint()
    db.session.commit()
    assert checkpoints.verify_checkpoints() == []
    head = db.session.get(AuditChainHead, 1)
    cut = head.last_seq - 3
    db.session.execute(text("DELETE FROM audit_event WHERE seq > :cut"), {"cut": cut})
    db.session.execute(
        update(AuditChainHead).values(last_seq=cut, last_hash=db.session.get(AuditEvent, cut).hash)
    )
    db.session.commit()
    assert verify_chain().ok  # the chain alone cannot tell
    assert "truncated" in checkpoints.verify_checkpoints()[0].problem
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "(daily)" in result.output


def test_the_scheduler_signs_a_checkpoint_every_day(app):
    from app.scheduler import build_scheduler

    scheduler = build_scheduler(app, blocking=False)
    job = scheduler.get_job("audit-checkpoint")
    assert job is not None and "hour='0'" in str(job.trigger)


def test_processing_cannot_grow_an_image_without_bound():
    """Found: twelve 45° rotations turned 150² into 9,798²."""
    small = np.zeros((150, 150, 3), dtype=np.uint8)
    assert apply_steps(small, [{"op": "rotate", "degrees": 45}]).shape[0] < 220
    with pytest.raises(ProcessingError, match="twice the original"):
        apply_steps(small, [{"op": "rotate", "degrees": 45}] * 12)
    assert apply_steps(small, [{"op": "rotate", "degrees": 90}] * 12).shape[:2] == (150, 150)


def test_a_pixel_flood_is_refused_before_it_is_decoded():
    """Found: a 143 KB PNG of 49 MP cost about 10 s of CPU."""
    buffer = io.BytesIO()
    Image.new("RGB", (7000, 7000)).save(buffer, "PNG")  # one colour: a few hundred KB for 49 MP
    assert len(buffer.getvalue()) < 500_000
    with pytest.raises(ImageTooLargeError, match="not a camera photo"):
        load_image(buffer.getvalue())


def test_uploads_are_rate_limited_per_person_even_in_parallel(live, app, make_user, clock):
    app.config["UPLOAD_RATE_LIMIT"] = 4
    requester = make_user(Role.REQUESTER)
    browser = live.client().login(requester, clock)
    browser.post("/requests/new", {"case_number": "X"})  # a draft to attach to
    draft = db.session.scalars(select(SearchRequest)).one()
    url = f"/requests/drafts/{draft.id}"
    photos = sorted(FACES.glob("*.jpg"))[:8]
    token = browser.csrf(url)
    at_once(
        8,
        lambda i: browser.http.post(
            live.url + url,
            data={"csrf_token": token},
            files={"images": (photos[i].name, photos[i].read_bytes())},
            timeout=60,
        ),
    )
    kept = db.session.scalar(select(func.count(ProbeImage.id)))
    assert kept == 4
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "request.image_upload", AuditEvent.outcome == "failed")
    ).all()
    assert refused and "most the portal accepts" in refused[0].reason


def test_another_admins_account_needs_a_fresh_sign_in_and_a_second_admin(auth, client, make_user):
    first, second, target = (make_user(Role.ADMIN, username=n) for n in ("ada", "ben", "cy"))
    auth.login(first)
    auth.clock.advance(minutes=10)  # the sign-in is no longer fresh
    url = f"/admin/users/{target.id}"
    response = auth.post(f"{url}/reset_password", {"r-reason": "forgotten password"}, token_from=url)
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    code = auth.totp_code(first.totp_secret)
    from tests.conftest import TEST_PASSWORD

    auth.post("/auth/confirm", {"password": TEST_PASSWORD, "code": code})
    auth.post(f"{url}/reset_password", {"r-reason": "forgotten password"}, token_from=url)
    db.session.refresh(target)
    assert not target.must_change_password  # not yet: it waits for a second administrator
    approval = db.session.scalars(select(PendingApproval)).one()
    page = client.get(url).get_data(as_text=True)
    assert "Waiting for a second administrator" in page and "Approve" not in page  # not by the one asking
    auth.logout()
    auth.login(second)
    response = auth.post(f"/admin/approvals/{approval.id}/approve", {}, token_from=url)
    temporary = re.search(r'class="secret">([^<]+)<', response.get_data(as_text=True)).group(1)
    db.session.refresh(target)
    assert target.must_change_password and temporary
    assert db.session.get(PendingApproval, approval.id).decided_by_id == second.id
    auth.logout()
    auth.login(second)
    own = f"/admin/users/{second.id}"
    auth.clock.advance(minutes=10)
    response = auth.post(f"{own}/reset_mfa", {"r-reason": "new phone here"}, token_from=own)
    assert "/auth/confirm" in response.headers["Location"]  # one's own reset needs a fresh sign-in too


def test_making_someone_an_administrator_needs_a_second_admin(auth, make_user):
    admin = make_user(Role.ADMIN)
    reviewer = make_user(Role.REVIEWER)
    auth.login(admin)
    url = f"/admin/users/{reviewer.id}"
    auth.post(
        f"{url}/role",
        {"role-role": "admin", "role-agency": "HOME", "role-reason": "promotion"},
        token_from=url,
    )
    db.session.refresh(reviewer)
    assert reviewer.role is Role.REVIEWER
    assert db.session.scalars(select(PendingApproval)).one().change == "change_role"


def test_an_unexpected_error_shows_an_incident_number_that_is_in_the_log(app, client, caplog):
    @app.route("/explode")
    def explode():
        raise RuntimeError("internal detail")

    explode.access_rule = rule_for_endpoint("auth.login")
    with caplog.at_level(logging.ERROR):
        response = client.get("/explode")
    assert response.status_code == 500
    incident = re.search(r"INC-[0-9A-F]{8}", response.get_data(as_text=True)).group(0)
    assert any(incident in record.getMessage() for record in caplog.records)
    assert b"internal detail" not in response.data


@pytest.mark.parametrize(
    "query",
    [
        "/review/?agency=99999999999999999999999",
        "/review/?reviewer=-1",
        "/review/?state=nonsense",
        "/admin/audit?page=99999999999999999999",
        "/admin/audit?since=yesterday",
        "/admin/audit?object_type=thing",
    ],
)
def test_every_query_parameter_is_validated(auth, client, make_user, query):
    """Found: an over-large number in /review/?agency= gave a 500."""
    auth.login(make_user(Role.ADMIN))
    assert client.get(query).status_code == 400


def test_the_403_page_names_no_internal_route(auth, client, make_user):
    auth.login(make_user(Role.REQUESTER))
    page = client.get("/admin/users").get_data(as_text=True)
    assert "admin.users" not in page and "does not give access" in page


def test_fresh_sign_in_window_is_a_setting(app):
    assert app.config["FRESH_SIGN_IN_WINDOW"] == timedelta(minutes=5)


def test_a_formula_after_a_separator_is_neutralised_too(auth, client, make_user):
    """Found (finding 17): a `;`-separated formula stayed unquoted, so a spreadsheet that splits
    on `;` ran it."""
    admin = make_user(Role.ADMIN)
    requester = make_user(Role.REQUESTER)
    record_event(
        "request.view", actor=requester, object_type="request", object_id=1, reason='Smith;=HYPERLINK("x")'
    )
    record_event(
        "request.view", actor=requester, object_type="request", object_id=2, reason="a|@SUM(1+1)\t-2+3"
    )
    db.session.commit()
    auth.login(admin)
    exported = client.get("/admin/audit.csv?action=request.view").get_data(as_text=True)
    for delimiter in (",", ";", "\t", "|"):
        for row in csv.reader(io.StringIO(exported), delimiter=delimiter):
            cells = [cell.strip().strip('"').strip() for cell in row]
            assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), (delimiter, row)


def test_removing_photos_does_not_free_the_upload_allowance(app, make_user):
    """Found (finding 10): uploading and removing photos in cycles let 70 through a limit of 60."""
    from app.services.intake import probe_images
    from app.services.intake.requests import new_draft
    from app.services.platform.errors import ServiceError
    from tests.support.photos import FACES

    app.config["UPLOAD_RATE_LIMIT"] = 3
    requester = make_user(Role.REQUESTER)
    draft = new_draft(requester=requester)
    data = (FACES / "john_simm__1.jpg").read_bytes()
    for _ in range(3):
        image = probe_images.add_probe_image(draft, "probe.jpg", data, actor=requester)
        probe_images.remove_probe_image(draft, image, actor=requester)
    db.session.commit()
    with pytest.raises(ServiceError, match="the most the portal accepts"):
        probe_images.add_probe_image(draft, "probe.jpg", data, actor=requester)


def test_every_photo_is_decoded_before_anything_is_written(auth, make_user, monkeypatch):
    """Found (finding 11): on SQLite one requester's parallel uploads made other people's
    sign-ins fail with 503: the upload transaction held the database's write lock while it
    decoded photo after photo. Now every photo is decoded first and the lock is taken after."""
    from app.services.intake import probe_images
    from app.services.platform import throttle
    from tests.support.intake import submit, valid_form
    from tests.support.photos import photo

    calls = []
    real_load, real_hold = probe_images.load_image, throttle.hold
    monkeypatch.setattr(
        probe_images, "load_image", lambda *a, **k: calls.append("decode") or real_load(*a, **k)
    )
    monkeypatch.setattr(throttle, "hold", lambda key: calls.append(f"lock {key}") or real_hold(key))
    requester = make_user(Role.REQUESTER)
    auth.login(requester)
    calls.clear()
    photos = [photo(name) for name in ("john_simm__1.jpg", "barack_obama__1.jpg", "john_lennon__1.jpg")]
    submit(auth, valid_form(requester, action="save"), photos)
    first_lock = next(i for i, call in enumerate(calls) if call.startswith("lock"))
    assert calls[:first_lock] == ["decode"] * 3, calls
