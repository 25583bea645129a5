"""The screening net measured on a labelled phrase set (``tests/policy/screening_phrases.toml``):
each phrase written where a photo's source is declared (how it was legally obtained, for a phone
photo) and in the request's own text, and what the policy made of it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from app.services.policy.provenance import Context, ImageFacts, image_violations
from app.services.policy.rules import ACTIVE_INVESTIGATION, LocalRules
from app.services.policy.screening import first_amendment_terms, screen_fields

PHRASES = Path(__file__).resolve().parents[1] / "policy" / "screening_phrases.toml"
SOURCE_CLAUSES = {"SD-7", "PU-1", "PU-2", "LR-1", "LR-2"}
CONTEXT = Context(
    ACTIVE_INVESTIGATION, threat_to_life=False, person_at_risk=False, local=LocalRules("the unit")
)


@dataclass(frozen=True)
class Outcome:
    text: str
    refused: bool  # a source clause refused it, written where the source is declared
    flagged: bool  # a flag for the reviewer, there or in the request's text
    first_amendment: bool  # a First Amendment flag, in the request's text

    @property
    def verdict(self) -> str:
        return "refused" if self.refused else "flagged" if self.flagged or self.first_amendment else "passed"


def screen_phrase(text: str) -> Outcome:
    facts = ImageFacts(
        key="image-1",
        name="Photo 1",
        device="phone_camera",
        mode="recorded",
        extracted_from_video=False,
        provided_by="victim_witness",
        legally_obtained=f"{text} (given to us)",
    )
    violations, flags, _ = image_violations(facts, CONTEXT)
    narrative = screen_fields({"reason": text})
    return Outcome(
        text=text,
        refused=any(v.clause.id in SOURCE_CLAUSES for v in violations),
        flagged=bool(flags) or bool(narrative),
        first_amendment=bool(first_amendment_terms(narrative)),
    )


def phrase_set(held_out: bool = False) -> dict[str, list[str]]:
    data = tomllib.loads(PHRASES.read_text(encoding="utf-8"))
    held = data.pop("held_out")
    return held if held_out else data


def measure(held_out: bool = False) -> dict[str, list[Outcome]]:
    return {kind: [screen_phrase(text) for text in texts] for kind, texts in phrase_set(held_out).items()}


def rates(outcomes: dict[str, list[Outcome]]) -> dict[str, float]:
    def share(kind: str, test) -> float:
        items = outcomes[kind]
        return sum(1 for o in items if test(o)) / len(items)

    return {
        "forbidden refused": share("forbidden", lambda o: o.refused),
        "doubtful flagged or refused": share("doubtful", lambda o: o.refused or o.flagged),
        "doubtful passed": share("doubtful", lambda o: o.verdict == "passed"),
        "first amendment flagged": share("first_amendment", lambda o: o.first_amendment),
        "harmless passed": share("harmless", lambda o: o.verdict == "passed"),
        "harmless false flags": share("harmless", lambda o: o.verdict != "passed"),
    }
