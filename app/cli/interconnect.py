"""``flask interconnect ...``: this unit's key and certificate for the interconnect, its
peers, the daily seal check on demand, and the mutual-TLS listener peers call."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli import cli_actor
from app.extensions import db
from app.services.interconnect import peer_search, peers, trust
from app.services.platform.errors import ServiceError

interconnect_cli = AppGroup("interconnect", help="Searching other units' repositories (CAFRI).")
peers_cli = AppGroup("peers", help="The units this one searches and answers.")
interconnect_cli.add_command(peers_cli)


def _fail(err: ServiceError):
    db.session.rollback()
    raise click.ClickException(err.message) from None


@interconnect_cli.command("key")
@click.option("--name", required=True, help="This unit's name (its certificate's common name).")
@click.option(
    "--host", "hosts", multiple=True, required=True, help="A host name or address peers call it on."
)
def key_command(name: str, hosts: tuple[str, ...]):
    """Make this unit's private key (kept in the instance folder, mode 600) and a certificate
    request: send unit.csr to the interconnect's authority."""
    try:
        path = trust.make_key_and_request(trust.folder(), name, hosts)
    except ServiceError as err:
        _fail(err)
    click.echo(f"wrote {path}: send it to the interconnect's authority; keep {trust.KEY_FILE} here.")


@interconnect_cli.command("install")
@click.argument("certificate", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--authority", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
def install_command(certificate: Path, authority: Path):
    """Install the certificate the authority issued for this unit's request."""
    try:
        name = trust.install_certificate(trust.folder(), certificate, authority)
    except ServiceError as err:
        _fail(err)
    click.echo(f"installed the certificate of {name}; set LEADDESK_INTERCONNECT_UNIT_NAME={name}.")


@peers_cli.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--authority", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--rate", default=60, show_default=True, help="Searches a minute the peer may ask of this unit."
)
@click.option("--not-by-default", is_flag=True, help="Left unticked on the search form.")
def add_command(name: str, url: str, authority: Path, rate: int, not_by_default: bool):
    """Add a peer: NAME (its certificate's common name), its https:// URL, its authority."""
    cli_actor()
    try:
        peer = peers.add_peer(name, url, authority, rate_per_minute=rate, by_default=not not_by_default)
    except ServiceError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"added {peer.name} at {peer.url}")


@peers_cli.command("disable")
@click.argument("name")
def disable_command(name: str):
    """Stop searching the peer and refuse its calls (at once)."""
    _set(name, False)


@peers_cli.command("enable")
@click.argument("name")
def enable_command(name: str):
    _set(name, True)


def _set(name: str, enabled: bool) -> None:
    cli_actor()
    try:
        peer = peers.set_enabled(name, enabled)
    except ServiceError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"{peer.name} {'enabled' if enabled else 'disabled'}")


@peers_cli.command("list")
def list_command():
    """Each peer: enabled, ticked by default, its rate, how it last answered."""
    for peer in peers.all_peers():
        seen = (
            f"{peer.last_status} at {peer.last_contact_at:%Y-%m-%d %H:%M}"
            if peer.last_contact_at
            else "never"
        )
        click.echo(
            f"{peer.name}\t{peer.url}\t{'enabled' if peer.enabled else 'disabled'}\t"
            f"{'default' if peer.searched_by_default else 'optional'}\t{peer.rate_per_minute}/min\t{seen}"
            + (f"\t{peer.last_error}" if peer.last_error else "")
        )


@interconnect_cli.command("seals")
def seals_command():
    """Ask every peer now for the records it sealed (the scheduler does it daily)."""
    cli_actor()
    message = peer_search.check_all_seals()
    db.session.commit()
    click.echo(message)


@interconnect_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True)
def serve_command(host: str, port: int):
    """Answer peers on HOST:PORT over mutual TLS (a client certificate from a peer's authority
    is required at the handshake). For production, gunicorn with the same files (README)."""
    from werkzeug.serving import run_simple

    try:
        context = trust.server_context([p.authority_pem for p in peers.enabled_peers()])
    except ServiceError as err:
        _fail(err)
    db.session.remove()
    run_simple(host, port, current_app._get_current_object(), ssl_context=context, threaded=True)
