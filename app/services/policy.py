"""The use policy (LACRIS Facial Recognition Policy Template), as rules software can apply.

Each refusal names the clause it applies, quoted, so the requester sees why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- the lists the form offers ----------------------------------------------------------

ACTIVE_INVESTIGATION = "active_investigation"
IMMINENT_THREAT = "imminent_threat"
DECEASED = "deceased"
UNABLE_TO_IDENTIFY = "unable_to_identify"

PURPOSES = {
    ACTIVE_INVESTIGATION: "Active criminal investigation (reasonable suspicion)",
    IMMINENT_THREAT: "Imminent threat to life or safety / at-risk person",
    DECEASED: "Identification of a deceased person",
    UNABLE_TO_IDENTIFY: "Identification of a person unable to identify themselves",
}
IDENTIFICATION_PURPOSES = {DECEASED, UNABLE_TO_IDENTIFY}

SURVEILLANCE_STILL = "surveillance_still"
LIVE_VIDEO = "live_video"
BODY_WORN_CAMERA = "body_worn_camera"
DMV_PHOTO = "dmv_photo"
SCRAPED_INTERNET = "scraped_internet"
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

# --- the clauses ---------------------------------------------------------------------------

CLAUSE_BODY_WORN = (
    "Penal Code 832.19 (AB 1215): \u201cA law enforcement agency or law enforcement officer shall "
    "not install, activate, or use any biometric surveillance system in connection with an "
    "officer camera or data collected by an officer camera.\u201d"
)
CLAUSE_DATABASES = (
    "Database and data limitations, 3: \u201cNo non-mugshot databases, such as the California "
    "driver\u2019s license photo database, or publicly sourced image databases, are linked to or "
    "accessible via the LACRIS DMS.\u201d"
)
CLAUSE_LIVE_VIDEO = (
    "Prohibitive uses, 2: \u201cMembers shall not use facial recognition on live stream video "
    "unless there is an imminent threat to life or it involves at-risk individuals.\u201d"
)
CLAUSE_SURVEILLANCE = (
    "Prohibitive uses, 1: \u201cMembers shall not use facial recognition to actively surveil "
    "members of the public through any camera or video device unless the person(s) are under "
    "an active criminal investigation or the surveillance is in response to an imminent threat "
    "of life.\u201d"
)
CLAUSE_PURPOSE = (
    "Purpose and scope: \u201cFacial recognition shall only be used when there is reasonable "
    "suspicion that such use will provide information relevant to an active investigation, "
    "imminent threat to health or safety (\u2018at-risk\u2019) or help in the identification of "
    "deceased persons or persons unable to identify themselves.\u201d"
)
CLAUSE_JUSTIFICATION = (
    "Audits: \u201cAppropriate justification shall include a situation description and purpose "
    "for the search, including a detailed account of circumstances amounting to reasonable "
    "suspicion, a case/complaint number, and a file class/crime type, if available.\u201d"
)
CLAUSE_LEGAL_SOURCE = (
    "Investigative searches, 1: \u201cProbe images will only be used from legally obtained sources.\u201d"
)
CLAUSE_AFFIRMATION = (
    "Search request form: the agency\u2019s affirmation that results are investigative leads only."
)

MIN_JUSTIFICATION_CHARS = 40

# Words that suggest protest or assembly activity is the reason for a search. Not a refusal:
# the request is flagged for the reviewer and the monthly audit (First Amendment section).
FIRST_AMENDMENT_TERMS = (
    "protest",
    "protester",
    "protestor",
    "demonstration",
    "demonstrator",
    "rally",
    "march",
    "marcher",
    "assembly",
    "picket",
    "vigil",
    "sit-in",
    "activist",
    "boycott",
    "petition",
    "union organizing",
    "political meeting",
    "religious service",
    "congregation",
    "worshipper",
)
_TERM_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(t) for t in FIRST_AMENDMENT_TERMS) + r")(s|ers|ors|es)?\b", re.I
)


@dataclass(frozen=True)
class Violation:
    field: str
    message: str
    clause: str


def first_amendment_terms(*texts: str) -> list[str]:
    """The listed protest/assembly terms found in the justification texts, lower-cased."""
    found = {m.group(1).lower() for text in texts if text for m in _TERM_PATTERN.finditer(text)}
    return sorted(found)


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
) -> list[Violation]:
    """Every policy rule the request breaks (empty when it may be submitted)."""
    violations: list[Violation] = []

    def refuse(field: str, message: str, clause: str) -> None:
        violations.append(Violation(field, message, clause))

    if purpose not in PURPOSES:
        refuse("purpose", "Choose one of the purposes the policy allows.", CLAUSE_PURPOSE)
    if image_source not in IMAGE_SOURCES:
        refuse("image_source", "Say where the image was obtained.", CLAUSE_LEGAL_SOURCE)
    elif image_source == BODY_WORN_CAMERA:
        refuse("image_source", "Images from body-worn cameras cannot be searched.", CLAUSE_BODY_WORN)
    elif image_source in (DMV_PHOTO, SCRAPED_INTERNET):
        refuse(
            "image_source",
            "DMV / driver's-license photos and photos scraped from the internet cannot be used.",
            CLAUSE_DATABASES,
        )
    elif image_source == LIVE_VIDEO and purpose != IMMINENT_THREAT:
        refuse(
            "image_source",
            "Images from a live video stream may only be searched for an imminent threat to life "
            "or an at-risk person.",
            CLAUSE_LIVE_VIDEO,
        )
    elif image_source == SURVEILLANCE_STILL and purpose not in (ACTIVE_INVESTIGATION, IMMINENT_THREAT):
        refuse(
            "image_source",
            "Surveillance images may only be searched for an active criminal investigation or an "
            "imminent threat.",
            CLAUSE_SURVEILLANCE,
        )
    elif image_source == OTHER_SOURCE and len(image_source_other.strip()) < 5:
        refuse("image_source_other", "Describe the other source of the image.", CLAUSE_LEGAL_SOURCE)
    if len(legally_obtained.strip()) < 10:
        refuse("legally_obtained", "Explain how the image was legally obtained.", CLAUSE_LEGAL_SOURCE)
    if extracted_from_video is None:
        refuse(
            "extracted_from_video", "Say whether the image was extracted from video.", CLAUSE_JUSTIFICATION
        )

    if not case_number.strip() and purpose not in IDENTIFICATION_PURPOSES:
        refuse("case_number", "A case/file number is required for this purpose.", CLAUSE_JUSTIFICATION)
    for field, text, what in (
        ("reason", reason, "reason for the search"),
        ("situation", situation, "situation description"),
    ):
        if len(text.strip()) < MIN_JUSTIFICATION_CHARS:
            refuse(
                field,
                f"The {what} is too short to be a justification "
                f"(at least {MIN_JUSTIFICATION_CHARS} characters).",
                CLAUSE_JUSTIFICATION,
            )
    if (
        purpose in (ACTIVE_INVESTIGATION, IMMINENT_THREAT)
        and len(reasonable_suspicion.strip()) < MIN_JUSTIFICATION_CHARS
    ):
        refuse(
            "reasonable_suspicion",
            "Give a detailed account of the circumstances amounting to reasonable suspicion "
            f"(at least {MIN_JUSTIFICATION_CHARS} characters).",
            CLAUSE_JUSTIFICATION,
        )
    if crime_type not in CRIME_TYPES:
        refuse("crime_type", "Choose the file class / crime type.", CLAUSE_JUSTIFICATION)
    elif crime_type == "other" and len(crime_type_other.strip()) < 3:
        refuse("crime_type_other", "Describe the crime type.", CLAUSE_JUSTIFICATION)
    if purpose in IDENTIFICATION_PURPOSES and len(person_condition.strip()) < 10:
        refuse(
            "person_condition",
            "Say what is known of the person's condition.",
            CLAUSE_PURPOSE,
        )
    if not affirmed:
        refuse(
            "affirmed",
            "The agency must affirm that results are investigative leads only.",
            CLAUSE_AFFIRMATION,
        )
    if _normalise(signature) != _normalise(signer_full_name):
        refuse(
            "signature",
            f"The signature must be your full name as on your account ({signer_full_name}).",
            CLAUSE_AFFIRMATION,
        )
    return violations


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()
