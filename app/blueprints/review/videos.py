"""The reviewer holding a request steps through its videos (one the requester sent with an
answer, or one whose frames the requester did not pick) and picks frames as new probes."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from app.blueprints.common import perform
from app.blueprints.requests.videos import render_stepper, video_of
from app.blueprints.review import bp
from app.blueprints.review.common import request_or_404
from app.security.access import certified_staff_required, require_need_to_know
from app.services.intake import videos


@bp.route("/requests/<int:request_id>/videos/<int:video_id>")
@certified_staff_required
def video(request_id: int, video_id: int):
    search_request = request_or_404(request_id)
    require_need_to_know(search_request)
    clip = video_of(search_request, video_id)
    may = videos.may_pick(search_request, current_user) is None
    return render_stepper(
        search_request,
        clip,
        pick_action=url_for("review.pick_frame", request_id=request_id, video_id=video_id) if may else None,
        back=url_for("review.workspace", request_id=request_id),
        page=url_for("review.video", request_id=request_id, video_id=video_id),
    )


@bp.route("/requests/<int:request_id>/videos/<int:video_id>/pick", methods=["POST"])
@certified_staff_required
def pick_frame(request_id: int, video_id: int):
    search_request = request_or_404(request_id)
    clip = video_of(search_request, video_id)
    number = request.form.get("frame", 0, type=int)
    done = perform(
        lambda: videos.pick_frame(search_request, clip, number, actor=current_user),
        "Frame added as a new probe: confirm its source before it is searched.",
    )
    if done.ok:
        return redirect(url_for("review.workspace", request_id=request_id))
    return redirect(url_for("review.video", request_id=request_id, video_id=video_id, frame=number))
