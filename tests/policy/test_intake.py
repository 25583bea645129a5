"""The request at intake, clause by clause, attacked the way a motivated requester would: each
image's provenance stated as facts (the prohibitions are rules over them), the free text of
every field screened as a second net in English and Spanish (a forbidden source named where
the source is declared is refused; anything else is a flag for the reviewer), the
justification's parts, the requester's fields, the agency's own policy, the form's wording."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, RequestStatus, Role, SearchRequest
from tests.support.intake import submit, valid_form
from tests.support.photos import photo


@pytest.fixture
def requester(make_user, auth):
    user = make_user(Role.REQUESTER, full_name="Dana Whitfield")
    auth.login(user)
    return user


def facts(**values) -> dict:
    """The photo's stated provenance fields, as the form names them ("new-device" …)."""
    return {f"new-{name}": value for name, value in values.items()}


def refused(auth, requester, **overrides) -> str:
    response = submit(auth, valid_form(requester, **overrides), [photo("john_simm__1.jpg")])
    assert response.status_code == 200, "expected the form again, refused"
    draft = db.session.scalars(select(SearchRequest)).one()
    assert draft.status is RequestStatus.DRAFT and draft.tracking_number is None
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def accepted(auth, requester, **overrides) -> SearchRequest:
    response = submit(auth, valid_form(requester, **overrides), [photo("john_simm__1.jpg")])
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    request = db.session.scalars(select(SearchRequest)).one()
    assert request.status is RequestStatus.SUBMITTED
    return request


def refused_clauses() -> list[str]:
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.refused")).one()
    return [clause for _field, clause in json.loads(event.detail)["violations"]]


# --- Penal Code 832.19: a camera worn by an officer ------------------------------------------


@pytest.mark.clause("SD-7")
def test_a_camera_worn_by_an_officer_is_refused_as_a_fact(auth, requester):
    html = refused(auth, requester, **facts(device="officer_worn"))
    assert "a camera worn by an officer cannot be searched" in html and "Penal Code 832.19" in html
    assert refused_clauses() == ["SD-7"]


@pytest.mark.clause("SD-7", "IS-1")
@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("device_other", "officer-worn camera, Unit 12"),
        ("device_other", "Deputy Ruiz lapel cam footage"),
        ("device_other", "Axon Flex 2 recording"),
        ("device_other", "chest-mounted camera worn by Deputy Ruiz"),
        ("device_other", "video de la cámara corporal del agente"),
        ("device_other", "BWC clip, unit 4"),
        ("legally_obtained", "Exported it from Deputy Ruiz's BODY-CAM (Axon Body 3) ourselves."),
        ("legally_obtained", "Still taken from the WatchGuard Vista recording of the stop."),
        ("provided_by_name", "Sgt. Lee, helmet cam footage"),
        ("legally_obtained", "Sacada de la cámara de solapa del oficial durante la detención."),
    ],
)
def test_a_camera_worn_by_an_officer_named_where_the_source_is_declared_is_refused(
    auth, requester, field, words
):
    overrides = facts(device="other", provided_by="own_agency") | {f"new-{field}": words}
    if field != "device_other":
        overrides["new-device_other"] = "a still from a recording"
    html = refused(auth, requester, **overrides)
    assert "a camera worn by an officer cannot be searched" in html and "Penal Code 832.19" in html
    assert "SD-7" in refused_clauses()


@pytest.mark.clause("SD-7", "IS-1")
def test_a_bodycam_named_in_the_narrative_or_denied_is_a_flag_not_a_pass(auth, requester):
    request = accepted(
        auth,
        requester,
        situation="The suspect was also seen on Officer Lee's bodycam video, which we are not sending.",
        **facts(legally_obtained="From the store's own camera, not from any bodycam; the owner gave it."),
    )
    flags = request.source_flag_list + request.images[0].source_flag_list
    assert any("bodycam" in f and "Situation" in f for f in request.source_flag_list)
    assert any("bodycam" in f and "denial" in f for f in request.images[0].source_flag_list)
    assert all("SD-7" in f for f in flags if "bodycam" in f)


