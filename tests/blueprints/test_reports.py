"""The Manual Search Report: content, immutability, delivery, corrections, sealed records."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.documents.report import render_report
from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    CandidateExamination,
    DecisionOutcome,
    Report,
    RequestStatus,
    ReviewState,
    Role,
)
from app.services.gallery.search import search_descriptor
from app.services.reports import issuance as report_service
from app.services.review import assignments, probes
from tests.gallery import booking_number_for
from tests.support.reports import pdf_text, verified


@pytest.fixture
def app(gallery_app):
    """These tests run against the enrolled gallery."""
    return gallery_app


def image_count(data: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"]
        if "/XObject" in resources:
            count += sum(1 for x in resources["/XObject"].values() if x.get_object()["/Subtype"] == "/Image")
    return count


@pytest.mark.clause("MR-1", "MR-3", "MR-4", "MR-6", "DB-4")
def test_lead_report_carries_every_field_and_marking(gallery_app, auth, client, people, submitted):
    booking = db.session.scalar(
        select(Booking).where(Booking.booking_number == booking_number_for("john_simm"))
    )
    booking.subject.name = "José Núñez-Ávila"  # accents must print
    db.session.commit()
    verified(submitted, people, processing=[{"op": "contrast", "factor": 1.1}])
    report = report_service.issue_report(
        submitted, actor=people["first"], comments="Arrested 2024 in Long Beach."
    )
    db.session.commit()
    assert submitted.status is RequestStatus.LEAD_ISSUED and submitted.review_state is ReviewState.CLOSED
    data = Path(gallery_app.instance_path, report.file_path).read_bytes()
    text = pdf_text(data)
    for expected in (
        "UNCLASSIFIED//LAW ENFORCEMENT SENSITIVE",
        "Cal-ID / Facial Recognition Unit",
        "Manual Search Report",
        "THIS IS NOT A POSITIVE IDENTIFICATION",
        "NOT PROBABLE CAUSE TO ARREST",
        "Facial Recognition Case Number",
        submitted.tracking_number,
        "Submitted by",
        "Dana Whitfield",
        "Date Searched",
        "Investigating Agency",
        "Harbor City PD",
        "Face Reviewer",
        "Riley Chen",
        "Verifying Reviewer",
        "Sam Ortiz",
        "Agency Case Number",
        "HC-2026-0042",
        "Submitted Image (Probe)",
        "Investigative Lead Image",
        "deemed viable",
        "José Núñez-Ávila",
        "Date of Birth",
        "1970-01-02",
        "CDL",
        "MAIN #",
        "SID",
        "Recent booking number",
        booking_number_for("john_simm"),
        "Arrested 2024 in Long Beach",
        "Candidate list size",
        "Rank of the lead",
        "Index version",
        "Probe processed",
        "Contrast",
        "Information Bulletin 13-04-CJIS",
        "Investigative lead only",
        "Page 1 of",
        report.report_number,
    ):
        assert expected in text, expected
    assert image_count(data) >= 2
    assert report_service.hashlib.sha256(data).hexdigest() == report.sha256


def test_second_render_is_byte_identical(gallery_app, people, submitted):
    verified(submitted, people)
    decision = report_service.final_decision(submitted)
    args = {"report_number": "X-R1", "version": 1, "issued_on": "2026-11-22", "comments": "c"}
    first = render_report(report_service.build_report_data(submitted, decision, **args))
    second = render_report(report_service.build_report_data(submitted, decision, **args))
    assert first == second


@pytest.mark.clause("MR-5")
def test_no_match_report(gallery_app, people, submitted):
    verified(submitted, people, outcome=DecisionOutcome.NO_MATCH)
    report = report_service.issue_report(submitted, actor=people["admin"])
    db.session.commit()
    text = pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    assert "did not result in a possible match in the digital mugshot repository" in text
    assert "A new facial recognition search request form must be completed" in text
    assert "UNCLASSIFIED//LAW ENFORCEMENT SENSITIVE" in text and "Investigative Lead Image" not in text
    assert submitted.status is RequestStatus.NO_MATCH


@pytest.mark.clause("DOC-1")
def test_report_needs_verification(people, submitted):
    assignments.claim(submitted, reviewer=people["first"])
    with pytest.raises(report_service.ServiceError, match="issued only after the decision has been verified"):
        report_service.issue_report(submitted, actor=people["first"])


def test_delivery_verification_and_tampering(gallery_app, auth, client, people, submitted):
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    auth.login(people["requester"])
    page = client.get(f"/requests/{submitted.id}").get_data(as_text=True)
    assert report.report_number in page
    pdf = client.get(f"/reports/{report.id}/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.download")).all()
    good = auth.post(
        "/reports/verify",
        {"pdf": (io.BytesIO(pdf.data), "copy.pdf")},
        token_from="/reports/verify",
        content_type="multipart/form-data",
    )
    assert "Authentic" in good.get_data(as_text=True)
    tampered = bytearray(pdf.data)
    tampered[len(tampered) // 2] ^= 0x01
    bad = auth.post(
        "/reports/verify",
        {"pdf": (io.BytesIO(bytes(tampered)), "copy.pdf")},
        token_from="/reports/verify",
        content_type="multipart/form-data",
    )
    assert "No issued report has this content" in bad.get_data(as_text=True)
    # a changed stored file is refused, not served
    stored = Path(gallery_app.instance_path, report.file_path)
    stored.chmod(0o640)
    stored.write_bytes(bytes(tampered))
    refused = client.get(f"/reports/{report.id}/download")
    assert refused.status_code == 302
    assert "does not match its record" in client.get(refused.headers["Location"]).get_data(as_text=True)


def test_other_agency_cannot_see_or_download(auth, client, people, submitted, make_user, make_agency):
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    auth.login(make_user(Role.REQUESTER, agency=make_agency(code="VSS")))
    assert client.get(f"/reports/{report.id}").status_code == 404
    assert client.get(f"/reports/{report.id}/download").status_code == 404
    denied = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert denied.action == "access.denied" and denied.object_type == "report"


def test_correction_supersedes_and_old_stays_for_admins(auth, client, people, submitted):
    verified(submitted, people)
    old = report_service.issue_report(submitted, actor=people["first"], comments="first")
    new = report_service.correct_report(
        old, actor=people["admin"], reason="Wrong comment", comments="corrected"
    )
    db.session.commit()
    assert new.version == 2 and new.report_number.endswith("-R2") and old.superseded
    assert new.sha256 != old.sha256
    auth.login(people["requester"])
    assert "superseded" in client.get(f"/requests/{submitted.id}").get_data(as_text=True)
    assert client.get(f"/reports/{old.id}/download").status_code == 302  # refused with a message
    assert client.get(f"/reports/{new.id}/download").status_code == 200
    auth.logout()
    auth.login(people["admin"])
    assert client.get(f"/reports/{old.id}/download").status_code == 200


@pytest.mark.clause("SR-1", "SR-2")
def test_sealing_flags_exactly_the_reports_that_named_it(gallery_app, auth, client, people, submitted):
    search = verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    lead = report.lead_booking
    other_booking = db.session.scalar(select(Booking).where(Booking.id != lead.id))
    auth.login(people["admin"])
    response = auth.post(
        "/reports/sealed",
        {"booking_number": lead.booking_number, "reference": "PC 851.8 #77"},
        token_from="/reports/sealed",
    )
    assert response.status_code == 302
    db.session.refresh(report)
    assert report.seal_notice_at is not None and report.seal_reference == "PC 851.8 #77"
    assert report.request.id == submitted.id
    assert other_booking.sealed is False
    assert report.report_number in client.get("/reports/sealed").get_data(as_text=True)
    # the sealed record has left every search
    probe = probes.prepare_spec(search.probe_list[0])
    found = [c.booking_id for c in search_descriptor(probe.chosen.descriptor, 50).candidates]
    assert lead.id not in found
    auth.logout()
    # the agency sees the notice, confirms destruction, and the file is withheld
    auth.login(people["requester"])
    assert report.report_number in client.get("/").get_data(as_text=True)
    auth.post(f"/reports/{report.id}/destroyed", {}, token_from=f"/reports/{report.id}")
    db.session.refresh(report)
    assert report.destroy_confirmed_by_id == people["requester"].id
    assert client.get(f"/reports/{report.id}/download").status_code == 302
    auth.logout()
    auth.login(people["admin"])
    assert (
        report.report_number not in client.get("/reports/sealed").get_data(as_text=True).split("Awaiting")[1]
    )


@pytest.mark.clause("DB-4")
def test_requester_records_the_lead_outcome(auth, client, people, submitted):
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    auth.login(people["requester"])
    auth.post(
        f"/reports/{report.id}/outcome",
        {"outcome": "corroborated", "note": "Fingerprints matched"},
        token_from=f"/reports/{report.id}",
    )
    db.session.refresh(report)
    assert report.lead_outcome.value == "corroborated" and report.lead_outcome_note == "Fingerprints matched"
    assert db.session.scalars(select(CandidateExamination)).first() is not None
    assert db.session.scalars(select(Report)).one().id == report.id


def test_a_lead_report_carries_each_examiners_worksheet_unless_the_unit_turns_it_off(
    gallery_app, people, submitted
):
    verified(submitted, people)
    decision = report_service.final_decision(submitted)
    args = {"report_number": "X-R1", "version": 1, "issued_on": "2026-11-22", "comments": ""}
    text = pdf_text(render_report(report_service.build_report_data(submitted, decision, **args)))
    assert "Appendix 1: examiner's worksheet of the lead · Riley Chen" in text
    assert "Appendix 2: examiner's worksheet of the lead · Sam Ortiz" in text
    assert "FISWG morphological comparison" in text and "Face/head outline" in text
    gallery_app.config["REPORT_WORKSHEETS"] = False
    text = pdf_text(render_report(report_service.build_report_data(submitted, decision, **args)))
    assert "Appendix" not in text and "FISWG morphological comparison" not in text


def test_a_preview_shows_the_report_with_the_comments_typed_and_issues_nothing(
    auth, client, people, submitted
):
    verified(submitted, people)
    auth.login(people["second"])
    url = f"/review/requests/{submitted.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Preview the report (PDF)" in page
    response = auth.post(
        f"/reports/preview/{submitted.id}", {"comments": "Seen at the pier, 2025."}, token_from=url
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert (
        "PREVIEW — NOT ISSUED" in text
        and "Seen at the pier, 2025." in text
        and "Manual Search Report" in text
    )
    assert db.session.scalars(select(Report)).all() == []  # nothing issued, numbered or stored
    assert submitted.review_state is ReviewState.VERIFIED
    read = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.preview")).one()
    assert read.actor_id == people["second"].id
    auth.logout()
    auth.login(people["requester"])  # may not issue, so may not preview
    refused = auth.post(
        f"/reports/preview/{submitted.id}", {"comments": ""}, token_from=f"/requests/{submitted.id}"
    )
    assert refused.status_code in (302, 403) and refused.mimetype != "application/pdf"


def test_characters_the_report_cannot_print_are_refused_by_name_and_nothing_is_issued(people, submitted):
    verified(submitted, people)
    with pytest.raises(report_service.ServiceError) as refused:
        report_service.issue_report(
            submitted, actor=people["first"], comments="Known as 王小明 (김) at the port."
        )
    assert "'王' (U+738B)" in refused.value.message and "'김' (U+AE40)" in refused.value.message
    assert "nothing was issued" in refused.value.message
    db.session.rollback()
    assert db.session.scalars(select(Report)).all() == []
    # Cyrillic, Armenian and Hebrew print
    report = report_service.issue_report(submitted, actor=people["first"], comments="Иван · Արամ · דוד")
    db.session.commit()
    assert "Иван · Արամ · דוד" in pdf_text(
        Path(report_service.storage.path_of(report.file_path)).read_bytes()
    )
