"""Where each probe image came from, stated as facts (not inferred from free text), and the
reviewer's confirmation of them.

For every image the requester states: what captured it, whether it was live or recorded,
whether it was extracted from video, who provided it and how it was legally obtained. The
policy's prohibitions are rules over these facts (``policy.image_violations``); the words the
requester typed are screened as a second net. Before an image is searched a reviewer records
that the stated provenance fits what they see (or refuses the image quoting the clause):
"Other", a capture the unit looks at closely, and any flag need the reviewer's note.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.services.policy.rules import (
    ACTIVE_INVESTIGATION,
    BODY_WORN,
    IMMINENT_THREAT,
    LEGAL_SOURCE,
    LIVE_STREAM,
    REQUESTER_FIELDS,
    SURVEILLANCE_CLAUSE,
    Clause,
    LocalRules,
    Violation,
    local_rule,
)
from app.services.policy.screening import (
    BODY_WORN_CAMERA,
    DMV_PHOTO,
    LIVE_VIDEO,
    SCRAPED_INTERNET,
    SURVEILLANCE,
    Mention,
    screen_fields,
    vocabulary,
)

OFFICER_WORN = "officer_worn"
IN_CAR = "in_car"
FIXED_CAMERA = "fixed_camera"
PHONE_CAMERA = "phone_camera"
BOOKING_PHOTO = "booking_photo"
IDENTITY_DOCUMENT = "identity_document"
INTERNET = "internet"
FACE_SEARCH_RESULT = "face_search_result"
OTHER = "other"

# "Source image obtained from" (the seed form's label): what captured the image.
CAPTURE_DEVICES = {
    FIXED_CAMERA: "A fixed or surveillance camera (CCTV, a business's, a doorbell, traffic or city camera)",
    PHONE_CAMERA: "A phone or personal camera (a witness's, a victim's, or a seized device)",
    INTERNET: "An image from the internet or social media (a post, a profile, a website)",
    BOOKING_PHOTO: "A booking photo (jail or mugshot)",
    IN_CAR: "An in-car or patrol-vehicle camera",
    OFFICER_WORN: "A camera worn by a law enforcement officer (body-worn, lapel, chest or head camera)",
    IDENTITY_DOCUMENT: "An identity-document photo (DMV or driver's licence, state ID, passport, "
    "CAL-PHOTO / JIM)",
    FACE_SEARCH_RESULT: "A result of a face-search engine or a scraped collection (Clearview, PimEyes, "
    "FaceCheck.ID, a reverse image search)",
    OTHER: "Other (describe)",
}
# The same, in a few words (tables, the request PDF, one-line summaries).
SHORT_DEVICES = {
    FIXED_CAMERA: "Fixed or surveillance camera",
    PHONE_CAMERA: "Phone or personal camera",
    INTERNET: "Internet or social media",
    BOOKING_PHOTO: "Booking photo",
    IN_CAR: "In-car camera",
    OFFICER_WORN: "Camera worn by an officer",
    IDENTITY_DOCUMENT: "Identity-document photo",
    FACE_SEARCH_RESULT: "Face-search engine result",
    OTHER: "Other",
}
RECORDED = "recorded"
LIVE = "live"
CAPTURE_MODES = {
    RECORDED: "Recorded: a photo, or a still from a recording",
    LIVE: "Live: from a stream or feed while it happens",
}
PROVIDERS = {
    "victim_witness": "A victim or witness",
    "business": "A business or property owner",
    "own_agency": "The requesting agency (its own officers or evidence)",
    "other_agency": "Another law enforcement agency",
    "subject": "The subject (provided, or from a seized device)",
    "public": "A member of the public or a tip line",
    "other": "Other",
}
# Captures the reviewer explains when confirming, even with no flag.
NEEDS_A_NOTE = {IN_CAR, INTERNET, OTHER}

PENDING = "pending"
CONFIRMED = "confirmed"
REFUSED = "refused"
DETERMINATIONS = {PENDING: "Waiting for the reviewer", CONFIRMED: "Confirmed", REFUSED: "Refused"}

FACT_FIELDS = (
    "device",
    "device_other",
    "mode",
    "extracted_from_video",
    "provided_by",
    "provided_by_name",
    "legally_obtained",
)
# The facts' free text: where the requester declares the source (a forbidden source named here
# is refused, not only flagged).
DECLARED_TEXT = ("device_other", "provided_by_name", "legally_obtained")
TEXT_LIMITS = {"device_other": 200, "provided_by_name": 200, "legally_obtained": 2000}


@dataclass(frozen=True)
class ImageFacts:
    """One image's stated provenance. ``key`` names its fields on the form ("image-12")."""

    key: str
    name: str  # how the requester knows it, for messages: "Photo 2 (still.jpg)"
    device: str = ""
    device_other: str = ""
    mode: str = ""
    extracted_from_video: bool | None = None
    provided_by: str = ""
    provided_by_name: str = ""
    legally_obtained: str = ""
    answer: str = ""  # the answer to a reviewer's question that brings the image, if any

    def declared_text(self) -> dict[str, str]:
        return {f"{self.key}-{name}": getattr(self, name) for name in (*DECLARED_TEXT, "answer")}

    def field(self, name: str) -> str:
        return f"{self.key}-{name}"

    @property
    def stated(self) -> bool:
        return bool(self.device or self.mode or self.provided_by or self.legally_obtained)


