"""A reviewer's work on each probe: suitability, one processing step at a time (each its own
form and endpoint), the chosen face or eyes placed by hand, and the images, every look audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.blueprints.common import perform, require_valid, send_image
from app.blueprints.review import bp
from app.extensions import db
from app.matching.processing import LABELS, OPERATIONS, describe_step
from app.models import ProbeWork
from app.security.access import certified_staff_required, deny
from app.services.oversight.reads import record_read
from app.services.platform import storage
from app.services.platform.errors import ServiceError
from app.services.review import probes

from .forms import STEP_FORMS, ActionForm, EyesForm, FaceChoiceForm, step_from

STEP_OPS = f"any({', '.join(OPERATIONS)})"  # the URL pattern: the processing steps' own names


def _work_or_404(work_id: int) -> ProbeWork:
    work = db.session.get(ProbeWork, work_id)
    if work is None or work.reviewer_id != current_user.id:
        deny("probe work of another reviewer, or none", status=404, object_type="probe", object_id=work_id)
    return work


@bp.route("/probes/<int:work_id>")
@certified_staff_required
def probe(work_id: int):
    work = _work_or_404(work_id)
    record_read("probe.view", work, actor=current_user)
    try:
        prepared = probes.prepare(work)
    except ServiceError as err:
        flash(err.message, "error")
        prepared = None
    return render_template(
        "review/probe.html",
        work=work,
        prepared=prepared,
        steps=[describe_step(s) for s in work.step_list],
        step_forms={op: form(prefix=op) for op, form in STEP_FORMS.items()},
        step_labels=LABELS,
        eyes_form=EyesForm(),
        face_form=FaceChoiceForm(),
        action_form=ActionForm(),
        lead_notice=True,
    )


def _change_probe(work: ProbeWork, **change):
    perform(lambda: probes.update_probe_work(work, reviewer=current_user, **change))
    return redirect(url_for("review.probe", work_id=work.id))


@bp.route(f"/probes/<int:work_id>/steps/<{STEP_OPS}:op>", methods=["POST"])
@certified_staff_required
def add_step(work_id: int, op: str):
    work = _work_or_404(work_id)
    form = STEP_FORMS[op](prefix=op)
    if not form.validate_on_submit():
        for field, messages in form.errors.items():
            flash(f"{LABELS.get(op, op)}: {field} — {'; '.join(map(str, messages))}", "error")
        return redirect(url_for("review.probe", work_id=work_id))
    return _change_probe(work, steps=[*work.step_list, step_from(op, form)])


@bp.route("/probes/<int:work_id>/undo", methods=["POST"])
@certified_staff_required
def undo_step(work_id: int):
    work = _work_or_404(work_id)
    require_valid(ActionForm())
    return _change_probe(work, steps=work.step_list[:-1])


@bp.route("/probes/<int:work_id>/reset", methods=["POST"])
@certified_staff_required
def reset_steps(work_id: int):
    work = _work_or_404(work_id)
    require_valid(ActionForm())
    return _change_probe(work, steps=[])


@bp.route("/probes/<int:work_id>/face", methods=["POST"])
@certified_staff_required
def choose_face(work_id: int):
    work = _work_or_404(work_id)
    form = FaceChoiceForm()
    require_valid(form)
    return _change_probe(work, face_index=form.face_index.data)


@bp.route("/probes/<int:work_id>/eyes", methods=["POST"])
@certified_staff_required
def place_eyes(work_id: int):
    work = _work_or_404(work_id)
    form = EyesForm()
    if not form.validate_on_submit():
        flash("Give both eye centres in pixels of the processed image.", "error")
        return redirect(url_for("review.probe", work_id=work_id))
    eyes = [[form.left_x.data, form.left_y.data], [form.right_x.data, form.right_y.data]]
    return _change_probe(work, manual_eyes=eyes)


@bp.route("/probes/<int:work_id>/detection", methods=["POST"])
@certified_staff_required
def use_detection(work_id: int):
    work = _work_or_404(work_id)
    require_valid(ActionForm())
    return _change_probe(work, clear_eyes=True)


@bp.route("/probes/<int:work_id>/<any(display, processed):which>.<any(jpg, png):ext>")
@certified_staff_required
def probe_image(work_id: int, which: str, ext: str):
    """The probe as the requester sent it (its EXIF-free display copy, a JPEG) or as this
    reviewer processed it (a PNG); each has one name."""
    if (which, ext) not in {("display", "jpg"), ("processed", "png")}:
        abort(404)
    work = _work_or_404(work_id)
    record_read("probe.image_view", work, actor=current_user, which=which)
    if which == "display":
        return send_image(storage.path_of(work.probe.display_path).read_bytes(), "image/jpeg")
    if not work.processed_path:
        probes.update_probe_work(work, reviewer=current_user)
    return send_image(storage.path_of(work.processed_path).read_bytes(), "image/png")
