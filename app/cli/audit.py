"""``flask audit ...``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.cli import cli_actor
from app.extensions import db
from app.services.oversight.audit import verify_chain
from app.services.oversight.checkpoints import sign_daily_checkpoint, verify_checkpoints
from app.services.oversight.monthly_audit import generate_monthly_audit
from app.services.platform.errors import ServiceError

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify():
    """Walk the hash chain; exit 1 and name the first bad event if it is broken."""
    report = verify_chain()
    checkpoints = verify_checkpoints()
    if not report.ok:
        click.echo(f"AUDIT CHAIN BROKEN at event {report.first_bad_seq}: {report.problem}", err=True)
    for problem in checkpoints:
        click.echo(f"CHECKPOINT OF {problem.month} FAILS: {problem.problem}", err=True)
    if not report.ok or checkpoints:
        sys.exit(1)
    click.echo(
        f"Audit chain intact: {report.events_checked} events, head {report.head_seq} "
        f"({report.head_hash[:16]}…); signed checkpoints agree."
    )


@audit_cli.command("monthly")
@click.argument("month")
def monthly(month: str):
    """Generate the monthly audit for MONTH (YYYY-MM): PDF and CSV with hashes and a signed
    checkpoint of the chain head."""
    cli_actor()
    try:
        audit = generate_monthly_audit(month, generated_by="cli")
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(
        f"Monthly audit {month}: {len(audit.flags)} flag(s); PDF {audit.pdf_path} "
        f"({audit.pdf_sha256[:16]}…), CSV {audit.csv_path} ({audit.csv_sha256[:16]}…); "
        f"chain head {audit.chain_head_seq}."
    )


@audit_cli.command("checkpoint")
def checkpoint():
    """Sign a checkpoint of the chain's head now (the scheduler signs one every day)."""
    cli_actor()
    signed = sign_daily_checkpoint()
    db.session.commit()
    click.echo(f"Checkpoint signed at event {signed.head_seq} ({signed.head_hash[:16]}…).")
