"""A draft saved with what was sent with it: the typed fields, then each photo or video, one
refused upload never sinking the others."""

from __future__ import annotations

from app.extensions import db
from app.models import Outcome, ProbeImage, ProbeVideo, SearchRequest, User
from app.services.intake.probe_images import (
    PreparedPhoto,
    Upload,
    prepare_photo,
    remove_probe_image,
    require_own_draft,
    store_prepared,
)
from app.services.intake.requests import DraftChange, DraftFields, new_draft, save_draft
from app.services.intake.videos import PreparedVideo, VideoUpload, prepare_video, remove_video, store_video
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform import throttle
from app.services.platform.errors import ServiceError
from app.services.policy import provenance
from app.services.policy.provenance import ImageFacts


def save_with_uploads(
    draft: SearchRequest | None,
    fields: DraftFields,
    uploads: list[Upload | VideoUpload],
    *,
    actor: User,
    remove_image: ProbeImage | ProbeVideo | None = None,
) -> DraftChange:
    """Keep what was typed (a new draft if there is none yet), then each upload: one refused
    photo or video is reported and audited, the others are kept. Every upload is decoded (a
    video copied to staging and measured) first, before anything is written, so the write (and
    on SQLite the database's one write lock) lasts only as long as storing them."""
    if draft is not None:
        require_own_draft(draft, actor)
    prepared: list[tuple[bool, PreparedPhoto | PreparedVideo | ServiceError]] = []
    try:
        for upload in uploads:
            video = isinstance(upload, VideoUpload)
            try:
                if video:
                    prepared.append((video, prepare_video(upload, actor=actor)))
                else:
                    prepared.append((video, prepare_photo(upload.filename, upload.data, actor=actor)))
            except ServiceError as err:
                prepared.append((video, err))
        if uploads:
            throttle.hold(throttle.uploads_key(actor.id))  # before any audit write: locks in one order
        draft = draft or new_draft(requester=actor)
        save_draft(draft, fields, actor=actor)
        errors = []
        stated = fields.new_facts if fields.new_facts and fields.new_facts.stated else _last_stated(draft)
        for video, item in prepared:
            try:
                if isinstance(item, ServiceError):
                    raise item
                with db.session.begin_nested():
                    if isinstance(item, PreparedVideo):
                        store_video(draft, item, actor=actor, facts=stated)
                        continue
                    image = store_prepared(draft, item, actor=actor)
                    if stated is not None:  # shown on the photo's card, for the requester to check
                        provenance.store_facts(image, stated)
            except ServiceError as err:
                errors.append(err.message)
                record_event(
                    "request.video_upload" if video else "request.image_upload",
                    actor=actor,
                    outcome=Outcome.FAILED,
                    object_type=ObjectType.REQUEST,
                    object_id=draft.id,
                    reason=err.message[:500],
                )
    finally:
        for _, item in prepared:
            if isinstance(item, PreparedVideo):
                item.staged.discard()  # stored ones were moved into place: nothing to drop
    if isinstance(remove_image, ProbeVideo):
        remove_video(draft, remove_image, actor=actor)
    elif remove_image is not None:
        remove_probe_image(draft, remove_image, actor=actor)
    return DraftChange(draft, errors)


def _last_stated(draft: SearchRequest) -> ImageFacts | None:
    """What the requester stated for the last photo that has its provenance, if any."""
    stated = [provenance.facts_of(i) for i in draft.images if provenance.facts_of(i).stated]
    return stated[-1] if stated else None
