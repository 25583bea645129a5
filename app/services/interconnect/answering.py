"""The answering side: what this unit does when a peer searches its repository. The peer is
known by its certificate (``peers.connecting_peer``); its question is checked
(``wire.read_question``: purpose, model, sizes); the search is recorded in this unit's own audit
(who asked, from which unit, why); sealed records stay out; the answer names nobody."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from flask import current_app
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.matching.images import encode_jpeg, load_image
from app.matching.probe import COMPARISON_SIZE, chip_from_box
from app.models import Booking, FaceTemplate, InterconnectPeer, PeerDisclosure, PeerSearch
from app.services.gallery.fusion import search_people
from app.services.gallery.search import analysis_store, face_engine, gallery_model_id
from app.services.interconnect import peers, wire
from app.services.oversight.audit import ObjectType, record_event
from app.services.oversight.reads import record_read
from app.services.platform import storage
from app.services.platform.errors import NotFound, ServiceError
from app.services.review.examinations import COMPARISON_ENGINE

CHIP_QUALITY = 92
CHIP_THREADS = 4


def _comparison_chip(photo_path: str, photo_sha256: str, box: list[int]) -> tuple[bytes, list[list[float]]]:
    """A booking's aligned comparison image and landmarks, kept with the face analyses (a
    photo's chip never changes; it ages out with them)."""
    store = analysis_store()
    key = f"chip-{photo_sha256}-{COMPARISON_SIZE}-{'-'.join(str(int(v)) for v in box)}"
    cached = store.get_arrays(key)
    if cached is not None and {"jpeg", "landmarks"} <= set(cached):
        return cached["jpeg"].tobytes(), cached["landmarks"].tolist()
    pixels = load_image(storage.path_of(photo_path)).pixels
    chip = chip_from_box(pixels, tuple(box), face_engine(COMPARISON_ENGINE), COMPARISON_SIZE)
    jpeg = encode_jpeg(chip.pixels, quality=CHIP_QUALITY)
    store.put_arrays(
        key,
        {
            "jpeg": np.frombuffer(jpeg, dtype=np.uint8),
            "landmarks": np.asarray(chip.landmarks, dtype=np.float64),
        },
    )
    return jpeg, chip.landmarks


def answer_search(peer: InterconnectPeer, payload) -> dict:
    """Search this unit's gallery for a peer, within its rate; record who asked and why."""
    question = wire.read_question(payload)
    if question.unit != peer.name:
        raise wire.Invalid(f"the question says it is from {question.unit}, its certificate says {peer.name}")
    if question.model_id != gallery_model_id():
        raise wire.Invalid(
            f"this repository's templates are {gallery_model_id()}; a {question.model_id} descriptor "
            "cannot be compared with them"
        )
    peers.require_rate(peer)
    found = search_people(list(enumerate(question.descriptors)), question.top_k)
    asked = PeerSearch(
        peer_name=peer.name,
        case_number=question.case_number,
        purpose=question.purpose,
        tracking_number=question.tracking_number,
        reviewer_name=question.reviewer_name,
        reviewer_certification=question.reviewer_certification,
        model_id=question.model_id,
        probes=len(question.descriptors),
        candidates=len(found.entries),
    )
    db.session.add(asked)
    db.session.flush()
    boxes = dict(
        db.session.execute(
            select(FaceTemplate.id, FaceTemplate.face_box).where(
                FaceTemplate.id.in_([e["template_id"] for e in found.entries])
            )
        ).all()
    )
    photos = {
        row.id: (row.photo_path, row.photo_sha256)
        for row in db.session.execute(
            select(Booking.id, Booking.photo_path, Booking.photo_sha256).where(
                Booking.id.in_([e["booking_id"] for e in found.entries])
            )
        )
    }
    app = current_app._get_current_object()

    def chip_of(entry: dict):
        with app.app_context():
            return _comparison_chip(*photos[entry["booking_id"]], boxes[entry["template_id"]])

    with ThreadPoolExecutor(max_workers=CHIP_THREADS) as pool:
        chips = list(pool.map(chip_of, found.entries))
    answered = []
    for entry, (chip, landmarks) in zip(found.entries, chips, strict=True):
        reference = secrets.token_urlsafe(24)
        db.session.add(
            PeerDisclosure(
                reference=reference,
                peer_name=peer.name,
                peer_search_id=asked.id,
                booking_id=entry["booking_id"],
            )
        )
        answered.append(
            {
                "reference": reference,
                "person": entry["person_rank"],
                "distance": entry["distance"],
                "score": entry["score"],
                "found_by": entry["found_by"],
                "chip": wire.encode(chip),
                "landmarks": landmarks,
            }
        )
    record_read(
        "interconnect.search_answered",
        asked,
        actor=None,
        actor_username=f"peer:{peer.name}",
        reviewer=question.reviewer_name,
        certification=question.reviewer_certification,
        probes=len(question.descriptors),
        top_k=question.top_k,
    )
    return {
        "protocol": wire.PROTOCOL,
        "unit": _unit_name(),
        "model_id": question.model_id,
        "candidates": answered,
    }


