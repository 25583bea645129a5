"""What crosses the wire between units, and the checks each side makes of what it receives.

A question (POST /interconnect/v1/search) carries the probes' descriptors and their model id
(never a photo), the case number, the purpose code, the asking unit, the reviewer's name and
certification and the request's tracking number. An answer carries opaque candidate references,
distances and aligned comparison images: no name, no number, no record. The record and the
booking photo cross only at the reveal. Everything received is checked field by field before
use; anything else is refused whole.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from app.matching.images import ImageError, load_image
from app.matching.probe import COMPARISON_SIZE
from app.matching.scoring import similarity_score
from app.services.gallery.search import MAX_TOP_K
from app.services.platform.errors import ServiceError
from app.services.policy.rules import PURPOSES

PROTOCOL = "leaddesk-interconnect/1"
MAX_PROBES = 5
MAX_CHIP_BYTES = 400_000
MAX_PHOTO_BYTES = 12_000_000
DECODING_THREADS = 4
MAX_ANSWERS_PER_SLOT = 3  # bookings per person, as the local search keeps them
REFERENCE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
TRACKING = re.compile(r"^FR-\d{4}-\d{6}$")


class Invalid(ServiceError):
    """What arrived is not what the protocol allows."""


def _text(payload: dict, key: str, limit: int, *, required: bool = True) -> str:
    value = payload.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise Invalid(f"{key}: text of 1 to {limit} characters expected")
    if any(ord(ch) < 32 for ch in value):
        raise Invalid(f"{key}: control characters")
    return value.strip()


def _number(value, low: float, high: float, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{key}: a number expected")
    if not low <= value <= high:
        raise Invalid(f"{key}: {value} is outside {low}-{high}")
    return float(value)


def _image(data, key: str, limit: int) -> bytes:
    if not isinstance(data, str) or len(data) > limit * 4 // 3 + 4:
        raise Invalid(f"{key}: base64 image data of at most {limit} bytes expected")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{key}: not base64") from None


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Question:
    unit: str
    model_id: str
    descriptors: list[np.ndarray]
    top_k: int
    case_number: str
    purpose: str
    tracking_number: str
    reviewer_name: str
    reviewer_certification: str


def read_question(payload) -> Question:
    if not isinstance(payload, dict) or payload.get("protocol") != PROTOCOL:
        raise Invalid(f"a {PROTOCOL} question expected")
    probes = payload.get("descriptors")
    if not isinstance(probes, list) or not 1 <= len(probes) <= MAX_PROBES:
        raise Invalid(f"descriptors: 1 to {MAX_PROBES} expected")
    descriptors = []
    for vector in probes:
        if not isinstance(vector, list) or len(vector) != 128:
            raise Invalid("descriptors: 128 numbers each")
        array = np.array([_number(v, -1.0, 1.0, "descriptors") for v in vector], dtype=np.float32)
        if not 0.5 <= float(np.linalg.norm(array)) <= 1.5:  # dlib's descriptors have norm near 1
            raise Invalid("descriptors: not a face descriptor's length")
        descriptors.append(array)
    top_k = payload.get("top_k")
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K:
        raise Invalid(f"top_k: 1 to {MAX_TOP_K}")
    purpose = _text(payload, "purpose", 40)
    if purpose not in PURPOSES:
        raise Invalid(f"purpose {purpose!r} is not one the policy allows")
    tracking = _text(payload, "tracking_number", 20)
    if not TRACKING.match(tracking):
        raise Invalid("tracking_number: FR-YYYY-NNNNNN")
    return Question(
        unit=_text(payload, "unit", 40),
        model_id=_text(payload, "model_id", 64),
        descriptors=descriptors,
        top_k=top_k,
        case_number=_text(payload, "case_number", 60),
        purpose=purpose,
        tracking_number=tracking,
        reviewer_name=_text(payload, "reviewer_name", 200),
        reviewer_certification=_text(payload, "reviewer_certification", 80),
    )


def read_reveal_question(payload) -> tuple[str, str]:
    """Who concluded on a candidate, and on which request: (reviewer's name, tracking number)."""
    if not isinstance(payload, dict):
        raise Invalid("who concluded, and on which request, expected")
    tracking = _text(payload, "tracking_number", 20)
    if not TRACKING.match(tracking):
        raise Invalid("tracking_number: FR-YYYY-NNNNNN")
    return _text(payload, "reviewer_name", 200), tracking


@dataclass(frozen=True)
class RemoteEntry:
    reference: str
    person: int
    distance: float
    score: float
    found_by: list[int]
    chip: bytes  # JPEG, COMPARISON_SIZE square
    landmarks: list[list[float]]


def read_answer(payload, *, model_id: str, top_k: int, probe_ids: list[int]) -> list[RemoteEntry]:
    """A peer's answer, checked whole: its shape, its sizes, its scores and its images."""
    if not isinstance(payload, dict) or payload.get("protocol") != PROTOCOL:
        raise Invalid(f"a {PROTOCOL} answer expected")
    if payload.get("model_id") != model_id:
        raise Invalid(f"the peer searched with {payload.get('model_id')!r}, not {model_id}")
    candidates = payload.get("candidates")
    if not isinstance(candidates, list) or len(candidates) > top_k * MAX_ANSWERS_PER_SLOT:
        raise Invalid(f"candidates: a list of at most {top_k * MAX_ANSWERS_PER_SLOT}")
    entries, seen = [], set()
    for item in candidates:
        if not isinstance(item, dict):
            raise Invalid("candidates: objects expected")
        reference = item.get("reference")
        if not isinstance(reference, str) or not REFERENCE.match(reference) or reference in seen:
            raise Invalid("reference: an opaque token of 20-64 characters, once each")
        seen.add(reference)
        person = item.get("person")
        if not isinstance(person, int) or isinstance(person, bool) or not 1 <= person <= top_k:
            raise Invalid(f"person: 1 to {top_k}")
        distance = _number(item.get("distance"), 0.0, 2.0, "distance")
        score = _number(item.get("score"), 0.0, 100.0, "score")
        if abs(score - similarity_score(distance)) > 0.51:
            raise Invalid("score: does not follow from the distance")
        found_by = item.get("found_by")
        if (
            not isinstance(found_by, list)
            or not found_by
            or any(not isinstance(i, int) or not 0 <= i < len(probe_ids) for i in found_by)
        ):
            raise Invalid("found_by: the probes' positions")
        chip = _image(item.get("chip"), "chip", MAX_CHIP_BYTES)
        landmarks = item.get("landmarks")
        if not isinstance(landmarks, list) or len(landmarks) not in (5, 68):
            raise Invalid("landmarks: 5 or 68 points")
        points = []
        for point in landmarks:
            if not isinstance(point, list) or len(point) != 2:
                raise Invalid("landmarks: [x, y] pairs")
            points.append([_number(v, -COMPARISON_SIZE, 2 * COMPARISON_SIZE, "landmarks") for v in point])
        entries.append(
            RemoteEntry(
                reference=reference,
                person=person,
                distance=distance,
                score=similarity_score(distance),
                found_by=[probe_ids[i] for i in found_by],
                chip=chip,
                landmarks=points,
            )
        )
    with ThreadPoolExecutor(max_workers=DECODING_THREADS) as pool:  # every image decoded whole
        for problem in pool.map(_chip_problem, [e.chip for e in entries]):
            if problem:
                raise Invalid(problem)
    return entries


def _chip_problem(chip: bytes) -> str | None:
    try:
        image = load_image(chip)
    except ImageError as err:
        return f"chip: {err}"
    if image.pixels.shape[:2] != (COMPARISON_SIZE, COMPARISON_SIZE):
        return f"chip: {COMPARISON_SIZE} pixels square expected"
    return None


@dataclass(frozen=True)
class Record:
    name: str
    date_of_birth: date | None
    cdl: str
    main_number: str
    sid: str
    booking_number: str
    booking_date: date | None
    photo: bytes


def _date(value, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid(f"{key}: YYYY-MM-DD") from None


def read_record(payload) -> Record:
    if not isinstance(payload, dict) or payload.get("protocol") != PROTOCOL:
        raise Invalid(f"a {PROTOCOL} record expected")
    photo = _image(payload.get("photo"), "photo", MAX_PHOTO_BYTES)
    try:
        load_image(photo)
    except ImageError as err:
        raise Invalid(f"photo: {err}") from None
    return Record(
        name=_text(payload, "name", 200),
        date_of_birth=_date(payload.get("date_of_birth"), "date_of_birth"),
        cdl=_text(payload, "cdl", 40, required=False),
        main_number=_text(payload, "main_number", 40, required=False),
        sid=_text(payload, "sid", 40, required=False),
        booking_number=_text(payload, "booking_number", 40),
        booking_date=_date(payload.get("booking_date"), "booking_date"),
        photo=photo,
    )


@dataclass(frozen=True)
class Seal:
    reference: str
    seal_reference: str
    sealed_at: datetime


def read_seals(payload) -> list[Seal]:
    if not isinstance(payload, dict) or payload.get("protocol") != PROTOCOL:
        raise Invalid(f"a {PROTOCOL} seal list expected")
    items = payload.get("sealed")
    if not isinstance(items, list) or len(items) > 10_000:
        raise Invalid("sealed: a list")
    seals = []
    for item in items:
        if not isinstance(item, dict) or not REFERENCE.match(str(item.get("reference", ""))):
            raise Invalid("sealed: references expected")
        try:
            sealed_at = datetime.fromisoformat(item.get("sealed_at"))
        except (TypeError, ValueError):
            raise Invalid("sealed_at: an ISO date and time") from None
        seals.append(Seal(item["reference"], _text(item, "seal_reference", 100), sealed_at))
    return seals
