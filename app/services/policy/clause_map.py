"""The clause map: every clause of the seeds (the LACRIS policy template, its request form and
report template, the slide deck), what kind of thing software can do about it, where LeadDesk
does it, and its evidence in a month. The clauses are data (``app/data/clause_map.toml``).

Kinds:
- ``enforced``: software refuses what the clause forbids (a test tries and is refused);
- ``evidenced``: software records or shows what the clause asks for (a test reads the record);
- ``outside``: people and organisations keep it; software has nothing to refuse or record.

Tests carry the ids they prove (``@pytest.mark.clause("PU-1")``); a test fails when an
enforced or evidenced clause has no test, so the map cannot drift. Administrators see the
map in the portal with each clause's evidence for a month. ``CLAUSE_MAP.md`` at the
repository's root is generated from it (``flask --app wsgi policy map``).
"""

from __future__ import annotations

import ast
import enum
import json
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Outcome


class Kind(enum.StrEnum):
    ENFORCED = "enforced"
    EVIDENCED = "evidenced"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class Evidence:
    """Audit events that show the clause at work: ``action`` (prefix), optionally only refusals
    naming this clause, or a given outcome."""

    label: str
    action: str
    outcome: Outcome | None = None
    names_clause: bool = False  # count only refusals whose detail names this clause
    flags_clause: bool = False  # count the screening's mentions of this clause (submissions, answers)


@dataclass(frozen=True)
class Clause:
    id: str
    source: str  # where in the seeds
    quote: str
    kind: Kind
    where: str  # where LeadDesk handles it
    evidence: tuple[Evidence, ...] = ()
    # The control, where software holds the clause by structure: the fact someone states, who
    # else confirms it, and what the screening net holds until a reviewer's determination.
    fact: str = ""
    confirmation: str = ""
    gate: str = ""

    @property
    def control(self) -> list[tuple[str, str]]:
        return [
            (label, text)
            for label, text in (("Fact", self.fact), ("Confirmed by", self.confirmation), ("Gate", self.gate))
            if text
        ]


def _load() -> tuple[Clause, ...]:
    data = tomllib.loads(resources.files("app.data").joinpath("clause_map.toml").read_text("utf-8"))
    return tuple(
        Clause(
            id=entry["id"],
            source=entry["source"],
            quote=entry["quote"],
            kind=Kind(entry["kind"]),
            where=entry["where"],
            evidence=tuple(
                Evidence(
                    label=e["label"],
                    action=e["action"],
                    outcome=Outcome(e["outcome"]) if "outcome" in e else None,
                    names_clause=e.get("names_clause", False),
                    flags_clause=e.get("flags_clause", False),
                )
                for e in entry.get("evidence", [])
            ),
            fact=entry.get("fact", ""),
            confirmation=entry.get("confirmation", ""),
            gate=entry.get("gate", ""),
        )
        for entry in data["clause"]
    )


CLAUSES: tuple[Clause, ...] = _load()
BY_ID = {clause.id: clause for clause in CLAUSES}


def needs_a_test(clause: Clause) -> bool:
    return clause.kind is not Kind.OUTSIDE


@dataclass(frozen=True)
class ClauseEvidence:
    clause: Clause
    counts: list[tuple[str, int]]


SCREENED_ACTIONS = ("request.submit", "request.answer")


def evidence_for(start: datetime, end: datetime) -> list[ClauseEvidence]:
    """Each clause with the counts of its evidence between ``start`` and ``end``."""
    actions = {e.action for c in CLAUSES for e in c.evidence} | set(SCREENED_ACTIONS)
    events = db.session.execute(
        select(AuditEvent.action, AuditEvent.outcome, AuditEvent.detail).where(
            AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end, AuditEvent.action.in_(actions)
        )
    ).all()
    by_action: Counter = Counter()
    naming: Counter = Counter()  # (action, clause id): refusals that name the clause
    flagged: Counter = Counter()  # clause id: the screening's mentions of it
    for action, outcome, detail in events:
        by_action[(action, outcome)] += 1
        facts = json.loads(detail) if detail else {}
        if action == "request.refused":
            for _field, clause_id in facts.get("violations", []):
                naming[(action, clause_id)] += 1
        elif action == "intake.provenance_refuse" and facts.get("clause"):
            naming[(action, facts["clause"])] += 1
        elif action in SCREENED_ACTIONS:
            for mention in facts.get("screening") or []:
                flagged[mention.get("clause")] += 1
    result = []
    for clause in CLAUSES:
        counts = []
        for evidence in clause.evidence:
            if evidence.flags_clause:
                count = flagged[clause.id]
            elif evidence.names_clause:
                count = naming[(evidence.action, clause.id)]
            else:
                count = sum(
                    n
                    for (a, o), n in by_action.items()
                    if a == evidence.action and (evidence.outcome is None or o == evidence.outcome)
                )
            counts.append((evidence.label, count))
        result.append(ClauseEvidence(clause, counts))
    return result


def markdown(proofs_by_clause: dict[str, list[str]]) -> str:
    """The map as Markdown (CLAUSE_MAP.md), with the tests that prove each clause."""
    lines = [
        "# The clause map",
        "",
        "Every clause of the seeds, its kind, where LeadDesk handles it, and the tests that prove it.",
        "Generated from `app/services/policy/clause_map.py` and the tests' `@pytest.mark.clause` markers by",
        "`flask --app wsgi policy map --tests tests`; a test checks that this file is current.",
        "",
        "Where software holds a clause by structure, *control* says how: the **fact** someone states,",
        "who **confirms** it, and the **gate** the screening net holds until a reviewer's determination.",
        "The evidence of each month (refusals, flags, determinations, notices) is on `/admin/policy`;",
        "the mutation check (`scripts/mutation_check.py`, `tests/policy/mutations.toml`) removes each",
        "listed rule in a scratch copy and requires these tests to fail.",
        "",
        "| clause | source | kind | where | control | tests |",
        "|---|---|---|---|---|---|",
    ]
    for clause in CLAUSES:
        tests = "<br>".join(f"`{t}`" for t in sorted(proofs_by_clause.get(clause.id, []))) or "—"
        control = "<br>".join(f"**{label}:** {text}" for label, text in clause.control) or "—"
        lines.append(
            f"| {clause.id} | {clause.source} | {clause.kind} | {clause.where} | {control} | {tests} |"
        )
    lines.append("")
    return "\n".join(lines)


def proofs_by_clause(tests_dir: Path) -> dict[str, list[str]]:
    """``{clause id: ["tests/x.py::test_name", ...]}`` from the ``@pytest.mark.clause(...)``
    markers in the test sources (read, not run, so a partial test run cannot hide a gap)."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith(
                "test"
            ):
                continue
            for decorator in node.decorator_list:
                if _is_clause_marker(decorator):
                    for arg in decorator.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            name = f"{path.relative_to(tests_dir.parent).as_posix()}::{node.name}"
                            found.setdefault(arg.value, []).append(name)
    return found


def _is_clause_marker(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "clause"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "mark"
    )
