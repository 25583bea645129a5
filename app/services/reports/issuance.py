"""Issuing Manual Search Reports, corrections, delivery, lead outcomes, sealed records.

Once a booking is sealed it never appears in anything issued after the seal: a report, a
correction or its "recent booking number" (``require_unsealed``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.clock import utcnow
from app.documents.base import UnprintableText
from app.documents.report import ReportData, render_report
from app.extensions import db
from app.matching.images import encode_jpeg, load_image
from app.matching.processing import describe_step
from app.models import (
    Booking,
    Capacity,
    DecisionOutcome,
    FaceSearch,
    LeadOutcome,
    Outcome,
    Report,
    ReportBooking,
    ReviewDecision,
    ReviewState,
    Role,
    SearchRequest,
    User,
)
from app.services.gallery.sealing import booking_key, most_recent_unsealed, require_unsealed
from app.services.identity.accounts import sees_agency, speaks_for_agency
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, record_event
from app.services.oversight.reads import record_read
from app.services.platform import storage, throttle
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.review.decisions import final_decision
from app.services.review.probes import prepare_spec
from app.services.review.workflow import Action, Step, advance, decisions, require
from app.services.review.worksheets import lead_worksheets

REPORT_IMAGE_SIDE = 600  # pixels: sharp on paper, small in the PDF


def _processed_probe(search: FaceSearch, probe_id: int) -> tuple[bytes, list[str]]:
    spec = next(p for p in search.probe_list if p["probe_image_id"] == probe_id)
    prepared = prepare_spec(spec)
    return encode_jpeg(prepared.pixels, quality=88, max_side=REPORT_IMAGE_SIDE), [
        describe_step(s) for s in spec["steps"]
    ]


def _name(user_id: int) -> str:
    user = db.session.get(User, user_id)
    return user.full_name if user else "—"


def build_report_data(
    request: SearchRequest,
    decision: ReviewDecision,
    *,
    report_number: str,
    version: int,
    issued_on: str,
    comments: str,
    supersedes: Report | None = None,
    correction_reason: str | None = None,
) -> ReportData:
    config = current_app.config
    reviewers = reviewers_of(request)
    search = db.session.get(FaceSearch, decision.search_id) if decision.search_id else None
    entries = search.result_list if search else []
    common = {
        "unit_name": config["UNIT_NAME"],
        "unit_contact": config["UNIT_CONTACT"],
        "owner_agency": config.get("UNIT_AGENCY_NAME") or config["UNIT_NAME"],
        "report_number": report_number,
        "version": version,
        "case_number": request.tracking_number,
        "submitted_by": f"{request.requester_name} "
        f"({request.requester_email or request.requester_phone or '—'})",
        "date_searched": search.created_at.strftime("%Y-%m-%d") if search else "—",
        "investigating_agency": request.agency.name,
        "face_reviewer": reviewers.face_reviewer,
        "verifying_reviewer": reviewers.verifying_reviewer,
        "third_reviewer": reviewers.third_reviewer,
        "agency_case_number": request.case_number,
        "issued_on": issued_on,
        "comments": comments,
        "candidate_list_size": len(entries),
        "model_id": search.model_id if search else "—",
        "index_version": str(search.index_version) if search and search.index_version else "—",
        "supersedes": supersedes.report_number if supersedes else None,
        "correction_reason": correction_reason,
        "logo": _logo(),
    }
    if decision.outcome is DecisionOutcome.NO_MATCH:
        steps = [describe_step(s) for p in search.probe_list for s in p["steps"]] if search else []
        return ReportData(kind="no_match", processing_steps=steps, **common)
    booking = db.session.get(Booking, decision.lead_booking_id)
    recent = hold_printed_bookings(booking)
    entry = next(e for e in entries if e["booking_id"] == booking.id)
    probe_jpeg, steps = _processed_probe(search, entry["found_by"][0])
    subject = booking.subject
    return ReportData(
        kind="lead",
        probe_image=probe_jpeg,
        lead_image=encode_jpeg(
            load_image(storage.path_of(booking.photo_path)).pixels, quality=88, max_side=REPORT_IMAGE_SIDE
        ),
        name=subject.name,
        date_of_birth=subject.date_of_birth.isoformat() if subject.date_of_birth else "—",
        cdl=subject.cdl or "—",
        main_number=subject.main_number or "—",
        sid=subject.sid or "—",
        booking_number=recent.booking_number,
        repository=booking.repository or config["REPOSITORY_NAME"],
        lead_rank=entry["rank"],
        after_reveal=decision.after_reveal,
        processing_steps=steps,
        printed_bookings=((booking.id, "lead"), (recent.id, "recent")),
        worksheets=lead_worksheets(decisions(request), booking, unit_name=config["UNIT_NAME"])
        if config["REPORT_WORKSHEETS"]
        else (),
        **common,
    )


@dataclass(frozen=True)
class Reviewers:
    """Who did each step of the review, as the report names them."""

    face_reviewer: str
    verifying_reviewer: str
    third_reviewer: str | None


def reviewers_of(request: SearchRequest) -> Reviewers:
    """The examiner who searched, compared and decided first is the Face Reviewer; then the
    blind verifier (and whether they agreed) and the third reviewer who settled a dispute."""
    made = {d.capacity: d for d in decisions(request)}  # the standing decision of each capacity
    first, second, third = (made.get(c) for c in (Capacity.PRIMARY, Capacity.VERIFIER, Capacity.THIRD))
    verifying = "—"
    if second is not None:
        agreed = first is not None and (second.outcome, second.lead_booking_id) == (
            first.outcome,
            first.lead_booking_id,
        )
        verifying = f"{_name(second.reviewer_id)} ({'agreed' if agreed else 'disagreed'})"
    return Reviewers(
        face_reviewer=_name(first.reviewer_id) if first else "—",
        verifying_reviewer=verifying,
        third_reviewer=_name(third.reviewer_id) if third else None,
    )


def hold_printed_bookings(lead: Booking) -> Booking:
    """Lock the lead and the booking printed as its person's recent one, then check neither is
    sealed, as they are now: a seal (which takes the same locks) either comes first and this
    refuses, or comes after and finds the report among those that printed them. Returns the
    recent booking."""
    for booking in lead.subject.bookings:  # a seal committed since this began: refused plainly
        db.session.refresh(booking)
    require_unsealed(lead)
    for booking_id in sorted({lead.id, most_recent_unsealed(lead).id}):
        throttle.hold(booking_key(booking_id))
    db.session.refresh(lead)
    require_unsealed(lead)
    for booking in lead.subject.bookings:
        db.session.refresh(booking)
    return most_recent_unsealed(lead)


def _logo() -> bytes | None:
    logo = current_app.config.get("REPORT_LOGO")
    if not logo:
        return None
    path = storage.path_of(logo)  # an absolute setting stays absolute
    return path.read_bytes() if path.exists() else None


def report_comments_from(request: SearchRequest) -> str:
    """The decisions' comments, offered (editable) as the report's comments."""
    if request.review_state is not ReviewState.VERIFIED:
        return ""
    return "\n".join(d.comments for d in decisions(request) if d.comments)


def _require_issuer(actor: User) -> None:
    if actor.role not in (Role.REVIEWER, Role.ADMIN):
        raise PermissionDenied("Only reviewers and administrators issue reports.")


def issue_report(request: SearchRequest, *, actor: User, comments: str = "") -> Report:
    """Issue the report for a verified request: numbered, stored with its hash, immutable."""
    require(request, actor, Action.ISSUE_REPORT)
    decision = final_decision(request)
    number = f"{request.tracking_number}-R1"
    issued_at = utcnow()
    data = build_report_data(
        request,
        decision,
        report_number=number,
        version=1,
        issued_on=issued_at.strftime("%Y-%m-%d"),
        comments=comments.strip(),
    )
    report = _save(request, decision, data, actor=actor, issued_at=issued_at, comments=comments)
    advance(request, Step.ISSUE_LEAD if data.kind == "lead" else Step.ISSUE_NO_MATCH)
    record_event(
        "report.issue",
        actor=actor,
        object_type="report",
        object_id=report.id,
        detail={
            "report_number": number,
            "sha256": report.sha256,
            "kind": data.kind,
            "request": request.tracking_number,
        },
    )
    tell.report_issued(report)
    return report


def _save(
    request,
    decision,
    data: ReportData,
    *,
    actor: User,
    issued_at,
    comments: str,
    supersedes: Report | None = None,
    reason: str | None = None,
) -> Report:
    try:
        pdf = render_report(data)
    except UnprintableText as err:
        raise ServiceError(str(err)) from None
    sha = hashlib.sha256(pdf).hexdigest()
    path = storage.store(f"reports/{sha}.pdf", pdf, read_only=True)  # issued reports never change
    report = Report(
        report_number=data.report_number,
        request_id=request.id,
        version=data.version,
        kind=data.kind,
        decision_id=decision.id,
        lead_booking_id=decision.lead_booking_id if data.kind == "lead" else None,
        file_path=path,
        sha256=sha,
        size_bytes=len(pdf),
        issued_by_id=actor.id,
        issued_at=issued_at,
        comments=comments.strip() or None,
        supersedes_id=supersedes.id if supersedes else None,
        correction_reason=reason,
    )
    try:
        with db.session.begin_nested():  # its number is unique: of two issued at once, one stands
            db.session.add(report)
    except IntegrityError:
        raise ServiceError(
            f"Report {data.report_number} was issued a moment ago by someone else: open it from the request."
        ) from None
    for booking_id, role in data.printed_bookings:
        db.session.add(ReportBooking(report_id=report.id, booking_id=booking_id, role=role))
    db.session.flush()
    return report


def correct_report(report: Report, *, actor: User, reason: str, comments: str) -> Report:
    """A correction is a new version; the old one stays on record, marked superseded."""
    _require_issuer(actor)
    if report.superseded:
        raise ServiceError("Correct the current version of the report.")
    if report.seal_notice_at is not None:
        raise ServiceError(
            "A booking this report printed has been sealed (reference "
            f"{report.seal_reference}): nothing issued after the seal may name it."
        )
    if len(reason.strip()) < 5:
        raise ServiceError("Say why the report is corrected.", field="reason")
    decision = db.session.get(ReviewDecision, report.decision_id)
    version = report.version + 1
    number = f"{report.request.tracking_number}-R{version}"
    issued_at = utcnow()
    data = build_report_data(
        report.request,
        decision,
        report_number=number,
        version=version,
        issued_on=issued_at.strftime("%Y-%m-%d"),
        comments=comments.strip(),
        supersedes=report,
        correction_reason=reason.strip(),
    )
    new = _save(
        report.request,
        decision,
        data,
        actor=actor,
        issued_at=issued_at,
        comments=comments,
        supersedes=report,
        reason=reason.strip(),
    )
    report.superseded_at = issued_at
    db.session.flush()
    record_event(
        "report.correct",
        actor=actor,
        object_type="report",
        object_id=new.id,
        reason=reason.strip(),
        detail={"report_number": number, "supersedes": report.report_number, "sha256": new.sha256},
    )
    tell.report_issued(new, corrected=True)
    return new


def reports_for(request: SearchRequest) -> list[Report]:
    return list(
        db.session.scalars(select(Report).where(Report.request_id == request.id).order_by(Report.version))
    )


def can_open_report(report: Report, actor: User) -> bool:
    """A superseded version stays on record for staff; the agency sees the current one."""
    return sees_agency(actor, report.request.agency_id) and (
        actor.role is not Role.REQUESTER or not report.superseded
    )


def can_download_report(report: Report, actor: User) -> bool:
    """The file itself: never once a booking it printed was sealed."""
    return can_open_report(report, actor) and not report.withheld


def read_report(report: Report, *, actor: User) -> bytes:
    """The stored PDF, checked against its recorded hash; every read is audited."""
    if report.withheld:
        raise PermissionDenied(
            "This report printed a record that has since been sealed: it is no longer served. Destroy any "
            "copy your agency holds and confirm it on the report's page."
        )
    if not can_open_report(report, actor):
        raise PermissionDenied("This version was superseded; download the current one.")
    try:
        data = storage.read_verified(report.file_path, report.sha256)
    except storage.StoredFileDamaged:
        current_app.logger.error("report %s: stored file does not match its recorded hash", report.id)
        raise ServiceError(
            "The stored report file does not match its record; the unit has been alerted.",
            audit_action="report.download",
            object_type=ObjectType.REPORT,
            object_id=report.id,
        ) from None
    record_read("report.download", report, actor=actor, sha256=report.sha256)
    return data


def check_copy(data: bytes, *, actor: User) -> tuple[str, Report | None]:
    """Compare a PDF someone holds with the record."""
    sha = hashlib.sha256(data).hexdigest()
    report = db.session.scalar(select(Report).where(Report.sha256 == sha))
    record_event(
        "report.verify_copy",
        actor=actor,
        object_type="report",
        object_id=report.id if report else None,
        outcome=Outcome.SUCCESS if report else Outcome.FAILED,
        detail={"sha256": sha, "matches": report is not None},
    )
    return sha, report


def save_lead_outcome(report: Report, *, actor: User, outcome: LeadOutcome, note: str) -> None:
    if report.kind != "lead":
        raise ServiceError("Only an investigative lead has an outcome to report.")
    if not speaks_for_agency(actor, report.request.agency_id):
        raise PermissionDenied("The requesting agency records what became of its lead.")
    report.lead_outcome = LeadOutcome(outcome)
    report.lead_outcome_note = note.strip() or None
    report.lead_outcome_at = utcnow()
    db.session.flush()
    record_event(
        "report.lead_outcome",
        actor=actor,
        object_type="report",
        object_id=report.id,
        detail={"outcome": str(outcome)},
    )
