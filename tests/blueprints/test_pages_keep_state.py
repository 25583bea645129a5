"""Pages show what was saved: the lead outcome chosen, the probes ticked last time; and an
answer to a reviewer's question may bring new photos, each checked like the first ones."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ProbeImage, ProbeWork, ReviewState
from app.services.reports import issuance as report_service
from app.services.review import assignments
from tests.support.photos import photo
from tests.support.reports import verified
from tests.support.review import determination_form, workspace_url


@pytest.fixture
def app(gallery_app):
    return gallery_app


def test_the_lead_outcome_form_shows_what_was_saved(auth, client, people, submitted):
    verified(submitted, people)
    report = report_service.issue_report(submitted, actor=people["first"])
    db.session.commit()
    auth.login(people["requester"])
    url = f"/reports/{report.id}"
    auth.post(f"{url}/outcome", {"outcome": "excluded", "note": "Alibi confirmed"}, token_from=url)
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<option selected value="excluded">|<option value="excluded" selected', page)
    assert 'value="Alibi confirmed"' in page


def test_the_workspace_ticks_the_probes_searched_last(auth, client, people, submitted):
    auth.login(people["first"])
    url = workspace_url(submitted.id)
    auth.post(f"{url}/claim", {}, token_from=url)
    auth.post(f"{url}/determinations", determination_form(submitted), token_from=url)
    first_page = client.get(url).get_data(as_text=True)
    works = db.session.scalars(select(ProbeWork).order_by(ProbeWork.id)).all()
    assert ticked(first_page) == {str(works[0].id)}  # nothing searched yet: the first probe
    auth.post(f"{url}/search", {"work_id": [str(works[1].id)], "top_k": "5"}, token_from=url)
    assert ticked(client.get(url).get_data(as_text=True)) == {str(works[1].id)}


def ticked(html: str) -> set[str]:
    boxes = re.findall(r'<input type="checkbox" name="work_id" value="(\d+)"\s*checked', html)
    return set(boxes)


FRAME_FACTS = {
    "new-device": "fixed_camera",
    "new-mode": "recorded",
    "new-extracted_from_video": "yes",
    "new-provided_by": "business",
    "new-legally_obtained": "The store owner exported another frame for us.",
}


def test_an_answer_can_bring_new_photos_checked_like_the_first(auth, client, people, submitted):
    assignments.claim(submitted, reviewer=people["first"])
    assignments.return_with_question(
        submitted, reviewer=people["first"], question="Is there a frontal frame?"
    )
    db.session.commit()
    auth.login(people["requester"])
    url = f"/requests/{submitted.id}"
    broken = (io.BytesIO(b"not a photo at all"), "frame.jpg")
    refused = auth.post(
        f"{url}/answer",
        {"body": "Here is a better frame.", "images": [broken], **FRAME_FACTS},
        token_from=url,
        content_type="multipart/form-data",
    )
    db.session.refresh(submitted)
    assert refused.status_code == 302 and submitted.review_state is ReviewState.AWAITING_INFO
    assert len(submitted.images) == 2  # nothing was added, the question still open
    auth.post(
        f"{url}/answer",
        {
            "body": "Here is a better frame.",
            "images": [photo("john_simm__1.jpg", "frame.jpg")],
            **FRAME_FACTS,
        },
        token_from=url,
        content_type="multipart/form-data",
    )
    db.session.refresh(submitted)
    assert submitted.review_state is ReviewState.CLAIMED and len(submitted.images) == 3
    added = db.session.scalars(select(ProbeImage).order_by(ProbeImage.id.desc())).first()
    assert added.original_name == "frame.jpg" and added.faces_found == 1
    assert added.provenance_device == "fixed_camera" and added.provenance_status == "pending"
