"""``flask demo seed``: demo agencies and accounts for a first look (never in production)."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.cli import cli_actor
from app.clock import utcnow
from app.extensions import db
from app.models import CertificationProvider, Role, User
from app.services import accounts

demo_cli = AppGroup("demo", help="Demo data for development.")

DEMO_AGENCIES = [
    ("County Facial Recognition Unit", "FRU", "Unit desk", "frunit@example.invalid"),
    ("Harbor City Police Department", "HCPD", "Detective Bureau", "detectives@hcpd.example.invalid"),
    ("Valley Sheriff's Station", "VSS", "Investigations", "investigations@vss.example.invalid"),
]
DEMO_USERS = [
    ("admin", "Alex Morgan", Role.ADMIN, "FRU"),
    ("reviewer1", "Riley Chen", Role.REVIEWER, "FRU"),
    ("reviewer2", "Sam Ortiz", Role.REVIEWER, "FRU"),
    ("requester1", "Dana Whitfield", Role.REQUESTER, "HCPD"),
    ("requester2", "José Núñez", Role.REQUESTER, "VSS"),
]


def _passphrase() -> str:
    words = [
        "harbor",
        "granite",
        "lantern",
        "meadow",
        "copper",
        "willow",
        "summit",
        "orchid",
        "falcon",
        "river",
        "cobalt",
        "ember",
        "juniper",
        "quartz",
        "tundra",
        "violet",
    ]
    return "-".join(secrets.choice(words) for _ in range(4)) + f"-{secrets.randbelow(100):02d}"


def credentials_file() -> Path:
    return Path(current_app.instance_path) / "demo-credentials.json"


@demo_cli.command("seed")
def seed():
    """Create demo agencies and accounts if there are no users yet; print sign-in details."""
    if current_app.config["CONFIG_NAME"] == "production":
        raise click.ClickException("Demo accounts are never created in production.")
    cli_actor()
    path = credentials_file()
    if db.session.scalar(select(func.count(User.id))) == 0:
        for name, code, contact, email in DEMO_AGENCIES:
            accounts.create_agency(
                actor=None, name=name, code=code, contact_name=contact, contact_email=email
            )
        credentials = {}
        today = utcnow().date()
        for username, full_name, role, code in DEMO_USERS:
            password = _passphrase()
            user = accounts.create_user(
                actor=None,
                username=username,
                full_name=full_name,
                role=role,
                agency=accounts.get_agency_by_code(code),
                password=password,
                email=f"{username}@example.invalid",
                reason="demo account",
            )
            credentials[username] = {"password": password, "role": str(role), "agency": code}
            if role is Role.REVIEWER:
                accounts.certify_user(
                    actor=None,
                    user=user,
                    provider=CertificationProvider.LACRIS,
                    number=f"LACRIS-DEMO-{user.id:04d}",
                    completed_on=today - timedelta(days=90),
                    expires_on=today + timedelta(days=640),
                )
        db.session.commit()
        path.write_text(json.dumps(credentials, indent=2))
        os.chmod(path, 0o600)
    if not path.exists():
        click.echo("Accounts already exist; no demo credentials on file.")
        return
    credentials = json.loads(path.read_text())
    click.echo("Demo accounts (each sets up its authenticator app at first sign-in):")
    for username, info in credentials.items():
        click.echo(f"  {username:<11} {info['role']:<9} {info['agency']:<5} password: {info['password']}")
    click.echo(f"(stored in {path})")
