"""The requester's side: drafts, probe uploads, submission under the policy, follow-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.documents.request_form import ImageRow, RequestFormData
from app.extensions import db
from app.models import RequestStatus, SearchRequest, User
from app.services.intake import checks
from app.services.intake.probe_images import (
    require_own_draft,
)
from app.services.notify import messages as tell
from app.services.oversight.audit import ObjectType, hold_chain, record_event
from app.services.platform import storage
from app.services.platform.errors import PermissionDenied, ServiceError
from app.services.policy import provenance
from app.services.policy import rules as policy
from app.services.policy.provenance import ImageFacts
from app.services.review.workflow import Action, Step, advance, require

# Draft fields a requester types, each with its limit in characters: the form's, the column's,
# and what a save refuses beyond (a 30 MB reason once went into the PDF and every read's audit).
TEXT_FIELDS = {
    "requester_name": 200,
    "requester_phone": 40,
    "requester_email": 254,
    "case_number": 60,
    "reason": 2000,
    "purpose": 40,
    "situation": 4000,
    "reasonable_suspicion": 4000,
    "crime_type": 40,
    "crime_type_other": 200,
    "person_condition": 2000,
    "image_taken_place": 200,
    "signature": 200,
    "printed_name": 200,
}


class PolicyRefusal(PermissionDenied):
    """The policy refuses the request: audited (by the commit boundary) with the clauses."""

    def __init__(self, request: SearchRequest, violations: list[policy.Violation]) -> None:
        super().__init__(
            "The request cannot be submitted: " + "; ".join(v.message for v in violations),
            audit_action="request.refused",
            object_type=ObjectType.REQUEST,
            object_id=request.id,
            audit_detail={"violations": [[v.field, v.clause.id] for v in violations]},
        )
        self.violations = violations


@dataclass(frozen=True)
class DraftFields:
    values: dict[str, str]
    image_taken_on: date | None
    affirmed: bool
    threat_to_life: bool | None = None
    person_at_risk: bool | None = None
    # each attached image's stated provenance, by image id; and that of the photos sent now
    image_facts: dict[int, ImageFacts] = field(default_factory=dict)
    new_facts: ImageFacts | None = None


@dataclass
class DraftChange:
    draft: SearchRequest
    upload_errors: list[str]


def new_draft(*, requester: User) -> SearchRequest:
    draft = SearchRequest(
        agency=requester.agency,
        requester=requester,
        requester_name=requester.full_name,
        requester_email=requester.email or "",
        requester_phone=requester.phone or "",
        printed_name=requester.full_name,
    )
    db.session.add(draft)
    db.session.flush()
    record_event("request.draft_create", actor=requester, object_type="request", object_id=draft.id)
    return draft


def save_draft(draft: SearchRequest, fields: DraftFields, *, actor: User) -> None:
    """Keep what was typed (nothing typed is lost to a policy refusal); a field longer than its
    limit is refused, naming it, and nothing is saved."""
    require_own_draft(draft, actor)
    values = {name: (fields.values.get(name) or "").strip() for name in TEXT_FIELDS}
    for name, limit in TEXT_FIELDS.items():
        if len(values[name]) > limit:
            raise ServiceError(
                f"{name.replace('_', ' ').capitalize()}: at most {limit:,} characters "
                f"({len(values[name]):,} were sent). Nothing was saved.",
                field=name,
            )
    for name, value in values.items():
        setattr(draft, name, value)
    draft.image_taken_on = fields.image_taken_on
    draft.affirmed = fields.affirmed
    draft.threat_to_life = fields.threat_to_life
    draft.person_at_risk = fields.person_at_risk
    for image in draft.images:
        facts = fields.image_facts.get(image.id)
        if facts is not None:
            provenance.store_facts(image, facts)
    db.session.flush()


def image_facts_for_check(request: SearchRequest) -> list[ImageFacts]:
    """Each image's stated facts, named as the requester sees it ("Photo 2 (still.jpg)")."""
    return [
        provenance.facts_of(image, name=f"Photo {n} ({image.original_name})")
        for n, image in enumerate(request.images, start=1)
    ]


def justification_of(request: SearchRequest) -> str:
    """The justification as one text, for audit events."""
    parts = [
        f"purpose: {policy.PURPOSES.get(request.purpose, request.purpose)}",
        f"case: {request.case_number or '-'}",
        f"crime type: {policy.CRIME_TYPES.get(request.crime_type, request.crime_type) or '-'}"
        + (f" ({request.crime_type_other})" if request.crime_type == "other" else ""),
        f"reason: {request.reason}",
    ]
    return "; ".join(parts)


