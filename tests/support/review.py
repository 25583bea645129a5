"""The reviewer's determinations before a search, as a reviewer records them."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    FaceSearch,
    ProbeWork,
    SearchRequest,
    User,
)
from app.services.review import intake

NOTE = "The photo is a still from the store's fixed camera, as the requester states."


def determine_all(request: SearchRequest, reviewer: User, note: str = NOTE) -> None:
    """Confirm every pending image's stated source and record the First Amendment
    determination (with a reason, which a flagged request needs), then commit."""
    db.session.refresh(request)
    intake.save_determinations(
        request,
        reviewer=reviewer,
        images=[
            intake.ImageDetermination(i.id, intake.CONFIRM, note)
            for i in request.images_awaiting_determination
        ],
        first_amendment=intake.FirstAmendmentDetermination(True, note)
        if request.awaiting_first_amendment_review
        else None,
    )
    db.session.commit()


def determination_form(request: SearchRequest, note: str = NOTE) -> dict:
    """The workspace's determination form, every pending image confirmed."""
    db.session.refresh(request)
    form = {"fa_confirm": "y", "fa_note": note}
    for image in request.images_awaiting_determination:
        form[f"image-{image.id}-decision"] = intake.CONFIRM
        form[f"image-{image.id}-note"] = note
    return form


def operator_search(
    runner, clock, operator: User, tracking_number: str, *probes, password=None, code=None, extra=()
):
    """``flask search`` as an operator runs it: the password on stdin, a fresh code (a new
    time step each call, as codes are good once)."""
    import pyotp

    from tests.conftest import TEST_PASSWORD

    clock.advance(seconds=30)
    code = pyotp.TOTP(operator.totp_secret).at(clock.now) if code is None else code
    args = ["search", *map(str, probes), "--request", tracking_number, "--operator", operator.username]
    args += ["--password-stdin", "--code", code, *extra]
    return runner.invoke(args=args, input=(password or TEST_PASSWORD) + "\n")


def checklist_form(default: str = "similar", notes: dict | None = None, **marks: str) -> dict:
    """The FISWG checklist as the page posts it: every feature's mark and note, by its key
    (``checklist_form(ears="dissimilar")``; ``default=""`` leaves the others unmarked)."""
    from app.services.review.examinations import FEATURE_KEYS

    form = {}
    for key in FEATURE_KEYS:
        mark = marks.get(key, default)
        if mark:
            form[f"feature_{key}-mark"] = mark
        form[f"feature_{key}-note"] = (notes or {}).get(key, "")
    return form


def act(auth, url, data=None, token_from=None):
    return auth.post(url, data or {}, token_from=token_from or url.rsplit("/", 1)[0])


def workspace_url(request_id: int) -> str:
    return f"/review/requests/{request_id}"


def claim_and_search(auth, client, request_id: int, reviewer) -> FaceSearch:
    auth.login(reviewer)
    act(auth, f"{workspace_url(request_id)}/claim", token_from=workspace_url(request_id))
    determine = determination_form(db.session.get(SearchRequest, request_id))
    act(auth, f"{workspace_url(request_id)}/determinations", determine, token_from=workspace_url(request_id))
    client.get(workspace_url(request_id))  # creates the probe work
    works = db.session.scalars(select(ProbeWork).where(ProbeWork.reviewer_id == reviewer.id)).all()
    response = auth.post(
        f"{workspace_url(request_id)}/search",
        {"work_id": [str(w.id) for w in works], "top_k": "10"},
        token_from=workspace_url(request_id),
    )
    assert response.status_code == 302, response.data[:500]
    return db.session.scalars(select(FaceSearch).order_by(FaceSearch.id.desc())).first()


def conclude(auth, search_id: int, rank: int, conclusion: str):
    form = checklist_form()
    form.update(conclusion=conclusion, note="Consistent ear and nose morphology.")
    url = f"/review/searches/{search_id}/candidates/{rank}"
    return auth.post(f"{url}/examine", form, token_from=url)
