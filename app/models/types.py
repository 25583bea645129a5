"""Column types shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Enum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# Structured values (lists and mappings): JSON, stored as JSONB on PostgreSQL. Python's None
# is SQL NULL, never the JSON text "null". Assign a new value to change one: the ORM does not
# see a list or dict changed in place.
JSONValue = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def str_enum(cls: type[enum.Enum], name: str, length: int = 24) -> Enum:
    """A Python enum stored as its plain string value.

    No native ENUM type, so adding a value never needs an ALTER TYPE on PostgreSQL.
    """
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class UTCDateTime(TypeDecorator):
    """Stores UTC, hands back timezone-aware UTC on SQLite and PostgreSQL alike.

    SQLite has no timezone support, so values are stored naive (in UTC) and re-tagged.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; use app.clock.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