@pytest.mark.clause("SD-7", "IS-1")
def test_evidence_com_is_a_flag_on_the_image(auth, requester):
    request = accepted(
        auth,
        requester,
        **facts(device="phone_camera", legally_obtained="Exported from Evidence.com by Det. Lee"),
    )
    assert any("evidence com" in f for f in request.images[0].source_flag_list)


# --- Prohibitive uses 1 and 2: surveillance and live video ------------------------------------


@pytest.mark.clause("PU-2")
@pytest.mark.parametrize(
    "words",
    [
        "real-time camera at the mall, watching now",
        "mall CCTV, as it is happening",
        "ongoing Ring doorbell feed",
        "transmisión en vivo de la cámara",
        "LIVESTREAM of the parking lot",
    ],
)
def test_live_video_by_other_words_follows_the_live_video_rule(auth, requester, words):
    html = refused(auth, requester, **facts(device="other", device_other=words))
    assert "from live video may only be searched" in html and "Prohibitive uses, 2" in html


@pytest.mark.clause("PU-2")
def test_live_as_a_fact_is_refused_without_a_threat_to_life_or_an_at_risk_person(auth, requester):
    assert "PU-2" in (refused(auth, requester, **facts(mode="live")) and refused_clauses())


@pytest.mark.clause("PU-2")
def test_live_video_for_an_at_risk_person_unable_to_identify_themselves(auth, requester):
    """PU-2 allows live video where "it involves at-risk individuals"."""
    request = accepted(
        auth,
        requester,
        purpose="unable_to_identify",
        case_number="",
        person_at_risk="yes",
        person_condition="Confused man on the freeway shoulder, cannot give his name.",
        **facts(device="phone_camera", mode="live", provided_by="own_agency"),
    )
    assert request.images[0].provenance_mode == "live"


@pytest.mark.clause("PU-1")
@pytest.mark.parametrize(
    "overrides",
    [
        # "Other" that is a surveillance camera, for an identification
        {
            "purpose": "deceased",
            "person_condition": "Found deceased.",
            **facts(device="other", device_other="mall CCTV security camera"),
        },
        # under another capture, the declared text says it
        {
            "purpose": "unable_to_identify",
            "case_number": "",
            "person_condition": "Injured, cannot speak.",
            **facts(
                device="phone_camera", legally_obtained="Mall security camera footage, copied by a witness"
            ),
        },
        # a threat to safety is not a threat of life
        {
            "purpose": "imminent_threat",
            "threat_to_life": "no",
            **facts(device="other", device_other="city CCTV camera network"),
        },
        # the fact itself
        {"purpose": "imminent_threat", "threat_to_life": "no"},
    ],
)
def test_surveillance_only_for_an_active_investigation_or_a_threat_of_life(auth, requester, overrides):
    html = refused(auth, requester, **overrides)
    assert "surveillance-camera images may only be searched" in html and "Prohibitive uses, 1" in html


@pytest.mark.clause("PU-1")
def test_surveillance_for_an_imminent_threat_of_life_is_accepted(auth, requester):
    request = accepted(auth, requester, purpose="imminent_threat", threat_to_life="yes")
    assert request.urgent and request.images[0].provenance_device == "fixed_camera"


# --- the unit's local rules: identity documents, scraped images --------------------------------


