"""``flask files ...``: the stored files under the instance folder."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli import cli_actor
from app.extensions import db
from app.services.oversight.housekeeping import sweep_orphan_files

files_cli = AppGroup("files", help="Stored files under the instance folder.")


@files_cli.command("sweep")
@click.option("--dry-run", is_flag=True, help="List the files that would be removed; remove nothing.")
def sweep(dry_run: bool):
    """Remove stored files that no record refers to (older than an hour), and face analyses
    past their age. Audited."""
    cli_actor()
    result = sweep_orphan_files(actor=None, dry_run=dry_run)
    db.session.commit()
    for relative in result.orphans:
        click.echo(f"{'would remove' if dry_run else 'removed'} {relative}")
    folders = ", ".join(f"{folder} {count}" for folder, count in sorted(result.by_folder.items()))
    click.echo(
        f"{result.files_examined} stored files examined; {len(result.orphans)} no record refers to"
        + (f" ({folders})" if folders else "")
        + ("; nothing removed (dry run)." if dry_run else f"; removed. Face analyses past their age removed: "
           f"{result.cache_entries_removed}.")
    )  # fmt: skip