def local_rules() -> policy.LocalRules:
    config = current_app.config
    rules = config["LOCAL_RULES"]
    return policy.LocalRules(
        unit_name=config["UNIT_NAME"],
        refuse_dmv_probes=bool(rules.get("refuse_dmv_probes", True)),
        refuse_scraped_probes=bool(rules.get("refuse_scraped_probes", True)),
        require_agency_policy=bool(config["REQUIRE_AGENCY_POLICY"]),
    )


def check_draft(draft: SearchRequest, actor: User) -> tuple[list[policy.Violation], checks.Screening]:
    local = local_rules()
    violations, screening = checks.check_request(
        purpose=draft.purpose,
        case_number=draft.case_number,
        reason=draft.reason,
        situation=draft.situation,
        reasonable_suspicion=draft.reasonable_suspicion,
        crime_type=draft.crime_type,
        crime_type_other=draft.crime_type_other,
        person_condition=draft.person_condition,
        image_taken_place=draft.image_taken_place,
        affirmed=draft.affirmed,
        signature=draft.signature,
        printed_name=draft.printed_name,
        signer_full_name=actor.full_name,
        requester_name=draft.requester_name,
        requester_phone=draft.requester_phone,
        requester_email=draft.requester_email,
        threat_to_life=draft.threat_to_life,
        person_at_risk=draft.person_at_risk,
        images=image_facts_for_check(draft),
        local=local,
    )
    if not draft.images:
        violations.append(
            policy.Violation("images", "Attach at least one image (at most ten).", policy.REQUESTER_FIELDS)
        )
    if local.require_agency_policy and not draft.agency.local_policy:
        violations.append(
            policy.Violation(
                "agency",
                f"{draft.agency.name}'s own facial recognition policy is not on file with the unit: ask the "
                "unit's administrator to record it before requesting a search.",
                policy.AGENCY_POLICY,
            )
        )
    return violations, screening


def submit_request(draft: SearchRequest, *, actor: User) -> SearchRequest:
    """Apply the policy; on success the draft becomes a submitted request with a number.

    A refusal is raised as ``PolicyRefusal`` (the commit boundary audits it with the clauses);
    the draft, already saved, stays.
    """
    require_own_draft(draft, actor)
    violations, screening = check_draft(draft, actor)
    if violations:
        raise PolicyRefusal(draft, violations)
    hold_chain()  # tracking numbers are handed out one transaction at a time
    now = utcnow()
    save_screening(draft, screening)
    draft.agency_policy = draft.agency.local_policy
    draft.urgent = draft.purpose == policy.IMMINENT_THREAT
    draft.signed_at = now
    draft.submitted_at = now
    draft.tracking_number = _next_tracking_number(now.year)
    advance(draft, Step.SUBMIT)
    record_event(
        "request.submit",
        actor=actor,
        object_type=ObjectType.REQUEST,
        object_id=draft.id,
        reason=justification_of(draft),
        detail={
            "tracking_number": draft.tracking_number,
            "images": len(draft.images),
            "urgent": draft.urgent,
            "first_amendment_terms": screening.first_amendment,
            "source_flags": screening.request_flags,
            "image_sources": [i.provenance_device for i in draft.images],
            "screening": screening.for_audit()[:MAX_AUDITED_MENTIONS],
        },
    )
    if draft.urgent or draft.person_at_risk:  # every certified reviewer hears of it at once
        tell.urgent_request(draft)
    return draft


MAX_AUDITED_MENTIONS = 50


def save_screening(request: SearchRequest, screening: checks.Screening) -> None:
    """Keep what the net found on the request and its images: the reviewer's gates."""
    terms = sorted(set(request.first_amendment_terms_list) | set(screening.first_amendment))
    request.first_amendment_terms = list(terms) if terms else None
    flags = sorted(set(request.source_flag_list) | set(screening.request_flags))
    request.source_flags = list(flags) if flags else None
    for image in request.images:
        found = screening.image_flags.get(f"image-{image.id}")
        if found is not None:
            image.source_flags = found or None


def _next_tracking_number(year: int) -> str:
    prefix = f"FR-{year}-"
    highest = db.session.scalar(
        select(func.max(SearchRequest.tracking_number)).where(
            SearchRequest.tracking_number.like(prefix + "%")
        )
    )
    number = int(highest.removeprefix(prefix)) + 1 if highest else 1
    return f"{prefix}{number:06d}"


