"""``flask policy map``: the clause map as Markdown, with the tests that prove each clause."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.services.policy.clause_map import markdown, proofs_by_clause

policy_cli = AppGroup("policy", help="The use policy, clause by clause.")
ROOT = Path(__file__).resolve().parents[2]


@policy_cli.command("map")
@click.option(
    "--tests", "tests_dir", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "tests"
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout."
)
def map_command(tests_dir: Path, output: Path | None):
    """Print (or write) CLAUSE_MAP.md from app/data/clause_map.toml and the tests' markers."""
    text = markdown(proofs_by_clause(tests_dir))
    if output:
        output.write_text(text, "utf-8")
        click.echo(f"Wrote {output}.")
    else:
        click.echo(text, nl=False)
