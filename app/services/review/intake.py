"""The second person on every source: before anything of a request is searched, its reviewer
records a determination on each image's stated provenance (it fits what they see, or the image
is refused quoting the clause) and on the First Amendment (the search is not based solely on
protected activity or traits). A flag from the screening, an "Other" source or a capture the
unit looks at closely needs the reviewer's written reason. Each determination is audited and
counted in the monthly audit; an image added later (with an answer) waits for its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from app.clock import utcnow
from app.extensions import db
from app.models import ProbeImage, SearchRequest, User
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import ServiceError
from app.services.policy import provenance
from app.services.review.workflow import Action, require

MIN_NOTE_CHARS = 20
# The clauses a reviewer may quote when refusing an image.
REFUSAL_CLAUSES = {
    "SD-7": "Penal Code 832.19: a camera worn by an officer",
    "PU-2": "Prohibitive uses, 2: live video",
    "PU-1": "Prohibitive uses, 1: surveillance",
    "IS-1": "Investigative searches, 1: not a legally obtained source",
    "LR-1": "Local rule: an identity-document (DMV, CAL-PHOTO) photo",
    "LR-2": "Local rule: scraped, or found by a face-search engine",
    "SD-2": "Not a still: taken from a surveillance system",
}
CONFIRM = "confirm"
REFUSE = "refuse"


@dataclass(frozen=True)
class ImageDetermination:
    image_id: int
    decision: str  # confirm | refuse
    note: str = ""
    clause: str = ""


@dataclass(frozen=True)
class FirstAmendmentDetermination:
    not_based_on_protected_grounds: bool
    note: str = ""


def needs_a_note(request: SearchRequest, image: ProbeImage) -> bool:
    """A flag on the image or in the request's text, or a capture the unit looks at closely."""
    return bool(image.source_flag_list or request.source_flag_list) or (
        image.provenance_device in provenance.NEEDS_A_NOTE
    )


def save_determinations(
    request: SearchRequest,
    *,
    reviewer: User,
    images: list[ImageDetermination],
    first_amendment: FirstAmendmentDetermination | None,
) -> None:
    """Record the reviewer's determinations, all or none: a missing reason refuses the lot."""
    require(request, reviewer, Action.SCREEN)
    pending = {image.id: image for image in request.images_awaiting_determination}
    if not images and first_amendment is None:
        raise ServiceError("Record a determination on each image and on the First Amendment.")
    for item in images:
        image = pending.get(item.image_id)
        if image is None:
            raise ServiceError("That image has no determination waiting (it may have been recorded already).")
        _check(request, image, item)
    if first_amendment is not None:
        _check_first_amendment(request, first_amendment)
    for item in images:
        _apply(request, pending[item.image_id], item, reviewer)
    if first_amendment is not None:
        _apply_first_amendment(request, first_amendment, reviewer)
    db.session.flush()


def _check(request: SearchRequest, image: ProbeImage, item: ImageDetermination) -> None:
    field = f"image-{image.id}-note"
    if item.decision == CONFIRM:
        if needs_a_note(request, image) and len(item.note.strip()) < MIN_NOTE_CHARS:
            raise ServiceError(
                f"{image.original_name}: say, in at least {MIN_NOTE_CHARS} characters, why the stated "
                "source fits what you see despite the flags (or refuse the image).",
                field=field,
            )
    elif item.decision == REFUSE:
        if item.clause not in REFUSAL_CLAUSES or len(item.note.strip()) < 10:
            raise ServiceError(f"{image.original_name}: quote the clause and say why.", field=field)
    else:
        raise ServiceError(
            f"{image.original_name}: confirm the stated source or refuse the image.", field=field
        )


def _check_first_amendment(request: SearchRequest, item: FirstAmendmentDetermination) -> None:
    if not request.awaiting_first_amendment_review:
        raise ServiceError("The First Amendment determination has already been recorded.")
    if not item.not_based_on_protected_grounds:
        raise ServiceError(
            "State that the search is not based solely on protected activity or traits, or return or "
            "reject the request.",
            field="fa_confirm",
        )
    if request.flagged and len(item.note.strip()) < MIN_NOTE_CHARS:
        raise ServiceError(
            f"Explain, in at least {MIN_NOTE_CHARS} characters, why the search is not based on the flagged "
            "terms (or return or reject the request).",
            field="fa_note",
        )


def _apply(request: SearchRequest, image: ProbeImage, item: ImageDetermination, reviewer: User) -> None:
    status = provenance.CONFIRMED if item.decision == CONFIRM else provenance.REFUSED
    # Only while it is pending: of two reviewers' pages sent at once, one records it.
    changed = db.session.execute(
        update(ProbeImage)
        .where(ProbeImage.id == image.id, ProbeImage.provenance_status == provenance.PENDING)
        .values(
            provenance_status=status,
            provenance_determined_by_id=reviewer.id,
            provenance_determined_at=utcnow(),
            provenance_note=item.note.strip() or None,
            provenance_clause=item.clause if item.decision == REFUSE else None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ServiceError(f"{image.original_name}: a determination was recorded meanwhile. Reload the page.")
    db.session.refresh(image)
    record_event(
        "intake.provenance_confirm" if status == provenance.CONFIRMED else "intake.provenance_refuse",
        actor=reviewer,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=(f"{item.clause}: " if item.decision == REFUSE else "")
        + (item.note.strip() or "fits the photo"),
        detail={
            "tracking_number": request.tracking_number,
            "image_id": image.id,
            "sha256": image.original_sha256,
            "device": image.provenance_device,
            "mode": image.provenance_mode,
            "flags": image.source_flag_list + request.source_flag_list,
            "clause": item.clause or None,
        },
    )


def _apply_first_amendment(request: SearchRequest, item: FirstAmendmentDetermination, reviewer: User) -> None:
    request.first_amendment_cleared_by_id = reviewer.id
    request.first_amendment_cleared_at = utcnow()
    request.first_amendment_note = item.note.strip() or (
        "Read the justification: not based solely on protected activity or traits."
    )
    record_event(
        "review.first_amendment",
        actor=reviewer,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        reason=request.first_amendment_note,
        detail={"terms": request.first_amendment_terms_list, "tracking_number": request.tracking_number},
    )
