"""Frames from recorded video: a requester attaches a clip made by the test (real faces), steps
through it, picks a frame, and that frame becomes a probe photo recording the video's SHA-256,
the frame's number and time and who picked it; the video itself is never searched. Bad videos
(damaged, not a video, a playlist, a frame-size bomb, a body-worn camera) get a clear message and
change nothing."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.matching import video as clips
from app.models import AuditEvent, ProbeImage, ProbeVideo, RequestStatus, Role, SearchRequest
from app.services.platform import storage
from tests.support.intake import submit, valid_form
from tests.support.video import blank_clip, write_clip

OBAMA, BIDEN = "barack_obama__1.jpg", "joe_biden__1.jpg"


@pytest.fixture
def requester(make_user, auth):
    user = make_user(Role.REQUESTER, full_name="Dana Whitfield")
    auth.login(user)
    return user


@pytest.fixture
def clip(tmp_path):
    return write_clip(tmp_path / "store.mp4", [OBAMA, BIDEN], fps=10)


def upload(auth, requester, data: bytes, name: str, **overrides):
    """Save a draft with one file attached, as the form's "Upload and check" button does."""
    return submit(auth, valid_form(requester, action="check", **overrides), [(io.BytesIO(data), name)])


def draft() -> SearchRequest:
    return db.session.scalars(select(SearchRequest)).one()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def staging_files(app) -> list:
    folder = storage.path_of("staging")
    return list(folder.iterdir()) if folder.exists() else []


def test_a_video_is_kept_whole_and_never_becomes_a_probe_by_itself(app, auth, requester, clip):
    data = clip.read_bytes()
    response = upload(auth, requester, data, "store-camera.mp4")
    assert response.status_code == 302
    video = db.session.scalars(select(ProbeVideo)).one()
    assert video.original_sha256 == hashlib.sha256(data).hexdigest()
    assert storage.path_of(video.original_path).read_bytes() == data
    assert (video.width, video.height, video.frame_count, video.duration_ms) == (640, 480, 20, 2000)
    assert count(ProbeImage) == 0, "the video itself is not a probe"
    assert staging_files(app) == []
    page = auth.client.get(f"/requests/drafts/{draft().id}").get_data(as_text=True)
    assert "Step through store-camera.mp4 and pick frames" in page


def test_stepping_shows_each_frame_with_its_faces_and_picking_makes_a_probe_with_its_provenance(
    app, auth, requester, clip
):
    upload(auth, requester, clip.read_bytes(), "store.mp4")
    video = db.session.scalars(select(ProbeVideo)).one()
    base = f"/requests/drafts/{draft().id}/videos/{video.id}"
    page = auth.client.get(f"{base}?frame=14").get_data(as_text=True)
    assert "Frame 14 of 20 at 0:01.400" in page
    assert "1 face found in this frame." in page
    assert 'href="' + base + '?frame=15"' in page and 'href="' + base + '?frame=4"' in page  # ±1 s
    # a time goes to its frame; the frame's pixels are the second photo (Biden), JPEG
    assert "Frame 15 of 20" in auth.client.get(f"{base}?t=0:01.5").get_data(as_text=True)
    views = select(func.count()).where(AuditEvent.action == "request.video_frame_view")
    before = db.session.scalar(views)
    image = auth.client.get(f"/requests/{draft().id}/videos/{video.id}/frames/14.jpg")
    assert db.session.scalar(views) == before + 1, "each frame served is one audited read"
    assert image.mimetype == "image/jpeg" and Image.open(io.BytesIO(image.data)).size == (640, 480)

    response = auth.post(f"{base}/pick", {"frame": "14"}, token_from=base)
    assert response.status_code == 302
    picked = db.session.scalars(select(ProbeImage)).one()
    assert picked.video_sha256 == video.original_sha256 and picked.video_id == video.id
    assert (picked.video_frame_number, picked.video_frame_ms) == (14, 1400)
    assert picked.picked_by_id == requester.id and picked.faces_found == 1
    assert picked.format == "PNG" and (picked.width, picked.height) == (640, 480)
    # the provenance stated with the video, and "extracted from video" / recorded by construction
    assert picked.provenance_extracted_from_video is True and picked.provenance_mode == "recorded"
    assert picked.provenance_device == "fixed_camera"
    stated = {k.removeprefix("new-"): v for k, v in valid_form(requester).items() if k.startswith("new-")}
    posted = {
        f"image-{picked.id}-{k}": v
        for k, v in {**stated, "extracted_from_video": "no", "mode": "live"}.items()
    }
    submit(auth, valid_form(requester, action="save", **posted), url=f"/requests/drafts/{draft().id}")
    db.session.refresh(picked)
    assert picked.provenance_extracted_from_video is True and picked.provenance_mode == "recorded"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "request.video_frame_pick")
    ).one()
    detail = json.loads(event.detail)
    assert detail["video_sha256"] == video.original_sha256 and detail["frame"] == 14
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "request.video_frame_view")) >= 1
    ), "looking at a frame is a read of case data"

    # the request goes in with the picked frame as its probe
    submitted = submit(auth, valid_form(requester, **posted), url=f"/requests/drafts/{draft().id}")
    html = submitted.get_data(as_text=True)
    assert submitted.status_code == 302, html[html.find("<main") :][:4000]
    assert draft().status is RequestStatus.SUBMITTED and len(draft().images) == 1


