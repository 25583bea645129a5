"""The screening net over free text: every field of a request, of its images and of every
answer, in English and Spanish, with the terms kept as data (``app/data/screening.toml``).

Text is normalised before it is matched (case, accents, punctuation and spacing folded), so
"Evidence.com", "evidence com" and "EVIDENCE-COM" are one thing and "cámara" is "camara".
Harmless phrases that contain a term ("Credit Union", "Union Station", "March 3") are masked
first. This module only finds mentions; what a mention means (a refusal where the source is
declared, a flag that gates the search elsewhere) is the policy's (``policy.check_request``).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TERMS_FILE = Path(__file__).resolve().parents[2] / "data" / "screening.toml"

BODY_WORN_CAMERA = "body_worn_camera"
LIVE_VIDEO = "live_video"
SURVEILLANCE = "surveillance"
DMV_PHOTO = "dmv_photo"
SCRAPED_INTERNET = "scraped_internet"

RULES = {"refuse", "live", "surveillance", "flag", "first_amendment"}
_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> list[str]:
    """The words of ``text``: lower case, accents removed, every run of other characters a break."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _WORD.findall(plain.replace("ß", "ss"))


@dataclass(frozen=True)
class Slot:
    """One word position of a term: alternatives, each exact or a prefix; ``gap`` is how many
    other words may come before it."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    number: bool
    gap: int

    def matches(self, word: str) -> bool:
        return (
            word in self.exact
            or any(word.startswith(p) for p in self.prefixes)
            or (self.number and word.isdigit())
        )


def compile_term(term: str) -> tuple[Slot, ...]:
    slots: list[Slot] = []
    gap = 0
    for part in term.split():
        if part.startswith("~"):
            gap = int(part[1:])
            continue
        options = part.split("|")
        try:
            exact = frozenset(normalise_word(o) for o in options if o != "#" and not o.endswith("*"))
            prefixes = tuple(normalise_word(o[:-1]) for o in options if o.endswith("*"))
        except ValueError as err:
            raise ValueError(f"screening term {term!r}: {err}") from None
        slots.append(Slot(exact, prefixes, "#" in options, gap))
        gap = 0
    if not slots:
        raise ValueError(f"empty screening term {term!r}")
    return tuple(slots)


def normalise_word(word: str) -> str:
    words = normalise(word)
    if len(words) != 1:
        raise ValueError(f"a screening term's word slot must be one word: {word!r}")
    return words[0]


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    clause: str
    rule: str
    terms: tuple[tuple[Slot, ...], ...]
    doubtful: tuple[tuple[Slot, ...], ...]
    local_rule: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    categories: tuple[Category, ...]
    harmless: tuple[tuple[Slot, ...], ...]
    negations: frozenset[str]
    negation_window: int

    def category(self, key: str) -> Category:
        return next(c for c in self.categories if c.key == key)


@cache
def vocabulary(path: Path = TERMS_FILE) -> Vocabulary:
    """The terms file, compiled; a malformed file stops the start with its reason."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    categories = []
    for key, entry in data["category"].items():
        if entry["rule"] not in RULES:
            raise ValueError(f"{path.name}: category {key} has an unknown rule {entry['rule']!r}")
        categories.append(
            Category(
                key=key,
                label=entry["label"],
                clause=entry["clause"],
                rule=entry["rule"],
                terms=tuple(compile_term(t) for t in entry["terms"]),
                doubtful=tuple(compile_term(t) for t in entry.get("doubtful", [])),
                local_rule=entry.get("local_rule"),
            )
        )
    return Vocabulary(
        categories=tuple(categories),
        harmless=tuple(compile_term(t) for t in data["harmless"]["phrases"]),
        negations=frozenset(normalise_word(w) for w in data["negation"]["words"]),
        negation_window=int(data["negation"]["window"]),
    )


@dataclass(frozen=True)
class Mention:
    """A term found in one field: ``strength`` is "term" (stated) or "doubtful" (a hint)."""

    field: str
    category: str
    clause: str
    words: str
    negated: bool
    strength: str

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "category": self.category,
            "clause": self.clause,
            "words": self.words,
            "negated": self.negated,
            "strength": self.strength,
        }


