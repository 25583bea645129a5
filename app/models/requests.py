"""Facial Recognition Search Requests from outside agencies, their probe images and
the questions and answers exchanged about them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.accounts import Agency, User
from app.models.types import JSONValue, UTCDateTime, str_enum


class RequestStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"  # returned to the requester with a question
    REJECTED = "rejected"  # out of policy
    LEAD_ISSUED = "lead_issued"
    NO_MATCH = "no_match"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


class ReviewState(enum.StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    AWAITING_INFO = "awaiting_info"
    AWAITING_VERIFICATION = "awaiting_verification"
    DISPUTED = "disputed"  # first and second review disagree: an admin assigns a third
    VERIFIED = "verified"  # ready for report issuance
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


STATUS_LABELS = {
    RequestStatus.DRAFT: "Draft",
    RequestStatus.SUBMITTED: "Submitted",
    RequestStatus.IN_REVIEW: "In review",
    RequestStatus.NEEDS_INFO: "Returned for more information",
    RequestStatus.REJECTED: "Rejected as out of policy",
    RequestStatus.LEAD_ISSUED: "Lead issued",
    RequestStatus.NO_MATCH: "No possible match",
    RequestStatus.WITHDRAWN: "Withdrawn",
}


class SearchRequest(db.Model):
    __tablename__ = "search_request"
    __table_args__ = (Index("ix_search_request_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "request_status"), default=RequestStatus.DRAFT
    )
    urgent: Mapped[bool] = mapped_column(default=False)
    review_state: Mapped[ReviewState] = mapped_column(
        str_enum(ReviewState, "review_state"), default=ReviewState.NEW
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    # The seed form's fields.
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_phone: Mapped[str] = mapped_column(String(40), default="")
    requester_email: Mapped[str] = mapped_column(String(254), default="")
    case_number: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    # Prohibitive uses 1-2: surveillance only for "an imminent threat of life"; live video for
    # "an imminent threat to life" or "at-risk individuals".
    threat_to_life: Mapped[bool | None] = mapped_column()
    person_at_risk: Mapped[bool | None] = mapped_column()

    # The justification the policy's audit section asks for.
    purpose: Mapped[str] = mapped_column(String(40), default="")
    situation: Mapped[str] = mapped_column(Text, default="")
    reasonable_suspicion: Mapped[str] = mapped_column(Text, default="")
    crime_type: Mapped[str] = mapped_column(String(40), default="")
    crime_type_other: Mapped[str] = mapped_column(String(200), default="")
    person_condition: Mapped[str] = mapped_column(Text, default="")
    image_taken_on: Mapped[date | None] = mapped_column(Date)
    image_taken_place: Mapped[str] = mapped_column(String(200), default="")

    # Affirmation and e-signature.
    affirmed: Mapped[bool] = mapped_column(default=False)
    signature: Mapped[str] = mapped_column(String(200), default="")
    printed_name: Mapped[str] = mapped_column(String(200), default="")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The requesting agency's own facial recognition policy, as on file when it was submitted.
    agency_policy: Mapped[str | None] = mapped_column(String(300))

    # First Amendment: terms the screening found in any of the request's text. No
    # request is searched before its reviewer records the determination that the search is not
    # based solely on protected activity or traits (with a written reason when it is flagged);
    # an answer that brings new flagged text clears it, to be determined again.
    first_amendment_terms: Mapped[list | None] = mapped_column(JSONValue)
    first_amendment_cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    first_amendment_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_amendment_note: Mapped[str | None] = mapped_column(Text)
    # Source screening of the request's own text: mentions the reviewer looks at.
    source_flags: Mapped[list | None] = mapped_column(JSONValue)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_clause: Mapped[str | None] = mapped_column(Text)
    rejection_note: Mapped[str | None] = mapped_column(Text)

    agency: Mapped[Agency] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    first_amendment_cleared_by: Mapped[User | None] = relationship(
        foreign_keys=[first_amendment_cleared_by_id]
    )
    images: Mapped[list[ProbeImage]] = relationship(
        back_populates="request", order_by="ProbeImage.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[RequestMessage]] = relationship(
        back_populates="request", order_by="RequestMessage.id", cascade="all, delete-orphan"
    )
    videos: Mapped[list[ProbeVideo]] = relationship(
        back_populates="request", order_by="ProbeVideo.id", cascade="all, delete-orphan"
    )

    @property
    def flagged(self) -> bool:
        return bool(self.first_amendment_terms)

    @property
    def first_amendment_terms_list(self) -> list[str]:
        return list(self.first_amendment_terms or [])

    @property
    def source_flag_list(self) -> list[str]:
        return list(self.source_flags or [])

    @property
    def awaiting_first_amendment_review(self) -> bool:
        return self.status is not RequestStatus.DRAFT and self.first_amendment_cleared_at is None

    @property
    def images_awaiting_determination(self) -> list[ProbeImage]:
        return [i for i in self.images if i.provenance_status == "pending"]

    @property
    def awaiting_determination(self) -> bool:
        """Before anything is searched: the First Amendment determination, and every image's
        provenance confirmed or refused by a reviewer."""
        return self.awaiting_first_amendment_review or bool(self.images_awaiting_determination)

    @property
    def open_question(self) -> RequestMessage | None:
        questions = [m for m in self.messages if m.kind == "question" and m.answered_by_id is None]
        return questions[-1] if questions else None


class ProbeImage(db.Model):
    """An uploaded probe photo: original bytes kept unchanged, a clean copy for display."""

    __tablename__ = "probe_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))  # sanitised, for display only
    original_path: Mapped[str] = mapped_column(String(300))  # relative to the instance folder
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_bytes: Mapped[int] = mapped_column()
    format: Mapped[str] = mapped_column(String(10))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    exif_orientation: Mapped[int] = mapped_column(default=1)
    display_path: Mapped[str] = mapped_column(String(300))  # re-encoded, EXIF stripped
    faces_found: Mapped[int] = mapped_column(default=0)
    face_boxes: Mapped[list] = mapped_column(JSONValue, default=list)  # in display pixels
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # brought by an answer to a reviewer's question (not with the request itself)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("request_message.id"))
    # A frame picked from a recorded video: which video (its SHA-256 is on it), the frame's
    # number and time in it, and who picked it. "Extracted from video" is then Yes by construction.
    video_id: Mapped[int | None] = mapped_column(ForeignKey("probe_video.id"), index=True)
    video_sha256: Mapped[str | None] = mapped_column(String(64))  # kept if the video is removed
    video_frame_number: Mapped[int | None] = mapped_column()
    video_frame_ms: Mapped[int | None] = mapped_column()
    picked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # Provenance, stated by the requester as facts (app/services/policy/provenance.py).
    provenance_device: Mapped[str] = mapped_column(String(32), default="")
    provenance_device_other: Mapped[str] = mapped_column(String(200), default="")
    provenance_mode: Mapped[str] = mapped_column(String(16), default="")  # recorded | live
    provenance_extracted_from_video: Mapped[bool | None] = mapped_column()
    provenance_provided_by: Mapped[str] = mapped_column(String(32), default="")
    provenance_provided_by_name: Mapped[str] = mapped_column(String(200), default="")
    provenance_legally_obtained: Mapped[str] = mapped_column(Text, default="")
    source_flags: Mapped[list | None] = mapped_column(JSONValue)  # what the screening flagged for it
    # The reviewer's determination: the stated provenance fits what they see, or the image is
    # refused quoting the clause. Nothing is searched while it is pending.
    provenance_status: Mapped[str] = mapped_column(String(16), default="pending")
    provenance_determined_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    provenance_determined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provenance_note: Mapped[str | None] = mapped_column(Text)
    provenance_clause: Mapped[str | None] = mapped_column(String(20))

    request: Mapped[SearchRequest] = relationship(back_populates="images")
    provenance_determined_by: Mapped[User | None] = relationship(foreign_keys=[provenance_determined_by_id])
    video: Mapped[ProbeVideo | None] = relationship(back_populates="frames")
    picked_by: Mapped[User | None] = relationship(foreign_keys=[picked_by_id])

    @property
    def frame_label(self) -> str | None:
        """Where in its video this frame was picked ("frame 212 at 0:07.07"), if it was."""
        if self.video_sha256 is None or self.video_frame_ms is None:
            return None
        return f"frame {self.video_frame_number} at {clock_time(self.video_frame_ms)}"

    @property
    def searchable(self) -> bool:
        return self.provenance_status == "confirmed"

    @property
    def source_flag_list(self) -> list[str]:
        return list(self.source_flags or [])


def clock_time(milliseconds: int) -> str:
    """0:07.070, 1:02:03.500: a time in a video as a player shows it."""
    seconds, ms = divmod(int(milliseconds), 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    core = f"{minutes}:{seconds:02d}.{ms:03d}"
    return f"{hours}:{minutes:02d}:{seconds:02d}.{ms:03d}" if hours else core


class ProbeVideo(db.Model):
    """A recorded video attached to a request: kept unchanged with its SHA-256, never searched.
    A person steps through it and picks frames; each picked frame is a ``ProbeImage``."""

    __tablename__ = "probe_video"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))  # sanitised, for display only
    original_path: Mapped[str] = mapped_column(String(300))  # relative to the instance folder
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_bytes: Mapped[int] = mapped_column()
    container: Mapped[str] = mapped_column(String(16))  # the demuxer that reads it (app/matching/video.py)
    codec: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    duration_ms: Mapped[int] = mapped_column()
    fps_num: Mapped[int] = mapped_column()
    fps_den: Mapped[int] = mapped_column()
    frame_count: Mapped[int] = mapped_column()
    # The provenance stated when it was attached: each picked frame starts from these facts.
    stated_facts: Mapped[dict | None] = mapped_column(JSONValue)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("request_message.id"))

    request: Mapped[SearchRequest] = relationship(back_populates="videos")
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    frames: Mapped[list[ProbeImage]] = relationship(back_populates="video", order_by="ProbeImage.id")

    @property
    def length_label(self) -> str:
        return clock_time(self.duration_ms)


class RequestMessage(db.Model):
    """A reviewer's question to the requester, or the requester's answer."""

    __tablename__ = "request_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16))  # question | answer
    body: Mapped[str] = mapped_column(Text)
    screening: Mapped[list | None] = mapped_column(JSONValue)  # what the screening found in an answer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("request_message.id"))

    request: Mapped[SearchRequest] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()