def facts_of(image, *, key: str | None = None, name: str | None = None) -> ImageFacts:
    """The facts stored on a ``ProbeImage``."""
    return ImageFacts(
        key=key or f"image-{image.id}",
        name=name or image.original_name,
        **{field: getattr(image, f"provenance_{field}") for field in FACT_FIELDS},
    )


def store_facts(image, facts: ImageFacts) -> None:
    """A frame picked from a video is recorded and extracted from video by construction,
    whatever is posted."""
    if getattr(image, "video_sha256", None):
        facts = replace(facts, mode=RECORDED, extracted_from_video=True)
    for field in FACT_FIELDS:
        value = getattr(facts, field)
        if isinstance(value, str):
            value = value.strip()[: TEXT_LIMITS.get(field, 40)]
        setattr(image, f"provenance_{field}", value)


def describe(image) -> str:
    """The stated provenance in one line, as the reviewer and the request PDF show it."""
    device = SHORT_DEVICES.get(image.provenance_device, image.provenance_device or "source not stated")
    if image.provenance_device == OTHER and image.provenance_device_other:
        device = f"Other: {image.provenance_device_other}"
    parts = [
        device,
        CAPTURE_MODES.get(image.provenance_mode, "live or recorded not stated").split(":")[0],
        {True: "extracted from video", False: "not extracted from video"}.get(
            image.provenance_extracted_from_video, "extraction from video not stated"
        ),
        "provided by "
        + PROVIDERS.get(image.provenance_provided_by, "—").lower()
        + (f" ({image.provenance_provided_by_name})" if image.provenance_provided_by_name else ""),
    ]
    return "; ".join(parts)


# --- the rules over the facts ----------------------------------------------------------------

FACT_LABELS = {
    "device_other": "other source",
    "provided_by_name": "who provided it",
    "legally_obtained": "how it was legally obtained",
    "answer": "the answer that brings it",
}


@dataclass(frozen=True)
class Context:
    """What the image rules depend on besides the image."""

    purpose: str
    threat_to_life: bool | None
    person_at_risk: bool | None
    local: LocalRules

    @property
    def life_or_risk(self) -> bool:
        return bool(self.threat_to_life) or self.purpose == IMMINENT_THREAT or bool(self.person_at_risk)

    @property
    def surveillance_allowed(self) -> bool:
        return self.purpose == ACTIVE_INVESTIGATION or bool(self.threat_to_life)


def flag_text(mention: Mention, label: str) -> str:
    category = vocabulary().category(mention.category)
    denied = " (said as a denial)" if mention.negated else ""
    return f"{label} mentions \u201c{mention.words}\u201d{denied}: {category.label} ({mention.clause})"


