"""What the reviewer's views share: the objects they open, each refused (and audited) when
it is not the reviewer's to see."""

from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from app.extensions import db
from app.models import FaceSearch, SearchRequest
from app.security.access import deny
from app.services.review.workflow import capacity_of


def request_or_404(request_id: int) -> SearchRequest:
    found = db.session.get(SearchRequest, request_id)
    if found is None or found.tracking_number is None:
        deny("no such submitted request", status=404, object_type="request", object_id=request_id)
    return found


def to_workspace(request_id: int):
    return redirect(url_for("review.workspace", request_id=request_id))


def search_or_404(search_id: int) -> FaceSearch:
    """A search of a request the reviewer works (need to know); any other id is refused, audited."""
    found = db.session.get(FaceSearch, search_id)
    if found is None or found.request is None or capacity_of(found.request, current_user) is None:
        deny(
            "search of a request the reviewer does not work, or none",
            status=404,
            object_type="search",
            object_id=search_id,
        )
    return found
