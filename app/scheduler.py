"""Scheduled jobs, run by one dedicated process (``flask --app wsgi scheduler``).

APScheduler's job stores cannot be shared between processes, so no web worker ever starts
a scheduler; the rebuild is guarded by a file lock anyway (``rebuild_lock``), so a CLI
rebuild and the nightly one can never overlap.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Flask

from app.clock import utcnow
from app.services.audit import set_audit_source

log = logging.getLogger(__name__)
HEARTBEAT_FILE = "scheduler-heartbeat.json"


def nightly_index_rebuild(app: Flask) -> None:
    from app.services.errors import ServiceError
    from app.services.matching import rebuild_index

    with app.app_context():
        set_audit_source("scheduler", system_actor="scheduler")
        try:
            build = rebuild_index(triggered_by="scheduler")
            log.info("index version %s built (%s templates)", build.version, build.template_count)
        except ServiceError as err:
            log.error("nightly index rebuild failed: %s", err.message)


def daily_account_review(app: Flask) -> None:
    """Disable accounts unused for 90 days."""
    from app.extensions import db
    from app.services.admin import disable_dormant_accounts

    with app.app_context():
        set_audit_source("scheduler", system_actor="scheduler")
        disabled = disable_dormant_accounts()
        db.session.commit()
        log.info("disabled %d dormant account(s)", len(disabled))


def monthly_audit(app: Flask) -> None:
    """On the first of the month: the audit of the month before, then the five-year purge."""
    from app.extensions import db
    from app.services.errors import ServiceError
    from app.services.oversight import generate_monthly_audit, previous_month, purge_expired_audits

    with app.app_context():
        set_audit_source("scheduler", system_actor="scheduler")
        month = previous_month(utcnow().date())
        try:
            generate_monthly_audit(month, generated_by="scheduler")
        except ServiceError as err:
            db.session.rollback()
            log.warning("monthly audit %s not generated: %s", month, err.message)
        purge_expired_audits()
        db.session.commit()


def nightly_file_sweep(app: Flask) -> None:
    """Files no record refers to (left by a killed process) and face analyses past their age."""
    from app.extensions import db
    from app.services.housekeeping import sweep_orphan_files

    with app.app_context():
        set_audit_source("scheduler", system_actor="scheduler")
        result = sweep_orphan_files(actor=None)
        db.session.commit()
        log.info("file sweep: %d orphan file(s) removed", len(result.orphans))


def heartbeat(app: Flask) -> None:
    """Lets the portal warn when the scheduler is not running."""
    path = Path(app.instance_path) / HEARTBEAT_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"at": utcnow().isoformat()}))
    temporary.replace(path)


def build_scheduler(app: Flask, blocking: bool = True):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    timezone = app.config["SCHEDULER_TIMEZONE"]
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=timezone)
    scheduler.add_job(
        nightly_index_rebuild,
        CronTrigger(
            hour=app.config["INDEX_REBUILD_HOUR"],
            minute=app.config["INDEX_REBUILD_MINUTE"],
            timezone=timezone,
        ),
        args=[app],
        id="nightly-index-rebuild",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        monthly_audit,
        CronTrigger(day=1, hour=3, minute=0, timezone=timezone),
        args=[app],
        id="monthly-audit",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=86400,
    )
    scheduler.add_job(
        daily_account_review,
        CronTrigger(hour=1, minute=30, timezone=timezone),
        args=[app],
        id="dormant-accounts",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        nightly_file_sweep,
        CronTrigger(hour=4, minute=15, timezone=timezone),
        args=[app],
        id="file-sweep",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        heartbeat, IntervalTrigger(minutes=1), args=[app], id="heartbeat", next_run_time=utcnow()
    )
    return scheduler
