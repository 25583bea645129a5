"""Every read of case data (a request, a probe, a candidate list, a candidate, a report) is
audited one way: ``record_read(action, what, actor=...)``. What was read, by whom, and why
(the request's justification where there is one) come from the object itself, so no page can
forget the reason; the action must be one the vocabulary marks as a read. A peer unit reading
through the interconnect has no account here: it is named (``actor_username="peer:NAME"``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models import (
    AuditEvent,
    FaceSearch,
    PeerDisclosure,
    PeerSearch,
    ProbeWork,
    Report,
    SearchRequest,
    User,
)
from app.services.intake.requests import justification_of
from app.services.oversight.audit import ObjectType, record_event
from app.services.oversight.vocabulary import UnknownAuditAction, require_action


@dataclass(frozen=True)
class Candidate:
    """One entry of a search's candidate list (a booking, before or after its reveal)."""

    search: FaceSearch
    entry: dict


Readable = SearchRequest | ProbeWork | FaceSearch | Candidate | Report | PeerSearch | PeerDisclosure


def record_read(
    action: str, what: Readable, *, actor: User | None, actor_username: str | None = None, **detail: Any
) -> AuditEvent:
    if not require_action(action).read:
        raise UnknownAuditAction(f"{action!r} is not a read of case data: use record_event")
    if actor is None and not actor_username:
        raise ValueError("a read is someone's: an account, or a peer unit by name")
    object_type, object_id, reason, facts = _described(what)
    return record_event(
        action,
        actor=actor,
        actor_username=actor_username,
        object_type=object_type,
        object_id=object_id,
        reason=reason,
        detail={**facts, **detail},
    )


def _described(what: Readable) -> tuple[ObjectType, int, str | None, dict]:
    match what:
        case SearchRequest():
            return (
                ObjectType.REQUEST,
                what.id,
                justification_of(what),
                {"tracking_number": what.tracking_number},
            )
        case ProbeWork():
            return ObjectType.PROBE, what.probe_image_id, what.probe.request.tracking_number, {}
        case FaceSearch():
            facts = {"request": what.request.tracking_number, "candidates": len(what.result_list)}
            return ObjectType.SEARCH, what.id, what.justification, facts
        case Candidate():
            facts = {"search": what.search.id, "rank": what.entry["rank"]}
            return ObjectType.BOOKING, what.entry["booking_id"], what.search.justification, facts
        case Report():
            facts = {"report_number": what.report_number}
            return ObjectType.REPORT, what.id, what.request.case_number or None, facts
        case PeerSearch():
            facts = {"peer": what.peer_name, "request": what.tracking_number, "candidates": what.candidates}
            return ObjectType.PEER_SEARCH, what.id, f"{what.purpose}; case {what.case_number}", facts
        case PeerDisclosure():
            facts = {"peer": what.peer_name, "peer_search": what.peer_search_id}
            return (
                ObjectType.BOOKING,
                what.booking_id,
                f"{what.search.purpose}; case {what.search.case_number}",
                facts,
            )
    raise TypeError(f"not a readable object: {type(what).__name__}")


LIST_VIEWS = {"queue.view": ObjectType.REQUEST, "user.list": ObjectType.USER}


def record_list_view(action: str, *, actor: User, shown: int, **filters: Any) -> AuditEvent:
    """A list page (the review queue, the accounts list) opened: who, with which filters, how
    many rows it showed. Audited, but not counted as a read of case data (the lists name no
    person and hold no image), so the heavy-reader flags keep meaning what they say."""
    if action not in LIST_VIEWS:
        raise UnknownAuditAction(f"{action!r} is not a list view")
    clean = {k: v for k, v in filters.items() if v not in (None, "")}
    return record_event(action, actor=actor, object_type=LIST_VIEWS[action], detail={"shown": shown, **clean})
