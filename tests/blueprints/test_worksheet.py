"""The examiner's marks and view kept with the examination, and the examiner's worksheet: what
was applied and marked is stored when saved or concluded, checked value by value (a bad value
saves nothing), shown again on reopening, never to a verifier, and printed on the worksheet,
whose download is an audited read."""

from __future__ import annotations

import html as html_lib
import io
import json
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, CandidateExamination, Conclusion, DecisionOutcome
from app.services.review import assignments, decisions, examinations
from app.services.review.worksheets import clean_adjustments, clean_annotations
from tests.support.review import act, checklist_form, claim_and_search

ADJUSTED = {"probe": {"contrast": 1.4, "mirror": True}, "candidate": {"gamma": 2.2, "rotate": -3.5}}
MARKS = [
    {
        "pane": "probe",
        "kind": "point",
        "points": [[0.42, 0.61]],
        "feature": "Facial marks",
        "note": "mole left cheek",
    },
    {"pane": "candidate", "kind": "line", "points": [[0.3, 0.4], [0.7, 0.4]], "feature": "Eyes", "note": ""},
    {
        "pane": "candidate",
        "kind": "outline",
        "points": [[0.2, 0.8], [0.5, 0.9], [0.8, 0.8]],
        "feature": "",
        "note": "jaw outline",
    },
]


@pytest.fixture
def app(gallery_app):
    return gallery_app


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    return html_lib.unescape(match.group(1)) if match else ""


def test_adjustments_and_annotations_are_kept_shown_again_and_printed_on_the_worksheet(
    auth, client, people, submitted
):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/1"
    form = checklist_form(notes={"ears": "lobes attached in both"}, ears="similar")
    form.update(view_adjustments=json.dumps(ADJUSTED), annotations=json.dumps(MARKS), note="Saved once.")
    assert act(auth, f"{url}/examine", form, token_from=url).status_code == 302
    examination = db.session.scalars(select(CandidateExamination)).one()
    assert examination.view_adjustments["probe"] == {
        "brightness": 1.0,
        "contrast": 1.4,
        "gamma": 1.0,
        "rotate": 0.0,
        "invert": False,
        "mirror": True,
    }
    assert examination.annotations[0]["note"] == "mole left cheek" and len(examination.annotations) == 3
    # shown again on reopening: the page's hidden fields carry what was saved
    page = client.get(url).get_data(as_text=True)
    assert json.loads(hidden(page, "annotations")) == examination.annotations
    assert json.loads(hidden(page, "view_adjustments")) == examination.view_adjustments

    form.update(conclusion="viable_lead")  # concluded without the fields: the saved ones stay
    del form["view_adjustments"], form["annotations"]
    assert act(auth, f"{url}/examine", form, token_from=url).status_code == 302
    db.session.refresh(examination)
    assert examination.conclusion is Conclusion.VIABLE_LEAD and len(examination.annotations) == 3

    response = client.get(f"{url}/worksheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Examiner's worksheet" in text and people["first"].full_name in text
    assert "Viable investigative lead" in text or examination.conclusion.label in text
    assert all(f in text for f in examinations.FISWG_FEATURES)
    assert "lobes attached in both" in text and "mole left cheek" in text and "jaw outline" in text
    assert "Probe: contrast 1.4, mirrored" in text and "Candidate: gamma 2.2, rotate -3.5°" in text
    assert examination.booking.booking_number in text  # revealed by the conclusion
    read = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.worksheet_view")).one()
    assert read.actor_id == people["first"].id and read.object_id == str(examination.booking_id)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("view_adjustments", {"probe": {"contrast": 99}}, "outside"),
        ("view_adjustments", {"probe": {"blur": 2}}, "Unknown view adjustment"),
        ("view_adjustments", {"probe": {"invert": "yes"}}, "on or off"),
        ("annotations", [{"pane": "probe", "kind": "point", "points": [[1.5, 0.2]]}], "lies on the image"),
        ("annotations", [{"pane": "probe", "kind": "line", "points": [[0.1, 0.2]]}], "takes 2–2 points"),
        (
            "annotations",
            [{"pane": "probe", "kind": "point", "points": [[0.1, 0.2]], "feature": "Aura"}],
            "FISWG",
        ),
        ("annotations", "{not json", "not readable"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_saved(auth, client, people, submitted, field, value, message):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/1"
    form = checklist_form(note="Would be saved.")
    form[field] = value if isinstance(value, str) else json.dumps(value)
    response = act(auth, f"{url}/examine", form, token_from=url)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    examination = db.session.scalars(select(CandidateExamination)).one()
    assert examination.checklist in ({}, None) and examination.view_adjustments is None


def test_the_checks_take_neutral_values_and_nothing_sent_keeps_what_was_saved():
    assert clean_adjustments(None) is None and clean_annotations("") is None
    assert clean_adjustments("{}")["candidate"]["gamma"] == 1.0
    assert clean_annotations("[]") == []


def test_a_verifier_never_sees_the_first_examiners_marks_nor_their_worksheet(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    first = people["first"]
    examination = examinations.open_candidate(search, 1, reviewer=first)
    examinations.save_examination(
        examination,
        reviewer=first,
        checklist={f: {"mark": "similar", "note": ""} for f in examinations.FISWG_FEATURES},
        conclusion=Conclusion.VIABLE_LEAD,
        note="",
        annotations=clean_annotations(json.dumps(MARKS)),
    )
    decisions.decide(
        submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=examination
    )
    assignments.claim_verification(submitted, reviewer=people["second"])
    db.session.commit()
    auth.logout()
    auth.login(people["second"])
    url = f"/review/searches/{search.id}/candidates/1"
    page = client.get(url).get_data(as_text=True)
    assert "mole left cheek" not in page and hidden(page, "annotations") == ""
    text = pdf_text(client.get(f"{url}/worksheet.pdf").data)  # the verifier's own, still blind
    assert "mole left cheek" not in text and "Not revealed" in text
    assert examination.booking.booking_number not in text


def test_no_worksheet_for_a_candidate_one_has_not_examined_nor_for_a_request_one_does_not_hold(
    auth, client, people, submitted
):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    response = client.get(f"/review/searches/{search.id}/candidates/3/worksheet.pdf")
    assert response.status_code == 302  # back to the comparison, told why
    auth.logout()
    auth.login(people["second"])  # holds nothing of this request yet
    response = client.get(f"/review/searches/{search.id}/candidates/1/worksheet.pdf")
    assert response.status_code in (302, 403, 404)
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "candidate.worksheet_view")
    ).all()
