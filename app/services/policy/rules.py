"""The use policy (LACRIS Facial Recognition Policy Template), as rules software can apply.

Each refusal names the clause it applies (an id from ``app.services.policy.clause_map`` and the
clause's own words), so the requester sees why. Where LeadDesk is stricter than the template
it says so: a *local rule* of the unit, from its configuration, never attributed to a
clause that does not say it.

The prohibitions are rules over facts the requester states for each image
(``app.services.policy.provenance``): what captured it, live or recorded, extracted from video, who
provided it. The free text is a second net (``app.services.policy.screening``): a forbidden source
named where the source is declared is refused as if it had been chosen; any other mention,
and every First Amendment term, is a flag, and a flag is a gate: nothing is searched until a
reviewer records a determination about it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
SURVEILLANCE_CLAUSE = Clause(
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
AGENCY_POLICY = Clause(
    "SD-11",
    "Slides, Policies & Training: the requesting agency's own \u201cLocal PD Facial Recognition "
    "Policy\u201d, beside the LACRIS policy.",
)
SIGNATURE = Clause("RF-4", "Facial Recognition Search Request: Requestor Signature, Printed Name, Date.")


CLAUSES_BY_ID = {"SD-7": BODY_WORN, "PU-2": LIVE_STREAM, "PU-1": SURVEILLANCE_CLAUSE}


def local_rule(rule_id: str, unit_name: str, text: str) -> Clause:
    """A rule of the unit's own, stricter than the template (the unit's configuration)."""
    return Clause(
        rule_id, f"Local rule of {unit_name} ({rule_id}), not a clause of the LACRIS template: {text}"
    )


MIN_JUSTIFICATION_CHARS = 40


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
    require_agency_policy: bool = True