@pytest.mark.clause("LR-1", "LR-2")
@pytest.mark.parametrize(
    ("overrides", "said", "rule"),
    [
        (facts(device="identity_document"), "identity-document", "LR-1"),
        (facts(device="face_search_result"), "face-search engines", "LR-2"),
        (facts(device="other", device_other="California ID card photo"), "identity-document", "LR-1"),
        (facts(device="other", device_other="foto de la licencia de conducir"), "identity-document", "LR-1"),
        (facts(device="other", device_other="Justice Identity Manager photo"), "identity-document", "LR-1"),
        (facts(device="other", device_other="FaceCheck.ID search result"), "face-search engines", "LR-2"),
        (
            facts(device="internet", legally_obtained="Google Lens reverse image search hit"),
            "face-search",
            "LR-2",
        ),
        (
            facts(device="internet", legally_obtained="Scraped from public profiles with a crawler."),
            "scraped",
            "LR-2",
        ),
    ],
)
def test_identity_document_and_scraped_images_are_refused_as_local_rules(
    auth, requester, overrides, said, rule
):
    html = refused(auth, requester, **overrides)
    assert said in html and "Local rule of Cal-ID / Facial Recognition Unit" in html
    assert "not a clause of the LACRIS template" in html and rule in refused_clauses()
    assert "Database and data limitations" not in html  # never attributed to a clause that does not say it


def test_a_local_rule_switched_off_still_flags_what_it_no_longer_refuses(app, auth, requester):
    app.config["LOCAL_RULES"] = {"refuse_dmv_probes": False, "refuse_scraped_probes": True}
    request = accepted(auth, requester, **facts(device="other", device_other="California ID card photo"))
    assert any("identity-document" in f for f in request.images[0].source_flag_list)


# --- the First Amendment: every field, ordinary wording, English and Spanish -----------------------


@pytest.mark.clause("FA-1", "FA-2", "FA-3")
@pytest.mark.parametrize(
    ("field", "words", "clause"),
    [
        ("reason", "Identify the speaker at the Islamic Center event who later robbed the store.", "FA-1"),
        ("reason", "Identify the man at the Teamsters local hall meeting, then the store robbery.", "FA-2"),
        (
            "situation",
            "We need the immigration status of the woman seen in the store at the robbery.",
            "FA-3",
        ),
        (
            "reasonable_suspicion",
            "Identify her so ICE can process her deportation after the robbery.",
            "FA-3",
        ),
        ("reason", "He spoke against the sheriff at the school board meeting; identify him for us.", "FA-1"),
        ("situation", "He was handing out leaflets at the march before the robbery on Main Street.", "FA-1"),
        ("reason", "Identify the man photographed at the Pride parade who robbed the liquor store.", "FA-3"),
        ("reason", "Identificar al manifestante que robó la tienda de licores de Main Street ayer.", "FA-1"),
        ("image_taken_place", "Outside the mosque during Friday prayers", "FA-1"),
        ("person_condition", "Found at the mosque, cannot speak or give a name.", "FA-1"),
        ("crime_type_other", "Unpermitted protest march", "FA-1"),
        ("new-legally_obtained", "Taken by a volunteer at the union rally, who gave it to us.", "FA-2"),
        ("new-device_other", "Photo from the protest organizers' flyer", "FA-1"),
    ],
)
def test_first_amendment_terms_are_flagged_in_every_field(auth, requester, field, words, clause):
    overrides = {field: words}
    if field == "person_condition":
        overrides |= {"purpose": "unable_to_identify", "case_number": "", "new-device": "phone_camera"}
    if field == "crime_type_other":
        overrides["crime_type"] = "other"
    if field == "new-device_other":
        overrides["new-device"] = "other"
    request = accepted(auth, requester, **overrides)
    terms = request.first_amendment_terms_list
    assert terms and any(t.startswith(clause) for t in terms), terms
    submitted = json.loads(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.submit")).one().detail
    )
    assert submitted["first_amendment_terms"] == terms


@pytest.mark.clause("FA-1", "FA-2")
@pytest.mark.parametrize(
    "words",
    [
        "The robbery was at the Harbor Credit Union on Union Station Road on March 3.",
        "The suspect fled toward Union Street in a black sedan, at 4 p.m. on 3 March.",
        "Identify the man who robbed the Main Street liquor store at gunpoint.",
    ],
)
def test_harmless_words_that_contain_a_term_are_not_flagged(auth, requester, words):
    request = accepted(auth, requester, reason=words)
    assert request.first_amendment_terms_list == []


