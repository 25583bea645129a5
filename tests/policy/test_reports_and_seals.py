"""Sealed records and the report's words: once sealed, a record never appears in anything
issued after the seal; the Manual Search Report says what the template says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, DecisionOutcome, ReviewState
from app.services import reports as report_service
from app.services import workflow
from app.services.errors import ServiceError
from app.services.review import assignments
from app.services.sealed_records import seal_booking
from tests.blueprints.test_reports import disputed, no_match, pdf_text, verified
from tests.gallery import booking_number_for


@pytest.fixture
def app(gallery_app):
    return gallery_app


def the_lead() -> Booking:
    return db.session.scalar(select(Booking).where(Booking.booking_number == booking_number_for("john_simm")))


@pytest.mark.clause("SR-3")
def test_a_lead_sealed_after_verification_is_never_issued(people, submitted):
    """Found: a lead sealed after verification was still issued and printed, with no notice."""
    verified(submitted, people)
    seal_booking(the_lead(), reference="PC 851.91 #9", actor=people["admin"])
    db.session.commit()
    db.session.refresh(submitted)
    assert submitted.review_state is ReviewState.CLAIMED  # back to its reviewer, decisions void
    with pytest.raises(ServiceError):
        report_service.issue_report(submitted, actor=people["admin"])
    db.session.rollback()
    assert report_service.reports_for(submitted) == []


@pytest.mark.clause("SR-3", "SR-2")
def test_a_flagged_report_is_not_corrected_into_a_new_one(gallery_app, people, submitted):
    """Found: a correction of a flagged report went out as -R2 with no notice."""
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    seal_booking(the_lead(), reference="PC 851.91 #10", actor=people["admin"])
    db.session.commit()
    db.session.refresh(report)
    assert report.seal_notice_at is not None
    with pytest.raises(ServiceError, match="sealed"):
        report_service.correct_report(report, actor=people["admin"], reason="Typo in comments", comments="x")
    db.session.rollback()
    assert [r.report_number for r in report_service.reports_for(submitted)] == [report.report_number]


@pytest.mark.clause("SR-3", "MR-4")
def test_the_recent_booking_number_is_never_a_sealed_one(gallery_app, people, submitted, clock):
    """Found: "Recent booking number" printed a later, sealed booking of the same subject."""
    lead = the_lead()
    later = Booking(
        booking_number="BK-LATER-SEALED",
        subject=lead.subject,
        booking_date=date(2026, 1, 5),
        photo_path=lead.photo_path,
        photo_sha256=lead.photo_sha256,
        photo_format=lead.photo_format,
        sealed=True,
        sealed_at=clock.now,
        seal_reference="PC 851.8 #3",
    )
    db.session.add(later)
    db.session.commit()
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    text = pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    assert lead.booking_number in text and "BK-LATER-SEALED" not in text


@pytest.mark.clause("MR-2", "MR-5")
def test_the_report_says_what_the_template_says(gallery_app, people, submitted):
    verified(submitted, people, outcome=DecisionOutcome.NO_MATCH)
    report = report_service.issue_report(submitted, actor=people["admin"])
    db.session.commit()
    text = pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    assert (
        "IT IS AN INVESTIGATIVE LEAD ONLY, AND FURTHER INVESTIGATION IS NEEDED THIS IS NOT PROBABLE CAUSE"
        in text
    )
    assert "The County Sheriff's Department has determined that the image(s) provided" in text
    assert "the County Sheriff's Department has determined" not in text
    # the provenance block comes after the template's closing paragraphs
    assert text.index("How this result was reached") > text.index("Questions about this document")


@pytest.mark.clause("MR-3")
def test_the_face_reviewer_is_whoever_made_the_reported_decision(gallery_app, people, submitted):
    """Found: "Face Reviewer" named the first reviewer even when a third reviewer decided."""
    third = people["third"]
    search = disputed(submitted, people)
    assignments.reassign(submitted, admin=people["admin"], reviewer=third, reason="Disputed lead")
    no_match(submitted, third, search)
    report = report_service.issue_report(submitted, actor=people["admin"])
    db.session.commit()
    text = pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    assert "Face Reviewer Kim Lee" in text and "Verifying Reviewer Sam Ortiz" in text
    assert workflow.decisions(submitted)[-1].reviewer_id == third.id
