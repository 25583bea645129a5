"""The interconnect between units (CAFRI): the peers this unit trusts, the searches it answered
for them and what it disclosed (the answering side), and the candidates it holds from them (the
asking side). Sealed records, the audit and the policy stay each unit's own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.gallery import Booking
from app.models.types import JSONValue, UTCDateTime


class InterconnectPeer(db.Model):
    """Another county's LeadDesk: its name (the common name of its certificate), where it
    answers, and the authority's certificate its certificate must chain to."""

    __tablename__ = "interconnect_peer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(300))
    authority_pem: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    searched_by_default: Mapped[bool] = mapped_column(default=True)
    rate_per_minute: Mapped[int] = mapped_column(default=60)  # searches it may ask of this unit
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))  # answered | down | slow | invalid | refused
    last_error: Mapped[str | None] = mapped_column(String(500))
    seals_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PeerSearch(db.Model):
    """A search this unit answered for a peer: who asked, from which unit, why."""

    __tablename__ = "peer_search"
    __table_args__ = (Index("ix_peer_search_peer_received", "peer_name", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_name: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    case_number: Mapped[str] = mapped_column(String(60))
    purpose: Mapped[str] = mapped_column(String(40))
    tracking_number: Mapped[str] = mapped_column(String(20))
    reviewer_name: Mapped[str] = mapped_column(String(200))
    reviewer_certification: Mapped[str] = mapped_column(String(80))
    model_id: Mapped[str] = mapped_column(String(64))
    probes: Mapped[int] = mapped_column()
    candidates: Mapped[int] = mapped_column(default=0)


class PeerDisclosure(db.Model):
    """One candidate this unit returned to a peer, under an opaque reference: what the peer
    may later ask for (the comparison image, the record once it concludes) and what a seal
    here must reach."""

    __tablename__ = "peer_disclosure"
    __table_args__ = (Index("ix_peer_disclosure_peer_revealed", "peer_name", "revealed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    peer_name: Mapped[str] = mapped_column(String(40))
    peer_search_id: Mapped[int] = mapped_column(ForeignKey("peer_search.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
    search: Mapped[PeerSearch] = relationship()


class RemoteCandidate(db.Model):
    """A candidate from a peer's repository, held here as a booking of that repository (so the
    comparison, the decision, the report and the seal work on it as on a local one). Until the
    reviewer concludes, the booking carries no identity: its record is fetched at the reveal."""

    __tablename__ = "remote_candidate"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), unique=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("interconnect_peer.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    chip_path: Mapped[str] = mapped_column(String(300))  # the aligned comparison image the peer sent
    chip_landmarks: Mapped[list | None] = mapped_column(JSONValue)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    booking: Mapped[Booking] = relationship()
    peer: Mapped[InterconnectPeer] = relationship()