def _unit_name() -> str:
    return str(current_app.config.get("INTERCONNECT_UNIT_NAME") or "")


def _disclosure(peer: InterconnectPeer, reference: str) -> PeerDisclosure:
    """A candidate this unit returned to this peer (a reference given to another peer, or never
    given, is nobody's)."""
    disclosure = db.session.scalar(
        select(PeerDisclosure).where(
            PeerDisclosure.reference == reference, PeerDisclosure.peer_name == peer.name
        )
    )
    if disclosure is None:
        raise NotFound("No candidate of this unit has that reference for you.")
    return disclosure


class SealedHere(ServiceError):
    """The record was sealed in this repository: it is never disclosed."""


def answer_reveal(peer: InterconnectPeer, reference: str, payload) -> dict:
    """The record and booking photo of a candidate the peer's reviewer concluded on: given once
    the peer says who concluded, audited here as a read of the record."""
    disclosure = _disclosure(peer, reference)
    reviewer, tracking = wire.read_reveal_question(payload)
    booking = disclosure.booking
    if booking.sealed:
        raise SealedHere("This record has been sealed: it cannot be disclosed.")
    first = disclosure.revealed_at is None
    disclosure.revealed_at = disclosure.revealed_at or utcnow()
    record_read(
        "interconnect.reveal_answered",
        disclosure,
        actor=None,
        actor_username=f"peer:{peer.name}",
        reviewer=reviewer,
        request=tracking,
        first=first,
    )
    subject = booking.subject
    return {
        "protocol": wire.PROTOCOL,
        "name": subject.name,
        "date_of_birth": subject.date_of_birth.isoformat() if subject.date_of_birth else None,
        "cdl": subject.cdl or "",
        "main_number": subject.main_number or "",
        "sid": subject.sid or "",
        "booking_number": booking.booking_number,
        "booking_date": booking.booking_date.isoformat() if booking.booking_date else None,
        "photo": wire.encode(storage.read_verified(booking.photo_path, booking.photo_sha256)),
    }


def answer_seals(peer: InterconnectPeer) -> dict:
    """Every record this unit revealed to the peer that is sealed now: the peer's reports that
    printed it must be destroyed. Read once a day by each peer."""
    rows = db.session.execute(
        select(PeerDisclosure.reference, Booking.seal_reference, Booking.sealed_at)
        .join(Booking, Booking.id == PeerDisclosure.booking_id)
        .where(
            PeerDisclosure.peer_name == peer.name,
            PeerDisclosure.revealed_at.is_not(None),
            Booking.sealed.is_(True),
        )
        .order_by(PeerDisclosure.id)
    ).all()
    record_event(
        "interconnect.seals_answered",
        actor=None,
        actor_username=f"peer:{peer.name}",
        object_type=ObjectType.PEER,
        object_id=peer.id,
        detail={"peer": peer.name, "sealed": len(rows)},
    )
    return {
        "protocol": wire.PROTOCOL,
        "sealed": [
            {"reference": ref, "seal_reference": seal or "sealed", "sealed_at": at.isoformat()}
            for ref, seal, at in rows
        ],
    }
