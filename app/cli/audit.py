"""``flask audit ...``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.services.audit import verify_chain

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify():
    """Walk the hash chain; exit 1 and name the first bad event if it is broken."""
    report = verify_chain()
    if report.ok:
        click.echo(
            f"Audit chain intact: {report.events_checked} events, head {report.head_seq} "
            f"({report.head_hash[:16]}…)."
        )
        return
    click.echo(f"AUDIT CHAIN BROKEN at event {report.first_bad_seq}: {report.problem}", err=True)
    sys.exit(1)
