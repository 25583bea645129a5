"""A reviewer's handling of each probe: the processing chain, the chosen face or eyes placed
by hand, and the suitability verdict, kept per reviewer (``ProbeWork``) and recorded as a
spec with every search so the search can be re-run to the same list."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.matching.images import encode_png, load_image
from app.matching.probe import PreparedProbe, ProbeRecipe, prepare_probe
from app.matching.processing import ProcessingError
from app.models import ProbeImage, ProbeWork, User
from app.services.gallery.search import engine_settings, face_engine, probe_engine
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform import storage
from app.services.platform.errors import PermissionDenied, ServiceError


def probe_work(probe: ProbeImage, reviewer: User) -> ProbeWork:
    """The reviewer's own work on ``probe`` (created on first use)."""
    work = db.session.scalar(
        select(ProbeWork).where(ProbeWork.probe_image_id == probe.id, ProbeWork.reviewer_id == reviewer.id)
    )
    if work is None:
        work = ProbeWork(probe_image_id=probe.id, reviewer_id=reviewer.id, steps=[])
        db.session.add(work)
        db.session.flush()
    return work


def works_of(request, reviewer: User) -> list[ProbeWork]:
    """The reviewer's work on each image of the request, in the images' order (made when they
    took the request, or when an image arrived: never by a page load)."""
    return list(
        db.session.scalars(
            select(ProbeWork)
            .join(ProbeImage, ProbeImage.id == ProbeWork.probe_image_id)
            .where(ProbeImage.request_id == request.id, ProbeWork.reviewer_id == reviewer.id)
            .order_by(ProbeImage.id)
        )
    )


def ensure_works(request, reviewer: User) -> None:
    """A reviewer taking a request gets their own (untouched) work on each of its images."""
    for image in request.images:
        probe_work(image, reviewer)


def recipe_of(work: ProbeWork) -> ProbeRecipe:
    eyes = work.manual_eyes or None
    return ProbeRecipe(
        steps=tuple(work.step_list),
        face_index=work.face_index,
        manual_eyes=tuple(tuple(point) for point in eyes) if eyes else None,
    )


def prepare_spec(spec: dict) -> PreparedProbe:
    """A probe prepared as a search recorded it (its original, checked against its hash).

    The workstation asks for the same recorded probe several times per page (the page, its
    chip, its full-resolution source): the last two preparations are kept in this process,
    keyed by the recorded spec itself (the original's hash, the steps, the face, the eyes), so
    a kept one is exactly what preparing again would give. The probe must still exist
    unchanged each time: a purged probe is never served from here."""
    probe = db.session.get(ProbeImage, spec["probe_image_id"])
    if probe is None or probe.original_sha256 != spec["probe_sha256"]:
        raise ServiceError("The recorded probe is no longer available unchanged.")
    settings = engine_settings(current_app.config, role="probe")
    return _prepared(json.dumps(spec, sort_keys=True), str(storage.path_of(probe.original_path)), settings)


@lru_cache(maxsize=2)
def _prepared(spec_key: str, original: str, settings) -> PreparedProbe:
    spec = json.loads(spec_key)
    eyes = spec.get("manual_eyes")
    recipe = ProbeRecipe(
        steps=tuple(spec["steps"]),
        face_index=spec["face_index"],
        manual_eyes=tuple(tuple(point) for point in eyes) if eyes else None,
    )
    try:
        prepared = prepare_probe(load_image(Path(original)).pixels, recipe, face_engine(settings))
    except ProcessingError as exc:
        raise ServiceError(str(exc), field="step") from exc
    prepared.pixels.flags.writeable = False  # shared by whoever asks next: never changed in place
    return prepared


def prepare(work: ProbeWork) -> PreparedProbe:
    return _prepare(work.probe, recipe_of(work))


def _prepare(probe: ProbeImage, recipe: ProbeRecipe) -> PreparedProbe:
    original = load_image(storage.path_of(probe.original_path)).pixels
    try:
        return prepare_probe(original, recipe, probe_engine())
    except ProcessingError as exc:
        raise ServiceError(str(exc), field="step") from exc


def spec_of(work: ProbeWork, prepared: PreparedProbe) -> dict:
    """What a search records of a probe: enough to prepare it again, and how suitable it was."""
    return {
        "probe_image_id": work.probe_image_id,
        "probe_sha256": work.probe.original_sha256,
        "steps": work.step_list,
        "face_index": work.face_index,
        "manual_eyes": work.manual_eyes or None,
        "suitability": prepared.verdict,
        "suitability_reasons": prepared.reasons,
    }


def update_probe_work(
    work: ProbeWork,
    *,
    reviewer: User,
    steps: list[dict] | None = None,
    face_index: int | None = None,
    manual_eyes: list | None = None,
    clear_eyes: bool = False,
) -> PreparedProbe:
    """Change the chain (or the chosen face, or the hand-placed eyes) and re-assess."""
    if work.reviewer_id != reviewer.id:
        raise PermissionDenied("This probe work belongs to another reviewer.")
    if steps is not None:
        work.steps = list(steps)
    if face_index is not None:
        work.face_index = max(0, int(face_index))
    if manual_eyes is not None:
        work.manual_eyes = [list(p) for p in manual_eyes]
    if clear_eyes:
        work.manual_eyes = None
    prepared = prepare(work)
    _save_processed(work, prepared)
    db.session.flush()
    record_event(
        "probe.process",
        actor=reviewer,
        object_type=ObjectType.PROBE,
        object_id=work.probe_image_id,
        detail={
            "steps": work.step_list,
            "face_index": work.face_index,
            "manual_eyes": bool(work.manual_eyes),
            "suitability": prepared.verdict,
        },
    )
    return prepared


def _save_processed(work: ProbeWork, prepared: PreparedProbe) -> None:
    data = encode_png(prepared.pixels)
    sha = hashlib.sha256(data).hexdigest()
    work.processed_path = storage.store(f"probes/{work.probe.request_id:08d}/processed/{sha}.png", data)
    work.processed_sha256 = sha
    work.suitability = prepared.verdict
    work.suitability_reasons = list(prepared.reasons)
    work.quality = prepared.chosen.quality.as_dict() if prepared.chosen else None
