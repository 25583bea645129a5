"""The policy applied at intake: the rules over a request's fields and over each image's
stated facts, and the screening net's findings sorted into refusals and flags.

A forbidden source stated as a fact, or named where the source is declared (the image's
description, who provided it, how it was obtained), is refused with the clause. Any other
mention, a denial ("not from a bodycam"), a hint ("Evidence.com"), and every First Amendment
term is a flag: the reviewer records a determination about it before anything is searched
(``review/intake.py``). The clauses and lists themselves are in ``policy.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.services.policy import provenance
from app.services.policy.provenance import ImageFacts
from app.services.policy.rules import (
    AFFIRMATION_CLAUSE,
    CRIME_TYPES,
    IDENTIFICATION_PURPOSES,
    JUSTIFICATION,
    MIN_JUSTIFICATION_CHARS,
    PURPOSE,
    PURPOSES,
    REQUESTER_FIELDS,
    SIGNATURE,
    Clause,
    LocalRules,
    Violation,
)
from app.services.policy.screening import (
    SURVEILLANCE,
    Mention,
    first_amendment_terms,
    normalise,
    screen_fields,
    vocabulary,
)

# --- the rules -------------------------------------------------------------------------------------

# Words that make a case number a placeholder ("N.A.", "unknown yet", "TBD-0").
PLACEHOLDER_WORDS = frozenset(
    "na none unknown unk tbd tba tbc pending later yet nil null placeholder test xx xxx notyet".split()  # noqa: SIM905
)
PHONE = re.compile(r"^[0-9()+.\-\s/xext]{7,40}$", re.I)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# The request's own free text, by field, as the form labels it (the images' text is per image).
NARRATIVE_FIELDS = {
    "reason": "Reason for search",
    "situation": "Situation description",
    "reasonable_suspicion": "Circumstances amounting to reasonable suspicion",
    "crime_type_other": "Other crime type",
    "person_condition": "What is known of the person's condition",
    "image_taken_place": "Place the image was taken",
}


@dataclass(frozen=True)
class Screening:
    """What the net found that does not refuse: flags the reviewer determines before a search."""

    first_amendment: list[str]  # "FA-1: mosque", for the First Amendment determination
    request_flags: list[str]  # in the request's own text
    image_flags: dict[str, list[str]]  # by image key, in its facts and text
    mentions: list[Mention]  # everything found, for the audit

    def for_audit(self) -> list[dict]:
        return [m.as_dict() for m in self.mentions]


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


def case_number_problem(case: str) -> str | None:
    """Why ``case`` is not a case/file number (a placeholder, or no number in it), or None."""
    if not case.strip():
        return None
    words = normalise(case)
    if (
        not words
        or "".join(words) in PLACEHOLDER_WORDS
        or any(w in PLACEHOLDER_WORDS for w in words)
        or not re.search(r"[1-9]", case)
    ):
        return (
            f"\u201c{case}\u201d is not a case/file number: give the real one "
            "(or, for an identification, leave it empty)."
        )
    return None


def _screen_images(
    images: list[ImageFacts], context: provenance.Context
) -> tuple[list[Violation], dict[str, list[str]], list[Mention]]:
    violations: list[Violation] = []
    image_flags: dict[str, list[str]] = {}
    mentions: list[Mention] = []
    for facts in images:
        refused, flags, found = provenance.image_violations(facts, context)
        violations += refused
        image_flags[facts.key] = flags
        mentions += found
    return violations, image_flags, mentions


def _narrative_flags(narrative: dict[str, str], images: list[ImageFacts]) -> tuple[list[str], list[Mention]]:
    mentions = screen_fields(narrative)
    any_fixed = any(i.device == provenance.FIXED_CAMERA for i in images)
    flags = []
    for mention in mentions:
        category = vocabulary().category(mention.category)
        if category.rule == "first_amendment" or (category.key == SURVEILLANCE and any_fixed):
            continue
        flags.append(provenance.flag_text(mention, NARRATIVE_FIELDS.get(mention.field, mention.field)))
    return sorted(set(flags)), mentions


def check_request(
    *,
    purpose: str,
    case_number: str,
    reason: str,
    situation: str,
    reasonable_suspicion: str,
    crime_type: str,
    crime_type_other: str,
    person_condition: str,
    image_taken_place: str,
    affirmed: bool,
    signature: str,
    printed_name: str,
    signer_full_name: str,
    requester_name: str,
    requester_phone: str,
    requester_email: str,
    threat_to_life: bool | None,
    person_at_risk: bool | None,
    images: list[ImageFacts],
    local: LocalRules,
) -> tuple[list[Violation], Screening]:
    """Every policy rule the request breaks (empty when it may be submitted), and what the
    screening net flagged for the reviewer."""
    violations: list[Violation] = []

    def refuse(field: str, message: str, clause: Clause) -> None:
        violations.append(Violation(field, message, clause))

    if purpose not in PURPOSES:
        refuse("purpose", "Choose one of the purposes the policy allows.", PURPOSE)
    refused, image_flags, mentions = _screen_images(
        images, provenance.Context(purpose, threat_to_life, person_at_risk, local)
    )
    violations += refused
    narrative = {
        "reason": reason,
        "situation": situation,
        "reasonable_suspicion": reasonable_suspicion,
        "crime_type_other": crime_type_other,
        "person_condition": person_condition,
        "image_taken_place": image_taken_place,
    }
    request_flags, found = _narrative_flags(narrative, images)
    mentions += found

    case = case_number.strip()
    problem = case_number_problem(case)
    if problem:
        refuse("case_number", problem, JUSTIFICATION)
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
    if _normalise(printed_name) != _normalise(signer_full_name):
        refuse(
            "printed_name",
            f"The printed name is the signer's own, as on your account ({signer_full_name}).",
            SIGNATURE,
        )
    screening = Screening(first_amendment_terms(mentions), request_flags, image_flags, mentions)
    return violations, screening


def screen_answer(
    body: str, images: list[ImageFacts], context: provenance.Context
) -> tuple[list[Violation], Screening]:
    """An answer to a reviewer's question: the photos it brings under the same rules as the
    first ones (the answer's own words count as where their source is declared), and its
    text screened as narrative."""
    violations, image_flags, mentions = _screen_images(images, context)
    request_flags, found = _narrative_flags({"answer": body}, images)
    return violations, Screening(
        first_amendment_terms(mentions + found), request_flags, image_flags, mentions + found
    )
