"""Counting under a lock: the one way LeadDesk keeps a count that parallel requests cannot
outrun (failed sign-ins per account and per address, uploads per user).

``hold(key)`` writes the key's row first; that write holds a row lock on PostgreSQL, and the
database's write lock on SQLite, until the transaction ends. Whatever a transaction counts
after holding a key, and whatever it adds to that count before committing, is therefore seen
by the next transaction holding the same key.

Locks are taken in one order so two transactions never wait on each other: the address, then
the account, then the audit chain's head (``record_event``). So a service holds every key it
needs *before* it writes its first audit event.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from app.clock import utcnow
from app.extensions import db
from app.models import ThrottleLock


def hold(key: str) -> None:
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ThrottleLock).values(key=key[:100], touched_at=now)
    db.session.execute(
        statement.on_conflict_do_update(index_elements=[ThrottleLock.key], set_={"touched_at": now})
    )


def address_key(address: str) -> str:
    return f"address:{address}"


def account_key(user_id: int) -> str:
    return f"account:{user_id}"


def uploads_key(user_id: int) -> str:
    return f"uploads:{user_id}"
