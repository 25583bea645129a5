"""What the workstation shows besides the one-to-one comparison: candidates in a grid beside
the probe, and the full-resolution photos the aligned chips are cut from."""

from __future__ import annotations

import numpy as np

from app.extensions import db
from app.matching.images import load_image
from app.models import Booking, FaceSearch, User
from app.services.oversight.audit import ObjectType
from app.services.oversight.reads import record_read
from app.services.platform import storage
from app.services.platform.errors import NotFound, ServiceError
from app.services.review.examinations import entry_at, probe_spec_of, require_reader
from app.services.review.probes import prepare_spec

GRID_SIZES = range(2, 7)


def grid_of(search: FaceSearch, ranks: list[str], *, reviewer: User) -> list[dict]:
    """The entries at ``ranks`` (2–6 of them, as sent by the list), for the grid; audited as a
    read of the search."""
    require_reader(search, reviewer)
    wanted = sorted({int(r) for r in ranks if r.isdigit()})
    if len(wanted) not in GRID_SIZES:
        raise ServiceError("Tick two to six candidates to see them beside the probe.")
    entries = [entry_at(search, rank) for rank in wanted]
    record_read("search.grid_view", search, actor=reviewer, ranks=wanted)
    return entries


def source_pixels(search: FaceSearch, entry: dict, which: str) -> np.ndarray:
    """The full-resolution photo a chip is cut from: the probe as searched (its recorded
    chain applied) or the candidate's booking photo. The workstation draws it through the
    chip's transform, so the examiner compares the evidence's own pixels."""
    if which == "probe":
        return prepare_spec(probe_spec_of(search, entry)).pixels
    booking = db.session.get(Booking, entry["booking_id"])
    if booking is None or booking.sealed:
        raise NotFound(
            "This record has been sealed.", object_type=ObjectType.BOOKING, object_id=entry["booking_id"]
        )
    return load_image(storage.path_of(booking.photo_path)).pixels
