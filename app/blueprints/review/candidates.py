"""Searching and the comparison workstation: the candidate list (by person, or by photo), one
candidate against the probe with the FISWG checklist, quick exclusion, re-examination after a
reveal, and the aligned images, each read audited."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.blueprints.common import perform, send_image, show_error
from app.blueprints.review import bp
from app.blueprints.review.common import request_or_404, search_or_404, to_workspace
from app.extensions import db
from app.matching.images import encode_evidence, encode_jpeg, encode_png
from app.matching.probe import COMPARISON_SIZE
from app.models import Booking, CandidateExamination, Conclusion, FaceSearch, ProbeWork
from app.security.access import certified_staff_required, deny
from app.services.interconnect import peer_search
from app.services.oversight.reads import Candidate, record_read
from app.services.platform.errors import ServiceError
from app.services.review import examinations, searches, worksheets, workstation
from app.services.review.workflow import Action, allowed_actions

from .forms import ChecklistForm, ExcludeForm, ReexamineForm, SearchForm, repository_choices

THUMBNAIL_SIDE = 200


@bp.route("/requests/<int:request_id>/search", methods=["POST"])
@certified_staff_required
def search(request_id: int):
    search_request = request_or_404(request_id)
    form = SearchForm()
    mine = db.session.scalars(select(ProbeWork).where(ProbeWork.reviewer_id == current_user.id))
    form.work_id.choices = [SelectChoice(w.id, str(w.id)) for w in mine]
    form.repositories.choices = repository_choices()
    if not form.validate_on_submit():
        flash("Choose at least one probe and a K between 1 and 50.", "error")
        return to_workspace(request_id)
    works = [db.session.get(ProbeWork, i) for i in form.work_id.data]
    done = perform(
        lambda: searches.run_search(
            search_request,
            reviewer=current_user,
            works=works,
            top_k=form.top_k.data,
            override_reason=form.override_reason.data or "",
            peers=peer_search.chosen_peers(form.repositories.data or []),
        )
    )
    return (
        redirect(url_for("review.candidates", search_id=done.value.id))
        if done.ok
        else to_workspace(request_id)
    )


@bp.route("/searches/<int:search_id>")
@certified_staff_required
def candidates(search_id: int):
    found = search_or_404(search_id)
    by_photo = request.args.get("by") == "photo"
    record_read("search.candidates_view", found, actor=current_user)
    return render_template(
        "review/candidates.html",
        search=found,
        by_photo=by_photo,
        people=[[e] for e in found.result_list] if by_photo else examinations.people_in(found),
        probes=found.probe_list,
        pinned_rank=found.result_list[0]["rank"] if found.result_list else None,
        examinations=examinations.examinations_in(found, current_user),
        probe_numbers={p["probe_image_id"]: n for n, p in enumerate(found.probe_list, 1)},
        lead_notice=True,
    )


@bp.route("/searches/<int:search_id>/grid")
@certified_staff_required
def grid(search_id: int):
    """Two to six candidates beside the probe, each with its rank and score (a person's other
    bookings, or candidates ticked on the list)."""
    found = search_or_404(search_id)
    done = perform(lambda: workstation.grid_of(found, request.args.getlist("rank"), reviewer=current_user))
    if not done.ok:
        return _to_list(search_id)
    return render_template("review/grid.html", search=found, entries=done.value, lead_notice=True)


def _opened(search_id: int, rank: int) -> tuple[FaceSearch, CandidateExamination | None]:
    """The search and the reviewer's examination of the candidate at ``rank`` (opened, audited);
    None when it cannot be opened, the reason flashed."""
    found = search_or_404(search_id)
    return found, perform(lambda: examinations.open_candidate(found, rank, reviewer=current_user)).value


def _to_list(search_id: int):
    return redirect(url_for("review.candidates", search_id=search_id))


def _render_compare(
    found: FaceSearch, examination: CandidateExamination, form: ChecklistForm, exclude_form=None, status=200
):
    entry = examinations.entry_at(found, examination.rank)
    try:
        probe_chip = examinations.probe_chip(found, entry)
        booking_chip = examinations.booking_chip(examination.booking)
    except ServiceError as err:  # the recorded probe is gone or changed
        flash(err.message, "error")
        return _to_list(found.id)
    ranks = [e["rank"] for e in examinations.in_person_order(found)]
    position = ranks.index(entry["rank"])
    return render_template(
        "review/compare.html",
        search=found,
        entry=entry,
        examination=examination,
        booking=examination.booking,
        revealed=examination.conclusion is not None,
        landmarks={"probe": probe_chip.landmarks, "candidate": booking_chip.landmarks},
        sources={"probe": probe_chip, "candidate": booking_chip},
        probe_image_id=examinations.probe_spec_of(found, entry)["probe_image_id"],
        position=position + 1,
        total=len(ranks),
        chip_size=COMPARISON_SIZE,
        previous_rank=ranks[position - 1] if position > 0 else None,
        next_rank=ranks[position + 1] if position + 1 < len(ranks) else None,
        features=examinations.FISWG_FEATURES,
        marks=examinations.CHECKLIST_MARKS,
        min_similar=current_app.config["VIABLE_LEAD_MIN_SIMILAR"],
        form=form,
        reexamine_form=ReexamineForm(),
        exclude_form=exclude_form or ExcludeForm(),
        person=[e for e in found.result_list if e.get("subject_id") == entry.get("subject_id")]
        if entry.get("subject_id")
        else [entry],
        can_examine=Action.SEARCH in allowed_actions(found.request, current_user),
        lead_notice=True,
    ), status


@bp.route("/searches/<int:search_id>/candidates/<int:rank>")
@certified_staff_required
def compare(search_id: int, rank: int):
    found, examination = _opened(search_id, rank)
    if examination is None:
        return _to_list(search_id)
    return _render_compare(found, examination, ChecklistForm(data=examinations.form_data(examination)))


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/examine", methods=["POST"])
@certified_staff_required
def examine(search_id: int, rank: int):
    found, examination = _opened(search_id, rank)
    if examination is None:
        return _to_list(search_id)
    form = ChecklistForm()
    if form.validate_on_submit():
        conclusion = Conclusion(form.conclusion.data) if form.conclusion.data else None
        done = perform(
            lambda: examinations.save_examination(
                examination,
                reviewer=current_user,
                checklist=form.checklist(request.form),
                conclusion=conclusion,
                note=form.note.data or "",
                **worksheets.views_posted(form.view_adjustments.data, form.annotations.data),
            ),
            "Conclusion recorded." if conclusion else "Checklist saved.",
            flash_error=False,
        )
        if done.ok:
            return redirect(url_for("review.compare", search_id=search_id, rank=rank))
        show_error(form, done.error)
    return _render_compare(found, db.session.get(CandidateExamination, examination.id), form)


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/exclude", methods=["POST"])
@certified_staff_required
def exclude(search_id: int, rank: int):
    """Two actions for an obvious non-match: the dissimilar feature, then Exclude; on to the next."""
    found, examination = _opened(search_id, rank)
    if examination is None:
        return _to_list(search_id)
    form = ExcludeForm()
    if form.validate_on_submit():
        done = perform(
            lambda: examinations.quick_exclude(
                examination,
                reviewer=current_user,
                feature=form.feature.data,
                note=form.note.data or "",
                **worksheets.views_posted(form.view_adjustments.data, form.annotations.data),
            ),
            f"Rank {rank} excluded: {form.feature.data} dissimilar.",
            flash_error=False,
        )
        if done.ok:
            following = examinations.next_unconcluded(found, rank, current_user)
            if following is None:
                return _to_list(search_id)
            return redirect(url_for("review.compare", search_id=search_id, rank=following))
        show_error(form, done.error)
    checklist = ChecklistForm(formdata=None, data=examinations.form_data(examination))
    return _render_compare(found, db.session.get(CandidateExamination, examination.id), checklist, form)


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/reexamine", methods=["POST"])
@certified_staff_required
def reexamine(search_id: int, rank: int):
    _, examination = _opened(search_id, rank)
    form = ReexamineForm()
    if examination is not None and form.validate_on_submit():
        perform(
            lambda: examinations.reexamine(examination, reviewer=current_user, reason=form.reason.data),
            "A new examination of this candidate is open; it is recorded as made after the reveal.",
        )
    elif examination is not None:
        flash("Say why you examine this candidate again (at least 10 characters).", "error")
    return redirect(url_for("review.compare", search_id=search_id, rank=rank))


def _candidate_image(found: FaceSearch, rank: int, which: str):
    """An image of a candidate on a search the reviewer works, audited like any read."""
    entry = examinations.entry_at(found, rank)
    booking = db.session.get(Booking, entry["booking_id"])
    if booking is None or booking.sealed:
        deny("sealed record", status=404, object_type="booking", object_id=entry["booking_id"])
    record_read("candidate.image_view", Candidate(found, entry), actor=current_user, which=which)
    return booking, entry


@bp.route("/searches/<int:search_id>/chips/<any(probe, candidate):which>/<int:rank>.png")
@certified_staff_required
def chip(search_id: int, which: str, rank: int):
    found = search_or_404(search_id)
    try:
        booking, entry = _candidate_image(found, rank, f"{which} chip")
        pixels = (
            examinations.probe_chip(found, entry) if which == "probe" else examinations.booking_chip(booking)
        ).pixels
    except ServiceError:
        abort(404)
    return send_image(encode_png(pixels), "image/png")


@bp.route("/searches/<int:search_id>/sources/<any(probe, candidate):which>/<int:rank>")
@certified_staff_required
def source(search_id: int, which: str, rank: int):
    """The full-resolution photo behind a chip (the probe as searched, the booking photo)."""
    found = search_or_404(search_id)
    try:
        _, entry = _candidate_image(found, rank, f"{which} at full resolution")
        data, mimetype = encode_evidence(workstation.source_pixels(found, entry, which))
    except ServiceError:
        abort(404)
    return send_image(data, mimetype)


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/thumbnail.jpg")
@certified_staff_required
def thumbnail(search_id: int, rank: int):
    found = search_or_404(search_id)
    try:
        booking, _ = _candidate_image(found, rank, "thumbnail")
        pixels = examinations.booking_chip(booking).pixels
    except ServiceError:
        abort(404)
    return send_image(encode_jpeg(pixels, quality=85, max_side=THUMBNAIL_SIDE), "image/jpeg")