def _match_at(slots: tuple[Slot, ...], words: list[str], masked: list[bool], start: int) -> int | None:
    """The end (exclusive) of a match of ``slots`` whose first word is at ``start``, or None."""

    def walk(slot_index: int, position: int) -> int | None:
        if slot_index == len(slots):
            return position
        slot = slots[slot_index]
        for at in range(position, min(position + slot.gap + 1, len(words))):
            if masked[at]:
                break
            if slot.matches(words[at]):
                end = walk(slot_index + 1, at + 1)
                if end is not None:
                    return end
        return None

    if masked[start] or not slots[0].matches(words[start]):
        return None
    return walk(1, start + 1)


@dataclass(frozen=True)
class _Entry:
    category: Category
    strength: str
    slots: tuple[Slot, ...]


class _Index:
    """The terms by their first word, so each word of a text tries only the terms it can start."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.by_word: dict[str, list[_Entry]] = {}
        self.by_prefix: list[tuple[str, _Entry]] = []
        self.by_number: list[_Entry] = []
        for entry in entries:
            first = entry.slots[0]
            for word in first.exact:
                self.by_word.setdefault(word, []).append(entry)
            self.by_prefix += [(prefix, entry) for prefix in first.prefixes]
            if first.number:
                self.by_number.append(entry)

    def starting(self, word: str) -> list[_Entry]:
        found = list(self.by_word.get(word, ()))
        found += [entry for prefix, entry in self.by_prefix if word.startswith(prefix)]
        if word.isdigit():
            found += self.by_number
        return found


@cache
def _indexes(vocab: Vocabulary) -> tuple[_Index, _Index]:
    """(harmless phrases, every category's terms), indexed."""
    dummy = Category("harmless", "", "", "flag", (), ())
    harmless = _Index([_Entry(dummy, "term", slots) for slots in vocab.harmless])
    terms = _Index(
        [
            _Entry(category, strength, slots)
            for category in vocab.categories
            for strength, group in (("term", category.terms), ("doubtful", category.doubtful))
            for slots in group
        ]
    )
    return harmless, terms


def screen_text(field: str, text: str, vocab: Vocabulary | None = None) -> list[Mention]:
    """Every mention in one field's text (each category and phrase once; a hint that lies
    inside a stated term of its category is left out)."""
    vocab = vocab or vocabulary()
    words = normalise(text)
    if not words:
        return []
    harmless, terms = _indexes(vocab)
    masked = [False] * len(words)
    unmasked = [False] * len(words)
    for start, word in enumerate(words):
        for entry in harmless.starting(word):
            end = _match_at(entry.slots, words, unmasked, start)
            if end is not None:
                masked[start:end] = [True] * (end - start)
    spans: list[tuple[int, int, _Entry]] = []
    for start, word in enumerate(words):
        if masked[start]:
            continue
        for entry in terms.starting(word):
            end = _match_at(entry.slots, words, masked, start)
            if end is not None:
                spans.append((start, end, entry))
    stated = [(s, e, entry.category.key) for s, e, entry in spans if entry.strength == "term"]
    found: dict[tuple[str, str], Mention] = {}
    for start, end, entry in spans:
        if entry.strength == "doubtful" and any(
            key == entry.category.key and s < end and start < e for s, e, key in stated
        ):
            continue
        before = words[max(0, start - vocab.negation_window) : start]
        mention = Mention(
            field=field,
            category=entry.category.key,
            clause=entry.category.clause,
            words=" ".join(words[start:end]),
            negated=any(w in vocab.negations for w in before),
            strength=entry.strength,
        )
        found.setdefault((mention.category, mention.words), mention)
    return list(found.values())


def screen_fields(fields: dict[str, str]) -> list[Mention]:
    """Screen several fields: ``{field key: text}``."""
    vocab = vocabulary()
    return [mention for field, text in fields.items() for mention in screen_text(field, text, vocab)]


def first_amendment_terms(mentions: list[Mention]) -> list[str]:
    """The First Amendment mentions as the reviewer sees them ("FA-1: mosque"), sorted."""
    vocab = vocabulary()
    keys = {c.key for c in vocab.categories if c.rule == "first_amendment"}
    return sorted({f"{m.clause}: {m.words}" for m in mentions if m.category in keys})
