"""The use policy (LACRIS Facial Recognition Policy Template), as rules software can apply.

Each refusal names the clause it applies (an id from ``app.services.clause_map`` and the
clause's own words), so the requester sees why. Where LeadDesk is stricter than the template
it says so: a *local rule* of the unit, from its configuration, never attributed to a
clause that does not say it.

The free text is screened with the same rules as the choice lists: a source the policy
forbids, named in "Other source" or in "how legally obtained", is refused; a mention in the
narrative that may only be context is flagged for the reviewer. Justifications that suggest
a search based on protected activity or traits (First Amendment 1-3) are flagged; a flagged
request is searched only once a reviewer records why it is not so based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.services.screening import (
    BODY_WORN_CAMERA,
    DMV_PHOTO,
    LIVE_VIDEO,
    SCRAPED_INTERNET,
    SourceScreen,
    screen_sources,
)

# --- the lists the form offers ----------------------------------------------------------

ACTIVE_INVESTIGATION = "active_investigation"
IMMINENT_THREAT = "imminent_threat"
DECEASED = "deceased"
UNABLE_TO_IDENTIFY = "unable_to_identify"

# Purpose and scope: "an active investigation, imminent threat to health or safety
# ('at-risk') or ... identification of deceased persons or persons unable to identify themselves".
PURPOSES = {
    ACTIVE_INVESTIGATION: "Active investigation",
    IMMINENT_THREAT: "Imminent threat to health or safety (\u201cat-risk\u201d)",
    DECEASED: "Identification of a deceased person",
    UNABLE_TO_IDENTIFY: "Identification of a person unable to identify themselves",
}
IDENTIFICATION_PURPOSES = {DECEASED, UNABLE_TO_IDENTIFY}

SURVEILLANCE_STILL = "surveillance_still"
OTHER_SOURCE = "other"

IMAGE_SOURCES = {
    SURVEILLANCE_STILL: "Crime-scene or business surveillance still",
    "witness_victim": "Witness or victim photo or video",
    "social_media": "Social media (legally obtained)",
    "subject_device": "Subject-provided or seized device",
    "jail_booking": "Jail or booking photo",
    OTHER_SOURCE: "Other (describe)",
    # Offered so a requester can say so, and be told plainly why the unit cannot search it.
    BODY_WORN_CAMERA: "Body-worn (officer) camera",
    LIVE_VIDEO: "Live video stream",
    DMV_PHOTO: "DMV / driver's-license photo",
    SCRAPED_INTERNET: "Photos scraped from the internet",
}

CRIME_TYPES = {
    "homicide": "Homicide",
    "robbery": "Robbery",
    "assault": "Assault / battery",
    "sexual_assault": "Sexual assault",
    "burglary": "Burglary",
    "theft": "Theft / larceny",
    "fraud": "Fraud / identity theft",
    "vehicle_theft": "Vehicle theft",
    "narcotics": "Narcotics",
    "weapons": "Weapons offence",
    "kidnapping": "Kidnapping / missing person",
    "human_trafficking": "Human trafficking",
    "vandalism": "Vandalism",
    "death_investigation": "Death investigation",
    "other": "Other (describe)",
}

AFFIRMATION = (
    "Our agency understands that any results will be used as an investigative lead only and "
    "shall not be considered a positive identification, reason for detention, or probable cause "
    "for an arrest."
)
FIRST_AMENDMENT_NOTICE = (
    "Searches may not be based solely on religious, political or social views or activities, "
    "participation in a particular noncriminal organization, or race, ethnicity, citizenship, "
    "place of origin, age, disability, gender, gender identification, sexual orientation or "
    "other protected classification."
)

# --- the clauses, quoted -------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    id: str
    text: str  # how a refusal quotes it


def _q(label: str, words: str) -> str:
    return f"{label}: \u201c{words}\u201d"


BODY_WORN = Clause(
    "SD-7",
    _q(
        "Penal Code 832.19 (AB 1215)",
        "A law enforcement agency or law enforcement officer shall not install, activate, or use any "
        "biometric surveillance system in connection with an officer camera or data collected by an "
        "officer camera.",
    ),
)
LIVE_STREAM = Clause(
    "PU-2",
    _q(
        "Prohibitive uses, 2",
        "Members shall not use facial recognition on live stream video unless there is an imminent "
        "threat to life or it involves at-risk individuals.",
    ),
)
SURVEILLANCE = Clause(
    "PU-1",
    _q(
        "Prohibitive uses, 1",
        "Members shall not use facial recognition to actively surveil members of the public through "
        "any camera or video device unless the person(s) are under an active criminal investigation "
        "or the surveillance is in response to an imminent threat of life.",
    ),
)
PURPOSE = Clause(
    "PS-1",
    _q(
        "Purpose and scope",
        "Facial recognition shall only be used when there is reasonable suspicion that such use will "
        "provide information relevant to an active investigation, imminent threat to health or safety "
        "(\u2018at-risk\u2019) or help in the identification of deceased persons or persons unable to "
        "identify themselves.",
    ),
)
JUSTIFICATION = Clause(
    "AU-5",
    _q(
        "Audits",
        "Appropriate justification shall include a situation description and purpose for the search, "
        "including a detailed account of circumstances amounting to reasonable suspicion, a "
        "case/complaint number, and a file class/crime type, if available.",
    ),
)
LEGAL_SOURCE = Clause(
    "IS-1", _q("Investigative searches, 1", "Probe images will only be used from legally obtained sources.")
)
AFFIRMATION_CLAUSE = Clause(
    "RF-2",
    _q("Facial Recognition Search Request", AFFIRMATION),
)
REQUESTER_FIELDS = Clause(
    "RF-3",
    "Facial Recognition Search Request: Requesting Agency, Requester Name, Requester Phone Number, "
    "Requester Email, Case/File Number, Reason for search, Source image obtained from, Image "
    "extracted from video?, Number of Images attached.",
)
SIGNATURE = Clause("RF-4", "Facial Recognition Search Request: Requestor Signature, Printed Name, Date.")


def local_rule(rule_id: str, unit_name: str, text: str) -> Clause:
    """A rule of the unit's own, stricter than the template (the unit's configuration)."""
    return Clause(
        rule_id, f"Local rule of {unit_name} ({rule_id}), not a clause of the LACRIS template: {text}"
    )


MIN_JUSTIFICATION_CHARS = 40


# --- the rules -------------------------------------------------------------------------------------

PLACEHOLDER_CASE_NUMBERS = re.compile(
    r"^(?:n\s*/?\s*a|none|unknown|tbd|pending|nil|null|-+|\.+|x+|0+|\?+)$", re.I
)
PHONE = re.compile(r"^[0-9()+.\-\s/xext]{7,40}$", re.I)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Violation:
    field: str
    message: str
    clause: Clause

    @property
    def clause_text(self) -> str:
        return self.clause.text


@dataclass(frozen=True)
class LocalRules:
    """The unit's own rules, stricter than the template (configuration ``LOCAL_RULES``)."""

    unit_name: str
    refuse_dmv_probes: bool = True
    refuse_scraped_probes: bool = True


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


