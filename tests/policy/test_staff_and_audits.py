"""Staff under the policy: need to know, training before access (not only before searching),
signed agreements, the reviewer's suitability determination, an administrator as a third
reviewer; and the monthly audit in the unit's time zone, counting every search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AccessGrant, AuditEvent, FaceSearch, PolicyAcknowledgement, Role, SearchRequest
from app.services.oversight import monthly_audit
from app.services.oversight.dashboard import dashboard
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.reports import issuance as report_service
from app.services.review import assignments, probes, searches
from tests.support.reports import disputed, no_match, verified
from tests.support.review import determine_all, operator_search


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.mark.clause("AU-1")
def test_staff_outside_their_work_give_a_recorded_reason(auth, client, people, submitted, make_user):
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    outsider = make_user(Role.REVIEWER, full_name="Jo Outsider")
    auth.login(outsider)
    for url in (
        f"/review/requests/{submitted.id}",
        f"/requests/{submitted.id}",
        f"/reports/{report.id}/download",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/access" in response.headers["Location"], url
    justify = f"/review/requests/{submitted.id}/access"
    auth.post(justify, {"reason": "short"}, token_from=justify)
    assert db.session.scalars(select(AccessGrant)).first() is None
    auth.post(justify, {"reason": "Court subpoena 24-117 asks for the search record."}, token_from=justify)
    assert client.get(f"/reports/{report.id}/download").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.justified")).one()
    assert event.actor_id == outsider.id and "subpoena" in event.reason
    auth.logout()
    auth.login(people["first"])  # the reviewer who worked it needs no reason
    assert client.get(f"/review/requests/{submitted.id}").status_code == 200


@pytest.mark.clause("TR-1")
def test_a_lapsed_certification_closes_probes_decisions_and_reports(auth, client, people, submitted, clock):
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    first = people["first"]
    for cert in first.certifications:
        cert.expires_on = clock.today() - timedelta(days=1)
    db.session.commit()
    auth.login(first)
    for url in (
        "/review/",  # the queue names requests, agencies and purposes
        f"/review/requests/{submitted.id}",
        f"/requests/{submitted.id}",
        f"/requests/{submitted.id}/images/{submitted.images[0].id}",
        f"/reports/{report.id}",
        f"/reports/{report.id}/download",
    ):
        response = client.get(url)
        assert response.status_code == 403 and "expired on" in response.get_data(as_text=True), url


@pytest.mark.clause("TR-1")
def test_an_administrator_oversees_the_queue_without_a_certification(auth, client, make_user):
    admin = make_user(Role.ADMIN, certified=False)
    auth.login(admin)
    assert client.get("/review/").status_code == 200


@pytest.mark.clause("TR-2")
def test_the_services_refuse_a_search_once_the_certification_lapses(people, submitted, clock):
    """The rule is the service's, not only the page's: a reviewer holding a request whose
    certification lapses cannot search it through any path."""
    reviewer = people["first"]
    assignments.claim(submitted, reviewer=reviewer)
    determine_all(submitted, reviewer)
    work = probes.probe_work(submitted.images[0], reviewer)
    for cert in reviewer.certifications:
        cert.expires_on = clock.today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="expired"):
        searches.run_search(submitted, reviewer=reviewer, works=[work], top_k=5)
    db.session.rollback()


@pytest.mark.clause("SD-8")
def test_nobody_works_before_signing_the_policies_of_their_role(auth, client, make_user):
    reviewer = make_user(Role.REVIEWER, full_name="New Reviewer", acknowledged=False)
    auth.login(reviewer)
    response = client.get("/review/")
    assert response.status_code == 302 and "/auth/agreements" in response.headers["Location"]
    page = client.get("/auth/agreements").get_data(as_text=True)
    assert "CAL-PHOTO" in page and "Facial Recognition Policy" in page
    auth.post("/auth/agreements", {"typed_name": "Someone Else"})
    assert client.get("/review/").status_code == 302
    auth.post("/auth/agreements", {"typed_name": "New Reviewer"})
    assert client.get("/review/").status_code == 200
    signed = db.session.scalars(
        select(PolicyAcknowledgement).where(PolicyAcknowledgement.user_id == reviewer.id)
    ).all()
    assert {(s.document, s.version) for s in signed} == {("fr_policy", "2026-01"), ("cal_photo", "2026-01")}
    requester = make_user(Role.REQUESTER, acknowledged=False)
    from app.services.identity.accounts import missing_agreements

    assert [a.key for a in missing_agreements(requester)] == ["fr_policy"]


@pytest.mark.clause("IS-2")
def test_an_unsuitable_probe_is_searched_only_with_the_reviewers_reason(people, submitted):
    reviewer = people["first"]
    assignments.claim(submitted, reviewer=reviewer)
    determine_all(submitted, reviewer)
    work = probes.probe_work(submitted.images[0], reviewer)
    probes.update_probe_work(
        work, reviewer=reviewer, steps=[{"op": "crop", "left": 0, "top": 0, "right": 40, "bottom": 40}]
    )
    db.session.commit()
    assert work.suitability == "unsuitable"
    with pytest.raises(ServiceError, match="judged unsuitable"):
        searches.run_search(submitted, reviewer=reviewer, works=[work], top_k=5)
    db.session.rollback()
    probes.update_probe_work(work, reviewer=reviewer, steps=[])
    work.manual_eyes = [[52, 70], [98, 70]]
    db.session.commit()
    # eyes placed by hand make the verdict the reviewer's own: a reason, whatever the verdict
    with pytest.raises(ServiceError, match="eyes placed by hand"):
        searches.run_search(submitted, reviewer=reviewer, works=[work], top_k=5, override_reason="")
    db.session.rollback()
    reason = "The eyes are clear to me; the detector misses the turned head."
    search = searches.run_search(submitted, reviewer=reviewer, works=[work], top_k=5, override_reason=reason)
    recorded = search.probe_list[0]
    assert recorded["override_reason"] == reason
    assert (
        recorded["suitability"] in ("suitable", "marginal", "unsuitable")
        and "suitability_reasons" in recorded
    )


@pytest.mark.clause("TR-2")
def test_an_administrator_with_a_certification_can_be_the_third_reviewer(people, submitted, make_user):
    search = disputed(submitted, people, top_k=5)
    db.session.commit()
    admin = people["admin"]
    uncertified = make_user(Role.ADMIN, certified=False)
    with pytest.raises(ServiceError, match="no FBI or LACRIS"):
        assignments.reassign(submitted, admin=admin, reviewer=uncertified, reason="x" * 10)
    db.session.rollback()
    assignments.reassign(submitted, admin=admin, reviewer=admin, reason="Only two reviewers in the unit")
    no_match(submitted, admin, search)
    db.session.commit()
    assert submitted.review_state.value == "verified"


@pytest.mark.clause("SD-5", "AU-3", "TR-2")
def test_the_monthly_audit_counts_command_line_searches_in_local_months(
    app, people, clock, runner, submitted
):
    from tests.gallery import FACES

    assignments.claim(submitted, reviewer=people["first"])
    determine_all(submitted, people["first"])
    # 23:30 on 31 October in Los Angeles is 06:30 on 1 November in UTC: an October search.
    clock.now = datetime(2026, 11, 1, 6, 29, 30, tzinfo=UTC)
    result = operator_search(
        runner,
        clock,
        people["first"],
        submitted.tracking_number,
        FACES / "john_simm__2.jpg",
        extra=("--json",),
    )
    assert result.exit_code == 0, result.output
    clock.now = datetime(2026, 11, 3, 18, tzinfo=UTC)
    audit = monthly_audit.generate_monthly_audit("2026-10", generated_by="tests")
    row = next(r for r in audit.figures if r["username"] == people["first"].username)
    assert row["searches"] == 1 and "case HC-2026-0042" in row["search_reasons"]
    assert row["last_logon"].startswith("2026-11-01T06:30")  # the operator's own sign-in, that month
    assert any(f.kind == "after_hours" and f.username == people["first"].username for f in audit.flags)
    search = db.session.scalars(select(FaceSearch)).one()
    assert search.channel == "cli" and search.request_id == submitted.id


@pytest.mark.clause("AU-3")
def test_the_dashboard_warns_about_months_not_signed_off(app, people, clock):
    db.session.add(SearchRequest(agency=people["requester"].agency, requester=people["requester"]))
    db.session.commit()
    clock.now = clock.now + timedelta(days=70)
    unsigned = dashboard()["unsigned_months"]
    assert len(unsigned) >= 2
    audit = monthly_audit.generate_monthly_audit(unsigned[0], generated_by="tests")
    for flag in audit.flags:
        monthly_audit.clear_flag(flag, actor=people["admin"], note="Reviewed with the supervisor")
    monthly_audit.sign_off(audit, actor=people["admin"], note="ok")
    db.session.commit()
    assert unsigned[0] not in dashboard()["unsigned_months"]
