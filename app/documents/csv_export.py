"""The one CSV writer: every export (audit trail, monthly audit, transparency figures) goes
through it, so no cell can smuggle a spreadsheet formula.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel and LibreOffice (CSV injection). Such cells get a leading apostrophe, which
spreadsheets show as text; the value stays readable and nothing is lost. A spreadsheet set to
split on ``;`` (or on tabs or ``|``) would start a new cell inside the text, so a formula
character right after one of those gets an apostrophe too, and every cell is quoted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# a separator some spreadsheet may split on, then (after spaces) a formula character
_INNER_FORMULA = re.compile(r"([;,|\t]\s*)(?=[=+\-@])")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return str(value)  # numbers stay numbers (a negative number is not a formula)
    text = _INNER_FORMULA.sub(r"\1'", str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue().encode()
