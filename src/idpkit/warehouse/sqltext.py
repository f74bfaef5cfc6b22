"""SQL text that parts generate themselves (identifiers and literals), the same on every backend.

Why here: the survey engine, survey storage and the register write small portable statements by
hand; quoting them one way, in one place, keeps a name with a quote or a value with an apostrophe
from breaking (or injecting into) a statement.
"""

from __future__ import annotations

from datetime import date, datetime


def quote(name: str) -> str:
    """A quoted identifier (both backends use double quotes)."""
    return '"' + name.replace('"', '""') + '"'


def literal(v: object) -> str:
    """A SQL literal for None, booleans, numbers, dates, timestamps and text."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ', timespec='seconds')}'"
    if isinstance(v, date):
        return f"DATE '{v.isoformat()}'"
    return "'" + str(v).replace("'", "''") + "'"