def check_request(
    *,
    purpose: str,
    image_source: str,
    image_source_other: str,
    case_number: str,
    reason: str,
    situation: str,
    reasonable_suspicion: str,
    crime_type: str,
    crime_type_other: str,
    person_condition: str,
    legally_obtained: str,
    affirmed: bool,
    signature: str,
    signer_full_name: str,
    extracted_from_video: bool | None,
    requester_name: str,
    requester_phone: str,
    requester_email: str,
    threat_to_life: bool | None,
    person_at_risk: bool | None,
    local: LocalRules,
) -> tuple[list[Violation], SourceScreen]:
    """Every policy rule the request breaks (empty when it may be submitted), and the source
    screening of its free text (doubtful mentions go to the reviewer)."""
    violations: list[Violation] = []

    def refuse(field: str, message: str, clause: Clause) -> None:
        violations.append(Violation(field, message, clause))

    screen = screen_sources(
        declared=[image_source_other, legally_obtained], narrative=[reason, situation, reasonable_suspicion]
    )
    sources = {image_source, *screen.forbidden}
    life_or_risk = bool(threat_to_life) or purpose == IMMINENT_THREAT or bool(person_at_risk)

    if purpose not in PURPOSES:
        refuse("purpose", "Choose one of the purposes the policy allows.", PURPOSE)
    if image_source not in IMAGE_SOURCES:
        refuse("image_source", "Say where the image was obtained.", LEGAL_SOURCE)
    elif image_source == OTHER_SOURCE and len(image_source_other.strip()) < 5:
        refuse("image_source_other", "Describe the other source of the image.", LEGAL_SOURCE)
    named = {source: screen.forbidden.get(source) for source in sources}

    def where(source: str) -> str:
        return "image_source" if source == image_source else _field_naming(image_source_other, named[source])

    if BODY_WORN_CAMERA in sources:
        refuse(
            where(BODY_WORN_CAMERA),
            _said(named[BODY_WORN_CAMERA], "Images from body-worn cameras cannot be searched."),
            BODY_WORN,
        )
    if DMV_PHOTO in sources and local.refuse_dmv_probes:
        refuse(
            where(DMV_PHOTO),
            _said(named[DMV_PHOTO], "DMV / driver's-license photos are not searched by this unit."),
            local_rule("LR-1", local.unit_name, "probe photos from the DMV or Cal-Photo are not searched."),
        )
    if SCRAPED_INTERNET in sources and local.refuse_scraped_probes:
        refuse(
            where(SCRAPED_INTERNET),
            _said(named[SCRAPED_INTERNET], "Photos scraped from the internet are not searched by this unit."),
            local_rule(
                "LR-2", local.unit_name, "images collected by scraping the internet are not searched."
            ),
        )
    if LIVE_VIDEO in sources and not life_or_risk:
        refuse(
            where(LIVE_VIDEO),
            _said(
                named[LIVE_VIDEO],
                "Images from a live video stream may only be searched for an imminent threat to life or an "
                "at-risk person.",
            ),
            LIVE_STREAM,
        )
    if image_source == SURVEILLANCE_STILL and not (purpose == ACTIVE_INVESTIGATION or threat_to_life):
        refuse(
            "image_source",
            "Surveillance images may only be searched for an active criminal investigation or in response "
            "to an imminent threat of life (answer “Is there an imminent threat to life?”).",
            SURVEILLANCE,
        )
    if len(legally_obtained.strip()) < 10:
        refuse("legally_obtained", "Explain how the image was legally obtained.", LEGAL_SOURCE)
    if extracted_from_video is None:
        refuse("extracted_from_video", "Say whether the image was extracted from video.", REQUESTER_FIELDS)

    case = case_number.strip()
    if PLACEHOLDER_CASE_NUMBERS.match(case):
        refuse(
            "case_number",
            f"\u201c{case}\u201d is not a case/file number: give the real one "
            "(or, for an identification, leave it empty).",
            JUSTIFICATION,
        )
    elif not case and purpose not in IDENTIFICATION_PURPOSES:
        refuse("case_number", "A case/file number is required for this purpose.", JUSTIFICATION)
    for field, text, what in (
        ("reason", reason, "reason for the search"),
        ("situation", situation, "situation description"),
        (
            "reasonable_suspicion",
            reasonable_suspicion,
            "account of the circumstances amounting to reasonable suspicion",
        ),
    ):
        if len(text.strip()) < MIN_JUSTIFICATION_CHARS:
            refuse(
                field,
                f"The {what} is too short to be a justification "
                f"(at least {MIN_JUSTIFICATION_CHARS} characters).",
                PURPOSE if field == "reasonable_suspicion" else JUSTIFICATION,
            )
    if crime_type and crime_type not in CRIME_TYPES:
        refuse("crime_type", "Choose a file class / crime type from the list, or none.", JUSTIFICATION)
    elif crime_type == "other" and len(crime_type_other.strip()) < 3:
        refuse("crime_type_other", "Describe the crime type.", JUSTIFICATION)
    if purpose in IDENTIFICATION_PURPOSES and len(person_condition.strip()) < 10:
        refuse("person_condition", "Say what is known of the person's condition.", PURPOSE)

    if _normalise(requester_name) != _normalise(signer_full_name):
        refuse(
            "requester_name", f"The requester is the account holder: {signer_full_name}.", REQUESTER_FIELDS
        )
    if not PHONE.match(requester_phone.strip()) or sum(c.isdigit() for c in requester_phone) < 7:
        refuse(
            "requester_phone",
            "Give a phone number the unit can call back (at least 7 digits).",
            REQUESTER_FIELDS,
        )
    if not EMAIL.match(requester_email.strip()):
        refuse("requester_email", "Give an e-mail address the unit can write to.", REQUESTER_FIELDS)
    if not affirmed:
        refuse(
            "affirmed",
            "The agency must affirm that results are investigative leads only.",
            AFFIRMATION_CLAUSE,
        )
    if _normalise(signature) != _normalise(signer_full_name):
        refuse(
            "signature",
            f"The signature must be your full name as on your account ({signer_full_name}).",
            SIGNATURE,
        )
    return violations, screen


def _said(words: str | None, message: str) -> str:
    return f"{message} (You wrote \u201c{words}\u201d.)" if words else message


def _field_naming(image_source_other: str, words: str | None) -> str:
    return (
        "image_source_other"
        if words and words.lower() in (image_source_other or "").lower()
        else "legally_obtained"
    )
