"""``flask scheduler``: the one process that runs scheduled jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("scheduler")
@click.option("--list", "list_only", is_flag=True, help="Print the jobs and their next run, then exit.")
@with_appcontext
def scheduler_command(list_only: bool):
    """Run the nightly index rebuild (and later jobs) until stopped."""
    from app.database_roles import refuse_unsafe_serving_role
    from app.scheduler import build_scheduler

    app = current_app._get_current_object()
    refuse_unsafe_serving_role(app)
    scheduler = build_scheduler(app, blocking=not list_only)
    if list_only:
        scheduler.start(paused=True)
        for job in scheduler.get_jobs():
            click.echo(f"{job.id}: {job.trigger} next {job.next_run_time}")
        scheduler.shutdown(wait=False)
        return
    click.echo(
        f"Scheduler running (index rebuild daily at {app.config['INDEX_REBUILD_HOUR']:02d}:"
        f"{app.config['INDEX_REBUILD_MINUTE']:02d} {app.config['SCHEDULER_TIMEZONE']}). Ctrl-C stops it."
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
