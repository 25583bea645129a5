"""Sealed records (Information Bulletin 13-04-CJIS): a sealed booking leaves every search at
once; a decision that named it and was not yet issued goes back to its reviewer; every report
that named it carries a destroy notice the agency confirms, after which the file is withheld;
and nothing issued after the seal ever names it."""

from __future__ import annotations

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import Booking, Report, SearchRequest, User
from app.services.accounts import speaks_for_agency
from app.services.audit import record_event
from app.services.errors import PermissionDenied, ServiceError
from app.services.review.decisions import reopen_for_sealed


def require_unsealed(booking: Booking) -> None:
    if booking.sealed:
        raise ServiceError(
            f"The lead's record was sealed on {booking.sealed_at:%Y-%m-%d} (reference "
            f"{booking.seal_reference}): nothing issued after the seal may name it."
        )


def most_recent_unsealed(booking: Booking) -> Booking:
    """The subject's most recent booking that is not sealed ("Recent booking number")."""
    open_bookings = [b for b in booking.subject.bookings if not b.sealed]
    return max(open_bookings, key=lambda b: (b.booking_date or b.created_at.date(), b.id))


def flag_reports_for_sealed(booking: Booking, *, actor: User | None) -> list[Report]:
    """Every issued report that named ``booking`` as the lead gets a destroy notice."""
    flagged = list(
        db.session.scalars(
            select(Report).where(Report.lead_booking_id == booking.id, Report.seal_notice_at.is_(None))
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
            detail={"report_number": report.report_number, "agency": report.request.agency.code},
        )
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


def seal_booking(booking: Booking, *, reference: str, actor: User | None) -> Booking:
    """Mark a record sealed: from this moment no search returns it (before any rebuild)."""
    reference = reference.strip()
    if not reference:
        raise ServiceError("A sealing reference (order or notice number) is required.", field="reference")
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
    reopen_for_sealed(booking, actor=actor)  # decided on but not yet issued: decide again
    flag_reports_for_sealed(booking, actor=actor)  # already issued: the agency destroys its copy
    return booking
