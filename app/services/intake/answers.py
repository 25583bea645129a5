"""The requester's answer to a reviewer's question: its text screened like the request's, the
photos it brings under the same rules as the first ones, and the determinations it touches
sent back to the reviewer."""

from __future__ import annotations

from dataclasses import replace

from app.extensions import db
from app.models import Capacity, RequestMessage, SearchRequest, User
from app.services.intake import checks
from app.services.intake.probe_images import Upload, store_probe_image
from app.services.intake.requests import MAX_AUDITED_MENTIONS, PolicyRefusal, local_rules, save_screening
from app.services.intake.videos import VideoUpload, prepare_video, store_video
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform import throttle
from app.services.platform.errors import ServiceError
from app.services.policy import provenance
from app.services.policy.provenance import ImageFacts
from app.services.review.probes import ensure_works
from app.services.review.workflow import Action, Step, advance, current_assignment, require


def answer_question(
    request: SearchRequest,
    *,
    actor: User,
    body: str,
    uploads: list[Upload | VideoUpload] | None = None,
    facts: ImageFacts | None = None,
) -> RequestMessage:
    """The requester answers the reviewer's question; the request goes back to the reviewer.

    New photos carry their stated provenance (``facts``) under the same rules as the first
    ones, and the answer's own words count as where their source is declared; each waits for
    the reviewer's determination. The answer's text is screened like the request's: new
    flagged text sends the determinations it touches back to the reviewer.
    """
    require(request, actor, Action.ANSWER)
    uploads = uploads or []
    if uploads:
        throttle.hold(throttle.uploads_key(actor.id))
    question = request.open_question
    body = body.strip()
    if len(body) < 5:
        raise ServiceError("Write an answer.", field="body")
    stated = replace(facts or ImageFacts(key="new", name=""), key="new", name="The new photos", answer=body)
    context = provenance.Context(
        request.purpose, request.threat_to_life, request.person_at_risk, local_rules()
    )
    violations, screening = checks.screen_answer(body, [stated] if uploads else [], context)
    if violations:
        raise PolicyRefusal(request, violations)
    answer = RequestMessage(
        request=request,
        author_id=actor.id,
        kind="answer",
        body=body,
        screening=screening.for_audit()[:MAX_AUDITED_MENTIONS] or None,
    )
    db.session.add(answer)
    db.session.flush()
    added = []
    for upload in uploads:
        if isinstance(upload, VideoUpload):  # the reviewer picks its frames on the probe page
            store_video(
                request, prepare_video(upload, actor=actor), actor=actor, facts=stated, answer_id=answer.id
            )
            continue
        image = store_probe_image(request, upload.filename, upload.data, actor=actor)
        provenance.store_facts(image, stated)
        image.answer_id = answer.id
        image.source_flags = screening.image_flags.get("new") or None
        added.append(image)
    holder = current_assignment(request, Capacity.PRIMARY)
    if added and holder is not None:  # the reviewer holding it gets their work on the new photos
        ensure_works(request, holder.reviewer)
    reopened = _reopen_determinations(request, screening)
    question.answered_by_id = answer.id
    advance(request, Step.ANSWER)
    record_event(
        "request.answer",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=request.id,
        detail={
            "tracking_number": request.tracking_number,
            "question_id": question.id,
            "new_images": len(added),
            "first_amendment_terms": screening.first_amendment,
            "source_flags": screening.request_flags,
            "reopened": reopened,
        },
    )
    return answer


def _reopen_determinations(request: SearchRequest, screening: checks.Screening) -> list[str]:
    """New First Amendment terms clear the First Amendment determination; new source flags in
    the text send every confirmed image back to the reviewer. Returns what was reopened."""
    reopened = []
    if set(screening.first_amendment) - set(request.first_amendment_terms_list):
        request.first_amendment_cleared_at = None
        request.first_amendment_cleared_by_id = None
        reopened.append("first_amendment")
    if set(screening.request_flags) - set(request.source_flag_list):
        for image in request.images:
            if image.provenance_status == provenance.CONFIRMED:
                image.provenance_status = provenance.PENDING
                reopened.append(f"image {image.id}")
    save_screening(request, screening)
    db.session.flush()
    return reopened
