"""Flask CLI commands for operators."""

from __future__ import annotations

import getpass

from flask import Flask

from app.services.oversight.audit import set_audit_source


def cli_actor() -> None:
    """Audit CLI actions as coming from this machine's operator account."""
    set_audit_source("cli", system_actor=f"cli:{getpass.getuser()}")


def register(app: Flask) -> None:
    from app.cli.accounts import agencies_cli, users_cli
    from app.cli.audit import audit_cli
    from app.cli.cluster import cluster_cli
    from app.cli.database import database_cli
    from app.cli.demo import demo_cli, demo_gallery_command
    from app.cli.files import files_cli
    from app.cli.interconnect import interconnect_cli
    from app.cli.matching import gallery_cli, index_cli, search_command
    from app.cli.policy import policy_cli
    from app.cli.scheduler import scheduler_command

    for command in (
        agencies_cli,
        users_cli,
        audit_cli,
        cluster_cli,
        database_cli,
        demo_cli,
        files_cli,
        gallery_cli,
        index_cli,
        interconnect_cli,
        policy_cli,
    ):
        app.cli.add_command(command)
    gallery_cli.add_command(demo_gallery_command)
    app.cli.add_command(search_command)
    app.cli.add_command(scheduler_command)
