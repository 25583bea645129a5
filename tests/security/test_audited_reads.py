"""Every read of biometric or criminal-history data is an audited event (CJIS AU-2, the
policy's need to know): a test walks every such route and checks that one request writes
exactly one event naming who read what; a second test keeps the list complete."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ProbeWork
from app.services.oversight.monthly_audit import generate_monthly_audit, previous_month
from app.services.reports import issuance as report_service
from tests.support.reports import verified

# endpoint -> (who reads, URL template filled from the scenario)
READS = {
    "requests.detail": ("requester", "/requests/{request}"),
    "requests.image": ("requester", "/requests/{request}/images/{image}"),
    "requests.request_pdf": ("requester", "/requests/{request}/form.pdf"),
    "review.workspace": ("first", "/review/requests/{request}"),
    "review.probe": ("first", "/review/probes/{work}"),
    "review.probe_image": ("first", "/review/probes/{work}/display.jpg"),
    "review.candidates": ("first", "/review/searches/{search}"),
    "review.compare": ("first", "/review/searches/{search}/candidates/1"),
    "review.chip": ("first", "/review/searches/{search}/chips/candidate/1.png"),
    "review.source": ("first", "/review/searches/{search}/sources/probe/1"),
    "review.grid": ("first", "/review/searches/{search}/grid?rank=1&rank=2&rank=3"),
    "review.thumbnail": ("first", "/review/searches/{search}/candidates/2/thumbnail.jpg"),
    "review.worksheet": ("first", "/review/searches/{search}/candidates/1/worksheet.pdf"),
    "reports.detail": ("requester", "/reports/{report}"),
    "reports.download": ("requester", "/reports/{report}/download"),
    "admin.user": ("admin", "/admin/users/{user}"),
    "admin.users": ("admin", "/admin/users"),
    "review.queue": ("first", "/review/"),
    "admin.audit": ("admin", "/admin/audit"),
    "admin.audit_csv": ("admin", "/admin/audit.csv"),
    "admin.monthly_audit": ("admin", "/admin/monthly/{month}"),
    "admin.monthly_file": ("admin", "/admin/monthly/{month}/file.csv"),
}
# Reads whose scenario needs a recorded video: each proven there to write exactly one event.
READS_PROVEN_ELSEWHERE = {
    "requests.video_frame": "tests/intake/test_videos.py (stepping shows each frame…): one event per frame",
}
# GET pages that show no biometric or criminal-history record (and why).
NOT_READS = {
    "interconnect.seals": "a peer unit's (mutual TLS): references it was given and seal numbers, no record",
    "requests.index": "the agency's own list: tracking numbers and status",
    "requests.new": "an empty form",
    "requests.edit_draft": "the requester's own unsent draft",
    "requests.confirmation": "a tracking number",
    "reports.verify": "a form to check a PDF one holds (the check itself is audited)",
    "reports.sealed": "report numbers with outstanding notices, admins only",
    "admin.dashboard": "counts",
    "admin.transparency_figures": "counts",
    "admin.transparency_export": "counts (the export is audited)",
    "admin.agencies": "agency list",
    "admin.agency": "an agency's contact details",
    "admin.monthly_audits": "list of months",
    "admin.monthly_preview": "counts per account, the month so far (the look is audited)",
    "admin.audit_verify": "a button (the check is audited)",
    "admin.clause_map": "the policy map and counts",
    "review.justify": "a form asking why (the tracking number only)",
    "requests.video": "the frame stepper of the requester's own draft; each frame it shows is a read",
    "review.video": "the frame stepper: the video's facts; each frame shown is a read (requests.video_frame)",
}
SENSITIVE_PREFIXES = ("requests.", "review.", "reports.", "admin.", "interconnect.")


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.fixture
def scenario(people, submitted, clock):
    search = verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["second"])
    db.session.commit()
    clock.advance(days=40)
    month = generate_monthly_audit(previous_month(clock.today()), generated_by="tests")
    db.session.commit()
    work = db.session.scalars(select(ProbeWork).where(ProbeWork.reviewer_id == people["first"].id)).first()
    return {
        "request": submitted.id,
        "image": submitted.images[0].id,
        "work": work.id,
        "search": search.id,
        "report": report.id,
        "user": people["requester"].id,
        "month": month.month,
    }


@pytest.mark.clause("AU-2", "AU-1")
def test_every_read_writes_one_audit_event(app, auth, client, people, scenario):
    for endpoint, (who, template) in READS.items():
        auth.login(people[who])
        before = db.session.scalar(select(func.max(AuditEvent.seq)))
        response = client.get(template.format(**scenario))
        assert response.status_code == 200, (endpoint, response.status_code)
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.actor_id == people[who].id)
        ).all()
        reads = [e for e in events if e.action not in ("auth.login", "auth.session_end")]
        assert len(reads) == 1, (endpoint, [e.action for e in reads])
        auth.logout()


def test_the_list_of_reads_covers_every_page(app):
    """A new page must be classified: a read (audited, above) or not, with the reason."""
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint.startswith(SENSITIVE_PREFIXES)
    }
    unclassified = pages - set(READS) - set(READS_PROVEN_ELSEWHERE) - set(NOT_READS)
    assert unclassified == set(), f"classify these pages in READS or NOT_READS: {sorted(unclassified)}"
    stale = (set(READS) | set(READS_PROVEN_ELSEWHERE) | set(NOT_READS)) - pages
    assert stale == set() or stale <= {"admin.clause_map"}


def test_the_image_routes_are_all_reads(app):
    """Every route that can answer with an image or a PDF is in the list of audited reads."""
    image_like = re.compile(r"\.(png|jpg|jpeg|pdf|csv)|image|chip|thumbnail|download|sources/|frames/")
    answering_files = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and image_like.search(rule.rule) and rule.endpoint != "static"
    }
    assert answering_files - set(READS) - set(READS_PROVEN_ELSEWHERE) <= {"admin.transparency_export"}
