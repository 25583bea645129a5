"""Probe photos a requester attaches: only real photos are kept (decoded from their bytes,
bounded in size and pixels, at most ten per request, a per-person rate), the original with
its SHA-256 and a fresh EXIF-free copy for display, faces counted so the requester sees them.
Files share the fate of the transaction that records them (``storage``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from werkzeug.utils import secure_filename

from app.clock import utcnow
from app.extensions import db
from app.matching.images import FILE_EXTENSIONS, ImageError, LoadedImage, downscaled, encode_jpeg, load_image
from app.models import AuditEvent, Outcome, ProbeImage, RequestStatus, SearchRequest, User
from app.services.gallery.search import probe_engine
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform import storage, throttle
from app.services.platform.errors import ServiceError

MAX_IMAGES = 10
MAX_IMAGE_BYTES = 20 * 1024 * 1024
FACE_CHECK_MAX_SIDE = 1600  # faces are counted on a copy this size: seconds, not minutes


@dataclass(frozen=True)
class Upload:
    filename: str | None
    data: bytes


def require_own_draft(draft: SearchRequest, actor: User) -> None:
    if draft.status is not RequestStatus.DRAFT or draft.requester_id != actor.id:
        raise ServiceError("Only your own draft requests can be edited.")


def probe_dir(request: SearchRequest) -> str:
    return f"probes/{request.id:08d}"


def safe_name(filename: str | None) -> str:
    cleaned = secure_filename(filename or "") or "upload"
    return cleaned[-120:]


def _count_faces(pixels) -> list[list[int]]:
    small = downscaled(pixels, FACE_CHECK_MAX_SIDE)
    scale = small.shape[1] / pixels.shape[1]
    boxes = probe_engine().detect(small)
    return [[round(v / scale) for v in box] for box, _ in boxes]


@dataclass(frozen=True)
class PreparedPhoto:
    """An upload decoded and measured, before anything is written: the slow part (decoding,
    counting faces) done outside any write lock, so one person's ten photos never hold the
    database while they decode (on SQLite, everyone else's sign-in waited on them)."""

    name: str
    data: bytes
    image: LoadedImage
    sha256: str
    boxes: list


def prepare_photo(filename: str | None, data: bytes, *, actor: User) -> PreparedPhoto:
    """Refused with a message unless it is a real photo; reads, never writes."""
    name = safe_name(filename)
    require_upload_allowance(actor, name)  # cheap check first: a flood costs no decoding
    if len(data) > MAX_IMAGE_BYTES:
        raise ServiceError(f"{name}: the file is larger than the limit of 20 MB per image.")
    try:
        image = load_image(
            data, max_pixels=int(current_app.config["MAX_IMAGE_PIXELS"]), max_bytes=MAX_IMAGE_BYTES
        )
    except ImageError as exc:
        raise ServiceError(f"{name}: {exc.message}") from exc
    return PreparedPhoto(name, data, image, hashlib.sha256(data).hexdigest(), _count_faces(image.pixels))


def add_probe_image(draft: SearchRequest, filename: str | None, data: bytes, *, actor: User) -> ProbeImage:
    """Store one upload on a draft: refused with a message (and nothing kept) unless it is a
    real photo."""
    require_own_draft(draft, actor)
    return store_probe_image(draft, filename, data, actor=actor)


def store_probe_image(draft: SearchRequest, filename: str | None, data: bytes, *, actor: User) -> ProbeImage:
    return store_prepared(draft, prepare_photo(filename, data, actor=actor), actor=actor)


def store_prepared(draft: SearchRequest, photo: PreparedPhoto, *, actor: User) -> ProbeImage:
    name, data, image, sha256, boxes = photo.name, photo.data, photo.image, photo.sha256, photo.boxes
    if len(draft.images) >= MAX_IMAGES:
        raise ServiceError(f"{name}: a request carries at most {MAX_IMAGES} images.")
    if any(existing.original_sha256 == sha256 for existing in draft.images):
        raise ServiceError(f"{name}: this image is already attached.")
    throttle.hold(throttle.uploads_key(actor.id))  # recount under the lock: parallel uploads too
    require_upload_allowance(actor, name)
    directory = probe_dir(draft)
    stored: list[str] = []
    try:
        stored.append(storage.store(f"{directory}/{sha256}-original.{FILE_EXTENSIONS[image.format]}", data))
        # A fresh encode from the upright pixels: no EXIF (GPS, device), nothing hidden.
        stored.append(
            storage.store(f"{directory}/{sha256}-display.jpg", encode_jpeg(image.pixels, quality=92))
        )
        probe = ProbeImage(
            request=draft,
            original_name=name,
            original_path=stored[0],
            original_sha256=sha256,
            original_bytes=len(data),
            format=image.format,
            width=image.width,
            height=image.height,
            exif_orientation=image.exif_orientation,
            display_path=stored[1],
            faces_found=len(boxes),
            face_boxes=list(boxes),
            uploaded_by_id=actor.id,
            uploaded_at=utcnow(),
        )
        db.session.add(probe)
        db.session.flush()
    except Exception as exc:
        for relative in stored:
            storage.discard(relative)
        if isinstance(exc, storage.StorageFailure):  # a full or failing disk: say so, keep nothing
            raise ServiceError(
                f"{name}: the photo could not be stored (the unit's storage is full or failing). "
                "Nothing was kept; please try again later or call the unit."
            ) from exc
        raise
    record_event(
        "request.image_upload",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=draft.id,
        detail={"image_id": probe.id, "sha256": sha256, "faces": len(boxes), "format": image.format},
    )
    return probe


def require_upload_allowance(actor: User, name: str) -> None:
    config = current_app.config
    since = utcnow() - config["UPLOAD_RATE_WINDOW"]
    # counted from the audit trail, which keeps every upload: removing photos frees nothing
    recent = db.session.scalar(
        select(func.count(AuditEvent.seq)).where(
            AuditEvent.actor_id == actor.id,
            AuditEvent.action.in_(("request.image_upload", "request.video_upload")),
            AuditEvent.outcome == Outcome.SUCCESS,
            AuditEvent.occurred_at >= since,
        )
    )
    if recent >= int(config["UPLOAD_RATE_LIMIT"]):
        minutes = int(config["UPLOAD_RATE_WINDOW"].total_seconds() // 60)
        raise ServiceError(
            f"{name}: you have uploaded {recent} photos and videos in the last {minutes} minutes, the "
            "most the portal accepts from one person; wait a few minutes and try again.",
            audit_action="request.image_upload",
        )


def remove_probe_image(draft: SearchRequest, image: ProbeImage, *, actor: User) -> None:
    require_own_draft(draft, actor)
    if image.request_id != draft.id:
        raise ServiceError("That image belongs to another request.")
    for relative in (image.original_path, image.display_path):
        storage.remove(relative)
    draft.images.remove(image)
    db.session.flush()
    record_event(
        "request.image_remove",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=draft.id,
        detail={"sha256": image.original_sha256},
    )
