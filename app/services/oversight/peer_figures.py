"""The interconnect in the monthly audit and the transparency figures: the searches this unit
answered for each peer (who asked, why) and the searches it sent to each, and the records each
way. A peer is audited as a row of the monthly audit of its own (``peer:<name>``), with the
columns every user's row has; ``peer_searches`` is, on a user's row, the user's searches that
went to peers too and, on a peer's row, this unit's searches sent to it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, FaceSearch, InterconnectPeer, PeerSearch
from app.services.policy import rules


def sent_to(search: FaceSearch) -> list[str]:
    """The peers a search was sent to (whatever they answered)."""
    return [r["name"] for r in search.repositories or [] if r.get("name") != "local"]


def peer_rows(start: datetime, end: datetime, searches: list[FaceSearch]) -> list[dict]:
    answered = list(
        db.session.scalars(
            select(PeerSearch)
            .where(PeerSearch.received_at >= start, PeerSearch.received_at < end)
            .order_by(PeerSearch.received_at)
        )
    )
    asked = Counter(name for search in searches for name in sent_to(search))
    given = Counter(
        (username or "").removeprefix("peer:")
        for username in db.session.scalars(
            select(AuditEvent.actor_username).where(
                AuditEvent.action == "interconnect.reveal_answered",
                AuditEvent.occurred_at >= start,
                AuditEvent.occurred_at < end,
            )
        )
    )
    names = sorted(
        set(db.session.scalars(select(InterconnectPeer.name))) | {a.peer_name for a in answered} | set(asked)
    )
    rows = []
    for name in names:
        mine = [a for a in answered if a.peer_name == name]
        rows.append(
            {
                "username": f"peer:{name}",
                "full_name": f"{name} (peer unit)",
                "role": "peer unit",
                "agency": name,
                "last_logon": "",
                "first_search": mine[0].received_at.isoformat(timespec="minutes") if mine else "",
                "last_search": mine[-1].received_at.isoformat(timespec="minutes") if mine else "",
                "searches": len(mine),
                "search_reasons": " | ".join(
                    f"{rules.PURPOSES.get(a.purpose, a.purpose)} / case {a.case_number} / "
                    f"{a.tracking_number} / {a.reviewer_name} ({a.reviewer_certification})"
                    for a in mine
                ),
                "requests_handled": 0,
                "reports_issued": 0,
                "seal_notices_received": 0,
                "seal_notices_confirmed": 0,
                "records_read": given.get(name, 0),
                "source_determinations": 0,
                "first_amendment_determinations": 0,
                "peer_searches": asked.get(name, 0),
            }
        )
    return rows
