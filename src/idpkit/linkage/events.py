"""Registration events: which records were registered together, as one household, at one time.

Why not simply the household id: organisations reuse a family's household id when they register
it again in a later round (or when another organisation's list uses the same numbering), so one
household id can hold several registration events. Deduplication treats two records of one event
as two different people (a family does not list a member twice), and compares records *across*
events; taking the household id as the event would make every re-registration of a family
invisible. The event is therefore the household id *together with* the columns that tell rounds
apart (registration date, organisation), unless a mapping names the columns itself.

A record without a household id is an event on its own (a person registered alone).
"""

from __future__ import annotations

import pandas as pd

DEFAULT_EVENT_COLUMNS = ("household_ref", "registration_date", "organisation")
"""The default event key: a household id, split by the date and organisation it was recorded
with (each only where the register has that column filled)."""


def _text(values: pd.Series) -> pd.Series:
    """Values as trimmed text, empty text and missing as <NA> (any input dtype)."""
    s = values.astype("string").str.strip()
    return s.where(s.str.len() > 0)


def registration_events(records: pd.DataFrame, by: list[str] | tuple[str, ...] | None = None,
                        *, id_column: str = "record_id") -> pd.Series:
    """One event key per record (text), aligned with ``records``' index.

    ``by``: the columns that form the event (a mapping's ``event:`` list); default
    :data:`DEFAULT_EVENT_COLUMNS`, using those present with at least one value. The key joins the
    columns' values with ``|``; a record whose *first* column (the household id) is empty is its
    own event, keyed by its record id (``~`` prefix so it never equals a household key).
    """
    cols = list(by) if by else [c for c in DEFAULT_EVENT_COLUMNS if c in records.columns]
    present = [c for c in cols if c in records.columns and _text(records[c]).notna().any()]
    ids = _text(records[id_column]) if id_column in records.columns else \
        pd.Series(records.index.astype(str), index=records.index, dtype="string")
    own = "~" + ids.fillna(pd.Series(records.index.astype(str), index=records.index,
                                      dtype="string"))
    if not present or (by and present[0] != cols[0]):
        return own.astype(object)
    parts = [_text(records[c]).fillna("") for c in present]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    head = _text(records[present[0]])
    return key.where(head.notna(), own).astype(object)
