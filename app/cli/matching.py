"""``flask gallery ...``, ``flask index ...``, ``flask search ...`` and ``flask scheduler``."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli import cli_actor
from app.extensions import db
from app.matching.images import ImageError, load_image
from app.services import gallery as gallery_service
from app.services import index_builds, matching, sealed_records
from app.services.errors import ServiceError
from app.services.policy import PURPOSES
from app.services.review import searches

gallery_cli = AppGroup("gallery", help="The mugshot gallery.")
index_cli = AppGroup("index", help="The search index.")

EXIT_UNREADABLE = 2
EXIT_NO_FACE = 3


@gallery_cli.command("import")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-index", is_flag=True, help="Do not rebuild the index afterwards.")
@click.option("--workers", type=int, default=None, help="Processes for embedding (default: all cores).")
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="A Dask distributed scheduler (tcp://host:8786): its workers embed the photos; "
    "this process still records every result.",
)
def import_command(manifest: Path, no_index: bool, workers: int | None, scheduler: str | None):
    """Enroll booking photos listed in MANIFEST.csv
    (image,booking_number,name,dob,sid,main_number,cdl,booking_date)."""
    cli_actor()
    try:
        summary = gallery_service.import_manifest(
            manifest, actor=None, workers=workers, progress=gallery_service.progress_bar, scheduler=scheduler
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
        sealed_records.seal_booking(booking, reference=reference, actor=None)
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(f"Sealed booking {booking_number} (reference {reference}); it is excluded from searches.")


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
@click.option("--operator", help="Username of the certified facial reviewer running the search.")
@click.option("--case", "case_number", help="The case/file number the search is for.")
@click.option("--purpose", help=f"One of the request form's purposes: {', '.join(PURPOSES)}.")
@click.option(
    "--top", "top_k", default=matching.DEFAULT_TOP_K, show_default=True, type=int, help="K, at most 50."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per probe, one per line.")
def search_command(
    probes: tuple[Path, ...],
    operator: str | None,
    case_number: str | None,
    purpose: str | None,
    top_k: int,
    as_json: bool,
):
    """Search each PROBE_IMAGE against the gallery (1:N) for a certified operator, with the case
    and purpose; recorded and audited like a search in the portal. Candidates are investigative
    leads only."""
    cli_actor()
    try:
        searcher = searches.require_operator(operator, case_number, purpose)
        matching.check_top_k(top_k)
    except ServiceError as err:
        click.echo(f"Error: {err.message}", err=True)
        sys.exit(EXIT_UNREADABLE)  # 2: a bad invocation searches nothing
    worst = 0
    for probe in probes:
        outcome, code = _search_one(probe, top_k, searcher, case_number.strip(), purpose)
        worst = max(worst, code)
        click.echo(json.dumps(outcome)) if as_json else _print_human(outcome)
    db.session.commit()
    sys.exit(worst)


def _search_one(probe: Path, top_k: int, operator, case: str, purpose: str) -> tuple[dict, int]:
    try:
        data = probe.read_bytes()
        image = load_image(data)
    except OSError as exc:
        error = f"cannot read the file ({exc.strerror})"
        searches.record_operator_refusal(
            operator, probe_name=probe.name, probe_sha256=None, error=error, case=case
        )
        return {"probe": str(probe), "error": error, "code": EXIT_UNREADABLE}, EXIT_UNREADABLE
    except ImageError as exc:
        searches.record_operator_refusal(
            operator, probe_name=probe.name, probe_sha256=None, error=exc.message, case=case
        )
        return {"probe": str(probe), "error": exc.message, "code": EXIT_UNREADABLE}, EXIT_UNREADABLE
    sha256 = hashlib.sha256(data).hexdigest()
    faces = matching.describe_probe(image.pixels)
    if not faces:
        searches.record_operator_refusal(
            operator, probe_name=probe.name, probe_sha256=sha256, error="no face", case=case
        )
        return {
            "probe": str(probe),
            "error": "no face found in the probe",
            "code": EXIT_NO_FACE,
        }, EXIT_NO_FACE
    _, result = searches.run_operator_search(
        operator,
        probe_name=probe.name,
        probe_sha256=sha256,
        face=faces[0],
        faces_found=len(faces),
        top_k=top_k,
        case=case,
        purpose=purpose,
    )
    outcome = {
        "probe": str(probe),
        "index_version": result.index_version,
        "candidates": [c.as_json() for c in result.candidates],
    }
    notes = list(result.notes)
    if len(faces) > 1:
        notes.insert(0, f"{len(faces)} faces found; searched the largest.")
    if notes:
        outcome["notes"] = notes
    return outcome, 0


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
