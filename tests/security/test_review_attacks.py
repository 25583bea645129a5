"""The review path under attack: another request's evidence slipped into a decision, claims
and verifications raced, a blind conclusion undone after the reveal, the gallery copied
photo by photo."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    CandidateExamination,
    Capacity,
    Conclusion,
    DecisionOutcome,
    ReviewAssignment,
    ReviewDecision,
    ReviewState,
    Role,
    SearchRequest,
)
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.review import assignments, decisions, examinations, probes, searches, workflow
from tests.gallery import booking_number_for
from tests.support.intake import submit, valid_form
from tests.support.live import at_once, refresh
from tests.support.photos import photo
from tests.support.reports import CHECKLIST, no_match
from tests.support.review import checklist_form, determine_all


@pytest.fixture
def app(gallery_app):
    return gallery_app


def submitted_by(auth, requester, picture: str) -> SearchRequest:
    auth.login(requester)
    assert submit(auth, valid_form(requester), [photo(picture)]).status_code == 302
    auth.logout()
    return db.session.scalars(select(SearchRequest).order_by(SearchRequest.id.desc())).first()


def searched(request, reviewer):
    assignments.claim(request, reviewer=reviewer)
    determine_all(request, reviewer)
    work = probes.probe_work(request.images[0], reviewer)
    search = searches.run_search(request, reviewer=reviewer, works=[work], top_k=10)
    db.session.commit()
    return search


def concluded(search, reviewer, rank=1, conclusion=Conclusion.VIABLE_LEAD):
    examination = examinations.open_candidate(search, rank, reviewer=reviewer)
    examinations.save_examination(
        examination, reviewer=reviewer, checklist=CHECKLIST, conclusion=conclusion, note=""
    )
    db.session.commit()
    return examination


@pytest.fixture
def two_agencies(auth, people, make_agency, make_user):
    other = make_user(
        Role.REQUESTER, agency=make_agency(code="OTHR", name="Other Agency"), full_name="Olu Brandt"
    )
    mine = submitted_by(auth, people["requester"], "john_simm__2.jpg")
    theirs = submitted_by(auth, other, "barack_obama__2.jpg")
    return mine, theirs


def test_a_decision_cannot_rest_on_another_requests_search(auth, client, people, two_agencies):
    """Found: request A was decided with request B's search and examination, and the report
    issued to A's agency embedded B's probe photo."""
    request_a, request_b = two_agencies
    reviewer = people["first"]
    searched(request_a, reviewer)
    search_b = searched(request_b, reviewer)
    examination_b = concluded(search_b, reviewer)
    auth.login(reviewer)
    url = f"/review/requests/{request_a.id}"
    response = auth.post(
        f"{url}/decide",
        {"outcome": "lead", "search_id": str(search_b.id), "examination_id": str(examination_b.id)},
        token_from=url,
    )
    assert response.status_code == 200 and 'id="error-summary"' in response.get_data(as_text=True)
    refresh(request_a)
    assert request_a.review_state is ReviewState.CLAIMED  # nothing was decided
    assert db.session.scalar(select(func.count(ReviewDecision.id))) == 0
    refusal = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.decide")).one()
    assert (
        refusal.outcome == "denied"
        and refusal.object_type == "search"
        and refusal.object_id == str(search_b.id)
    )
    # the service refuses the same way whoever calls it, and for the examination alone too
    with pytest.raises(PermissionDenied):
        decisions.decide(
            request_a, reviewer=reviewer, outcome=DecisionOutcome.LEAD, search=None, examination=examination_b
        )
    db.session.rollback()
    with pytest.raises(PermissionDenied, match="another request"):
        no_match(request_a, reviewer, search_b)
    db.session.rollback()


def test_every_invariant_of_a_decision(people, submitted):
    """The transition function's invariants, each tried: the actor may act now, the search
    is this request's, the examination is the actor's latest on it, the candidate is on the
    list and not sealed."""
    first, second = people["first"], people["second"]
    search = searched(submitted, first)
    with pytest.raises(PermissionDenied, match="do not hold"):
        no_match(submitted, second, search)
    db.session.rollback()
    theirs = CandidateExamination(
        search_id=search.id,
        booking_id=search.result_list[0]["booking_id"],
        reviewer_id=second.id,
        rank=1,
        checklist={},
        conclusion=Conclusion.VIABLE_LEAD,
    )
    db.session.add(theirs)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="not yours"):
        decisions.decide(
            submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=theirs
        )
    db.session.rollback()
    not_viable = concluded(search, first, rank=3, conclusion=Conclusion.NOT_A_LEAD)
    with pytest.raises(ServiceError, match="viable"):
        decisions.decide(
            submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=not_viable
        )
    db.session.rollback()
    with pytest.raises(ServiceError, match="search"):
        no_match(submitted, first, None)
    db.session.rollback()
    lead = concluded(search, first, rank=1)
    lead.booking.sealed = True
    db.session.commit()
    with pytest.raises(ServiceError, match="sealed"):
        decisions.decide(
            submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=lead
        )
    db.session.rollback()
    lead.booking.sealed = False
    db.session.commit()
    decisions.decide(submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=lead)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="cannot act while the request is awaiting verification"):
        decisions.decide(
            submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=lead
        )
    db.session.rollback()
    # a state change is only ever the transition function's: a step from the wrong state fails
    with pytest.raises(ServiceError, match="acted on it first"):
        workflow.advance(submitted, workflow.Step.CLAIM)
    db.session.rollback()


def test_thirty_reviewers_claim_at_once_one_holds_it(gallery_live, make_user, people, submitted, clock):
    reviewers = [make_user(Role.REVIEWER) for _ in range(30)]
    browsers = [gallery_live.client().login(r, clock) for r in reviewers]
    url = f"/review/requests/{submitted.id}"
    tokens = [b.csrf(url) for b in browsers]
    at_once(30, lambda i: browsers[i].post(f"{url}/claim", {"csrf_token": tokens[i]}))
    holders = db.session.scalars(
        select(ReviewAssignment).where(ReviewAssignment.request_id == submitted.id)
    ).all()
    assert len(holders) == 1 and holders[0].capacity is Capacity.PRIMARY


def test_thirty_saves_of_one_comparison_at_once_conclude_it_once(gallery_live, people, submitted, clock):
    """A candidate opened from several pages at once is one examination; thirty conclusions
    fired at it (quick excludes and full checklists mixed) leave exactly one standing."""
    first = people["first"]
    search = searched(submitted, first)
    db.session.commit()
    browsers = [gallery_live.client().login(first, clock) for _ in range(5)]
    url = f"/review/searches/{search.id}/candidates/2"
    opened = at_once(30, lambda i: browsers[i % 5].get(url))
    assert [r.status_code for r in opened] == [200] * 30
    assert db.session.scalar(select(func.count(CandidateExamination.id))) == 1
    tokens = [b.csrf(url) for b in browsers]
    features = examinations.FISWG_FEATURES
    checklist = checklist_form()

    def save(i: int):
        browser, token = browsers[i % 5], tokens[i % 5]
        if i % 2:
            feature = features[i % len(features)]
            return browser.post(f"{url}/exclude", {"feature": feature, "csrf_token": token})
        return browser.post(f"{url}/examine", {**checklist, "conclusion": "viable_lead", "csrf_token": token})

    at_once(30, save)
    db.session.expire_all()
    examination = db.session.scalars(select(CandidateExamination)).one()
    concluding = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "candidate.examine",
            AuditEvent.outcome == "success",
            AuditEvent.detail.contains('"conclusion":"'),
        )
    ).all()
    assert len(concluding) == 1 and examination.conclusion is not None
    assert f'"conclusion":"{examination.conclusion.value}"' in concluding[0].detail


def test_ten_concurrent_verification_claims_leave_one_verifier(
    gallery_live, make_user, people, submitted, clock
):
    """Found: ten concurrent /verify posts left two reviewers holding the verification."""
    first = people["first"]
    search = searched(submitted, first)
    no_match(submitted, first, search)
    db.session.commit()
    verifiers = [make_user(Role.REVIEWER) for _ in range(10)]
    browsers = [gallery_live.client().login(v, clock) for v in verifiers]
    url = f"/review/requests/{submitted.id}"
    tokens = [b.csrf(url) for b in browsers]
    at_once(10, lambda i: browsers[i].post(f"{url}/verify", {"csrf_token": tokens[i]}))
    open_verifiers = db.session.scalars(
        select(ReviewAssignment).where(
            ReviewAssignment.capacity == Capacity.VERIFIER, ReviewAssignment.released_at.is_(None)
        )
    ).all()
    assert len(open_verifiers) == 1


def test_a_revealed_conclusion_is_final(auth, client, people, submitted):
    """Found: after "not a lead" revealed the name and DOB, the conclusion could be changed to
    "viable lead". A change is a new examination, recorded as made after the reveal."""
    reviewer = people["first"]
    search = searched(submitted, reviewer)
    concluded(search, reviewer, rank=1, conclusion=Conclusion.NOT_A_LEAD)
    auth.login(reviewer)
    url = f"/review/searches/{search.id}/candidates/1"
    form = checklist_form()
    page = auth.post(f"{url}/examine", {**form, "conclusion": "viable_lead"}, token_from=url)
    assert "final" in page.get_data(as_text=True)
    first = db.session.scalars(select(CandidateExamination)).one()
    assert first.conclusion is Conclusion.NOT_A_LEAD
    auth.post(f"{url}/reexamine", {"reason": "Looked again at the ear shape."}, token_from=url)
    auth.post(f"{url}/examine", {**form, "conclusion": "viable_lead"}, token_from=url)
    again = db.session.scalars(select(CandidateExamination).where(CandidateExamination.revision == 2)).one()
    assert again.after_reveal and again.conclusion is Conclusion.VIABLE_LEAD
    workspace = f"/review/requests/{submitted.id}"
    auth.post(
        f"{workspace}/decide",
        {"outcome": "lead", "search_id": str(search.id), "examination_id": str(first.id)},
        token_from=workspace,
    )
    assert (
        db.session.scalar(select(func.count(ReviewDecision.id))) == 0
    )  # the superseded revision cannot lead
    auth.post(
        f"{workspace}/decide",
        {"outcome": "lead", "search_id": str(search.id), "examination_id": str(again.id)},
        token_from=workspace,
    )
    decided = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "review.decide", AuditEvent.outcome == "success")
    ).one()
    assert '"after_reveal":true' in decided.detail
    # finding 14: the mark shows wherever the decision does, and on the report
    assert "concluded after the identity was revealed" in client.get(workspace).get_data(as_text=True)
    assert db.session.scalars(select(ReviewDecision)).one().after_reveal


def test_the_report_says_when_the_lead_was_examined_after_the_reveal():
    from dataclasses import replace

    from app.documents.report import ReportData, render_report
    from tests.support.reports import pdf_text

    data = ReportData(
        unit_name="Unit", unit_contact="unit@example.invalid", owner_agency="County", report_number="FR-1-R1",
        version=1, kind="lead", case_number="FR-1", submitted_by="A", date_searched="2026-06-15",
        investigating_agency="B", face_reviewer="C", verifying_reviewer="D (agreed)", agency_case_number="X",
        issued_on="2026-06-15", name="N", lead_rank=1,
    )  # fmt: skip
    assert "Examined after the reveal" not in pdf_text(render_report(data))
    assert "Examined after the reveal" in pdf_text(render_report(replace(data, after_reveal=True)))


def test_the_gallery_cannot_be_copied_without_a_trace(gallery_live, app, people, submitted, make_user, clock):
    """Found: a certified reviewer fetched /review/bookings/<id>/thumbnail.jpg for every id:
    all photos, no audit row, no search needed."""
    app.config["READ_VOLUME_DAILY_LIMIT"] = 5
    reviewer = people["first"]
    search = searched(submitted, reviewer)
    outsider = make_user(Role.REVIEWER, username="copier")
    copier = gallery_live.client().login(outsider, clock)
    assert copier.get("/review/bookings/1/thumbnail.jpg").status_code == 404  # no such door any more
    for rank in (1, 2, 3):  # a search the copier does not work: refused, and each try recorded
        assert copier.get(f"/review/searches/{search.id}/candidates/{rank}/thumbnail.jpg").status_code == 404
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == outsider.id, AuditEvent.outcome == "denied")
    ).all()
    assert len(denied) == 3
    holder = gallery_live.client().login(reviewer, clock)
    before = db.session.scalar(select(func.count(AuditEvent.seq)))
    for rank in range(1, 9):
        response = holder.get(f"/review/searches/{search.id}/candidates/{rank}/thumbnail.jpg")
        assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    reads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.action == "candidate.image_view")
    ).all()
    assert len(reads) == 8 and {r.actor_id for r in reads} == {reviewer.id}
    admin = gallery_live.client().login(people["admin"], clock)
    dashboard = admin.get("/admin/").text
    assert "Unusual volume" in dashboard and reviewer.username in dashboard.split("Unusual volume")[1][:500]


def test_a_lead_sealed_before_the_report_goes_back_to_its_reviewer(people, submitted):
    first, second = people["first"], people["second"]
    search = searched(submitted, first)
    lead = concluded(search, first)
    decisions.decide(submitted, reviewer=first, outcome=DecisionOutcome.LEAD, search=search, examination=lead)
    assignments.claim_verification(submitted, reviewer=second)
    mine = concluded(search, second)
    decisions.decide(
        submitted, reviewer=second, outcome=DecisionOutcome.LEAD, search=search, examination=mine
    )
    db.session.commit()
    assert submitted.review_state is ReviewState.VERIFIED
    from app.services.gallery.enrollment import get_booking
    from app.services.gallery.sealing import seal_booking

    seal_booking(get_booking(lead.booking.booking_number), reference="ORDER-77", actor=people["admin"])
    db.session.commit()
    refresh(submitted)
    assert submitted.review_state is ReviewState.CLAIMED
    assert workflow.decisions(submitted) == []
    assert workflow.capacity_of(submitted, first) is Capacity.PRIMARY
    assert workflow.capacity_of(submitted, second) is None
    assert booking_number_for("john_simm") == lead.booking.booking_number


def test_six_issues_and_six_corrections_at_once_each_stand_once(gallery_live, people, submitted, clock):
    """Found (finding 12): parallel issue or correction answered 500 for most requests (the data
    stayed right); the losers are now told plainly."""
    from app.models import Report
    from tests.support.reports import verified

    verified(submitted, people)
    db.session.commit()
    browsers = [gallery_live.client().login(people["second"], clock) for _ in range(6)]
    page = f"/review/requests/{submitted.id}"
    tokens = [b.csrf(page) for b in browsers]
    issued = at_once(
        6, lambda i: browsers[i].post(f"/reports/issue/{submitted.id}", {"csrf_token": tokens[i]})
    )
    assert all(r.status_code == 302 for r in issued), [r.status_code for r in issued]
    db.session.expire_all()
    report = db.session.scalars(select(Report)).one()
    url = f"/reports/{report.id}"
    tokens = [b.csrf(url) for b in browsers]
    corrected = at_once(
        6,
        lambda i: browsers[i].post(
            f"{url}/correct",
            {"csrf_token": tokens[i], "reason": "A typo in the comments", "comments": f"v{i}"},
        ),
    )
    assert all(r.status_code == 302 for r in corrected), [r.status_code for r in corrected]
    db.session.expire_all()
    versions = db.session.scalars(select(Report).order_by(Report.version)).all()
    assert [v.version for v in versions] == [1, 2]
