"""Screening the free text of a request: image sources the policy forbids, named in words
rather than chosen from the list, and justifications that touch First Amendment activity or
protected traits (First Amendment 1-3).

A forbidden source in the text that declares the source ("Other source", "how legally
obtained") is refused by the rules (``policy.check_request``); a mention in the narrative, or
a negated one ("not from a bodycam"), is only flagged for the reviewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BODY_WORN_CAMERA = "body_worn_camera"
LIVE_VIDEO = "live_video"
DMV_PHOTO = "dmv_photo"
SCRAPED_INTERNET = "scraped_internet"


# Forbidden sources named in free text, by what they are (the same rules as the choice list).
SOURCE_TERMS = {
    BODY_WORN_CAMERA: (
        r"body[\s-]*(?:worn|cam(?:era)?s?)|bodycams?|\bbwc\b|axon\s+body|"
        r"officer['’]?s?\s+(?:worn\s+)?camera"
    ),
    DMV_PHOTO: (
        r"\bdmv\b|cal[\s-]*photo|driver['’]?s?\s*licen[cs]e\s+(?:photo|picture|image)|"
        r"\bdl\s+photo|department\s+of\s+motor\s+vehicles"
    ),
    SCRAPED_INTERNET: r"scrap(?:ed|ing|e)\b|clearview|pimeyes|web\s*crawl",
    LIVE_VIDEO: (
        r"live\s*(?:stream|feed|cctv|video|camera)|real[\s-]*time\s+(?:feed|video|stream)|"
        r"streaming\s+(?:video|feed)"
    ),
}


# Sources the requester should explain, not refused: the reviewer looks.
DOUBTFUL_TERMS = (
    r"dash[\s-]*cam|in[\s-]*car\s+(?:video|camera)|patrol\s+car\s+camera|drone|"
    r"license\s+plate\s+reader|\balpr\b"
)


_NEGATION = re.compile(r"\b(?:not|no|never|nor|without)\b(?:\W+\w+){0,3}\W*$", re.I)


_SOURCE_PATTERNS = {source: re.compile(pattern, re.I) for source, pattern in SOURCE_TERMS.items()}


_DOUBTFUL = re.compile(DOUBTFUL_TERMS, re.I)


@dataclass(frozen=True)
class SourceScreen:
    forbidden: dict[str, str]  # source -> the words that named it (in the declared source)
    doubtful: list[str]  # mentions for the reviewer to look at


def _mentions(pattern: re.Pattern, text: str) -> tuple[list[str], list[str]]:
    """(plain mentions, negated mentions such as "not from a bodycam")."""
    plain, negated = [], []
    for match in pattern.finditer(text or ""):
        before = text[max(0, match.start() - 40) : match.start()]
        (negated if _NEGATION.search(before) else plain).append(match.group(0))
    return plain, negated


def screen_sources(*, declared: list[str], narrative: list[str]) -> SourceScreen:
    """Screen the free text about the image. ``declared``: where the requester says where the
    image came from (other source, how obtained); ``narrative``: reason and situation."""
    forbidden: dict[str, str] = {}
    doubtful: list[str] = []
    for source, pattern in _SOURCE_PATTERNS.items():
        for text in declared:
            plain, negated = _mentions(pattern, text)
            if plain:
                forbidden.setdefault(source, plain[0])
            doubtful += [f"source text says \u201c{m}\u201d (negated)" for m in negated]
        for text in narrative:
            plain, negated = _mentions(pattern, text)
            doubtful += [f"justification mentions \u201c{m}\u201d" for m in plain + negated]
    for text in [*declared, *narrative]:
        doubtful += [f"mentions \u201c{m.group(0)}\u201d" for m in _DOUBTFUL.finditer(text or "")]
    return SourceScreen(forbidden, sorted(set(doubtful)))


# First Amendment 1-3: words that suggest a search based on protected activity, association
# or traits. Not a refusal: the reviewer records why the search is not so based.
FIRST_AMENDMENT_TERMS = {
    "FA-1": (
        r"protest(?:er|or|ers|ors|s)?|demonstrat(?:ion|ions|or|ors)|rall(?:y|ies)|marchers?|"
        r"picket(?:ers?|ing)?|vigil|sit-in|boycott|petition(?:ers?)?|political(?:\s+\w+)?|"
        r"election|voters?|activis[tm]s?|religio(?:n|us)|church|mosque|synagogue|"
        r"worship(?:pers?)?|congregation|prayers?|praying|sermon|imam|rabbi|pastor|priest|"
        r"democrat(?:ic|s)?|republican|party\s+(?:member|meeting|office)|"
        r"press\s+conference|journalist|political\s+speech"
    ),
    "FA-2": (
        r"union(?:\s+organi[sz]ing|\s+member|\s+meeting)?|advocacy\s+group|civil\s+rights\s+group|"
        r"community\s+organi[sz]ation|black\s+lives\s+matter|blm|antifa|tea\s+party|naacp|aclu"
    ),
    "FA-3": (
        r"(?:black|white|hispanic|latino|latina|latinx|asian|arab|middle[\s-]eastern|african[\s-]american|"
        r"native\s+american|indian|mexican|chinese|muslim|jewish|christian|sikh|hindu)"
        r"(?:\s+(?:man|men|woman|women|male|female|person|people|individual|guy|kid|teen|youth|community))|"
        r"immigrant|undocumented|illegal\s+alien|citizenship|national\s+origin|ethnicit(?:y|ies)|"
        r"\brace\b|racial|transgender|\btrans\b|gay|lesbian|homosexual|queer|lgbt\w*|sexual\s+orientation|"
        r"disabilit(?:y|ies)|wheelchair|deaf|(?:disabled|blind|elderly|old)\s+(?:man|woman|person|people)|"
        r"gender\s+identit(?:y|ies)|headscarf|hijab|turban|yarmulke|kippah"
    ),
}


_FA_PATTERNS = {
    clause: re.compile(r"\b(?:" + pattern + r")\b", re.I) for clause, pattern in FIRST_AMENDMENT_TERMS.items()
}


def first_amendment_terms(*texts: str) -> list[str]:
    """The words in the justification that may touch First Amendment 1-3, with the clause
    each may touch ("FA-1: mosque"), lower-cased and sorted."""
    found = {
        f"{clause}: {' '.join(match.group(0).lower().split())}"
        for text in texts
        if text
        for clause, pattern in _FA_PATTERNS.items()
        for match in pattern.finditer(text)
    }
    return sorted(found)
