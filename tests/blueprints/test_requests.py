"""The Facial Recognition Search Request: the form, the policy at intake, uploads, follow-up."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Outcome, ProbeImage, RequestStatus, Role, SearchRequest
from app.services.review import assignments
from tests.support.intake import submit, valid_form
from tests.support.photos import FACES, photo, pixel_flood_png


@pytest.fixture
def requester(make_user, auth):
    user = make_user(Role.REQUESTER, full_name="Dana Whitfield")
    auth.login(user)
    return user


def audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    )


@pytest.mark.clause("PS-3", "RF-3", "RF-4")
def test_happy_path_with_real_photos(app, auth, client, requester):
    response = submit(auth, valid_form(requester), [photo("john_simm__1.jpg"), photo("john_simm__2.jpg")])
    assert response.status_code == 302, response.data[:3000]
    request_ = db.session.scalars(select(SearchRequest)).one()
    assert request_.status is RequestStatus.SUBMITTED
    assert request_.tracking_number == f"FR-{request_.submitted_at.year}-000001"
    assert not request_.urgent and request_.signed_at is not None
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert request_.tracking_number in confirmation
    # originals unchanged with their hash; display copies re-encoded without EXIF
    for image, name in zip(request_.images, ("john_simm__1.jpg", "john_simm__2.jpg"), strict=True):
        original = Path(app.instance_path, image.original_path).read_bytes()
        assert original == (FACES / name).read_bytes()
        assert image.original_sha256 == hashlib.sha256(original).hexdigest()
        assert image.faces_found == 1
        with Image.open(Path(app.instance_path, image.display_path)) as display:
            assert display.format == "JPEG" and not display.getexif()
    event = audit("request.submit")[-1]
    assert "purpose: Active investigation" in event.reason and "HC-2026-0042" in event.reason
    # the filled request as PDF carries the fields and the signature line
    pdf = client.get(f"/requests/{request_.id}/form.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in (
        "Facial Recognition Search Request",
        request_.tracking_number,
        "Requester Name",
        "Dana Whitfield",
        "Case/File Number",
        "HC-2026-0042",
        "Reason for search",
        "Source image obtained from",
        "Image extracted from video?",
        "Number of Images attached",
        "Requestor Signature",
        "Printed Name",
        "investigative lead only",
        "UNCLASSIFIED//LAW ENFORCEMENT SENSITIVE",
    ):
        assert expected in text, expected
    assert audit("request.pdf_download")


def test_faces_are_counted_before_submitting(auth, client, requester):
    response = submit(
        auth,
        valid_form(requester, action="check"),
        [
            photo("john_simm__1.jpg"),
            photo("special/noface_grayscale__table_objects.jpg"),
            photo("special/multi__eva_longoria_bradley_cooper.jpg"),
        ],
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 face found" in page and "No face found" in page and "2 faces found" in page
    draft = db.session.scalars(select(SearchRequest)).one()
    assert draft.status is RequestStatus.DRAFT and len(draft.images) == 3
    assert 'id="image-count">3<' in page


def test_an_unsent_draft_can_be_deleted_by_its_requester_only_with_its_files(
    app, auth, client, requester, make_user
):
    response = submit(auth, valid_form(requester, action="check"), [photo("john_simm__1.jpg")])
    draft = db.session.scalars(select(SearchRequest)).one()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Delete the draft" in page
    files = [
        Path(app.instance_path, p) for p in (draft.images[0].original_path, draft.images[0].display_path)
    ]
    assert all(f.exists() for f in files)
    url = f"/requests/drafts/{draft.id}"
    auth.logout()
    auth.login(make_user(Role.REQUESTER, agency=requester.agency))  # a colleague: not theirs
    assert auth.post(f"{url}/delete", token_from="/requests/").status_code == 404
    auth.logout()
    auth.login(requester)
    assert auth.post(f"{url}/delete", token_from=url).status_code == 302
    assert db.session.scalars(select(SearchRequest)).all() == [] and not any(f.exists() for f in files)
    assert audit("request.draft_discard")[-1].actor_id == requester.id
    # a draft sent from another tab after this one loaded it is seen as sent, and stays
    from sqlalchemy import update

    from app.services.intake import requests as intake
    from app.services.platform.errors import ServiceError

    response = submit(auth, valid_form(requester, action="check"), [photo("john_simm__1.jpg")])
    other_tab = db.session.scalars(select(SearchRequest)).one()
    db.session.execute(
        update(SearchRequest)
        .where(SearchRequest.id == other_tab.id)
        .values(status=RequestStatus.SUBMITTED)
        .execution_options(synchronize_session=False)
    )
    assert other_tab.status is RequestStatus.DRAFT  # what this tab still believes
    with pytest.raises(ServiceError, match="never sent"):
        intake.discard_draft(other_tab, actor=requester)
    db.session.rollback()  # (the other tab's send undone here: the draft is deleted for real)
    intake.discard_draft(other_tab, actor=requester)
    db.session.commit()
    # a sent request is not a draft: it can only be withdrawn, and stays
    assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    sent = db.session.scalars(select(SearchRequest)).one()
    auth.post(f"/requests/drafts/{sent.id}/delete", token_from=f"/requests/{sent.id}")
    assert db.session.get(SearchRequest, sent.id).status is RequestStatus.SUBMITTED


@pytest.mark.clause("SD-7", "PU-1", "PU-2", "LR-1", "LR-2", "AU-5", "RF-2", "RF-4", "PS-1", "PS-3")
@pytest.mark.parametrize(
    ("overrides", "field_message", "clause"),
    [
        ({"new-device": "officer_worn"}, "a camera worn by an officer cannot", "Penal Code 832.19"),
        ({"new-device": "identity_document"}, "identity-document (DMV", "Local rule of"),
        ({"new-device": "face_search_result"}, "face-search engines and scraped", "Local rule of"),
        ({"new-mode": "live"}, "from live video may only", "Prohibitive uses, 2"),
        (
            {"purpose": "deceased", "person_condition": "Found deceased."},
            "surveillance-camera images may only",
            "Prohibitive uses, 1",
        ),
        ({"reason": "robbery"}, "too short", "Audits"),
        ({"case_number": ""}, "case/file number is required", "Audits"),
        ({"signature": "Someone Else"}, "must be your full name", "Requestor Signature"),
        ({"affirmed": ""}, "must affirm", "Our agency understands"),
        ({"purpose": "predictive_analysis"}, "purposes the policy allows", "Purpose and scope"),
    ],
)
def test_policy_refusals_quote_the_clause_and_keep_everything(
    auth, requester, overrides, field_message, clause
):
    form = valid_form(requester, **overrides)
    if form["affirmed"] == "":
        del form["affirmed"]
    response = submit(auth, form, [photo("john_simm__1.jpg")])
    assert response.status_code == 200  # the form again, as a form page answers (not an error code)
    html = response.get_data(as_text=True)
    assert field_message in html.replace("&#39;", "'") and clause in html.replace("&#39;", "'")
    assert "Identify the man who robbed" in html or form["reason"] in html  # typed values kept
    draft = db.session.scalars(select(SearchRequest)).one()
    assert draft.status is RequestStatus.DRAFT and len(draft.images) == 1  # upload kept
    assert draft.tracking_number is None
    refusal = audit("request.refused")[-1]
    assert refusal.outcome == Outcome.DENIED and refusal.reason


@pytest.mark.clause("PU-2")
def test_live_video_allowed_for_imminent_threat_and_marked_urgent(auth, requester):
    form = valid_form(requester, **{"new-mode": "live"}, purpose="imminent_threat", threat_to_life="yes")
    assert submit(auth, form, [photo("john_simm__1.jpg")]).status_code == 302
    request_ = db.session.scalars(select(SearchRequest)).one()
    assert request_.urgent and request_.status is RequestStatus.SUBMITTED


@pytest.mark.clause("AU-5")
def test_identification_needs_no_case_number(auth, requester):
    form = valid_form(
        requester,
        purpose="unable_to_identify",
        case_number="",
        **{"new-device": "phone_camera", "new-provided_by": "victim_witness"},
        person_condition="Elderly man found confused, cannot say his name.",
        crime_type="other",
        crime_type_other="Welfare check",
    )
    assert submit(auth, form, [photo("john_simm__1.jpg")]).status_code == 302


def test_first_amendment_terms_flag_but_do_not_refuse(auth, requester):
    form = valid_form(
        requester, reason="Identify the man seen at the protest who later robbed the liquor store."
    )
    assert submit(auth, form, [photo("john_simm__1.jpg")]).status_code == 302
    request_ = db.session.scalars(select(SearchRequest)).one()
    assert request_.first_amendment_terms == ["FA-1: protest"]
    assert json.loads(audit("request.submit")[-1].detail)["first_amendment_terms"] == ["FA-1: protest"]


def test_submission_needs_an_image(auth, requester):
    response = submit(auth, valid_form(requester), [])
    assert response.status_code == 200 and "Attach at least one image" in response.get_data(as_text=True)


def test_bad_uploads_refused_and_nothing_stored(app, auth, client, requester):
    hostile = photo("john_simm__1.jpg", upload_name="../../etc/passwd<script>.jpg")
    uploads = [
        (io.BytesIO(b"MZ this is not an image"), "invoice.jpg"),
        (io.BytesIO((FACES / "special/corrupt__truncated.jpg").read_bytes()), "truncated.jpg"),
        (io.BytesIO(pixel_flood_png(60_000, 60_000)), "flood.png"),
        (io.BytesIO(b"\xff\xd8\xff" + b"\0" * (21 * 1024 * 1024)), "huge.jpg"),
        hostile,
    ]
    response = submit(auth, valid_form(requester, action="check"), uploads)
    response.request.environ["wsgi.input"].close()  # the test client's spooled body; it never closes it
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "invoice.jpg: The file is not an image" in page
    assert "truncated.jpg: The image is damaged" in page
    assert "flood.png: The image declares more pixels" in page
    assert "huge.jpg: the file is" in page.lower()
    images = db.session.scalars(select(ProbeImage)).all()
    assert len(images) == 1  # only the real photo behind the hostile name
    assert images[0].original_name == "etc_passwdscript.jpg"
    stored = sorted(p.name for p in Path(app.instance_path, "probes").rglob("*") if p.is_file())
    assert len(stored) == 2 and all(images[0].original_sha256 in name for name in stored)


@pytest.mark.clause("AU-1")
def test_other_agency_gets_404_and_it_is_audited(auth, client, make_user, make_agency, requester):
    assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    request_ = db.session.scalars(select(SearchRequest)).one()
    image_id = request_.images[0].id
    auth.logout()
    outsider = make_user(Role.REQUESTER, agency=make_agency(code="OTHER"))
    auth.login(outsider)
    for url in (
        f"/requests/{request_.id}",
        f"/requests/{request_.id}/images/{image_id}",
        f"/requests/{request_.id}/form.pdf",
        f"/requests/drafts/{request_.id}",
    ):
        assert client.get(url).status_code == 404, url
    denied = audit("access.denied")[-1]
    assert denied.actor_id == outsider.id and denied.object_type == "request"
    assert request_.tracking_number not in client.get("/requests/").get_data(as_text=True)
    withdraw = {"reason": "x", "confirm": "y"}
    response = auth.post(f"/requests/{request_.id}/withdraw", withdraw, token_from="/requests/")
    assert response.status_code == 404
    assert db.session.get(SearchRequest, request_.id).status is RequestStatus.SUBMITTED


def test_same_agency_colleague_sees_it_and_reviewer_too(auth, client, make_user, requester):
    assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    request_ = db.session.scalars(select(SearchRequest)).one()
    auth.logout()
    auth.login(make_user(Role.REQUESTER, agency=requester.agency))
    assert client.get(f"/requests/{request_.id}").status_code == 200
    auth.logout()
    auth.login(make_user(Role.REVIEWER))
    assert client.get(f"/requests/{request_.id}").status_code == 200
    assert len(audit("request.view")) == 2


def test_withdraw_only_before_review(auth, client, requester):
    assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    request_ = db.session.scalars(select(SearchRequest)).one()
    auth.post(
        f"/requests/{request_.id}/withdraw",
        {"reason": "Suspect arrested"},
        token_from=f"/requests/{request_.id}",
    )
    assert "tick the confirmation" in client.get(f"/requests/{request_.id}").get_data(as_text=True)
    db.session.refresh(request_)
    assert request_.status is RequestStatus.SUBMITTED  # one click is not enough
    auth.post(
        f"/requests/{request_.id}/withdraw",
        {"reason": "Suspect arrested", "confirm": "y"},
        token_from=f"/requests/{request_.id}",
    )
    db.session.refresh(request_)
    assert request_.status is RequestStatus.WITHDRAWN
    assert audit("request.withdraw")[-1].reason == "Suspect arrested"
    page = client.get(f"/requests/{request_.id}").get_data(as_text=True)
    assert "Withdraw this request" not in page


def test_requester_answers_a_question(auth, client, make_user, requester):
    assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    request_ = db.session.scalars(select(SearchRequest)).one()
    reviewer = make_user(Role.REVIEWER)
    assignments.claim(request_, reviewer=reviewer)
    assignments.return_with_question(
        request_, reviewer=reviewer, question="Is there a better frame from the video?"
    )
    db.session.commit()
    page = client.get(f"/requests/{request_.id}").get_data(as_text=True)
    assert "Is there a better frame" in page and "Send answer" in page
    auth.post(
        f"/requests/{request_.id}/answer",
        {"body": "No, this is the clearest frame."},
        token_from=f"/requests/{request_.id}",
    )
    db.session.refresh(request_)
    assert request_.status is RequestStatus.IN_REVIEW
    assert request_.messages[-1].kind == "answer"


def test_tracking_numbers_increase(auth, requester):
    for _ in range(2):
        assert submit(auth, valid_form(requester), [photo("john_simm__1.jpg")]).status_code == 302
    numbers = sorted(db.session.scalars(select(SearchRequest.tracking_number)))
    assert [n[-6:] for n in numbers] == ["000001", "000002"]
