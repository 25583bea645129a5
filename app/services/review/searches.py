"""1:N searches for a request: one probe, or several photos of one person fused into one list,
recorded (probes, chains, suitability, K, index version, model) so they re-run to the same list."""

from __future__ import annotations

import hashlib
import re

import numpy as np
from sqlalchemy import select

from app.extensions import db
from app.matching.suitability import UNSUITABLE
from app.models import (
    Capacity,
    FaceSearch,
    InterconnectPeer,
    Outcome,
    ProbeWork,
    SearchRequest,
    User,
)
from app.services.gallery.fusion import FUSION_RULE, search_people
from app.services.gallery.search import check_top_k, gallery_model_id
from app.services.identity.accounts import missing_agreements
from app.services.identity.operator_auth import authenticate_operator
from app.services.intake.requests import justification_of
from app.services.interconnect import peer_search
from app.services.oversight.audit import ObjectType, record_event
from app.services.platform.errors import ServiceError
from app.services.review.probes import prepare, prepare_spec, probe_work, spec_of
from app.services.review.workflow import Action, decisions, require, why_not

EXIT_REFUSED = 2  # the command-line search's exit codes: a refused invocation or probe
EXIT_NO_FACE = 3

MIN_OVERRIDE_CHARS = 10


def _descriptors(specs: list[dict]) -> list[tuple[int, np.ndarray]]:
    """Each recorded probe's descriptor, as its chain prepares it now."""
    found = []
    for spec in specs:
        prepared = prepare_spec(spec)
        if prepared.chosen is None:
            raise ServiceError(
                f"No face to search in probe {spec['probe_image_id']}: "
                "crop, rotate or place the eyes by hand."
            )
        found.append((spec["probe_image_id"], prepared.chosen.descriptor))
    return found


def run_search(
    request: SearchRequest,
    *,
    reviewer: User,
    works: list[ProbeWork],
    top_k: int,
    override_reason: str = "",
    channel: str = "web",
    os_user: str | None = None,
    peers: list[InterconnectPeer] | None = None,
) -> FaceSearch:
    """Search one probe, or several photos of the same person fused into one list.

    The reviewer determines suitability (Investigative searches, 2): a probe the verdict calls
    unsuitable is searched only with the reviewer's reason, recorded with the search. ``peers``:
    the other units' repositories searched too (the interconnect), each within a bounded wait.
    """
    require(request, reviewer, Action.SEARCH)
    check_top_k(top_k)
    works = [w for w in works if w.reviewer_id == reviewer.id and w.probe.request_id == request.id]
    if not works:
        raise ServiceError("Choose at least one probe of this request to search.")
    unconfirmed = [w.probe.original_name for w in works if not w.probe.searchable]
    if unconfirmed:  # a second person confirmed each searched image's stated source
        raise ServiceError(
            f"{', '.join(unconfirmed)}: only an image whose stated source a reviewer confirmed is searched."
        )
    specs = []
    for work in works:
        prepared = prepare(work)
        spec = spec_of(work, prepared)
        # Eyes placed by hand make the verdict the reviewer's own: it needs a reason too.
        by_hand = bool(spec.get("manual_eyes"))
        if prepared.verdict == UNSUITABLE or by_hand:
            if len(override_reason.strip()) < MIN_OVERRIDE_CHARS:
                why = (
                    "has its eyes placed by hand (the verdict is then yours, not the detector's)"
                    if by_hand
                    else f"was judged unsuitable ({'; '.join(prepared.reasons)})"
                )
                raise ServiceError(
                    f"Probe {work.probe.original_name} {why}. Say why it should be searched anyway.",
                    field="override_reason",
                )
            spec["override_reason"] = override_reason.strip()
        specs.append(spec)
    probes = _descriptors(specs)
    local = search_people(probes, top_k)
    asked = peer_search.ask_peers(request, reviewer, peers or [], probes, top_k) if peers else None
    ranked = peer_search.merged(local.entries, asked, top_k) if asked else local.entries
    versions, strategy, recall = local.versions, local.strategy, local.recall
    search = FaceSearch(
        request_id=request.id,
        reviewer_id=reviewer.id,
        channel=channel,
        justification=justification_of(request),
        probes=specs,
        top_k=top_k,
        index_version=versions.pop() if len(versions) == 1 else None,
        model_id=gallery_model_id(),
        strategy=strategy,
        index_recall=recall,
        fusion=FUSION_RULE if len(works) > 1 else None,
        results=ranked,
        repositories=asked.repositories if asked else None,
    )
    db.session.add(search)
    db.session.flush()
    record_event(
        "search.run",
        actor=reviewer,
        object_type=ObjectType.SEARCH,
        object_id=search.id,
        reason=justification_of(request),
        detail={
            "request": request.tracking_number,
            "probes": len(works),
            "top_k": top_k,
            "index_version": search.index_version,
            "model_id": search.model_id,
            "candidates": len(ranked),
            "suitability": [s["suitability"] for s in specs],
            "override_reason": override_reason.strip() or None,
            "channel": channel,
            **({"os_user": os_user} if os_user else {}),
            **({"repositories": asked.repositories} if asked else {}),
        },
    )
    return search