def discard_draft(draft: SearchRequest, *, actor: User) -> None:
    """Delete a draft that was never sent, with its photos and videos (their files removed):
    only its requester, only a draft. A sent request is withdrawn instead, and kept. Submitting
    holds the same lock, so a draft sent from another tab a moment ago is seen as sent here."""
    require_own_draft(draft, actor)
    hold_chain()
    db.session.refresh(draft)
    if draft.status is not RequestStatus.DRAFT or draft.submitted_at is not None:
        raise ServiceError(
            "Only a draft that was never sent can be deleted; withdraw a sent request instead."
        )
    kept = {"images": len(draft.images), "videos": len(draft.videos), "created": draft.created_at.isoformat()}
    for image in draft.images:
        for relative in (image.original_path, image.display_path):
            storage.remove(relative)
    for clip in draft.videos:
        storage.remove(clip.original_path)
    record_event(
        "request.draft_discard", actor=actor, object_type=ObjectType.REQUEST, object_id=draft.id, detail=kept
    )
    db.session.delete(draft)
    db.session.flush()


def withdraw_request(request: SearchRequest, *, actor: User, reason: str) -> None:
    require(request, actor, Action.WITHDRAW)
    advance(request, Step.WITHDRAW)
    record_event(
        "request.withdraw",
        actor=actor,
        object_type="request",
        object_id=request.id,
        reason=reason.strip() or "withdrawn by the requester",
        detail={"tracking_number": request.tracking_number},
    )


def agency_requests(user: User) -> list[SearchRequest]:
    """The agency's requests, newest first; drafts only the user's own."""
    stmt = (
        select(SearchRequest)
        .where(SearchRequest.agency_id == user.agency_id)
        .where((SearchRequest.status != RequestStatus.DRAFT) | (SearchRequest.requester_id == user.id))
        .order_by(SearchRequest.created_at.desc(), SearchRequest.id.desc())
    )
    return list(db.session.scalars(stmt))


def request_form_document(request: SearchRequest) -> RequestFormData:
    """The filled request form as the PDF shows it."""
    crime = policy.CRIME_TYPES.get(request.crime_type, request.crime_type) or "Not available"
    if request.crime_type == "other":
        crime = f"{crime}: {request.crime_type_other}"
    taken = ", ".join(
        part
        for part in (
            request.image_taken_on.isoformat() if request.image_taken_on else "",
            request.image_taken_place,
        )
        if part
    )
    config = current_app.config
    return RequestFormData(
        unit_name=config["UNIT_NAME"],
        repository_name=config["REPOSITORY_NAME"],
        interconnect_name=config["INTERCONNECT_NAME"],
        tracking_number=request.tracking_number,
        agency=f"{request.agency.name} ({request.agency.code})",
        agency_policy=request.agency_policy or request.agency.local_policy or "—",
        requester_name=request.requester_name,
        requester_phone=request.requester_phone,
        requester_email=request.requester_email,
        case_number=request.case_number,
        reason=request.reason,
        purpose=policy.PURPOSES.get(request.purpose, request.purpose),
        situation=request.situation,
        reasonable_suspicion=request.reasonable_suspicion,
        crime_type=crime,
        person_condition=request.person_condition,
        image_taken=taken,
        images=[
            ImageRow(
                name=image.original_name,
                source=provenance.SHORT_DEVICES.get(image.provenance_device, "Not stated")
                + (
                    f": {image.provenance_device_other}"
                    if image.provenance_device == provenance.OTHER
                    else ""
                ),
                live_or_recorded=provenance.CAPTURE_MODES.get(image.provenance_mode, "Not stated").split(":")[
                    0
                ],
                extracted_from_video=image.provenance_extracted_from_video,
                provided_by=provenance.PROVIDERS.get(image.provenance_provided_by, "Not stated")
                + (f" ({image.provenance_provided_by_name})" if image.provenance_provided_by_name else ""),
                legally_obtained=image.provenance_legally_obtained,
                with_answer=image.answer_id is not None,
            )
            for image in request.images
        ],
        affirmation=policy.AFFIRMATION,
        first_amendment_notice=policy.FIRST_AMENDMENT_NOTICE,
        signature=request.signature,
        printed_name=request.printed_name,
        signed_at=request.signed_at,
        submitted_on=request.submitted_at.date() if request.submitted_at else None,
    )
