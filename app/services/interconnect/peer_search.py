"""The asking side: a reviewer's search sent to the chosen peers, their candidates held here as
bookings of their repositories (no identity until the reveal), merged with this unit's by
score; the reveal when the reviewer concludes; seals at a peer brought home once a day."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.matching.images import load_image
from app.matching.probe import COMPARISON_SIZE, AlignedChip
from app.models import Booking, InterconnectPeer, RemoteCandidate, SearchRequest, Subject, User
from app.services.gallery.fusion import by_person
from app.services.gallery.search import gallery_model_id
from app.services.identity.accounts import search_eligibility
from app.services.interconnect import client, peers, trust, wire
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform import storage
from app.services.platform.errors import ServiceError

UNREVEALED = "Not revealed: held by {peer} until a conclusion is recorded"


@dataclass
class Asked:
    entries: list[dict]  # the peers' candidates, as entries of a local candidate list
    repositories: list[dict]  # [{name, status, candidates, milliseconds, error?}], this unit first


def chosen_peers(names: list[str] | None) -> list[InterconnectPeer]:
    """The enabled peers named (None: those searched by default)."""
    enabled = peers.enabled_peers()
    if names is None:
        return [p for p in enabled if p.searched_by_default]
    unknown = set(names) - {p.name for p in enabled}
    if unknown:
        raise ServiceError(f"Not an enabled peer: {', '.join(sorted(unknown))}.", field="repositories")
    return [p for p in enabled if p.name in names]


def question_for(
    request: SearchRequest, reviewer: User, probes: list[tuple[int, np.ndarray]], top_k: int
) -> dict:
    certification = search_eligibility(reviewer).certification
    return {
        "protocol": wire.PROTOCOL,
        "unit": trust.unit_identity().name,
        "model_id": gallery_model_id(),
        "descriptors": [[round(float(v), 8) for v in d] for _, d in probes],
        "top_k": top_k,
        "case_number": request.case_number or "-",
        "purpose": request.purpose,
        "tracking_number": request.tracking_number,
        "reviewer_name": reviewer.full_name,
        "reviewer_certification": f"{certification.provider} {certification.certificate_number}"
        if certification
        else "none",
    }


def ask_peers(
    request: SearchRequest,
    reviewer: User,
    chosen: list[InterconnectPeer],
    probes: list[tuple[int, np.ndarray]],
    top_k: int,
) -> Asked:
    """Ask each chosen peer (at once, within the bounded wait); hold what each answered."""
    try:
        question = question_for(request, reviewer, probes, top_k)
        targets = [client.target_of(p) for p in chosen]
    except ServiceError as err:  # this unit cannot present itself: no peer is asked, the local list stands
        for peer in chosen:
            peers.note_status(peer.id, "refused", err.message)
        unasked = [
            {
                "name": p.name,
                "status": "refused",
                "candidates": 0,
                "milliseconds": 0,
                "error": err.message[:300],
            }
            for p in chosen
        ]
        return Asked([], [{"name": "local", "status": "answered"}, *unasked])
    replies = client.ask_all(targets, "/search", question)
    entries: list[dict] = []
    outcome = [{"name": "local", "status": "answered"}]
    for peer in chosen:
        reply = replies[peer.id]
        status, error, found = reply.status, reply.error, []
        if status == "answered":
            try:
                found = wire.read_answer(
                    reply.payload,
                    model_id=question["model_id"],
                    top_k=top_k,
                    probe_ids=[i for i, _ in probes],
                )
            except wire.Invalid as err:
                status, error = "invalid", err.message
        peers.note_status(peer.id, status, error)
        entries += _hold_all(peer, found) if found else []
        outcome.append(
            {
                "name": peer.name,
                "status": status,
                "candidates": len(found),
                "milliseconds": reply.milliseconds,
            }
            | ({"error": error[:300]} if error else {})
        )
    return Asked(entries, outcome)


def _hold_all(peer: InterconnectPeer, found: list[wire.RemoteEntry]) -> list[dict]:
    """A peer's candidates as bookings of its repository: each its comparison image and
    landmarks, a placeholder for the identity, one subject per person the peer grouped
    (written in three statements, whatever the count)."""
    subjects = {
        person: Subject(name=UNREVEALED.format(peer=peer.name)) for person in {e.person for e in found}
    }
    db.session.add_all(subjects.values())
    bookings = []
    for entry in found:
        sha256 = hashlib.sha256(entry.chip).hexdigest()
        path = storage.store(f"interconnect/chips/{sha256}.jpg", entry.chip, read_only=True)
        bookings.append(
            Booking(
                booking_number=f"{peer.name}/~{entry.reference[:24]}",
                subject=subjects[entry.person],
                photo_path=path,
                photo_sha256=sha256,
                photo_format="jpeg",
                repository=peer.name,
            )
        )
    db.session.add_all(bookings)
    db.session.flush()
    db.session.add_all(
        RemoteCandidate(
            booking_id=booking.id,
            peer_id=peer.id,
            reference=entry.reference,
            chip_path=booking.photo_path,
            chip_landmarks=entry.landmarks,
        )
        for booking, entry in zip(bookings, found, strict=True)
    )
    return [
        {
            "booking_id": booking.id,
            "template_id": None,
            "distance": entry.distance,
            "score": entry.score,
            "found_by": entry.found_by,
            "repository": peer.name,
        }
        for booking, entry in zip(bookings, found, strict=True)
    ]


def merged(local: list[dict], asked: Asked, top_k: int) -> list[dict]:
    """Every repository's candidates in one list by distance (the same model's, so the same
    scale), K people in all; each entry says which repository it came from."""
    stripped = [{k: v for k, v in e.items() if k not in ("rank", "person_rank", "subject_id")} for e in local]
    return by_person(stripped + asked.entries, top_k)


def remote_of(booking: Booking) -> RemoteCandidate | None:
    if booking.repository is None:
        return None
    return db.session.scalar(select(RemoteCandidate).where(RemoteCandidate.booking_id == booking.id))


def reveal(booking: Booking, *, reviewer: User, request: SearchRequest) -> None:
    """The record and booking photo of a peer's candidate, fetched from its repository as the
    reviewer's conclusion is recorded (the peer audits it). A peer that cannot answer leaves the
    conclusion unrecorded: the reviewer tries again."""
    remote = remote_of(booking)
    if remote is None or remote.revealed_at is not None:
        return
    peer = remote.peer
    reply = client.call(
        client.target_of(peer),
        "POST",
        f"/candidates/{remote.reference}/reveal",
        json={"reviewer_name": reviewer.full_name, "tracking_number": request.tracking_number},
        timeout=client.timeout(),
    )
    if reply.status == "refused" and isinstance(reply.payload, dict) and reply.payload.get("sealed"):
        raise ServiceError(
            f"{peer.name} sealed this record: it cannot be a lead. Conclude on another candidate."
        )
    if reply.status != "answered":
        peers.note_status(peer.id, reply.status, reply.error)
        raise ServiceError(
            f"{peer.name} did not give the record ({reply.status}: {reply.error or 'no answer'}): "
            "nothing was recorded. Try again in a moment."
        )
    try:
        record = wire.read_record(reply.payload)
    except wire.Invalid as err:
        peers.note_status(peer.id, "invalid", err.message)
        raise ServiceError(f"{peer.name} answered with a record that is not valid ({err.message}).") from None
    subject = booking.subject
    subject.name, subject.date_of_birth = record.name, record.date_of_birth
    subject.cdl, subject.main_number, subject.sid = (
        record.cdl or None,
        record.main_number or None,
        record.sid or None,
    )
    sha256 = hashlib.sha256(record.photo).hexdigest()
    booking.photo_path = storage.store(f"interconnect/photos/{sha256}", record.photo, read_only=True)
    booking.photo_sha256, booking.booking_date = sha256, record.booking_date
    booking.booking_number = f"{peer.name}/{record.booking_number}"[:40]
    remote.revealed_at = utcnow()
    record_event(
        "interconnect.reveal",
        actor=reviewer,
        object_type=ObjectType.BOOKING,
        object_id=booking.id,
        detail={
            "peer": peer.name,
            "request": request.tracking_number,
            "booking_number": booking.booking_number,
        },
    )


def check_seals(peer: InterconnectPeer) -> int:
    """Ask a peer which of the records it revealed here are sealed now, and seal them here: the
    same notice and destruction confirmation as a local seal. Returns how many were new."""
    from app.services.gallery.sealing import seal_booking

    reply = client.call(client.target_of(peer), "GET", "/seals", timeout=client.timeout())
    if reply.status != "answered":
        peers.note_status(peer.id, reply.status, reply.error)
        raise ServiceError(f"{peer.name}: {reply.status} ({reply.error})")
    seals = wire.read_seals(reply.payload)
    sealed = 0
    for seal in seals:
        remote = db.session.scalar(
            select(RemoteCandidate).where(
                RemoteCandidate.peer_id == peer.id, RemoteCandidate.reference == seal.reference
            )
        )
        if remote is None or remote.booking.sealed:
            continue
        seal_booking(remote.booking, reference=f"{peer.name}: {seal.seal_reference}", actor=None)
        sealed += 1
    peer.seals_checked_at = utcnow()
    peers.note_status(peer.id, "answered")
    return sealed


def check_all_seals() -> str:
    """The daily round: every enabled peer asked for its seals; one peer down never stops the
    others (it is asked again tomorrow, and its status shows it)."""
    told = []
    for peer in peers.enabled_peers():
        try:
            with db.session.begin_nested():
                sealed = check_seals(peer)
        except ServiceError as err:
            peers.note_status(peer.id, peer.last_status or "down", err.message)
            told.append(f"{peer.name}: not answered ({err.message})")
            continue
        record_event(
            "interconnect.seals_checked",
            actor=None,
            object_type=ObjectType.PEER,
            object_id=peer.id,
            detail={"peer": peer.name, "newly_sealed": sealed},
        )
        told.append(f"{peer.name}: {sealed} newly sealed")
    return "; ".join(told) or "no peers"


def held_chip(booking: Booking) -> AlignedChip | None:
    """The aligned comparison image a peer sent for a candidate not yet revealed (its source is
    the chip itself: no photo of the peer's crossed before the conclusion); None otherwise."""
    remote = remote_of(booking)
    if remote is None or remote.revealed_at is not None:
        return None
    pixels = load_image(storage.path_of(remote.chip_path)).pixels
    return AlignedChip(
        pixels, list(remote.chip_landmarks or []), source_size=(COMPARISON_SIZE, COMPARISON_SIZE)
    )
