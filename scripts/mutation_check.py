#!/usr/bin/env python3
"""The mutation check: do the clause map's tests prove their clauses?

Each mutation of ``app/data/clause_mutations.toml`` removes (or weakens) one rule. For each, a
scratch copy of the project gets that one change and runs the tests that carry the clause
(``pytest --clause ID``, stopping at the first failure). A mutation is *killed* when a test
fails; one the tests *survive* shows a rule no test proves, and fails the check; so does one
that no longer applies (its text moved). Prints the score; exits 1 unless every mutation is
killed. Runs on SQLite, several mutations at a time (``--jobs``).

    python scripts/mutation_check.py [--jobs N] [--only ID ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = ROOT / "app" / "data" / "clause_mutations.toml"
SKIPPED = {".git", ".venv", "instance", "test-artifacts", ".pytest_cache", ".ruff_cache", "__pycache__"}


@dataclass(frozen=True)
class Mutation:
    id: str
    clause: str
    file: str
    find: str
    replace: str
    clauses: tuple[str, ...] = ()

    @property
    def tested_clauses(self) -> tuple[str, ...]:
        return (self.clause, *self.clauses)


@dataclass(frozen=True)
class Result:
    mutation: Mutation
    verdict: str  # killed | survived | stale | error
    seconds: float
    detail: str = ""


def load(path: Path = MUTATIONS) -> list[Mutation]:
    data = tomllib.loads(path.read_text("utf-8"))
    return [
        Mutation(
            id=m["id"],
            clause=m["clause"],
            file=m["file"],
            find=m["find"],
            replace=m["replace"],
            clauses=tuple(m.get("clauses", ())),
        )
        for m in data["mutation"]
    ]


def scratch_copy(target: Path) -> Path:
    """The project as it is in the working tree, without the virtualenv, caches and data."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIPPED or n.endswith(".pyc")}

    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def test_files(clauses: tuple[str, ...]) -> list[str]:
    """The test files that carry any of ``clauses`` (read from the markers, not imported), so a
    run collects only them."""
    sys.path.insert(0, str(ROOT))
    from app.services.policy.clause_map import proofs_by_clause

    proofs = proofs_by_clause(ROOT / "tests")
    return sorted({test.split("::")[0] for clause in clauses for test in proofs.get(clause, [])})


def run_one(mutation: Mutation, copy: Path) -> Result:
    started = time.monotonic()
    path = copy / mutation.file
    original = path.read_text("utf-8")
    if original.count(mutation.find) != 1:
        return Result(mutation, "stale", 0.0, f"the text to change is in {mutation.file} "
                      f"{original.count(mutation.find)} times, not once")  # fmt: skip
    path.write_text(original.replace(mutation.find, mutation.replace), "utf-8")
    try:
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header"]
        for clause in mutation.tested_clauses:
            command += ["--clause", clause]
        files = test_files(mutation.tested_clauses)
        if not files:
            return Result(mutation, "error", 0.0, f"no test carries {', '.join(mutation.tested_clauses)}")
        command += files
        env = {
            **os.environ,
            "LEADDESK_TEST_DATABASE": "sqlite",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LEADDESK_TEST_GALLERY_CACHE": str(copy.parent / "gallery-cache"),
        }
        finished = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return Result(mutation, "error", time.monotonic() - started, "timed out")
    finally:
        path.write_text(original, "utf-8")
    seconds = time.monotonic() - started
    tail = (finished.stdout.strip().splitlines() or [""])[-1]
    if finished.returncode == 1:
        return Result(mutation, "killed", seconds, tail)
    if finished.returncode == 0:
        return Result(mutation, "survived", seconds, tail)
    return Result(mutation, "error", seconds, f"pytest exited {finished.returncode}: {tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    parser.add_argument("--only", nargs="*", default=None, help="mutation ids to run (default: all)")
    args = parser.parse_args()
    mutations = load()
    if args.only:
        mutations = [m for m in mutations if m.id in set(args.only)]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="leaddesk-mutants-") as scratch:
        copies: Queue[Path] = Queue()
        for n in range(args.jobs):
            copies.put(scratch_copy(Path(scratch) / f"copy-{n}"))

        def work(mutation: Mutation) -> Result:
            copy = copies.get()
            try:
                result = run_one(mutation, copy)
            finally:
                copies.put(copy)
            print(
                f"  {result.verdict:<8} {mutation.id:<40} {mutation.clause:<6} {result.seconds:5.0f} s",
                flush=True,
            )
            return result

        print(f"Mutation check: {len(mutations)} mutations, {args.jobs} at a time")
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(work, mutations))
    killed = [r for r in results if r.verdict == "killed"]
    others = [r for r in results if r.verdict != "killed"]
    print(f"Score: {len(killed)}/{len(results)} mutations killed in {time.monotonic() - started:.0f} s")
    for result in others:
        print(f"  {result.verdict.upper()}: {result.mutation.id} ({result.mutation.clause}, "
              f"{result.mutation.file}): {result.detail}")  # fmt: skip
    return 0 if not others else 1


if __name__ == "__main__":
    sys.exit(main())
