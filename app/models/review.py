"""The facial reviewer's work on a request: claims, probe processing, searches, candidate
examinations (FISWG checklist and conclusion), decisions and blind verification."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.accounts import User
from app.models.gallery import Booking
from app.models.requests import ProbeImage, SearchRequest
from app.models.types import JSONValue, UTCDateTime, str_enum


class Conclusion(enum.StrEnum):
    VIABLE_LEAD = "viable_lead"
    NOT_A_LEAD = "not_a_lead"
    INCONCLUSIVE = "inconclusive"

    @property
    def label(self) -> str:
        return {
            "viable_lead": "Viable investigative lead",
            "not_a_lead": "Not a lead",
            "inconclusive": "Inconclusive",
        }[self.value]


class DecisionOutcome(enum.StrEnum):
    LEAD = "lead"
    NO_MATCH = "no_match"

    @property
    def label(self) -> str:
        return "Investigative lead" if self is DecisionOutcome.LEAD else "No possible match"


class Capacity(enum.StrEnum):
    """In which role a reviewer works a request."""

    PRIMARY = "primary"  # claims, searches and decides first
    VERIFIER = "verifier"  # the blind second review
    THIRD = "third"  # assigned by an admin when the first two disagree

    @property
    def label(self) -> str:
        return {"primary": "Reviewer", "verifier": "Verifier", "third": "Third reviewer"}[self.value]


class ReviewAssignment(db.Model):
    """Who works a request, in which capacity. At most one open assignment per capacity: a
    unique index over the open rows, so two reviewers claiming at once cannot both hold it."""

    __tablename__ = "review_assignment"
    __table_args__ = (
        Index("ix_review_assignment_request_role", "request_id", "capacity"),
        Index(
            "uq_review_assignment_open",
            "request_id",
            "capacity",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    capacity: Mapped[Capacity] = mapped_column(str_enum(Capacity, "capacity", 16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])


class ProbeWork(db.Model):
    """A reviewer's handling of one probe image: suitability, chosen face, processing chain."""

    __tablename__ = "probe_work"
    __table_args__ = (UniqueConstraint("probe_image_id", "reviewer_id", name="uq_probe_work_probe_reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    probe_image_id: Mapped[int] = mapped_column(ForeignKey("probe_image.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    steps: Mapped[list] = mapped_column(JSONValue, default=list)  # [{op, params}], in order
    face_index: Mapped[int] = mapped_column(default=0)
    manual_eyes: Mapped[list | None] = mapped_column(JSONValue)  # [[x, y], [x, y]] on the processed image
    suitability: Mapped[str | None] = mapped_column(String(16))  # suitable | marginal | unsuitable
    suitability_reasons: Mapped[list] = mapped_column(JSONValue, default=list)
    quality: Mapped[dict | None] = mapped_column(JSONValue)  # FaceQuality of the chosen face
    processed_path: Mapped[str | None] = mapped_column(String(300))
    processed_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    probe: Mapped[ProbeImage] = relationship()

    @property
    def step_list(self) -> list[dict]:
        return list(self.steps or [])


class FaceSearch(db.Model):
    """One 1:N search, recorded so it can be re-run to the same list.

    A search for a request takes its case and purpose from the request; an operator's search
    from the command line (no request) records its own, so every search is counted alike.
    """

    __tablename__ = "face_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("search_request.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="web")  # web | cli
    case_number: Mapped[str | None] = mapped_column(String(60))  # cli searches only
    purpose: Mapped[str | None] = mapped_column(String(40))  # cli searches only
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    justification: Mapped[str] = mapped_column(Text)
    probes: Mapped[list] = mapped_column(
        JSONValue
    )  # [{probe_image_id, steps, face_index, manual_eyes, sha256}]
    top_k: Mapped[int] = mapped_column()
    index_version: Mapped[int | None] = mapped_column()
    model_id: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(16))
    # the index's measured share of the exact search's true mates (1.0 for an exact scan)
    index_recall: Mapped[float | None] = mapped_column()
    fusion: Mapped[str | None] = mapped_column(String(32))
    results: Mapped[list] = mapped_column(
        JSONValue
    )  # [{rank, booking_id, template_id, distance, score, found_by, repository?}]
    # Which repositories were asked and how each answered (the interconnect):
    # [{name, status, candidates, milliseconds}]; None for a search of this unit's gallery only.
    repositories: Mapped[list | None] = mapped_column(JSONValue)

    request: Mapped[SearchRequest | None] = relationship()
    reviewer: Mapped[User] = relationship()

    @property
    def result_list(self) -> list[dict]:
        return list(self.results)

    @property
    def probe_list(self) -> list[dict]:
        return list(self.probes)


class CandidateExamination(db.Model):
    """A reviewer's one-to-one comparison of a candidate: FISWG checklist and conclusion.

    A conclusion reveals the candidate's identity and is then final; looking again makes a new
    revision, marked as made after the reveal (the comparison was no longer blind).
    """

    __tablename__ = "candidate_examination"
    __table_args__ = (
        UniqueConstraint("search_id", "booking_id", "reviewer_id", "revision", name="uq_examination"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("face_search.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    rank: Mapped[int] = mapped_column()
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checklist: Mapped[dict] = mapped_column(JSONValue, default=dict)  # {feature: {mark, note}}
    conclusion: Mapped[Conclusion | None] = mapped_column(str_enum(Conclusion, "conclusion"))
    note: Mapped[str | None] = mapped_column(Text)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(default=1)
    after_reveal: Mapped[bool] = mapped_column(default=False)
    # How the examiner looked (per pane: brightness, contrast, gamma, invert, mirror, rotation)
    # and what they marked (points, lines, outlines with notes), as of the last save or the
    # conclusion: app/services/review/worksheets.py.
    view_adjustments: Mapped[dict | None] = mapped_column(JSONValue)
    annotations: Mapped[list | None] = mapped_column(JSONValue)

    search: Mapped[FaceSearch] = relationship()
    booking: Mapped[Booking] = relationship()


class ReviewDecision(db.Model):
    """A reviewer's closing of a search: an investigative lead (one candidate) or no match.

    ``capacity`` says whose: the first reviewer, the blind verifier, or a third reviewer. A
    decision whose lead was sealed before the report was issued is void (``voided_at``): the
    request goes back to its reviewer.
    """

    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    capacity: Mapped[Capacity] = mapped_column(str_enum(Capacity, "capacity", 16))
    outcome: Mapped[DecisionOutcome] = mapped_column(str_enum(DecisionOutcome, "decision_outcome"))
    search_id: Mapped[int | None] = mapped_column(ForeignKey("face_search.id"))
    lead_booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"))
    examination_id: Mapped[int | None] = mapped_column(ForeignKey("candidate_examination.id"))
    comments: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)

    reviewer: Mapped[User] = relationship()
    lead_booking: Mapped[Booking | None] = relationship()
    examination: Mapped[CandidateExamination | None] = relationship()

    @property
    def after_reveal(self) -> bool:
        """The decision rests on a conclusion recorded after the candidate's identity was shown."""
        return bool(self.examination and self.examination.after_reveal)
