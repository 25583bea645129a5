"""Files written beside a database transaction share its fate.

A new probe file is kept only if the transaction that records it commits; a removed one is
deleted only once the removal commits. So a database that fails mid-request leaves neither
an orphan file nor a row pointing at nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

NEW = "leaddesk.files_new"
REMOVED = "leaddesk.files_removed"


def keep_if_committed(session: Session, path: Path) -> None:
    session.info.setdefault(NEW, []).append(path)


def delete_when_committed(session: Session, path: Path) -> None:
    session.info.setdefault(REMOVED, []).append(path)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(NEW, None)
    for path in session.info.pop(REMOVED, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(REMOVED, None)
    for path in session.info.pop(NEW, []):
        path.unlink(missing_ok=True)
