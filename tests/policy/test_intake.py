"""The request at intake, clause by clause: free text screened like the choice lists, the
First Amendment flags and the reviewer's determination, the policy's own words on surveillance
and live video, the justification's parts, the requester's fields, the form's wording."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, RequestStatus, Role, SearchRequest
from app.services import screening
from tests.blueprints.test_requests import photo, submit, valid_form


@pytest.fixture
def requester(make_user, auth):
    user = make_user(Role.REQUESTER, full_name="Dana Whitfield")
    auth.login(user)
    return user


def refused(auth, requester, **overrides) -> str:
    response = submit(auth, valid_form(requester, **overrides), [photo("john_simm__1.jpg")])
    assert response.status_code == 200, "expected the form again, refused"
    draft = db.session.scalars(select(SearchRequest)).one()
    assert draft.status is RequestStatus.DRAFT and draft.tracking_number is None
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def accepted(auth, requester, **overrides) -> SearchRequest:
    response = submit(auth, valid_form(requester, **overrides), [photo("john_simm__1.jpg")])
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return db.session.scalars(select(SearchRequest)).one()


@pytest.mark.clause("SD-7", "IS-1")
@pytest.mark.parametrize(
    "overrides",
    [
        {"image_source": "other", "image_source_other": "Axon body-worn camera footage"},
        {
            "image_source": "witness_victim",
            "legally_obtained": "Copied from Officer Smith's bodycam (BWC) export.",
        },
        {"image_source": "other", "image_source_other": "Officer's worn camera, patrol unit 12"},
    ],
)
def test_body_worn_camera_named_in_free_text_is_refused(auth, requester, overrides):
    html = refused(auth, requester, **overrides)
    assert "body-worn cameras cannot be searched" in html and "Penal Code 832.19" in html
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.refused")).one()
    assert [c for _f, c in json.loads(event.detail)["violations"] if c == "SD-7"] == ["SD-7"]


@pytest.mark.clause("LR-1", "LR-2")
@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"image_source": "other", "image_source_other": "DMV Cal-Photo driver license photo"}, "DMV"),
        ({"image_source": "other", "image_source_other": "Clearview result image"}, "scraped"),
        (
            {
                "image_source": "social_media",
                "legally_obtained": "Scraped from public profiles with a crawler.",
            },
            "scraped",
        ),
    ],
)
def test_dmv_and_scraped_images_in_free_text_are_refused_as_local_rules(auth, requester, overrides, said):
    html = refused(auth, requester, **overrides)
    assert said in html and "Local rule of Cal-ID / Facial Recognition Unit" in html
    assert "not a clause of the LACRIS template" in html
    assert "Database and data limitations" not in html  # never attributed to a clause that does not say it


@pytest.mark.clause("PU-2")
def test_live_feed_named_in_free_text_follows_the_live_video_rule(auth, requester):
    html = refused(auth, requester, image_source="other", image_source_other="Live CCTV stream from the mall")
    assert "live video stream" in html and "Prohibitive uses, 2" in html


@pytest.mark.clause("PU-2")
def test_live_video_for_an_at_risk_person_unable_to_identify_themselves(auth, requester):
    """PU-2 allows live video where "it involves at-risk individuals"."""
    request = accepted(
        auth,
        requester,
        purpose="unable_to_identify",
        case_number="",
        image_source="live_video",
        person_at_risk="yes",
        person_condition="Confused man on the freeway shoulder, cannot give his name.",
    )
    assert request.status is RequestStatus.SUBMITTED


@pytest.mark.clause("PU-1")
def test_surveillance_needs_an_imminent_threat_of_life(auth, requester):
    html = refused(auth, requester, purpose="imminent_threat", threat_to_life="no")
    assert "imminent threat of life" in html and "Prohibitive uses, 1" in html
    draft = db.session.scalars(select(SearchRequest)).one()
    form = valid_form(requester, purpose="imminent_threat", threat_to_life="yes")
    assert submit(auth, form, url=f"/requests/drafts/{draft.id}").status_code == 302
    db.session.refresh(draft)
    assert draft.status is RequestStatus.SUBMITTED and draft.urgent


@pytest.mark.clause("IS-1")
def test_a_negated_or_narrative_mention_is_flagged_not_refused(auth, requester):
    request = accepted(
        auth,
        requester,
        legally_obtained="From the store's own camera, not from any bodycam; the owner gave it to us.",
        situation="The robbery was also recorded on a patrol car dash cam, which shows no face at all here.",
    )
    flags = request.source_flag_list
    assert any("negated" in f and "bodycam" in f for f in flags) and any("dash cam" in f for f in flags)


@pytest.mark.clause("PS-1", "AU-5")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "purpose": "deceased",
                "image_source": "witness_victim",
                "person_condition": "Found deceased in the park.",
                "case_number": "",
                "reasonable_suspicion": "",
            },
            "reasonable suspicion",
        ),
        ({"case_number": "N/A"}, "is not a case/file number"),
        ({"case_number": "-"}, "is not a case/file number"),
        ({"situation": "short"}, "situation description is too short"),
    ],
)
def test_the_justification_the_policy_asks_for(auth, requester, overrides, message):
    assert message in refused(auth, requester, **overrides)


@pytest.mark.clause("AU-5")
def test_crime_type_is_asked_only_if_available(auth, requester):
    assert accepted(auth, requester, crime_type="").status is RequestStatus.SUBMITTED


@pytest.mark.clause("RF-3")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"requester_name": ""}, "The requester is the account holder"),
        ({"requester_name": "Someone Else"}, "The requester is the account holder"),
        ({"requester_phone": ""}, "phone number"),
        ({"requester_phone": "call me"}, "phone number"),
        ({"requester_email": "not-an-address"}, "e-mail address"),
        ({"extracted_from_video": ""}, "extracted from video"),
    ],
)
def test_the_requester_fields_are_checked(auth, requester, overrides, message):
    assert message in refused(auth, requester, **overrides)


@pytest.mark.clause("RF-1")
def test_the_form_says_what_the_seed_says(auth, client, requester):
    page = client.get("/requests/new").get_data(as_text=True).replace("&#39;", "'")
    assert "Attention Cal-ID / Facial Recognition Unit Staff:" in page
    assert (
        "Please assist our agency's investigation by conducting a facial recognition search of the attached "
        "image(s) in the Los Angeles County Digital Mugshot System and any searchable repositories through "
        "the California Facial Recognition Interconnect (CAFRI)." in page
    )


@pytest.mark.clause("FA-1", "FA-2", "FA-3")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Identify the man photographed outside the mosque after prayers on Friday.",
            {"FA-1: mosque", "FA-1: prayers"},
        ),
        ("Identify the political party volunteer who posted the flyers.", {"FA-1: political party"}),
        (
            "He was at the NAACP chapter meeting and also at the union meeting.",
            {"FA-2: naacp", "FA-2: union meeting"},
        ),
        ("Identify the Black man in the hijab photo near the store.", {"FA-3: black man", "FA-3: hijab"}),
        ("Find the undocumented immigrant seen at the station.", {"FA-3: undocumented", "FA-3: immigrant"}),
        ("Identify the man who robbed the Main Street liquor store at gunpoint.", set()),
    ],
)
def test_first_amendment_screening_covers_religion_politics_organisations_and_protected_classes(
    text, expected
):
    assert set(screening.first_amendment_terms(text)) == expected
