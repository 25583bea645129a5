"""``flask agencies ...`` and ``flask users ...``."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup

from app.cli import cli_actor
from app.extensions import db
from app.models import CertificationProvider, Role
from app.services.identity import accounts
from app.services.oversight.audit import record_event
from app.services.platform.errors import ServiceError

agencies_cli = AppGroup("agencies", help="Manage agencies.")
users_cli = AppGroup("users", help="Manage user accounts and certifications.")


def _fail(message: str) -> None:
    db.session.rollback()
    raise click.ClickException(message)


def _user_or_fail(username: str):
    user = accounts.get_user_by_username(username)
    if user is None:
        _fail(f"No user named {username!r}.")
    return user


@agencies_cli.command("create")
@click.argument("name")
@click.option("--code", required=True, help="ORI or local agency code.")
@click.option("--contact-name")
@click.option("--contact-email")
@click.option("--contact-phone")
@click.option("--policy-title", default="", help="The agency's own facial recognition policy, as on file.")
@click.option("--policy-adopted", type=click.DateTime(["%Y-%m-%d"]), help="When it adopted it (YYYY-MM-DD).")
def create_agency(name, code, contact_name, contact_email, contact_phone, policy_title, policy_adopted):
    """Create an agency NAME with --code CODE (its requesters submit once its own FR policy is on file)."""
    cli_actor()
    try:
        agency = accounts.create_agency(
            actor=None,
            name=name,
            code=code,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            local_policy_title=policy_title,
            local_policy_adopted_on=policy_adopted.date() if policy_adopted else None,
        )
    except ServiceError as err:
        _fail(err.message)
    db.session.commit()
    click.echo(f"Created agency {agency.code}: {agency.name}")


@agencies_cli.command("policy")
@click.argument("code")
@click.option("--title", required=True, help="The agency's own facial recognition policy, as on file.")
@click.option("--adopted", type=click.DateTime(["%Y-%m-%d"]), help="When it adopted it (YYYY-MM-DD).")
def agency_policy(code, title, adopted):
    """Record agency CODE's own facial recognition policy (the unit keeps a copy on file)."""
    cli_actor()
    agency = accounts.get_agency_by_code(code)
    if agency is None:
        _fail(f"No agency with code {code!r}.")
    try:
        accounts.set_local_policy(agency, title=title, adopted_on=adopted.date() if adopted else None)
    except ServiceError as err:
        _fail(err.message)
    record_event(
        "agency.update",
        actor=None,
        object_type="agency",
        object_id=agency.id,
        reason="its own facial recognition policy recorded",
        detail={"after": {"local_policy": agency.local_policy}},
    )
    db.session.commit()
    click.echo(f"{agency.code}: {agency.local_policy} on file.")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--agency", "agency_code", required=True, help="Agency code.")
@click.option("--full-name", help="Defaults to the username.")
@click.option("--email")
@click.option("--phone")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(username, role, agency_code, full_name, email, phone, password_stdin):
    """Create a user account. The password is prompted for (never an argument)."""
    cli_actor()
    try:
        agency = accounts.get_agency_by_code(agency_code)
        password = _read_password(password_stdin)
        user = accounts.create_user(
            actor=None,
            username=username,
            full_name=full_name or username,
            role=Role(role),
            agency=agency,
            password=password,
            email=email,
            phone=phone,
        )
    except ServiceError as err:
        _fail(err.message)
    db.session.commit()
    click.echo(f"Created {user.role} {user.username} in {agency.code}. TOTP is set up at first sign-in.")


@users_cli.command("unlock")
@click.argument("username")
@click.option("--reason", default="unlocked by operator", show_default=True)
def unlock_user(username, reason):
    """Unlock an account locked after failed sign-ins."""
    cli_actor()
    user = _user_or_fail(username)
    try:
        accounts.unlock_user(actor=None, user=user, reason=reason)
    except ServiceError as err:
        _fail(err.message)
    db.session.commit()
    click.echo(f"Unlocked {user.username}.")


@users_cli.command("certify")
@click.argument("username")
@click.option("--provider", required=True, type=click.Choice([p.value for p in CertificationProvider]))
@click.option("--number", required=True, help="Certificate number.")
@click.option("--completed", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--expires", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
def certify_user(username, provider, number, completed, expires):
    """Record a reviewer's FBI or LACRIS facial recognition training certification."""
    cli_actor()
    user = _user_or_fail(username)
    try:
        cert = accounts.certify_user(
            actor=None,
            user=user,
            provider=CertificationProvider(provider),
            number=number,
            completed_on=date.fromordinal(completed.toordinal()),
            expires_on=date.fromordinal(expires.toordinal()),
        )
    except ServiceError as err:
        _fail(err.message)
    db.session.commit()
    click.echo(
        f"Recorded {cert.provider} certification {cert.certificate_number} for {user.username}, "
        f"valid {cert.completed_on} to {cert.expires_on}."
    )


@users_cli.command("sign-in-with")
@click.argument("username")
@click.argument("how", type=click.Choice(["directory", "local"]))
@click.option("--reason", default="set by operator", show_default=True)
def sign_in_with(username, how, reason):
    """Check USERNAME's password with the county directory, or with LeadDesk's own ("local":
    keep one break-glass administrator local)."""
    cli_actor()
    user = _user_or_fail(username)
    try:
        accounts.set_sign_in_with(user, how, actor=None, reason=reason)
    except ServiceError as err:
        _fail(err.message)
    db.session.commit()
    said = "the county directory" if how == "directory" else "a local password"
    click.echo(f"{user.username} signs in with {said}.")
