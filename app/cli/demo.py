"""Demo data for a first look (never in production): ``flask demo seed`` (agencies and
accounts) and ``flask gallery demo`` (the photos shipped in ``app/data/demo_gallery/`` as
made-up booking records)."""

from __future__ import annotations

import csv
import json
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.cli import cli_actor
from app.clock import utcnow
from app.extensions import db
from app.models import Booking, CertificationProvider, Role, User
from app.services.gallery import enrollment as gallery_service
from app.services.gallery.index_builds import rebuild_index
from app.services.identity import accounts
from app.services.oversight.checkpoints import sign_daily_checkpoint

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
                actor=None,
                name=name,
                code=code,
                contact_name=contact,
                contact_email=email,
                local_policy_title=f"{code} Policy 345: Facial Recognition",  # its own, on file
                local_policy_adopted_on=utcnow().date().replace(month=1, day=1),
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
            if role is not Role.REQUESTER:  # staff need a current certification to work
                accounts.certify_user(
                    actor=None,
                    user=user,
                    provider=CertificationProvider.LACRIS,
                    number=f"LACRIS-DEMO-{user.id:04d}",
                    completed_on=today - timedelta(days=90),
                    expires_on=today + timedelta(days=640),
                )
        db.session.commit()
        sign_daily_checkpoint()  # the admin's first page starts with the chain's head signed
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


DEMO_GALLERY = Path(__file__).resolve().parents[1] / "data" / "demo_gallery"


@click.command("demo")
def demo_gallery_command():
    """Enroll the shipped demo photos as made-up booking records, if the gallery is empty."""
    cli_actor()
    if db.session.scalar(select(func.count(Booking.id))):
        click.echo("The gallery is not empty; no demo records added.")
        return
    with (DEMO_GALLERY / "manifest.csv").open() as handle:
        photos = [row["file"] for row in csv.DictReader(handle)]
    with tempfile.TemporaryDirectory() as scratch:
        manifest = Path(scratch) / "demo-gallery.csv"
        with manifest.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(gallery_service.MANIFEST_COLUMNS)
            for n, photo in enumerate(photos, start=1):
                writer.writerow(
                    [
                        str(DEMO_GALLERY / photo),
                        f"DEMO-2026-{n:05d}",
                        f"Demo Subject {n:02d}",
                        f"19{60 + n:02d}-0{1 + n % 9}-{10 + n:02d}",
                        f"DEMO{n:06d}",
                        f"M{n:07d}",
                        f"D{n:07d}",
                        f"2025-{1 + n % 12:02d}-15",
                    ]
                )
        summary = gallery_service.import_manifest(manifest, actor=None, workers=1)
    click.echo(f"Demo gallery: enrolled {summary.enrolled} made-up booking records.")
    for rejection in summary.rejected:
        click.echo(f"  line {rejection.line}: {rejection.reason}")
    if summary.enrolled:
        build = rebuild_index(triggered_by="demo gallery")
        click.echo(f"Index version {build.version} built: {build.template_count} templates.")
        sign_daily_checkpoint()  # the demo's first start leaves the audit chain's head signed
        db.session.commit()