@pytest.mark.parametrize("kind", ["mov", "avi", "mkv", "webm"])
def test_each_container_a_camera_or_exporter_writes_is_read_from_its_content(
    app, auth, requester, tmp_path, kind
):
    path = write_clip(tmp_path / f"c.{kind}", [OBAMA], fps=5)
    response = upload(auth, requester, path.read_bytes(), "named-like-a-photo.jpg")
    assert response.status_code == 302
    assert db.session.scalars(select(ProbeVideo)).one().frame_count == 5


@pytest.mark.clause("SD-7")
def test_a_video_from_a_camera_worn_by_an_officer_is_refused(app, auth, requester, clip):
    response = upload(auth, requester, clip.read_bytes(), "bwc.mp4", **{"new-device": "officer_worn"})
    assert response.status_code == 302
    flashed = auth.client.get(f"/requests/drafts/{draft().id}").get_data(as_text=True)
    assert "a camera worn by an officer cannot be searched" in flashed
    assert count(ProbeVideo) == 0 and staging_files(app) == []
    assert list(storage.path_of("probes").rglob("*-video.*")) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda clip, tmp: clip.read_bytes()[:4000], "cannot be"),
        (lambda clip, tmp: b"#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/live.ts\n", "is not an image"),
        (lambda clip, tmp: b"\x00\x00\x00\x18ftypisom" + b"\x00" * 5000, "cannot be"),
        (
            lambda clip, tmp: blank_clip(tmp / "huge.mp4", size=(8192, 4352)).read_bytes(),
            "larger than the portal reads",
        ),
    ],
    ids=["truncated", "playlist", "header-only", "frame-size-bomb"],
)
def test_a_bad_video_gets_a_clear_message_and_changes_nothing(
    app, auth, requester, clip, tmp_path, make, message
):
    data = make(clip, tmp_path)
    upload(auth, requester, data, "evidence.mp4")
    page = auth.client.get(f"/requests/drafts/{draft().id}").get_data(as_text=True)
    assert message in page.replace("&#39;", "'")
    assert count(ProbeVideo) == 0 and count(ProbeImage) == 0 and staging_files(app) == []
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("request.video_upload", "request.image_upload")))
    ).one()
    assert refused.outcome.value == "failed"


def test_one_bad_video_never_sinks_the_batch(app, auth, requester, clip):
    from tests.support.photos import photo

    files = [
        (io.BytesIO(clip.read_bytes()[:3000]), "broken.mp4"),
        photo("john_simm__1.jpg"),
        (io.BytesIO(clip.read_bytes()), "good.mp4"),
    ]
    submit(auth, valid_form(requester, action="check"), files)
    assert count(ProbeImage) == 1 and count(ProbeVideo) == 1


def test_a_video_longer_than_the_limit_is_refused_before_it_is_kept(app, auth, requester, monkeypatch, clip):
    monkeypatch.setattr(clips, "MAX_VIDEO_BYTES", 10_000)
    upload(auth, requester, clip.read_bytes() + b"\0" * 20_000, "long.mp4")
    assert "larger than the limit" in auth.client.get(f"/requests/drafts/{draft().id}").get_data(as_text=True)
    assert count(ProbeVideo) == 0 and staging_files(app) == []


def test_reading_a_frame_is_bounded_in_decoded_frames(tmp_path, monkeypatch):
    """A clip with one key frame: reaching a late frame decodes every frame before it; past the
    bound the read stops with a message instead of running on."""
    path = write_clip(tmp_path / "c.mp4", [OBAMA, BIDEN], fps=10)
    info = clips.inspect(path)
    monkeypatch.setattr(clips, "MAX_DECODED_PER_READ", 3)
    with pytest.raises(clips.VideoError, match="too long"):
        clips.read_frame(path, info, 9)


