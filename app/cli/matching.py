"""``flask gallery ...``, ``flask index ...``, ``flask search ...`` and ``flask scheduler``."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli import cli_actor
from app.extensions import db
from app.models import Booking
from app.services.gallery import enrollment as gallery_service
from app.services.gallery import index_builds
from app.services.gallery import sealing as sealed_records
from app.services.gallery import search as matching
from app.services.platform.errors import ServiceError
from app.services.review import searches

gallery_cli = AppGroup("gallery", help="The mugshot gallery.")
index_cli = AppGroup("index", help="The search index.")


@gallery_cli.command("import")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-index", is_flag=True, help="Do not rebuild the index afterwards.")
@click.option("--workers", type=int, default=None, help="Processes for embedding (default: all cores).")
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="A Dask distributed scheduler (tls://host:8786, with the unit's certificates in "
    "GALLERY_CLUSTER_TLS_DIR): its workers embed the photos; this process checks and records "
    "every result.",
)
@click.option(
    "--insecure-local",
    is_flag=True,
    help="Allow a plain tcp:// scheduler on this machine's loopback (tests only).",
)
def import_command(
    manifest: Path, no_index: bool, workers: int | None, scheduler: str | None, insecure_local: bool
):
    """Enroll booking photos listed in MANIFEST.csv
    (image,booking_number,name,dob,sid,main_number,cdl,booking_date)."""
    cli_actor()
    try:
        summary = gallery_service.import_manifest(
            manifest,
            actor=None,
            workers=workers,
            progress=gallery_service.progress_bar,
            scheduler=scheduler,
            insecure_local=insecure_local,
        )
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    click.echo(
        f"Enrolled {summary.enrolled}, skipped as already enrolled {summary.skipped}, "
        f"rejected {len(summary.rejected)}."
    )
    for rejection in summary.rejected:
        number = f" ({rejection.booking_number})" if rejection.booking_number else ""
        click.echo(f"  line {rejection.line}{number}: {rejection.reason}")
    if not no_index and summary.enrolled:
        _rebuild("gallery import")


@gallery_cli.command("seal")
@click.argument("booking_number")
@click.option("--reference", required=True, help="The sealing order or notice reference.")
def seal_command(booking_number: str, reference: str):
    """Seal a booking: it leaves every search at once."""
    cli_actor()
    try:
        booking = gallery_service.get_booking(booking_number)
        outcome = sealed_records.seal_booking(booking, reference=reference, actor=None)
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(f"{outcome.summary()} (Reference {reference}.)")


def _rebuild(triggered_by: str) -> None:
    try:
        build = index_builds.rebuild_index(triggered_by=triggered_by)
    except ServiceError as err:
        raise click.ClickException(err.message) from None
    click.echo(
        f"Index version {build.version} built: {build.template_count} templates "
        f"in {build.duration_seconds:.1f} s."
    )


@index_cli.command("rebuild")
def rebuild_command():
    """Build a new index version now and switch to it."""
    cli_actor()
    _rebuild("cli")


@index_cli.command("status")
@click.option("--json", "as_json", is_flag=True)
def status_command(as_json: bool):
    """Version, template count, age, and whether a rebuild is overdue."""
    status = index_builds.index_status()
    if as_json:
        click.echo(json.dumps(status.as_dict()))
        return
    if status.version is None:
        click.echo(f"No usable index: {status.problem}. Searches scan the gallery exactly.")
    else:
        hours = status.age.total_seconds() / 3600 if status.age else 0
        click.echo(
            f"Index version {status.version}: {status.template_count} templates, built "
            f"{status.built_at:%Y-%m-%d %H:%M} UTC ({hours:.1f} h ago)."
        )
        if status.enrolled_since_build:
            click.echo(f"{status.enrolled_since_build} templates enrolled since; searches scan them exactly.")
        if status.problem:
            click.echo(f"Problem: {status.problem}")
    click.echo(f"Searchable templates: {status.searchable_templates}.")
    if status.last_failure:
        click.echo(
            f"Last rebuild FAILED (version {status.last_failure.version}): {status.last_failure.error}"
        )
    click.echo("Rebuild OVERDUE." if status.overdue else "Rebuild up to date.")


@click.command("search")
@click.argument("probes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--request", "tracking_number", help="The request searched (FR-YYYY-NNNNNN), held by the operator."
)
@click.option("--operator", help="Username of the certified facial reviewer running the search.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the operator's password from standard input (one line)."
)
@click.option("--code", help="A current code from the operator's authenticator app (good once).")
@click.option(
    "--top", "top_k", default=matching.DEFAULT_TOP_K, show_default=True, type=int, help="K, at most 50."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per probe, one per line.")
def search_command(
    probes: tuple[Path, ...],
    tracking_number: str | None,
    operator: str | None,
    password_stdin: bool,
    code: str | None,
    top_k: int,
    as_json: bool,
):
    """Search each PROBE (one of the request's images, by its bytes) against the gallery (1:N)
    for the operator holding the request: recorded and audited as a search of that request,
    under its justification and determinations. Candidates are investigative leads only.
    Exit 0: searched; 2: refused (nothing searched) or a probe refused; 3: no face."""
    cli_actor()
    missing = [
        name
        for name, given in (
            ("--request", tracking_number),
            ("--operator", operator),
            ("--password-stdin", password_stdin),
            ("--code", code),
        )
        if not given
    ]
    if missing:
        _refuse(f"{', '.join(missing)} required: the operator proves who they are for a request they hold.")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        matching.check_top_k(top_k)
        searcher, request = searches.authorize_operator(tracking_number, operator, password, code)
    except ServiceError as err:  # nothing was searched; what the checks recorded is kept
        searches.audit_operator_refusal(None, request=None, error=f"{operator}: {err.message}")
        db.session.commit()  # failed factors count toward the account's lock, as in the portal
        _refuse(err.message)
    worst = 0
    for probe in probes:
        outcome = _search_one(probe, top_k, searcher, request)
        worst = max(worst, outcome.get("code", 0))
        click.echo(json.dumps(outcome)) if as_json else _print_human(outcome)
    db.session.commit()
    sys.exit(worst)


def _refuse(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(searches.EXIT_REFUSED)  # a refused invocation searches nothing


def _search_one(probe: Path, top_k: int, operator, request) -> dict:
    try:
        data = probe.read_bytes()
        with db.session.begin_nested():
            search = searches.run_operator_search(
                request, operator, data=data, top_k=top_k, os_user=getpass.getuser()
            )
    except OSError as exc:
        error, code = f"cannot read the file ({exc.strerror})", searches.EXIT_REFUSED
    except ServiceError as err:
        error, code = err.message, getattr(err, "code", searches.EXIT_REFUSED)
    else:
        bookings = dict(
            db.session.execute(
                select(Booking.id, Booking.booking_number).where(
                    Booking.id.in_([e["booking_id"] for e in search.result_list])
                )
            ).all()
        )
        return {
            "probe": str(probe),
            "request": request.tracking_number,
            "search_id": search.id,
            "index_version": search.index_version,
            "candidates": [
                {
                    "booking_number": bookings[e["booking_id"]],
                    "distance": round(e["distance"], 4),
                    "score": e["score"],
                }
                for e in search.result_list
            ],
        }
    searches.audit_operator_refusal(operator, request=request, error=f"{probe.name}: {error}")
    return {"probe": str(probe), "error": error, "code": code}


def _print_human(outcome: dict) -> None:
    click.echo(f"Probe {outcome['probe']}")
    if "error" in outcome:
        click.echo(f"  refused: {outcome['error']}")
        return
    for note in outcome.get("notes", []):
        click.echo(f"  note: {note}")
    click.echo(f"  index version {outcome['index_version']} — investigative leads only, not identifications")
    for rank, candidate in enumerate(outcome["candidates"], start=1):
        click.echo(
            f"  {rank:>2}. booking {candidate['booking_number']:<16} score {candidate['score']:>5.1f}"
            f"  distance {candidate['distance']:.4f}"
        )
