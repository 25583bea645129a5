"""``flask database ...``: the PostgreSQL roles (see ``app/database_roles.py``)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.database_roles import grant_serving_role, serving_role_problems
from app.extensions import db

database_cli = AppGroup("database", help="The database's roles.")


@database_cli.command("grant")
@click.argument("role")
def grant(role: str):
    """As the owner (after `flask db upgrade`): give ROLE what serving needs and no more: rows
    of the audit tables may be added and read, never changed or deleted."""
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("Roles are PostgreSQL's; SQLite has one user, the file's owner.")
    with db.engine.begin() as connection:
        for statement in grant_serving_role(connection, role):
            click.echo(statement)


@database_cli.command("check-serving-role")
def check_serving_role():
    """Exit 1 if the configured database role could change the audit trail (or is the owner)."""
    with db.engine.connect() as connection:
        problems = serving_role_problems(connection)
    for problem in problems:
        click.echo(f"REFUSED: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("The serving role may only add to and read the audit tables.")
