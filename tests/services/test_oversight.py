"""The monthly audit: figures and flags on a hand-built month, sign-off, files, checkpoints."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from app.extensions import db
from app.models import AuditChainHead, AuditEvent, FaceSearch, Outcome, RequestStatus, Role, SearchRequest
from app.services.oversight import checkpoints, monthly_audit
from app.services.oversight.audit import record_event, verify_chain
from app.services.platform.errors import ServiceError

MONTH = "2026-10"


def at(clock, day: int, hour: int = 18) -> None:  # 18:00 UTC is 11:00 in Los Angeles
    clock.now = datetime(2026, 10, day, hour, 0, tzinfo=UTC)


def request_for(requester, *, case: str, terms: list[str] | None = None) -> SearchRequest:
    count = db.session.scalar(select(db.func.count(SearchRequest.id)))
    request = SearchRequest(
        agency=requester.agency,
        requester=requester,
        status=RequestStatus.SUBMITTED,
        tracking_number=f"FR-2026-{count + 1:06d}",
        case_number=case,
        purpose="active_investigation",
        crime_type="robbery",
        first_amendment_terms=terms or None,
    )
    db.session.add(request)
    db.session.flush()
    return request


def searched(reviewer, request, clock) -> FaceSearch:
    search = FaceSearch(
        request_id=request.id,
        reviewer_id=reviewer.id,
        created_at=clock.now,
        justification="j",
        probes=[],
        top_k=20,
        index_version=1,
        model_id="m",
        strategy="exact",
        results=[],
    )
    db.session.add(search)
    record_event("search.run", actor=reviewer, object_type="search", object_id=1)
    db.session.commit()
    return search


@pytest.fixture
def month_of_work(app, make_user, clock):
    at(clock, 1)
    reviewer = make_user(Role.REVIEWER, username="rchen")
    lapsed = make_user(Role.REVIEWER, username="lapsed", certified=False)
    requester = make_user(Role.REQUESTER, username="dwhit")
    at(clock, 5)
    searched(reviewer, request_for(requester, case="HC-1"), clock)
    at(clock, 6)
    searched(reviewer, request_for(requester, case=""), clock)
    at(clock, 7)
    searched(reviewer, request_for(requester, case="HC-3", terms=["protest"]), clock)
    at(clock, 8)
    searched(lapsed, request_for(requester, case="HC-4"), clock)
    at(clock, 11, hour=9)  # 02:00 in Los Angeles: outside working hours
    record_event("request.view", actor=requester, object_type="request", object_id=1)
    at(clock, 12)
    record_event("access.denied", actor=requester, outcome=Outcome.DENIED, object_type="report", object_id=9)
    db.session.commit()
    clock.now = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    return {"reviewer": reviewer, "lapsed": lapsed, "requester": requester}


@pytest.mark.clause("AU-3", "SD-5")
def test_figures_and_flags(month_of_work):
    audit = monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    db.session.commit()
    rows = {r["username"]: r for r in audit.figures}
    assert (
        rows["rchen"]["searches"] == 3 and rows["lapsed"]["searches"] == 1 and rows["dwhit"]["searches"] == 0
    )
    assert rows["rchen"]["first_search"].startswith("2026-10-05") and rows["rchen"]["last_search"].startswith(
        "2026-10-07"
    )
    assert "case HC-1" in rows["rchen"]["search_reasons"] and "Robbery" in rows["rchen"]["search_reasons"]
    kinds = {(f.username, f.kind) for f in audit.flags}
    assert ("rchen", "no_case_number") in kinds
    assert ("rchen", "first_amendment") in kinds
    assert ("lapsed", "lapsed_certification") in kinds
    assert ("dwhit", "after_hours") in kinds
    assert ("dwhit", "denied_access") in kinds
    assert ("rchen", "lapsed_certification") not in kinds
    with pytest.raises(ServiceError, match="already exists"):
        monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")


def test_search_spike_against_own_history(app, make_user, clock):
    at(clock, 1)
    reviewer = make_user(Role.REVIEWER, username="busy")
    requester = make_user(Role.REQUESTER)
    clock.now = datetime(2026, 9, 10, 18, tzinfo=UTC)
    searched(reviewer, request_for(requester, case="A"), clock)
    for day in range(1, 13):
        at(clock, day)
        searched(reviewer, request_for(requester, case=f"B{day}"), clock)
    clock.now = datetime(2026, 11, 2, 18, tzinfo=UTC)
    audit = monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    assert any(f.kind == "search_spike" and f.username == "busy" for f in audit.flags)


@pytest.mark.clause("AU-4")
def test_files_hashes_and_no_event_changed(app, month_of_work):
    before = [(e.seq, e.hash) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    audit = monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    db.session.commit()
    after = [(e.seq, e.hash) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert after[: len(before)] == before and verify_chain().ok
    csv_bytes = Path(app.instance_path, audit.csv_path).read_bytes()
    assert monthly_audit.hashlib.sha256(csv_bytes).hexdigest() == audit.csv_sha256
    exported = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
    assert [r["username"] for r in exported] == [r["username"] for r in audit.figures]
    assert Path(app.instance_path, audit.pdf_path).read_bytes().startswith(b"%PDF")


@pytest.mark.clause("AU-3")
def test_flags_cleared_then_signed_off(month_of_work, make_user):
    admin = make_user(Role.ADMIN)
    audit = monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    with pytest.raises(ServiceError, match="open flag"):
        monthly_audit.sign_off(audit, actor=admin, note="ok")
    for flag in audit.flags:
        monthly_audit.clear_flag(flag, actor=admin, note="Reviewed with the supervisor")
    monthly_audit.sign_off(audit, actor=admin, note="Month reviewed")
    db.session.commit()
    assert audit.signed_off_by_id == admin.id


def test_checkpoint_detects_a_deleted_tail(month_of_work, runner, intruder):
    audit = monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    db.session.commit()
    assert checkpoints.verify_checkpoints() == []
    # an intruder deletes the newest events and fixes the head so the chain alone looks whole
    cut = audit.chain_head_seq - 2
    db.session.execute(text("DELETE FROM audit_event WHERE seq > :cut"), {"cut": cut})
    survivor = db.session.get(AuditEvent, cut)
    db.session.execute(update(AuditChainHead).values(last_seq=cut, last_hash=survivor.hash))
    db.session.commit()
    assert verify_chain().ok  # the chain alone cannot tell
    problems = checkpoints.verify_checkpoints()
    assert problems and "truncated" in problems[0].problem
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "CHECKPOINT OF 2026-10" in result.output


@pytest.mark.clause("AU-4")
def test_retention_after_five_years(app, month_of_work, clock):
    audit = monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    db.session.commit()
    pdf = Path(app.instance_path, audit.pdf_path)
    clock.advance(days=365 * 5 - 40)
    assert monthly_audit.purge_expired_audits() == []
    clock.advance(days=70)
    assert monthly_audit.purge_expired_audits() == [MONTH]
    db.session.commit()
    assert not pdf.exists()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.retention_purge")).one()
    assert MONTH in event.detail


def test_cli_and_unfinished_month(month_of_work, runner):
    result = runner.invoke(args=["audit", "monthly", MONTH])
    assert result.exit_code == 0 and "Monthly audit 2026-10" in result.output
    unfinished = runner.invoke(args=["audit", "monthly", "2026-11"])
    assert unfinished.exit_code != 0 and "not over" in unfinished.output
    assert runner.invoke(args=["audit", "monthly", "October"]).exit_code != 0


def test_monthly_pages(month_of_work, auth, client, make_user):
    monthly_audit.generate_monthly_audit(MONTH, generated_by="tests")
    db.session.commit()
    auth.login(make_user(Role.ADMIN))
    page = client.get(f"/admin/monthly/{MONTH}").get_data(as_text=True)
    assert "no case number" in page and "rchen" in page
    assert client.get(f"/admin/monthly/{MONTH}/file.csv").mimetype == "text/csv"


def test_the_month_so_far_can_be_previewed_and_nothing_is_kept(month_of_work, auth, client, make_user, clock):
    at(clock, 20)  # still October: its audit cannot be generated yet, but it can be looked at
    auth.login(make_user(Role.ADMIN))
    assert "The month so far (a preview)" in client.get("/admin/monthly").get_data(as_text=True)
    page = client.get("/admin/monthly/current").get_data(as_text=True)
    assert "The month so far · 2026-10" in page and "no case number" in page and "rchen" in page
    assert db.session.scalars(select(monthly_audit.MonthlyAudit)).all() == []  # nothing generated
    looked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.monthly_preview")).one()
    assert looked.object_id == "2026-10"
