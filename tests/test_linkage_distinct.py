"""Event keys, phones per record region and text clean-ups computed once per distinct value give
what a plain per-record computation gives (the reference here: a Python loop over records,
written out beside each check)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idpkit.linkage.dedup import _text
from idpkit.linkage.events import registration_events
from idpkit.linkage.normalise import normalise_phone, phones_column

pytestmark = pytest.mark.core

CELLS = st.one_of(st.none(), st.just(""), st.just("  "), st.sampled_from(
    ["H1", " H1", "H2 ", "2024-01-05", "2024-02-01", "UNHCR", "NRC", "12.0", "7", "a|b"]),
    st.integers(0, 3), st.floats(0, 3).map(lambda x: float(round(x))))


def _clean(v) -> str | None:
    """Reference: trimmed text, empty as missing."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _event_reference(rows: pd.DataFrame) -> list[str]:
    """Per record: household|date|organisation of the columns with a value somewhere; a record
    without a value in the first of them (the household id when there are any) is its own event
    ``~record_id``."""
    cols = [c for c in ("household_ref", "registration_date", "organisation")
            if any(_clean(v) is not None for v in rows[c])]
    out = []
    for _, r in rows.iterrows():
        own = "~" + (_clean(r.record_id) or "")
        if not cols or _clean(r[cols[0]]) is None:
            out.append(own)
        else:
            out.append("|".join(_clean(r[c]) or "" for c in cols))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(CELLS, CELLS, CELLS), min_size=1, max_size=30))
def test_event_keys_equal_a_per_record_reference(cells):
    rows = pd.DataFrame(cells, columns=["household_ref", "registration_date", "organisation"])
    rows.insert(0, "record_id", [f"R{i}" for i in range(len(rows))])
    rows.index = rows.index * 3 + 5  # keys align with the register's own index
    got = registration_events(rows)
    assert list(got.index) == list(rows.index)
    assert got.tolist() == _event_reference(rows)


@settings(max_examples=60, deadline=None)
@given(st.lists(CELLS, min_size=1, max_size=40))
def test_text_equals_trimmed_per_record(cells):
    rows = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    expected = []
    for v in cells:  # reference: trimmed, empty missing, a float-read integer loses ".0"
        s = _clean(v)
        if s is not None and s.endswith(".0") and s[:-2].isdigit():
            s = s[:-2]
        expected.append(s)
    assert _text(rows, "c").tolist() == expected


NUMBERS = ["+249 91 234 5678", "0912345678", "00249912345678", "252612345678", "0612345678",
           " 0803 123 4567 ", "12", "", None, "+44 20 7946 0958", "0912345678.0"]
REGIONS = ["SD", "so", " NG ", "XX", "", None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NUMBERS), st.sampled_from(REGIONS)), min_size=1,
                max_size=25), st.sampled_from(["SD", None]))
def test_phones_per_record_region_equal_a_per_record_reference(pairs, default):
    values = pd.Series([p for p, _ in pairs], dtype=object, index=range(7, 7 + len(pairs)))
    regions = pd.Series([r for _, r in pairs], dtype=object, index=values.index)
    expected = []
    for number, region in pairs:  # reference: the record's region when it is a real one
        own = (region or "").strip().upper()
        use = own if own in {"SD", "SO", "NG"} else default
        expected.append(normalise_phone(_clean(number), use))
    got = phones_column(values, default, regions)
    assert list(got.index) == list(values.index)
    assert got.tolist() == expected
    assert phones_column(values, default).tolist() == [
        normalise_phone(_clean(n), default) for n, _ in pairs]
