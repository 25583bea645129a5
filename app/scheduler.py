"""Scheduled jobs, run by one dedicated process (``flask --app wsgi scheduler``).

APScheduler's job stores cannot be shared between processes, so no web worker ever starts
a scheduler; the rebuild is guarded by a file lock anyway (``rebuild_lock``), so a CLI
rebuild and the nightly one can never overlap. Each job runs in an app context, acts as
"scheduler" in the audit trail, and commits its own work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app.clock import utcnow
from app.extensions import db
from app.services.gallery.index_builds import rebuild_index
from app.services.identity.administration import disable_dormant_accounts
from app.services.interconnect import peer_search
from app.services.notify import outbox
from app.services.oversight import checkpoints
from app.services.oversight import monthly_audit as oversight
from app.services.oversight.audit import set_audit_source
from app.services.oversight.dashboard import heartbeat_path
from app.services.oversight.housekeeping import sweep_orphan_files
from app.services.platform.errors import ServiceError

log = logging.getLogger(__name__)


def job(function: Callable[[], str | None]) -> Callable[[Flask], None]:
    """Run ``function`` for ``app`` as the scheduler, commit, and log what it says."""

    @wraps(function)
    def run(app: Flask) -> None:
        with app.app_context():
            set_audit_source("scheduler", system_actor="scheduler")
            try:
                message = function()
            except ServiceError as err:
                db.session.rollback()
                log.error("%s failed: %s", function.__name__, err.message)
                return
            db.session.commit()
            if message:
                log.info("%s: %s", function.__name__, message)

    return run


@job
def nightly_index_rebuild() -> str:
    build = rebuild_index(triggered_by="scheduler")
    return f"index version {build.version} built ({build.template_count} templates)"


@job
def daily_account_review() -> str:
    """Disable accounts unused for 90 days."""
    return f"disabled {len(disable_dormant_accounts())} dormant account(s)"


@job
def daily_audit_checkpoint() -> str:
    """Sign the audit chain's head with the key kept outside the database."""
    return f"checkpoint at event {checkpoints.sign_daily_checkpoint().head_seq}"


@job
def monthly_audit() -> str:
    """On the first of the month: the audit of the month before, then the five-year purge."""
    month = oversight.previous_month(utcnow().astimezone(oversight.local_zone()).date())
    try:
        with db.session.begin_nested():
            oversight.generate_monthly_audit(month, generated_by="scheduler")
    except ServiceError as err:
        log.warning("monthly audit %s not generated: %s", month, err.message)
    return f"purged {oversight.purge_expired_audits()}"


@job
def nightly_file_sweep() -> str:
    """Files no record refers to (left by a killed process) and face analyses past their age."""
    return f"{len(sweep_orphan_files(actor=None).orphans)} orphan file(s) removed"


@job
def daily_peer_seals() -> str:
    """Records a peer revealed here and sealed since: their reports get the destroy notice."""
    return peer_search.check_all_seals()


def heartbeat(app: Flask) -> None:
    """Lets the portal warn when the scheduler is not running."""
    path = heartbeat_path(app.instance_path)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"at": utcnow().isoformat()}))
    temporary.replace(path)


@job
def send_mail() -> str | None:
    run = outbox.send_due()
    if run.sent or run.retried or run.failed:
        return f"mail: {run.sent} sent, {run.retried} to retry, {run.failed} given up"
    return None


def build_scheduler(app: Flask, blocking: bool = True):
    timezone = app.config["SCHEDULER_TIMEZONE"]
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=timezone)
    daily = {"max_instances": 1, "coalesce": True}
    rebuild_at = {"hour": app.config["INDEX_REBUILD_HOUR"], "minute": app.config["INDEX_REBUILD_MINUTE"]}
    jobs = [  # (job, id, when (local time), extra options)
        (nightly_index_rebuild, "nightly-index-rebuild", rebuild_at, {"misfire_grace_time": 3600}),
        (monthly_audit, "monthly-audit", {"day": 1, "hour": 3, "minute": 0}, {"misfire_grace_time": 86400}),
        (daily_account_review, "dormant-accounts", {"hour": 1, "minute": 30}, {}),
        (daily_audit_checkpoint, "audit-checkpoint", {"hour": 0, "minute": 5}, {"misfire_grace_time": 86400}),
        (nightly_file_sweep, "file-sweep", {"hour": 4, "minute": 15}, {}),
        (daily_peer_seals, "peer-seals", {"hour": 5, "minute": 30}, {"misfire_grace_time": 86400}),
    ]
    for function, job_id, when, options in jobs:
        trigger = CronTrigger(timezone=timezone, **when)
        scheduler.add_job(function, trigger, args=[app], id=job_id, **daily, **options)
    scheduler.add_job(
        heartbeat, IntervalTrigger(minutes=1), args=[app], id="heartbeat", next_run_time=utcnow()
    )
    scheduler.add_job(send_mail, IntervalTrigger(minutes=1), args=[app], id="send-mail", max_instances=1)
    return scheduler