# --- the justification and the requester's fields -------------------------------------------------


@pytest.mark.clause("PS-1", "AU-5")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "purpose": "deceased",
                "person_condition": "Found deceased in the park.",
                "case_number": "",
                "reasonable_suspicion": "",
            },
            "reasonable suspicion",
        ),
        ({"case_number": "N/A"}, "is not a case/file number"),
        ({"case_number": "N.A."}, "is not a case/file number"),
        ({"case_number": "unknown yet"}, "is not a case/file number"),
        ({"case_number": "TBD-0"}, "is not a case/file number"),
        ({"case_number": "TBD-2026"}, "is not a case/file number"),
        ({"case_number": "pending 4411"}, "is not a case/file number"),
        ({"case_number": "-"}, "is not a case/file number"),
        ({"case_number": "000-000"}, "is not a case/file number"),
        ({"situation": "short"}, "situation description is too short"),
    ],
)
def test_the_justification_the_policy_asks_for(auth, requester, overrides, message):
    assert message in refused(auth, requester, **overrides)


@pytest.mark.clause("AU-5")
def test_crime_type_is_asked_only_if_available(auth, requester):
    assert accepted(auth, requester, crime_type="").status is RequestStatus.SUBMITTED


@pytest.mark.clause("RF-3", "RF-4", "IS-1")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"requester_name": ""}, "The requester is the account holder"),
        ({"requester_name": "Someone Else"}, "The requester is the account holder"),
        ({"requester_phone": ""}, "phone number"),
        ({"requester_phone": "call me"}, "phone number"),
        ({"requester_email": "not-an-address"}, "e-mail address"),
        ({"new-extracted_from_video": ""}, "extracted from video"),
        ({"new-device": ""}, "say what captured the image"),
        ({"new-mode": ""}, "live or recorded"),
        ({"new-provided_by": ""}, "who provided the image"),
        ({"new-legally_obtained": "ok"}, "how the image was legally obtained"),
        ({"printed_name": "Mickey Mouse"}, "The printed name is the signer's own"),
    ],
)
def test_the_requester_fields_are_checked(auth, requester, overrides, message):
    assert message in refused(auth, requester, **overrides)


@pytest.mark.clause("SD-11")
def test_an_agency_without_its_own_policy_on_file_cannot_submit(auth, requester):
    requester.agency.local_policy_title = None
    db.session.commit()
    html = refused(auth, requester)
    assert "own facial recognition policy is not on file" in html and "SD-11" in refused_clauses()
    requester.agency.local_policy_title = "Policy 345: Facial Recognition"
    db.session.commit()
    draft = db.session.scalars(select(SearchRequest)).one()
    assert submit(auth, valid_form(requester), url=f"/requests/drafts/{draft.id}").status_code == 302
    db.session.refresh(draft)
    assert draft.agency_policy.startswith("Policy 345: Facial Recognition")


@pytest.mark.clause("RF-1")
def test_the_form_says_what_the_seed_says(auth, client, requester):
    page = client.get("/requests/new").get_data(as_text=True).replace("&#39;", "'")
    assert "Attention Cal-ID / Facial Recognition Unit Staff:" in page
    assert (
        "Please assist our agency's investigation by conducting a facial recognition search of the attached "
        "image(s) in the Los Angeles County Digital Mugshot System and any searchable repositories through "
        "the California Facial Recognition Interconnect (CAFRI)." in page
    )
    for label in ("Source image obtained from", "Image extracted from video?", "Number of Images attached"):
        assert label in page
    request = accepted(auth, requester)
    pdf = client.get(f"/requests/{request.id}/form.pdf")
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "Attention Cal-ID / Facial Recognition Unit Staff:" in text  # the request PDF says it too
    assert (
        "any searchable repositories through the California Facial Recognition Interconnect (CAFRI)." in text
    )
