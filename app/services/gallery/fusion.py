"""The gallery searched for one person: each probe's descriptor searched, several fused into one
list by the mean distance to every probe (the rule measured best on the LFW dev set:
docs/measured.md), and the list kept to the K nearest people. The reviewer's search and a
peer unit's search through the interconnect both go through here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from app.extensions import db
from app.matching.scoring import similarity_score
from app.models import Booking, FaceTemplate
from app.services.gallery.search import search_descriptor

FUSION_RULE = "mean-distance"
# K slots are K people: bookings are fetched three deep per slot, so that a person with several
# bookings takes one slot and every one of their bookings keeps its own distance.
BOOKINGS_PER_SLOT = 3


@dataclass
class PeopleFound:
    entries: list[
        dict
    ]  # [{booking_id, template_id, distance, score, found_by, subject_id, person_rank, rank}]
    versions: set[int | None]
    strategy: str
    recall: float | None


def search_people(probes: list[tuple[int, np.ndarray]], top_k: int) -> PeopleFound:
    """Search each ``(probe id, descriptor)``; with several, rank the union of their lists by
    the mean distance to every probe."""
    fused: dict[int, dict] = {}
    versions: set[int | None] = set()
    strategy, recalls = "exact", []
    for probe_id, descriptor in probes:
        result = search_descriptor(descriptor, top_k, bookings=top_k * BOOKINGS_PER_SLOT)
        versions.add(result.index_version)
        strategy = result.strategy
        recalls.append(result.recall)
        for candidate in result.candidates:
            entry = fused.setdefault(
                candidate.booking_id,
                {
                    "booking_id": candidate.booking_id,
                    "template_id": candidate.template_id,
                    "distance": candidate.distance,
                    "score": candidate.score,
                    "found_by": [],
                },
            )
            entry["found_by"].append(probe_id)
    if len(probes) > 1 and fused:
        vectors = {
            row.id: np.frombuffer(row.descriptor, dtype="<f4")
            for row in db.session.execute(
                select(FaceTemplate.id, FaceTemplate.descriptor).where(
                    FaceTemplate.id.in_([e["template_id"] for e in fused.values()])
                )
            )
        }
        for entry in fused.values():
            template = vectors[entry["template_id"]]
            mean = float(np.mean([np.linalg.norm(template - d) for _, d in probes]))
            entry.update(distance=mean, score=similarity_score(mean))
    recall = None if None in recalls else min(recalls, default=None)
    return PeopleFound(by_person(fused.values(), top_k), versions, strategy, recall)


def by_person(entries: Iterable[dict], top_k: int) -> list[dict]:
    """The K nearest people, each with every booking found (best first): entries keep their
    own rank (by photo) and carry the person's rank and subject."""
    ordered = sorted(entries, key=lambda e: (e["distance"], e["booking_id"]))
    subjects = dict(
        db.session.execute(
            select(Booking.id, Booking.subject_id).where(Booking.id.in_([e["booking_id"] for e in ordered]))
        ).all()
    )
    person_rank: dict[int, int] = {}
    kept = []
    for entry in ordered:
        subject = subjects[entry["booking_id"]]
        if subject not in person_rank:
            if len(person_rank) == top_k:
                continue
            person_rank[subject] = len(person_rank) + 1
        kept.append(entry | {"subject_id": subject, "person_rank": person_rank[subject]})
    for rank, entry in enumerate(kept, start=1):
        entry["rank"] = rank
        entry["distance"] = round(float(entry["distance"]), 6)
    return kept
