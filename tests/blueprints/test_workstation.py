"""The reviewer's workstation without a browser: the list by person, quick exclusion, refused
forms that keep what was typed, "no possible match" confirmed when a candidate looks like a
mate, the workspace that shows where the case stands, and "waiting on me" for each role."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    CandidateExamination,
    Conclusion,
    ReviewDecision,
    ReviewState,
    Role,
    User,
    UserSession,
)
from app.services.gallery.enrollment import import_manifest
from app.services.review import waiting
from app.services.review.examinations import FEATURE_KEYS
from tests.gallery import booking_number_for, gallery_row, write_manifest
from tests.support.reports import disputed
from tests.support.review import act, checklist_form, claim_and_search, conclude, workspace_url


@pytest.fixture
def app(gallery_app):
    return gallery_app


def checked(html: str, name: str) -> set[str]:
    """The values of the radio buttons or boxes named ``name`` that the page has ticked."""
    tags = re.findall(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    return {re.search(r'value="([^"]*)"', t).group(1) for t in tags if re.search(r"\bchecked\b", t)}


def second_booking_of_the_mate(tmp_path) -> Booking:
    """Another booking of the same person (same SID), enrolled after the index was built."""
    mate = db.session.scalars(
        select(Booking).where(Booking.booking_number == booking_number_for("john_simm"))
    ).one()
    mate.subject.sid = "A1234567"
    db.session.commit()
    row = gallery_row("john_simm__1.jpg", "BK-JOHN_SIMM-2025", "john_simm")
    row[4] = "A1234567"  # the SID column
    row[0] = row[0].replace("john_simm__1", "john_simm__3")
    summary = import_manifest(write_manifest(tmp_path / "again.csv", [row]), actor=None, workers=1)
    assert summary.enrolled == 1, summary
    return db.session.scalars(select(Booking).where(Booking.booking_number == "BK-JOHN_SIMM-2025")).one()


@pytest.mark.slow
def test_twenty_slots_are_twenty_people_and_every_booking_keeps_its_distance(
    auth, client, people, submitted, tmp_path
):
    again = second_booking_of_the_mate(tmp_path)
    search = claim_and_search(auth, client, submitted.id, people["first"])
    entries = search.result_list
    people_found = {e["person_rank"] for e in entries}
    assert people_found == set(range(1, 11))  # K=10: ten people
    mate_entries = [e for e in entries if e["subject_id"] == again.subject_id]
    assert {e["booking_id"] for e in mate_entries} == {again.id, again.subject.bookings[0].id}
    assert {e["person_rank"] for e in mate_entries} == {1}
    assert all(e["distance"] > 0 for e in mate_entries) and len({e["distance"] for e in mate_entries}) == 2
    by_person = client.get(f"/review/searches/{search.id}").get_data(as_text=True)
    assert by_person.count("thumbnail.jpg") == len(entries) and "1 other booking" in by_person
    assert by_person.count('class="candidate"') == 10
    by_photo = client.get(f"/review/searches/{search.id}?by=photo").get_data(as_text=True)
    assert by_photo.count('class="candidate"') == len(entries) == 11


def test_the_list_pins_the_probe_and_marks_what_was_examined(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    client.get(f"/review/searches/{search.id}/candidates/2")  # opened, not concluded
    conclude(auth, search.id, 1, "viable_lead")
    page = client.get(f"/review/searches/{search.id}").get_data(as_text=True)
    assert f"/review/searches/{search.id}/chips/probe/1.png" in page and 'aria-label="Probe"' in page
    assert page.count("Viable investigative lead") == 1 and page.count("Opened, no conclusion") == 1
    assert page.count("Not examined") == 8


def test_two_to_six_candidates_beside_the_probe(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    listing = client.get(f"/review/searches/{search.id}").get_data(as_text=True)
    assert 'name="rank" value="1"' in listing and "Compare the ticked beside the probe" in listing
    page = client.get(f"/review/searches/{search.id}/grid?rank=3&rank=1&rank=2").get_data(as_text=True)
    assert "3 candidates beside the probe" in page
    assert page.count("/chips/candidate/") == 3 and "/chips/probe/1.png" in page
    assert page.index("Photo rank <strong>1</strong>") < page.index("Photo rank <strong>3</strong>")
    assert "john_simm" not in page.lower()  # no identity in the grid
    for refused in ("rank=1", "rank=1&rank=2&rank=3&rank=4&rank=5&rank=6&rank=7", "rank=1&rank=999"):
        response = client.get(f"/review/searches/{search.id}/grid?{refused}")
        assert response.status_code == 302, refused
    grid_reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "search.grid_view")).all()
    assert len(grid_reads) == 1 and json.loads(grid_reads[0].detail)["ranks"] == [1, 2, 3]


def test_quick_exclude_takes_two_actions_and_moves_on(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/2"
    page = client.get(url).get_data(as_text=True)
    assert 'id="quick-exclude"' in page
    response = auth.post(f"{url}/exclude", {"feature": "Ears", "note": "lobes attached"}, token_from=url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/candidates/3")
    examination = db.session.scalars(select(CandidateExamination)).one()
    assert examination.conclusion is Conclusion.NOT_A_LEAD and examination.rank == 2
    assert examination.checklist["Ears"] == {"mark": "dissimilar", "note": "lobes attached"}
    # the identity appears beside the candidate once concluded, and the checklist stays, read-only
    html = client.get(url).get_data(as_text=True)
    record = html.split('id="record-title"')[1].split("</section>")[0]
    assert "Booking number" in record
    done = html.split('id="checklist-done-title"')[1].split("</section>")[0]
    assert '<th scope="row">Ears</th><td>Dissimilar</td><td>lobes attached</td>' in done
    assert 'name="feature_ears-mark"' not in html


def test_quick_exclude_without_a_feature_records_nothing(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/2"
    response = auth.post(f"{url}/exclude", {"feature": "", "note": "looks different"}, token_from=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="error-summary"' in html
    assert "Choose the feature that is dissimilar" in html and 'value="looks different"' in html
    assert db.session.scalars(select(CandidateExamination)).one().conclusion is None


def test_a_refused_checklist_keeps_every_mark_and_the_conclusion(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/1"
    first_five = list(FEATURE_KEYS)[:5]
    form = checklist_form(
        default="", notes={"composition": "high forehead"}, **dict.fromkeys(first_five, "similar")
    )
    form.update({"note": "Partial work.", "conclusion": "viable_lead"})
    response = auth.post(f"{url}/examine", form, token_from=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Mark every feature before concluding" in html
    assert all(checked(html, f"feature_{key}-mark") == {"similar"} for key in first_five)
    assert checked(html, "feature_eyebrows-mark") == set()
    assert checked(html, "conclusion") == {"viable_lead"}
    assert 'value="high forehead"' in html and "Partial work." in html
    assert db.session.scalars(select(CandidateExamination)).one().conclusion is None


def test_a_lead_needs_every_feature_an_exclusion_one_dissimilar(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    url = f"/review/searches/{search.id}/candidates/3"
    form = checklist_form(default="", ears="dissimilar") | {"conclusion": "viable_lead"}
    assert "Mark every feature" in auth.post(f"{url}/examine", form, token_from=url).get_data(as_text=True)
    form["conclusion"] = "not_a_lead"
    assert auth.post(f"{url}/examine", form, token_from=url).status_code == 302
    assert db.session.scalars(select(CandidateExamination)).one().conclusion is Conclusion.NOT_A_LEAD


def test_no_possible_match_unexamined_against_a_strong_candidate_needs_confirmation(
    auth, client, people, submitted
):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    assert search.result_list[0]["score"] >= 50
    url = workspace_url(submitted.id)
    form = {"outcome": "no_match", "search_id": str(search.id), "comments": "Nothing resembles him."}
    refused = auth.post(f"{url}/decide", form, token_from=url)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "you have not compared any candidate" in html
    assert "Nothing resembles him." in html and 'id="error-summary"' in html
    assert db.session.scalar(select(ReviewDecision.id)) is None
    assert auth.post(f"{url}/decide", {**form, "confirm_unexamined": "y"}, token_from=url).status_code == 302
    decided = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "review.decide", AuditEvent.outcome == "success")
    ).one()
    assert json.loads(decided.detail)["no_match_without_examination"] is True


def test_after_a_decision_the_workspace_shows_it_and_who_acts_next(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    page = client.get(workspace_url(submitted.id)).get_data(as_text=True)
    assert "Search the gallery" in page and "Waiting for: <strong>its reviewer" in page
    conclude(auth, search.id, 1, "viable_lead")
    examination = db.session.scalars(select(CandidateExamination)).one()
    url = workspace_url(submitted.id)
    auth.post(
        f"{url}/decide",
        {
            "outcome": "lead",
            "search_id": str(search.id),
            "examination_id": str(examination.id),
            "comments": "Arrested 2024 in Long Beach.",
        },
        token_from=url,
    )
    page = client.get(url).get_data(as_text=True)
    assert "Search the gallery" not in page and "Record decision" not in page
    assert "Your decision (reviewer): <strong>Investigative lead" in page
    # the same decision again from a stale second tab: said on the page, nothing recorded
    stale = auth.post(
        f"{url}/decide",
        {"outcome": "no_match", "search_id": str(search.id), "confirm_unexamined": "y"},
        token_from=url,
    )
    assert stale.status_code == 302
    assert "Your decision was not recorded" in client.get(url).get_data(as_text=True)
    assert db.session.scalars(select(ReviewDecision)).one().outcome.value == "lead"
    assert "a second certified reviewer to verify it blind" in page
    auth.logout()
    auth.login(people["second"])
    act(auth, f"{url}/verify", token_from=url)
    conclude(auth, search.id, 1, "viable_lead")
    mine = db.session.scalars(
        select(CandidateExamination).where(CandidateExamination.reviewer_id == people["second"].id)
    ).one()
    refused = auth.post(
        f"{url}/decide",
        {"outcome": "lead", "search_id": str(search.id), "comments": "Same man."},
        token_from=url,
    )  # a lead without its candidate: refused, the choice and comments kept
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Same man." in html
    assert re.search(r'<option selected value="lead">|<option value="lead" selected', html)
    auth.post(
        f"{url}/decide",
        {
            "outcome": "lead",
            "search_id": str(search.id),
            "examination_id": str(mine.id),
            "comments": "Same man.",
        },
        token_from=url,
    )
    page = client.get(url).get_data(as_text=True)
    issue = page.split('id="report-comments"')[1].split("</textarea>")[0]
    assert "Arrested 2024 in Long Beach." in issue and "Same man." in issue


def test_an_unclaimed_workspace_shows_the_photos_and_how_to_reach_the_requester(
    auth, client, people, submitted
):
    auth.login(people["first"])
    page = client.get(workspace_url(submitted.id)).get_data(as_text=True)
    assert "Claim this request" in page
    assert page.count(f"/requests/{submitted.id}/images/") == 2
    assert submitted.requester_phone in page and submitted.requester_email in page


def test_a_dispute_with_no_one_left_to_settle_it_says_so(auth, client, people, submitted):
    disputed(submitted, people)
    for user in db.session.scalars(
        select(User).where(User.id.not_in([people["first"].id, people["second"].id]))
    ):
        user.active = user.role is Role.REQUESTER  # only the two who decided remain as staff
    db.session.commit()
    assert submitted.review_state is ReviewState.DISPUTED
    auth.login(people["first"])
    page = client.get(workspace_url(submitted.id)).get_data(as_text=True)
    assert "no one else holds a current certification to settle it" in page


def test_waiting_on_me_for_each_role(auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    mine = waiting.waiting_on(people["first"])
    assert mine.lists["claimed"] == [submitted] and mine.total >= 1
    page = client.get("/").get_data(as_text=True)
    assert "Waiting on me" in page and "My claimed requests (1)" in page
    act(
        auth,
        f"{workspace_url(submitted.id)}/return",
        {"question": "Is there a photo with the face turned to the camera?"},
        token_from=workspace_url(submitted.id),
    )
    auth.logout()
    auth.login(people["requester"])
    page = client.get("/").get_data(as_text=True)
    assert "Questions to answer (1)" in page and f"/requests/{submitted.id}" in page
    auth.logout()
    auth.login(people["second"])
    assert waiting.waiting_on(people["second"]).lists["claimed"] == []
    assert search.id


def test_keepalive_restarts_the_idle_clock_and_needs_the_token(app, auth, client, people, clock):
    auth.login(people["requester"])
    page = client.get("/").get_data(as_text=True)
    assert 'data-idle-seconds="1800"' in page and 'data-warn-seconds="60"' in page
    token = auth.csrf("/")
    clock.advance(seconds=25 * 60)
    assert client.post("/auth/keepalive").status_code == 400  # no CSRF token
    response = client.post("/auth/keepalive", data={"csrf_token": token})
    assert response.status_code == 200 and response.json == {"idle_seconds": 1800}
    session = db.session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))).one()
    assert clock.now - session.last_seen_at < timedelta(seconds=5)
    clock.advance(seconds=20 * 60)  # 45 minutes after sign-in, 20 after the keepalive
    assert client.get("/").status_code == 200