def test_frames_of_another_requesters_draft_are_not_served(app, auth, requester, make_user, clip):
    upload(auth, requester, clip.read_bytes(), "store.mp4")
    video = db.session.scalars(select(ProbeVideo)).one()
    other = make_user(Role.REQUESTER, agency=requester.agency, full_name="Other Person")
    auth.logout()
    auth.login(other)
    assert auth.client.get(f"/requests/{draft().id}/videos/{video.id}/frames/3.jpg").status_code == 404
    assert auth.client.get(f"/requests/drafts/{draft().id}/videos/{video.id}").status_code == 404


def test_the_reviewer_holding_the_request_picks_frames_and_each_waits_for_its_source_determination(
    app, auth, requester, make_user, clip
):
    from tests.support.photos import photo
    from tests.support.review import act, workspace_url

    files = [photo("john_simm__1.jpg"), (io.BytesIO(clip.read_bytes()), "store.mp4")]
    assert submit(auth, valid_form(requester), files).status_code == 302
    request = draft()
    video = request.videos[0]
    reviewer = make_user(Role.REVIEWER, full_name="Rae Examiner")
    outsider = make_user(Role.REVIEWER, full_name="Other Examiner")
    auth.logout()
    auth.login(reviewer)
    page = f"/review/requests/{request.id}/videos/{video.id}"
    before = auth.client.get(page).get_data(as_text=True)
    assert "as a probe photo</button>" not in before, "only the reviewer holding the request picks frames"
    act(auth, f"{workspace_url(request.id)}/claim", token_from=workspace_url(request.id))
    claimed = db.session.get(SearchRequest, request.id)
    from app.services.intake.videos import may_pick

    assert may_pick(claimed, reviewer) is None
    assert "Pick frame 12 as a probe photo" in auth.client.get(f"{page}?frame=12").get_data(as_text=True)
    response = auth.post(f"{page}/pick", {"frame": "12"}, token_from=page)
    assert response.status_code == 302
    picked = db.session.scalars(select(ProbeImage).where(ProbeImage.video_id == video.id)).one()
    assert picked.picked_by_id == reviewer.id and picked.provenance_status == "pending"
    assert picked.video_frame_number == 12 and picked.searchable is False
    auth.logout()
    auth.login(outsider)
    refused = auth.post(f"{page}/pick", {"frame": "3"}, token_from=workspace_url(request.id))
    assert refused.status_code in (302, 403, 404)
    assert db.session.scalar(select(func.count()).where(ProbeImage.video_id == video.id)) == 1


def test_a_video_sent_with_an_answer_is_kept_for_its_frames_and_never_searched(
    auth, requester, make_user, clip
):
    from app.services.review import assignments
    from tests.support.photos import photo

    assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    request = draft()
    reviewer = make_user(Role.REVIEWER)
    assignments.claim(request, reviewer=reviewer)
    assignments.return_with_question(request, reviewer=reviewer, question="Is there video of him leaving?")
    db.session.commit()
    stated = {k: v for k, v in valid_form(requester).items() if k.startswith("new-")}
    url = f"/requests/{request.id}"
    response = auth.post(
        f"{url}/answer",
        {
            "body": "Yes, the store's second camera.",
            **stated,
            "images": [(io.BytesIO(clip.read_bytes()), "exit.mp4")],
        },
        token_from=url,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.refresh(request)
    answer = request.messages[-1]
    assert answer.kind == "answer" and request.status is RequestStatus.IN_REVIEW
    video = db.session.scalars(select(ProbeVideo).where(ProbeVideo.answer_id == answer.id)).one()
    assert video.original_name == "exit.mp4" and video.frame_count == 20
    assert len(request.images) == 1  # the video itself is never a probe: its frames will be
    # a body-worn camera's recording is refused in an answer as at intake, and nothing is kept
    assignments.return_with_question(request, reviewer=reviewer, question="Any other footage?")
    db.session.commit()
    worn = {**stated, "new-device": "officer_worn"}
    refused = auth.post(
        f"{url}/answer",
        {"body": "The deputy's camera.", **worn, "images": [(io.BytesIO(clip.read_bytes()), "cam.mp4")]},
        token_from=url,
        content_type="multipart/form-data",
    )
    assert refused.status_code in (200, 302)
    assert count(ProbeVideo) == 1
