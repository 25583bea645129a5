"""Two people on every source: nothing of a request is searched before its reviewer records a
determination on each image's stated provenance and on the First Amendment, whatever its text
says; a flag needs a written reason; a photo an answer brings, and flagged text an answer adds,
wait for their own. The determinations are audited and counted in the monthly audit."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ProbeImage, RequestStatus, ReviewState, SearchRequest
from app.services.oversight.monthly_audit import generate_monthly_audit, local_zone, month_bounds
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.review import assignments, intake, probes, searches
from app.services.review.workflow import Action, why_not
from tests.support.intake import submit, valid_form
from tests.support.photos import FACES, photo
from tests.support.review import determination_form, determine_all


@pytest.fixture
def app(gallery_app):
    return gallery_app


def file_request(auth, people, **overrides) -> SearchRequest:
    auth.login(people["requester"])
    form = valid_form(people["requester"], **overrides)
    assert submit(auth, form, [photo("john_simm__2.jpg")]).status_code == 302
    auth.logout()
    return db.session.scalars(select(SearchRequest).order_by(SearchRequest.id.desc())).first()


def claimed(request: SearchRequest, reviewer) -> ProbeImage:
    assignments.claim(request, reviewer=reviewer)
    db.session.commit()
    return request.images[0]


def search_refused(request, reviewer) -> str:
    work = probes.probe_work(request.images[0], reviewer)
    with pytest.raises((PermissionDenied, ServiceError)) as refusal:
        searches.run_search(request, reviewer=reviewer, works=[work], top_k=5)
    db.session.rollback()
    return refusal.value.message


@pytest.mark.clause("FA-1", "FA-2", "FA-3", "IS-1", "AU-3")
def test_an_unflagged_request_is_not_searched_before_the_determinations(people, auth, client, clock):
    """The three requests the reading found searched with no determination had wording the net
    missed: the gate does not depend on the net."""
    request = file_request(auth, people)
    assert request.first_amendment_terms_list == [] and request.source_flag_list == []
    reviewer = people["first"]
    claimed(request, reviewer)
    assert "Before any search" in search_refused(request, reviewer)
    auth.login(reviewer)
    url = f"/review/requests/{request.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Record the determinations" in page and "Search the gallery" not in page
    auth.post(f"{url}/determinations", determination_form(request, note=""), token_from=url)
    db.session.refresh(request)
    assert not request.awaiting_determination  # no flag: no written reason needed
    assert request.images[0].provenance_status == "confirmed"
    assert request.images[0].provenance_determined_by_id == reviewer.id
    work = probes.probe_work(request.images[0], reviewer)
    assert searches.run_search(request, reviewer=reviewer, works=[work], top_k=5).id
    db.session.commit()
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert "intake.provenance_confirm" in actions and "review.first_amendment" in actions
    month = clock.now.astimezone(local_zone()).strftime("%Y-%m")
    clock.now = month_bounds(month)[1] + timedelta(days=2)
    audit = generate_monthly_audit(month, generated_by="tests")
    row = next(r for r in audit.figures if r["username"] == reviewer.username)
    assert row["source_determinations"] == 1 and row["first_amendment_determinations"] == 1


@pytest.mark.clause("FA-1", "FA-3")
def test_a_flagged_request_needs_the_reviewers_written_reason(people, auth, client):
    request = file_request(
        auth,
        people,
        reason="Identify the man seen at the protest outside the church who later robbed the store.",
    )
    assert {"FA-1: protest", "FA-1: church"} <= set(request.first_amendment_terms_list)
    reviewer = people["first"]
    claimed(request, reviewer)
    auth.login(reviewer)
    url = f"/review/requests/{request.id}"
    assert "FA-1: protest" in client.get(url).get_data(as_text=True)
    short = determination_form(request) | {"fa_note": "too short"}
    auth.post(f"{url}/determinations", short, token_from=url)
    db.session.refresh(request)
    assert (
        request.awaiting_first_amendment_review and request.images[0].provenance_status == "pending"
    )  # all or none
    unstated = determination_form(request) | {"fa_confirm": ""}
    auth.post(f"{url}/determinations", unstated, token_from=url)
    db.session.refresh(request)
    assert request.awaiting_first_amendment_review
    note = "The robbery on camera is the basis; the protest is only where he was seen earlier."
    auth.post(f"{url}/determinations", determination_form(request, note=note), token_from=url)
    db.session.refresh(request)
    assert request.first_amendment_cleared_by_id == reviewer.id and request.first_amendment_note == note
    assert why_not(request, reviewer, Action.SEARCH) is None


@pytest.mark.clause("SD-7", "IS-1")
def test_a_flagged_source_is_confirmed_only_with_a_reason_or_refused_with_the_clause(people, auth):
    request = file_request(
        auth,
        people,
        **{"new-device": "phone_camera", "new-legally_obtained": "Exported from Evidence.com by Det. Lee"},
    )
    image, reviewer = claimed(request, people["first"]), people["first"]
    assert image.source_flag_list and intake.needs_a_note(request, image)
    fa = intake.FirstAmendmentDetermination(True)
    with pytest.raises(ServiceError, match="why the stated source fits"):
        intake.save_determinations(
            request,
            reviewer=reviewer,
            images=[intake.ImageDetermination(image.id, intake.CONFIRM)],
            first_amendment=fa,
        )
    db.session.rollback()
    intake.save_determinations(
        request,
        reviewer=reviewer,
        images=[
            intake.ImageDetermination(image.id, intake.REFUSE, "It is an Axon body-camera export.", "SD-7")
        ],
        first_amendment=fa,
    )
    db.session.commit()
    db.session.refresh(image)
    assert image.provenance_status == "refused" and image.provenance_clause == "SD-7"
    assert "only an image whose stated source a reviewer confirmed" in search_refused(request, reviewer)


@pytest.mark.clause("SD-7")
def test_only_the_holder_records_determinations_and_only_once(people, auth):
    request = file_request(auth, people)
    image = claimed(request, people["first"])
    item = [intake.ImageDetermination(image.id, intake.CONFIRM)]
    with pytest.raises(PermissionDenied):
        intake.save_determinations(request, reviewer=people["second"], images=item, first_amendment=None)
    db.session.rollback()
    determine_all(request, people["first"])
    with pytest.raises(PermissionDenied, match="No determination is waiting"):
        intake.save_determinations(request, reviewer=people["first"], images=item, first_amendment=None)
    db.session.rollback()


def answer(auth, request, body: str, *, photos=(), **facts) -> object:
    data = {"body": body} | {f"new-{k}": v for k, v in facts.items()}
    if photos:
        data["images"] = list(photos)
    url = f"/requests/{request.id}"
    return auth.post(f"{url}/answer", data, token_from=url, content_type="multipart/form-data")


NEW_PHOTO = {
    "device": "phone_camera",
    "mode": "recorded",
    "extracted_from_video": "no",
    "provided_by": "victim_witness",
    "legally_obtained": "The victim sent it to us from her own phone.",
}


def returned(people, auth) -> SearchRequest:
    request = file_request(auth, people)
    claimed(request, people["first"])
    determine_all(request, people["first"])
    assignments.return_with_question(request, reviewer=people["first"], question="Is there a clearer photo?")
    db.session.commit()
    auth.login(people["requester"])
    return request


def second_photo():
    return (io.BytesIO((FACES / "john_simm__3.jpg").read_bytes()), "clearer.jpg")


@pytest.mark.clause("SD-7", "MR-5")
@pytest.mark.parametrize(
    ("body", "facts"),
    [
        ("A clearer still from Officer Lee's bodycam (Axon Body 3).", NEW_PHOTO),
        ("Here is a clearer one.", NEW_PHOTO | {"device": "officer_worn"}),
        (
            "Here is a clearer one.",
            NEW_PHOTO | {"legally_obtained": "Copied off the lapel cam by the sergeant"},
        ),
    ],
)
def test_a_forbidden_photo_in_an_answer_is_refused_and_nothing_changes(people, auth, client, body, facts):
    request = returned(people, auth)
    response = answer(auth, request, body, photos=[second_photo()], **facts)
    assert response.status_code == 302
    page = client.get(f"/requests/{request.id}").get_data(as_text=True).replace("&#39;", "'")
    assert "camera worn by an officer" in page
    db.session.refresh(request)
    assert len(request.images) == 1 and request.review_state is ReviewState.AWAITING_INFO
    assert request.status is RequestStatus.NEEDS_INFO


@pytest.mark.clause("IS-1", "MR-5")
def test_a_photo_an_answer_brings_waits_for_its_own_determination(people, auth):
    request = returned(people, auth)
    assert (
        answer(auth, request, "Here is a clearer one.", photos=[second_photo()], **NEW_PHOTO).status_code
        == 302
    )
    db.session.refresh(request)
    new = request.images[-1]
    assert len(request.images) == 2 and new.answer_id is not None and new.provenance_status == "pending"
    assert new.provenance_device == "phone_camera" and request.review_state is ReviewState.CLAIMED
    assert "Before any search" in search_refused(request, people["first"])
    determine_all(request, people["first"])
    work = probes.probe_work(new, people["first"])
    assert searches.run_search(request, reviewer=people["first"], works=[work], top_k=5).id


@pytest.mark.clause("FA-1", "SD-7")
def test_flagged_text_in_an_answer_sends_the_determinations_back(people, auth):
    request = returned(people, auth)
    body = "He was at the rally earlier; the photo may be from Officer Lee's bodycam, I am not sure."
    assert answer(auth, request, body).status_code == 302
    db.session.refresh(request)
    assert request.awaiting_first_amendment_review and "FA-1: rally" in request.first_amendment_terms_list
    assert request.images[0].provenance_status == "pending"  # the text raised a source flag
    assert any("bodycam" in f for f in request.source_flag_list)
    assert json.loads(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.answer")).one().detail
    )["reopened"]
