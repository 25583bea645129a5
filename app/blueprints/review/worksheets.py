"""The examiner's worksheet of one's own examination of a candidate, as a PDF."""

from __future__ import annotations

from flask import current_app, redirect, url_for
from flask_login import current_user

from app.blueprints.common import perform, send_pdf
from app.blueprints.review import bp
from app.blueprints.review.common import search_or_404
from app.security.access import certified_staff_required
from app.services.review import worksheets


@bp.route("/searches/<int:search_id>/candidates/<int:rank>/worksheet.pdf")
@certified_staff_required
def worksheet(search_id: int, rank: int):
    found = search_or_404(search_id)
    unit = current_app.config["UNIT_NAME"]
    done = perform(lambda: worksheets.worksheet_of(found, rank, reviewer=current_user, unit_name=unit))
    if not done.ok:
        return redirect(url_for("review.compare", search_id=search_id, rank=rank))
    return send_pdf(done.value, f"worksheet-{search_id}-{rank}.pdf")
