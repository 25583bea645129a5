"""Stepping through a recorded video and picking frames as probe photos (the requester on a
draft; the frame image also for the staff who may see the request). The reviewer's own page is
``app/blueprints/review/videos.py``; both render ``requests/video.html``."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.common import perform, send_image
from app.blueprints.requests.forms import SearchRequestForm
from app.blueprints.requests.routes import _load, _own_draft, _save, bp, viewer_required
from app.extensions import db
from app.models import ProbeVideo, RequestStatus, SearchRequest
from app.security.access import requester_required
from app.services.intake import videos
from app.services.platform.errors import ServiceError


def video_of(search_request: SearchRequest, video_id: int) -> ProbeVideo:
    clip = db.session.get(ProbeVideo, video_id)
    if clip is None or clip.request_id != search_request.id:
        abort(404)
    return clip


def wanted_frame(clip: ProbeVideo) -> int:
    """The frame asked for: ``frame=N``, or ``t=`` a time (seconds, or m:ss.s)."""
    info = videos.info_of(clip)
    if (at := request.args.get("t", "").strip()) != "":
        try:
            seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(at.split(":"))))
        except ValueError:
            flash(
                f"“{at[:20]}” is not a time: write seconds (75.5) or minutes and seconds (1:15.5).", "error"
            )
            seconds = 0.0
        return info.frame_number(seconds)
    return info.clamp(request.args.get("frame", 0, type=int))


def render_stepper(
    search_request: SearchRequest, clip: ProbeVideo, *, pick_action: str | None, back: str, page: str
):
    number = wanted_frame(clip)
    try:
        view = videos.frame_view(clip, number)
    except ServiceError as err:
        flash(err.message, "error")
        view = None
    return render_template(
        "requests/video.html",
        search_request=search_request,
        clip=clip,
        view=view,
        fps=float(videos.info_of(clip).fps),
        pick_action=pick_action,
        back=back,
        page=page,
    )


@bp.route("/drafts/<int:request_id>/videos/<int:video_id>")
@requester_required
def video(request_id: int, video_id: int):
    draft = _own_draft(request_id)
    if draft is None:
        return redirect(url_for("requests.detail", request_id=request_id))
    clip = video_of(draft, video_id)
    return render_stepper(
        draft,
        clip,
        pick_action=url_for("requests.pick_frame", request_id=draft.id, video_id=clip.id),
        back=url_for("requests.edit_draft", request_id=draft.id),
        page=url_for("requests.video", request_id=draft.id, video_id=clip.id),
    )


@bp.route("/<int:request_id>/videos/<int:video_id>/frames/<int:number>.jpg")
@viewer_required
def video_frame(request_id: int, video_id: int, number: int):
    search_request = _load(request_id)
    if search_request.status is RequestStatus.DRAFT and search_request.requester_id != current_user.id:
        abort(404)
    clip = video_of(search_request, video_id)
    try:
        data = videos.frame_jpeg(clip, number, actor=current_user)
    except ServiceError:
        abort(422)
    return send_image(data, "image/jpeg", download_name=f"video-{clip.id}-frame-{number}.jpg")


@bp.route("/drafts/<int:request_id>/videos/<int:video_id>/pick", methods=["POST"])
@requester_required
def pick_frame(request_id: int, video_id: int):
    draft = _own_draft(request_id)
    if draft is None:
        return redirect(url_for("requests.detail", request_id=request_id))
    clip = video_of(draft, video_id)
    number = request.form.get("frame", 0, type=int)
    done = perform(lambda: videos.pick_frame(draft, clip, number, actor=current_user))
    if done.ok:
        flash(
            f"Frame {done.value.video_frame_number} added as a photo: say where it came from below.",
            "success",
        )
        return redirect(url_for("requests.edit_draft", request_id=draft.id, _anchor=f"image-{done.value.id}"))
    return redirect(url_for("requests.video", request_id=draft.id, video_id=clip.id, frame=number))


@bp.route("/drafts/<int:request_id>/videos/<int:video_id>/remove", methods=["POST"])
@requester_required
def remove_video(request_id: int, video_id: int):
    draft = _own_draft(request_id)
    if draft is None:
        return redirect(url_for("requests.detail", request_id=request_id))
    return _save(draft, SearchRequestForm(), remove=video_of(draft, video_id))  # what was typed is kept
