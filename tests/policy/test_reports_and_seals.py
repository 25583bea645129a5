"""Sealed records and the report's words: once sealed, a record never appears in anything
issued after the seal; the Manual Search Report says what the template says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, DecisionOutcome, Report, ReportBooking, ReviewState
from app.services.gallery.sealing import seal_booking
from app.services.oversight.monthly_figures import compute_month
from app.services.platform.errors import ServiceError
from app.services.reports import issuance as report_service
from app.services.review import assignments, workflow
from tests.gallery import booking_number_for
from tests.support.reports import disputed, no_match, pdf_text, verified


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


@pytest.mark.clause("MR-2", "MR-5", "MR-6")
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
    for words in (  # the property paragraph, word for word
        "This document is the property of the County Sheriff's Department and is prepared for the limited "
        "purpose of information sharing.",
        "This information is designated U//LES and is shared in confidence.",
        "It may be shared with other LE agencies but may not be posed within public view.",
        "This document must not be reclassified in any way, in whole or part.",
    ):
        assert words in " ".join(text.split()), words
    # the provenance block comes after the template's closing paragraphs
    assert text.index("How this result was reached") > text.index("Questions about this document")


@pytest.mark.clause("MR-3")
def test_the_report_names_the_examiner_who_did_the_work(gallery_app, people, submitted):
    """Found: every report printed the verifier as "Face Reviewer" and the examiner as verifying."""
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["admin"])
    db.session.commit()
    text = pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    assert "Face Reviewer Riley Chen" in text and "Verifying Reviewer Sam Ortiz (agreed)" in text
    assert "Third Reviewer" not in text


@pytest.mark.clause("MR-3")
def test_a_settled_dispute_names_each_reviewer_for_their_step(gallery_app, people, submitted):
    third = people["third"]
    search = disputed(submitted, people)
    assignments.reassign(submitted, admin=people["admin"], reviewer=third, reason="Disputed lead")
    no_match(submitted, third, search)
    report = report_service.issue_report(submitted, actor=people["admin"])
    db.session.commit()
    text = pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    assert "Face Reviewer Riley Chen" in text and "Verifying Reviewer Sam Ortiz (disagreed)" in text
    assert "Third Reviewer Kim Lee" in text
    assert workflow.decisions(submitted)[-1].reviewer_id == third.id


def later_booking(lead: Booking, number: str = "BK-LATER-1") -> Booking:
    """Another booking of the lead's person, booked later: the report's "Recent booking number"."""
    later = Booking(
        booking_number=number,
        subject=lead.subject,
        booking_date=date(2026, 5, 1),
        photo_path=lead.photo_path,
        photo_sha256=lead.photo_sha256,
        photo_format=lead.photo_format,
    )
    db.session.add(later)
    db.session.commit()
    return later


@pytest.mark.clause("SR-2", "SR-3", "MR-4", "SD-5")
def test_sealing_the_recent_booking_a_report_printed_notices_it(
    gallery_app, auth, client, people, submitted, clock
):
    """Found: sealing the booking printed as "Recent booking number" flagged nothing, the agency
    downloaded the report again, and the page said the agencies had been notified."""
    recent = later_booking(the_lead())
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    assert "BK-LATER-1" in pdf_text(Path(gallery_app.instance_path, report.file_path).read_bytes())
    auth.login(people["admin"])
    response = auth.post(
        "/reports/sealed",
        {"booking_number": "BK-LATER-1", "reference": "PC 851.8 #12"},
        token_from="/reports/sealed",
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 issued report(s) that printed it carry a destroy notice" in page
    db.session.refresh(report)
    assert report.seal_notice_at is not None and report.seal_reference == "PC 851.8 #12" and recent.sealed
    auth.logout()
    auth.login(people["requester"])
    assert report.report_number in client.get("/").get_data(as_text=True)  # the notice reaches the agency
    assert client.get(f"/reports/{report.id}/download").status_code != 200  # and the file is not served again
    month = clock.now.strftime("%Y-%m")
    rows, _ = compute_month(month)
    assert (
        next(r for r in rows if r["username"] == people["requester"].username)["seal_notices_received"] == 1
    )


@pytest.mark.clause("SR-2")
def test_sealing_a_booking_no_report_printed_says_so(auth, client, people, submitted):
    later_booking(the_lead(), "BK-NEVER-PRINTED")
    auth.login(people["admin"])
    response = auth.post(
        "/reports/sealed",
        {"booking_number": "BK-NEVER-PRINTED", "reference": "PC 851.8 #13"},
        token_from="/reports/sealed",
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "no issued report printed it" in page and "have been notified" not in page


@pytest.mark.clause("SR-2", "SR-3")
def test_a_correction_racing_a_seal_is_refused_or_noticed(gallery_app, people, submitted):
    """Found: a correction finishing while its lead was being sealed issued a version naming
    the sealed person, with no notice."""
    from tests.support.live import at_once

    verified(submitted, people)
    report_id = report_service.issue_report(submitted, actor=people["first"]).id
    lead_id = the_lead().id
    db.session.commit()

    def act(i: int):
        with gallery_app.app_context():
            try:
                if i == 0:
                    report = db.session.get(Report, report_id)
                    report_service.correct_report(
                        report, actor=people["admin"], reason="Comments", comments="x"
                    )
                else:
                    seal_booking(db.session.get(Booking, lead_id), reference="PC 851.8 #14", actor=None)
                db.session.commit()
                return "done"
            except ServiceError as err:
                db.session.rollback()
                return err.message
            finally:
                db.session.remove()

    outcomes = at_once(2, act)
    assert outcomes[1] == "done"
    db.session.expire_all()
    printed = db.session.scalars(
        select(Report)
        .join(ReportBooking, ReportBooking.report_id == Report.id)
        .where(ReportBooking.booking_id == lead_id)
    ).all()
    assert printed and all(r.seal_notice_at is not None for r in printed)  # every version that names it


@pytest.mark.clause("SR-3")
def test_the_closed_workspace_no_longer_shows_a_sealed_booking_number(auth, client, people, submitted):
    verified(submitted, people)
    report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    auth.login(people["first"])
    url = f"/review/requests/{submitted.id}"
    number = the_lead().booking_number
    assert number in client.get(url).get_data(as_text=True)
    seal_booking(the_lead(), reference="PC 851.8 #15", actor=people["admin"])
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert number not in page and "sealed record" in page


def test_a_first_decision_tells_the_other_certified_reviewers(people, submitted):
    """The first decision is in: the other certified reviewers hear that a blind verification
    waits (not the one who decided, not an uncertified reviewer)."""
    from app.models import OutboxMessage

    verified(submitted, people)
    waiting = select(OutboxMessage).where(OutboxMessage.kind == "verification_waiting")
    told = {m.to_address for m in db.session.scalars(waiting)}
    assert told == {people["second"].email, people["third"].email}