def rerun_search(search: FaceSearch) -> list[dict]:
    """The candidate list the recorded probes, chains and K give now (for audits and tests)."""
    return search_people(_descriptors(search.probe_list), search.top_k).entries


def primary_search(request: SearchRequest) -> FaceSearch | None:
    """The search the first reviewer's decision rests on (what a verifier checks blind)."""
    first = next((d for d in decisions(request) if d.capacity is Capacity.PRIMARY), None)
    return db.session.get(FaceSearch, first.search_id) if first and first.search_id else None


def searches_for(request: SearchRequest, reviewer: User) -> list[FaceSearch]:
    """The reviewer's searches on the request, newest first; a verifier starts from the first
    reviewer's candidate list."""
    mine = list(
        db.session.scalars(
            select(FaceSearch)
            .where(FaceSearch.request_id == request.id, FaceSearch.reviewer_id == reviewer.id)
            .order_by(FaceSearch.id.desc())
        )
    )
    first = primary_search(request)
    if first is not None and first.reviewer_id != reviewer.id and first not in mine:
        mine.append(first)
    return mine


TRACKING_NUMBER = re.compile(r"^FR-\d{4}-\d{6}$")


def authorize_operator(
    tracking_number: str, username: str, password: str, code: str
) -> tuple[User, SearchRequest]:
    """The operator of a command-line search proves who they are (password and a current code,
    single use), has signed the agreements of their role, and holds the request in a state they
    may search it in, past its determinations (the same rule as the portal's). Raises
    ``ServiceError`` with the reason; nothing is searched."""
    number = (tracking_number or "").strip()
    if not TRACKING_NUMBER.match(number):
        raise ServiceError(f"--request {tracking_number!r}: the request's tracking number, FR-YYYY-NNNNNN.")
    operator = authenticate_operator(username, password, code, address="cli")
    if operator is None:
        raise ServiceError(
            f"--operator {username}: the password or the code is wrong, or the account cannot sign in "
            "(failed attempts count toward the lock, as in the portal)."
        )
    missing = missing_agreements(operator)
    if missing:
        raise ServiceError(
            f"--operator {username}: sign {', '.join(a.title for a in missing)} in the portal "
            "before any work."
        )
    request = db.session.scalar(select(SearchRequest).where(SearchRequest.tracking_number == number))
    if request is None:
        raise ServiceError(f"--request {number}: there is no such request.")
    reason = why_not(request, operator, Action.SEARCH)
    if reason is not None:
        raise ServiceError(f"--request {number}: {reason}")
    return operator, request


class ProbeRefused(ServiceError):
    """One probe of a command-line search refused; ``code`` is its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run_operator_search(
    request: SearchRequest, operator: User, *, data: bytes, top_k: int, os_user: str
) -> FaceSearch:
    """Search one PROBE file of the request for its operator: the file must be one of the
    request's images (by its bytes' SHA-256) whose source a reviewer confirmed, prepared as the
    operator prepared it in the portal; recorded as a search of the request, like any other."""
    sha256 = hashlib.sha256(data).hexdigest()
    image = next((i for i in request.images if i.original_sha256 == sha256), None)
    if image is None:
        raise ProbeRefused(
            f"not an image of {request.tracking_number} (its SHA-256 matches none of them)", EXIT_REFUSED
        )
    if not image.searchable:
        raise ProbeRefused(
            f"{image.original_name}: its stated source is {image.provenance_status}, "
            "not confirmed by a reviewer",
            EXIT_REFUSED,
        )
    work = probe_work(image, operator)
    prepared = prepare(work)
    if prepared.chosen is None:
        raise ProbeRefused("no face found in the probe", EXIT_NO_FACE)
    if prepared.verdict == UNSUITABLE:
        raise ProbeRefused(
            f"{image.original_name} was judged unsuitable ({'; '.join(prepared.reasons)}): search it in the "
            "portal, where your reason for searching it anyway is recorded",
            EXIT_REFUSED,
        )
    return run_search(request, reviewer=operator, works=[work], top_k=top_k, channel="cli", os_user=os_user)


def audit_operator_refusal(operator: User | None, *, request: SearchRequest | None, error: str) -> None:
    record_event(
        "search.run",
        actor=operator,
        outcome=Outcome.FAILED,
        object_type=ObjectType.REQUEST if request else ObjectType.SEARCH,
        object_id=request.id if request else None,
        reason=error[:1000],
        detail={"channel": "cli", "request": request.tracking_number if request else None},
    )


def last_searched_works(searches_newest_first: list[FaceSearch], works: list[ProbeWork]) -> list[int]:
    """The probes ticked last time (the reviewer's newest search), else the first one."""
    for search in searches_newest_first:
        if search.channel == "web" and search.request_id is not None:
            searched = {p["probe_image_id"] for p in search.probe_list}
            ticked = [w.id for w in works if w.probe_image_id in searched]
            if ticked:
                return ticked
    return [works[0].id] if works else []
