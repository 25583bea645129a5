"""The reviewer's workspace, end to end on real photos: claim, probe work, fused search,
hidden demographics, comparison, decision, blind verification, disputes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import (
    AuditEvent,
    CandidateExamination,
    DecisionOutcome,
    ProbeWork,
    RequestStatus,
    ReviewAssignment,
    ReviewState,
    SearchRequest,
)
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.review import assignments, decisions, probes, searches, workflow
from tests.gallery import booking_number_for
from tests.support.intake import submit, valid_form
from tests.support.photos import photo
from tests.support.reports import no_match
from tests.support.review import (
    act,
    claim_and_search,
    conclude,
    determine_all,
    workspace_url,
)


@pytest.fixture
def app(gallery_app):
    """These tests run against the enrolled gallery."""
    return gallery_app


@pytest.mark.clause("SD-1", "SD-4", "SD-9")
def test_whole_path_lead_verified_blind(gallery_app, auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    db.session.refresh(submitted)
    assert submitted.review_state is ReviewState.CLAIMED and submitted.status is RequestStatus.IN_REVIEW
    entries = search.result_list
    assert search.fusion == "mean-distance" and search.index_version == 1 and len(entries) == 10
    assert set(entries[0]["found_by"]) == {i.id for i in submitted.images}
    # demographics and numbers are hidden from the list and the comparison until concluded
    mate = booking_number_for("john_simm")
    page = client.get(f"/review/searches/{search.id}").get_data(as_text=True)
    assert mate not in page and "john_simm" not in page and "1970-01-02" not in page
    compare = client.get(f"/review/searches/{search.id}/candidates/1")
    assert compare.status_code == 200
    html = compare.get_data(as_text=True)
    assert mate not in html and "Hidden until you record a conclusion" in html
    assert "Investigative lead only" in html and "compare.js" in html
    assert client.get(f"/review/searches/{search.id}/chips/probe/1.png").mimetype == "image/png"
    assert client.get(f"/review/searches/{search.id}/chips/candidate/1.png").mimetype == "image/png"
    conclude(auth, search.id, 1, "viable_lead")
    html = client.get(f"/review/searches/{search.id}/candidates/1").get_data(as_text=True)
    assert mate in html and "1970-01-02" in html
    examination = db.session.scalars(select(CandidateExamination)).one()
    auth.post(
        f"{workspace_url(submitted.id)}/decide",
        {"outcome": "lead", "examination_id": str(examination.id), "search_id": str(search.id)},
        token_from=workspace_url(submitted.id),
    )
    db.session.refresh(submitted)
    assert submitted.review_state is ReviewState.AWAITING_VERIFICATION
    # nobody verifies their own work
    with pytest.raises(PermissionDenied):
        assignments.claim_verification(submitted, reviewer=people["first"])
    db.session.rollback()
    auth.logout()

    auth.login(people["second"])
    act(auth, f"{workspace_url(submitted.id)}/verify", token_from=workspace_url(submitted.id))
    page = client.get(workspace_url(submitted.id)).get_data(as_text=True)
    assert "Candidate list to verify" in page
    assert "Riley Chen" not in page.split("Candidate list to verify")[1]  # no first decision shown
    first_checklist = client.get(f"/review/searches/{search.id}/candidates/1").get_data(as_text=True)
    assert "Consistent ear and nose" not in first_checklist and mate not in first_checklist
    conclude(auth, search.id, 1, "viable_lead")
    mine = db.session.scalars(
        select(CandidateExamination).where(CandidateExamination.reviewer_id == people["second"].id)
    ).one()
    auth.post(
        f"{workspace_url(submitted.id)}/decide",
        {"outcome": "lead", "examination_id": str(mine.id), "search_id": str(search.id)},
        token_from=workspace_url(submitted.id),
    )
    db.session.refresh(submitted)
    assert submitted.review_state is ReviewState.VERIFIED
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "review.claim",
        "search.run",
        "candidate.open",
        "candidate.examine",
        "review.decide",
        "review.verify_claim",
        "review.view",
    } <= actions


def test_disagreement_goes_to_a_third_reviewer(gallery_app, auth, client, people, submitted):
    search = claim_and_search(auth, client, submitted.id, people["first"])
    conclude(auth, search.id, 1, "viable_lead")
    examination = db.session.scalars(select(CandidateExamination)).one()
    decisions.decide(
        submitted,
        reviewer=people["first"],
        outcome=DecisionOutcome.LEAD,
        search=search,
        examination=examination,
    )
    assignments.claim_verification(submitted, reviewer=people["second"])
    no_match(submitted, people["second"], search)
    db.session.commit()
    assert submitted.review_state is ReviewState.DISPUTED
    with pytest.raises(ServiceError, match="has not reviewed"):
        assignments.reassign(submitted, admin=people["admin"], reviewer=people["second"], reason="third")
    assignments.reassign(submitted, admin=people["admin"], reviewer=people["third"], reason="disputed lead")
    no_match(submitted, people["third"], search)
    db.session.commit()
    assert submitted.review_state is ReviewState.VERIFIED
    assert [d.capacity for d in workflow.decisions(submitted)] == ["primary", "verifier", "third"]


def test_second_claim_gets_a_clear_message(auth, client, people, submitted):
    assignments.claim(submitted, reviewer=people["first"])
    db.session.commit()
    auth.login(people["second"])
    act(auth, f"{workspace_url(submitted.id)}/claim", token_from=workspace_url(submitted.id))
    page = client.get(workspace_url(submitted.id)).get_data(as_text=True)
    assert "already been claimed by Riley Chen" in page


def test_claim_race_has_one_winner(gallery_app, people, submitted):
    app = create_app("testing")
    results = []
    barrier = threading.Barrier(2)

    def try_claim(reviewer_id: int):
        with app.app_context():
            from app.models import User

            reviewer = db.session.get(User, reviewer_id)
            target = db.session.get(SearchRequest, submitted.id)
            barrier.wait()
            try:
                assignments.claim(target, reviewer=reviewer)
                db.session.commit()
                results.append("won")
            except ServiceError:
                db.session.commit()
                results.append("lost")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=try_claim, args=(people[k].id,)) for k in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        db.engine.dispose()  # its pooled connections, before the test's database is dropped
    assert sorted(results) == ["lost", "won"]
    assert len(db.session.scalars(select(ReviewAssignment)).all()) == 1


@pytest.mark.clause("TR-2")
def test_uncertified_reviewer_cannot_search(auth, client, people, submitted):
    auth.login(people["uncertified"])
    response = act(auth, f"{workspace_url(submitted.id)}/claim", token_from=workspace_url(submitted.id))
    assert response.status_code == 403
    assert "no FBI or LACRIS" in response.get_data(as_text=True)
    queue = client.get("/review/")  # not even the queue: it names requests, agencies and purposes
    assert queue.status_code == 403 and "no FBI or LACRIS" in queue.get_data(as_text=True)


@pytest.mark.clause("IS-2")
def test_processing_history_reproduces_the_search(auth, client, people, submitted):
    auth.login(people["first"])
    act(auth, f"{workspace_url(submitted.id)}/claim", token_from=workspace_url(submitted.id))
    determine_all(submitted, people["first"])
    client.get(workspace_url(submitted.id))
    work = db.session.scalars(select(ProbeWork)).first()
    probe_url = f"/review/probes/{work.id}"
    page = client.get(probe_url).get_data(as_text=True)
    assert "Suitability" in page and "Inter-eye distance" in page
    for op, values in (
        ("crop", {"left": "10", "top": "5", "right": "145", "bottom": "148"}),
        ("contrast", {"factor": "1.2"}),
        ("sharpen", {"amount": "60"}),
    ):
        form = {f"{op}-{name}": value for name, value in values.items()}
        auth.post(f"{probe_url}/steps/{op}", form, token_from=probe_url)
    db.session.refresh(work)
    assert [s["op"] for s in work.step_list] == ["crop", "contrast", "sharpen"]
    assert (
        "Histogram" not in client.get(probe_url).get_data(as_text=True).split("Processing history")[1][:300]
    )
    search = searches.run_search(submitted, reviewer=people["first"], works=[work], top_k=15)
    db.session.commit()
    assert search.result_list[0]["rank"] == 1
    assert searches.rerun_search(search) == search.result_list
    bad = auth.post(f"{probe_url}/steps/gamma", {"gamma-value": "50"}, token_from=probe_url)
    assert bad.status_code == 302
    assert "between" in client.get(probe_url).get_data(as_text=True)
    db.session.refresh(work)
    assert len(work.step_list) == 3  # the refused step changed nothing


def test_manual_eyes_when_detection_fails(auth, client, people, submitted):
    assignments.claim(submitted, reviewer=people["first"])
    determine_all(submitted, people["first"])
    work = probes.probe_work(submitted.images[0], people["first"])
    prepared = probes.update_probe_work(work, reviewer=people["first"], manual_eyes=[[52, 70], [98, 70]])
    assert prepared.chosen is not None and prepared.chosen.detector == "manual"
    assert prepared.chosen.descriptor is not None


def test_return_and_reject(auth, client, people, submitted):
    assignments.claim(submitted, reviewer=people["first"])
    assignments.return_with_question(
        submitted, reviewer=people["first"], question="Is there a clearer frame?"
    )
    db.session.commit()
    assert submitted.status is RequestStatus.NEEDS_INFO
    from app.services.intake.answers import answer_question

    answer_question(submitted, actor=people["requester"], body="No, this is the best frame.")
    assert submitted.review_state is ReviewState.CLAIMED
    assignments.reject_out_of_policy(
        submitted,
        reviewer=people["first"],
        clause="Prohibitive uses, 3",
        note="This is predictive analysis, which the policy forbids.",
    )
    db.session.commit()
    assert submitted.status is RequestStatus.REJECTED
    auth.login(people["requester"])
    page = client.get(f"/requests/{submitted.id}").get_data(as_text=True)
    assert "Prohibitive uses, 3" in page and "predictive analysis" in page


def test_queue_orders_urgent_first(auth, client, people, submitted):
    auth.login(people["requester"])
    urgent = valid_form(
        people["requester"], purpose="imminent_threat", threat_to_life="yes", **{"new-mode": "live"}
    )
    assert submit(auth, urgent, [photo("john_simm__2.jpg")]).status_code == 302
    auth.logout()
    items = assignments.queue()
    assert items[0].request.urgent and not items[1].request.urgent
    auth.login(people["first"])
    page = client.get("/review/").get_data(as_text=True)
    assert page.index("Urgent") < page.index(submitted.tracking_number)


def test_a_requesters_unsent_draft_never_waits_on_a_reviewer(auth, people, submitted):
    from app.services.review import waiting

    auth.login(people["requester"])
    submit(auth, valid_form(people["requester"], action="save"), [photo("john_simm__1.jpg")])
    drafts = db.session.scalars(
        select(SearchRequest).where(SearchRequest.status == RequestStatus.DRAFT)
    ).all()
    assert len(drafts) == 1
    new = waiting.for_reviewer(people["first"]).lists["new"]
    assert [r.id for r in new] == [submitted.id]