def image_violations(facts: ImageFacts, context: Context) -> tuple[list[Violation], list[str], list[Mention]]:
    """The rules over one image's stated facts, and its declared text screened: the refusals,
    the flags for the reviewer, and every mention found."""
    violations: list[Violation] = []
    flags: list[str] = []

    def refuse(field: str, message: str, clause: Clause) -> None:
        violations.append(Violation(facts.field(field), f"{facts.name}: {message}", clause))

    if facts.device not in CAPTURE_DEVICES:
        refuse("device", "say what captured the image (Source image obtained from).", REQUESTER_FIELDS)
    elif facts.device == OTHER and len(facts.device_other.strip()) < 5:
        refuse("device_other", "describe the other source of the image.", LEGAL_SOURCE)
    if facts.mode not in CAPTURE_MODES:
        refuse("mode", "say whether the image was live or recorded.", REQUESTER_FIELDS)
    if facts.extracted_from_video is None:
        refuse("extracted_from_video", "say whether the image was extracted from video.", REQUESTER_FIELDS)
    if facts.provided_by not in PROVIDERS:
        refuse("provided_by", "say who provided the image.", LEGAL_SOURCE)
    if len(facts.legally_obtained.strip()) < 10:
        refuse("legally_obtained", "explain how the image was legally obtained.", LEGAL_SOURCE)

    mentions = screen_fields(facts.declared_text())
    stated: dict[str, Mention] = {}
    for mention in mentions:
        rule = vocabulary().category(mention.category).rule
        if mention.strength == "term" and not mention.negated and rule in ("refuse", "live", "surveillance"):
            stated.setdefault(mention.category, mention)
    refused_by: set[str] = set()  # the categories whose stated words made a refusal

    def said(category: str, message: str) -> str:
        mention = stated.get(category)
        if mention:
            refused_by.add(category)
        return f"{message} (You wrote \u201c{mention.words}\u201d.)" if mention else message

    def where(category: str, fact: str) -> str:
        mention = stated.get(category)
        return mention.field.removeprefix(facts.key + "-") if mention else fact

    if facts.device == OFFICER_WORN or BODY_WORN_CAMERA in stated:
        refuse(
            where(BODY_WORN_CAMERA, "device"),
            said(BODY_WORN_CAMERA, "images from a camera worn by an officer cannot be searched."),
            BODY_WORN,
        )
    if (facts.device == IDENTITY_DOCUMENT or DMV_PHOTO in stated) and context.local.refuse_dmv_probes:
        refuse(
            where(DMV_PHOTO, "device"),
            said(
                DMV_PHOTO,
                "identity-document (DMV, state ID, CAL-PHOTO) photos are not searched by this unit.",
            ),
            local_rule(
                "LR-1",
                context.local.unit_name,
                "probe photos from the DMV, an identity document or CAL-PHOTO are not searched.",
            ),
        )
    if (
        facts.device == FACE_SEARCH_RESULT or SCRAPED_INTERNET in stated
    ) and context.local.refuse_scraped_probes:
        refuse(
            where(SCRAPED_INTERNET, "device"),
            said(
                SCRAPED_INTERNET,
                "results of face-search engines and scraped images are not searched by this unit.",
            ),
            local_rule(
                "LR-2",
                context.local.unit_name,
                "images collected by scraping the internet, or found by a "
                "face-search engine, are not searched.",
            ),
        )
    if (facts.mode == LIVE or LIVE_VIDEO in stated) and not context.life_or_risk:
        refuse(
            where(LIVE_VIDEO, "mode"),
            said(
                LIVE_VIDEO,
                "images from live video may only be searched for an imminent threat to life or an "
                "at-risk person.",
            ),
            LIVE_STREAM,
        )
    if (facts.device == FIXED_CAMERA or SURVEILLANCE in stated) and not context.surveillance_allowed:
        refuse(
            where(SURVEILLANCE, "device"),
            said(
                SURVEILLANCE,
                "surveillance-camera images may only be searched for an active criminal investigation or in "
                "response to an imminent threat of life "
                "(answer \u201cIs there an imminent threat to life?\u201d).",
            ),
            SURVEILLANCE_CLAUSE,
        )
    for mention in mentions:
        rule = vocabulary().category(mention.category).rule
        if rule == "first_amendment" or (
            mention.category in refused_by and stated[mention.category] == mention
        ):
            continue
        flags.append(
            flag_text(mention, f"{facts.name}, {FACT_LABELS[mention.field.removeprefix(facts.key + '-')]},")
        )
    if SURVEILLANCE in stated and facts.device != FIXED_CAMERA:
        flags.append(f"{facts.name}: the text names a surveillance camera, the stated source is not one")
    if LIVE_VIDEO in stated and facts.mode != LIVE:
        flags.append(f"{facts.name}: the text says live, the image is stated as recorded")
    if facts.device in NEEDS_A_NOTE:
        flags.append(f"{facts.name}: {CAPTURE_DEVICES[facts.device]} (the reviewer explains)")
    return violations, sorted(set(flags)), mentions
