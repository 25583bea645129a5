"""Sealed records (Information Bulletin 13-04-CJIS): a sealed booking leaves every search at
once; a decision that named it and was not yet issued goes back to its reviewer; every report
that printed it (as the lead, or as its person's recent booking) carries a destroy notice the
agency confirms, and its file is no longer served; and nothing issued after the seal ever names
it (a seal and an issue take the same lock on each booking, so one always sees the other)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import Booking, Report, ReportBooking, SearchRequest, User
from app.services.identity.accounts import speaks_for_agency
from app.services.notify import messages as tell
from app.services.oversight.audit import record_event
from app.services.platform import throttle
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.review.decisions import reopen_for_sealed


def require_unsealed(booking: Booking) -> None:
    if booking.sealed:
        raise ServiceError(
            f"The lead's record was sealed on {booking.sealed_at:%Y-%m-%d} (reference "
            f"{booking.seal_reference}): nothing issued after the seal may name it."
        )


def booking_key(booking_id: int) -> str:
    """The lock a seal and an issue of a report printing the booking both take (``throttle``)."""
    return f"booking:{booking_id}"


def most_recent_unsealed(booking: Booking) -> Booking:
    """The subject's most recent booking that is not sealed ("Recent booking number")."""
    open_bookings = [b for b in booking.subject.bookings if not b.sealed]
    return max(open_bookings, key=lambda b: (b.booking_date or b.created_at.date(), b.id))


def flag_reports_for_sealed(booking: Booking, *, actor: User | None) -> list[Report]:
    """Every issued report that printed ``booking`` anywhere (the lead, or its person's recent
    booking) gets a destroy notice."""
    printed = select(ReportBooking.report_id).where(ReportBooking.booking_id == booking.id)
    flagged = list(
        db.session.scalars(
            select(Report).where(Report.id.in_(printed), Report.seal_notice_at.is_(None)).order_by(Report.id)
        )
    )
    now = utcnow()
    for report in flagged:
        report.seal_notice_at = now
        report.seal_reference = booking.seal_reference
        record_event(
            "report.seal_notice",
            actor=actor,
            object_type="report",
            object_id=report.id,
            reason=booking.seal_reference,
            detail={
                "report_number": report.report_number,
                "agency": report.request.agency.code,
                "booking_number": booking.booking_number,
            },
        )
        tell.sealed_notice(report)
    db.session.flush()
    return flagged


def confirm_destroyed(report: Report, *, actor: User) -> None:
    if report.seal_notice_at is None:
        raise ServiceError("There is no sealed-record notice on this report.")
    if not speaks_for_agency(actor, report.request.agency_id):
        raise PermissionDenied("The agency holding the report confirms its destruction.")
    if report.destroy_confirmed_at is not None:
        raise ServiceError("Destruction was already confirmed.")
    report.destroy_confirmed_at = utcnow()
    report.destroy_confirmed_by_id = actor.id
    db.session.flush()
    record_event(
        "report.destroy_confirm",
        actor=actor,
        object_type="report",
        object_id=report.id,
        reason=report.seal_reference,
        detail={"report_number": report.report_number},
    )


def outstanding_seal_notices() -> list[Report]:
    return list(
        db.session.scalars(
            select(Report)
            .where(Report.seal_notice_at.is_not(None), Report.destroy_confirmed_at.is_(None))
            .order_by(Report.seal_notice_at)
        )
    )


def notices_for_agency(agency_id: int) -> list[Report]:
    return list(
        db.session.scalars(
            select(Report)
            .join(SearchRequest)
            .where(
                SearchRequest.agency_id == agency_id,
                Report.seal_notice_at.is_not(None),
                Report.destroy_confirmed_at.is_(None),
            )
        )
    )


@dataclass(frozen=True)
class SealOutcome:
    booking: Booking
    requests_reopened: int
    reports_noticed: int

    def summary(self) -> str:
        parts = [f"Booking {self.booking.booking_number} sealed: it has left every search"]
        if self.requests_reopened:
            parts.append(f"{self.requests_reopened} decision(s) naming it went back to their reviewer")
        parts.append(
            f"{self.reports_noticed} issued report(s) that printed it carry a destroy notice for their agency"
            if self.reports_noticed
            else "no issued report printed it"
        )
        return "; ".join(parts) + "."


def seal_booking(booking: Booking, *, reference: str, actor: User | None) -> SealOutcome:
    """Mark a record sealed: from this moment no search returns it (before any rebuild)."""
    reference = reference.strip()
    if not reference:
        raise ServiceError("A sealing reference (order or notice number) is required.", field="reference")
    throttle.hold(booking_key(booking.id))  # a report printing it is issued before this, or refused after
    db.session.refresh(booking)
    if booking.sealed:
        raise ServiceError(
            f"Booking {booking.booking_number} was already sealed on {booking.sealed_at:%Y-%m-%d} "
            f"(reference {booking.seal_reference})."
        )
    booking.sealed = True
    booking.sealed_at = utcnow()
    booking.seal_reference = reference
    db.session.flush()
    record_event(
        "gallery.seal",
        actor=actor,
        object_type="booking",
        object_id=booking.id,
        reason=reference,
        detail={"booking_number": booking.booking_number},
    )
    reopened = reopen_for_sealed(booking, actor=actor)  # decided on but not yet issued: decide again
    noticed = flag_reports_for_sealed(booking, actor=actor)  # already issued: the agency destroys its copy
    return SealOutcome(booking, len(reopened), len(noticed))
