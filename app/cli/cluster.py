"""``flask cluster ...``: the unit's certificates for its Dask cluster (``cluster_certs``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.gallery import cluster_certs
from app.services.platform.errors import ServiceError

cluster_cli = AppGroup("cluster", help="The enrollment cluster's certificates.")


@cluster_cli.command("certs")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", "hosts", multiple=True, help="A host name or address to name in the certificates.")
def certs(folder: Path, hosts: tuple[str, ...]):
    """Make the unit's cluster CA in FOLDER and a pair for the scheduler, a worker and this
    client. Copy ca.pem with scheduler.pem/-key.pem to the scheduler, ca.pem with
    worker.pem/-key.pem to each worker; point GALLERY_CLUSTER_TLS_DIR here. Keep ca-key.pem
    with the operator."""
    try:
        made = cluster_certs.make_unit_certificates(folder, unit=current_app.config["UNIT_NAME"], hosts=hosts)
    except ServiceError as err:
        raise click.ClickException(err.message) from None
    for path in made:
        click.echo(f"wrote {path} (and its key)")
    click.echo(
        f"Scheduler: dask scheduler --protocol tls --tls-ca-file {folder}/ca.pem "
        f"--tls-cert {folder}/scheduler.pem --tls-key {folder}/scheduler-key.pem"
    )


@cluster_cli.command("issue")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.argument("name")
@click.option("--host", "hosts", multiple=True, help="A host name or address to name in the certificate.")
def issue(folder: Path, name: str, hosts: tuple[str, ...]):
    """Another pair signed by FOLDER's CA (a new worker host: NAME.pem, NAME-key.pem)."""
    try:
        cert, _key = cluster_certs.issue(folder, name, hosts=hosts)
    except ServiceError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"wrote {cert} (and its key)")
