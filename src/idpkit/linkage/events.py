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

import numpy as np
import pandas as pd

from idpkit.linkage.distinct import ARROW_TEXT, trimmed

DEFAULT_EVENT_COLUMNS = ("household_ref", "registration_date", "organisation")
"""The default event key: a household id, split by the date and organisation it was recorded
with (each only where the register has that column filled)."""


def _text(values: pd.Series) -> pd.Series:
    """Values as trimmed text, empty text and missing as <NA> (any input dtype), as Arrow text
    (its string kernels run in C++, not per record in Python)."""
    return trimmed(values)


def registration_events(records: pd.DataFrame, by: list[str] | tuple[str, ...] | None = None,
                        *, id_column: str = "record_id") -> pd.Series:
    """One event key per record (text), aligned with ``records``' index.

    ``by``: the columns that form the event (a mapping's ``event:`` list); default
    :data:`DEFAULT_EVENT_COLUMNS`, using those present with at least one value. The key joins the
    columns' values with ``|``; a record whose *first* column (the household id) is empty is its
    own event, keyed by its record id (``~`` prefix so it never equals a household key).

    The key is built once per distinct combination of the columns' values (a household has
    several members), then taken back to its records.
    """
    cols = list(by) if by else [c for c in DEFAULT_EVENT_COLUMNS if c in records.columns]
    text = {c: _text(records[c]) for c in dict.fromkeys(cols) if c in records.columns}
    present = [c for c in cols if c in text and text[c].notna().any()]
    row = pd.Series(records.index.astype(str), index=records.index, dtype=ARROW_TEXT)
    ids = _text(records[id_column]) if id_column in records.columns else row
    own = ("~" + ids.fillna(row)).astype(object)
    if not present or (by and present[0] != cols[0]):
        return own
    parts = pd.DataFrame({i: text[c].fillna("") for i, c in enumerate(present)})
    combo = parts.groupby(list(parts.columns), sort=False).ngroup().to_numpy()
    first = np.unique(combo, return_index=True)[1]  # one record per combination, in code order
    key = parts.iloc[first, 0]
    for j in range(1, len(present)):
        key = key + "|" + parts.iloc[first, j]
    per_record = pd.Series(key.astype(object).to_numpy()[combo], index=records.index,
                           dtype=object)
    head = text[present[0]]
    return per_record.where(head.notna().to_numpy(), own)
