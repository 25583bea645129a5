"""First Amendment 1-3: a flagged request is searched only after its reviewer records why the
search is not based on protected activity or traits; the determinations are counted monthly."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SearchRequest
from app.services.errors import PermissionDenied
from app.services.oversight import generate_monthly_audit, local_zone, month_bounds
from app.services.review import assignments, probes, searches
from tests.blueprints.test_requests import photo, submit, valid_form


@pytest.fixture
def app(gallery_app):
    return gallery_app


@pytest.mark.clause("FA-1", "FA-3", "AU-3")
def test_a_flagged_request_is_searched_only_after_a_recorded_determination(
    gallery_app, auth, client, people, clock
):
    requester, reviewer = people["requester"], people["first"]
    auth.login(requester)
    form = valid_form(
        requester,
        reason="Identify the man seen at the protest outside the church who later robbed the store.",
    )
    assert submit(auth, form, [photo("john_simm__2.jpg")]).status_code == 302
    auth.logout()
    request = db.session.scalars(select(SearchRequest)).one()
    assert request.flagged and request.awaiting_first_amendment_review
    assignments.claim(request, reviewer=reviewer)
    work = probes.probe_work(request.images[0], reviewer)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="First Amendment"):
        searches.run_search(request, reviewer=reviewer, works=[work], top_k=5)
    db.session.rollback()
    auth.login(reviewer)
    url = f"/review/requests/{request.id}"
    page = client.get(url).get_data(as_text=True)
    assert "FA-1: protest" in page and "Record the determination" in page and "Search the gallery" not in page
    auth.post(f"{url}/first-amendment", {"note": "too short"}, token_from=url)
    db.session.refresh(request)
    assert request.awaiting_first_amendment_review
    note = "The robbery on camera is the basis; the protest is only where he was seen earlier."
    auth.post(f"{url}/first-amendment", {"note": note}, token_from=url)
    db.session.refresh(request)
    assert request.first_amendment_cleared_by_id == reviewer.id and request.first_amendment_note == note
    assert searches.run_search(request, reviewer=reviewer, works=[work], top_k=5).id
    db.session.commit()
    event_month = clock.now.astimezone(local_zone()).strftime("%Y-%m")
    clock.now = month_bounds(event_month)[1] + timedelta(days=2)
    audit = generate_monthly_audit(event_month, generated_by="tests")
    row = next(r for r in json.loads(audit.figures) if r["username"] == reviewer.username)
    assert row["first_amendment_determinations"] == 1
