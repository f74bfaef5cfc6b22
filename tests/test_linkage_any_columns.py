"""Any register deduplicates (issue 19): every optional column may be absent, empty or of any
dtype, and ``prepare`` + ``deduplicate`` complete with the full list of model columns.

The crashes this guards against: an empty father-name column typed DOUBLE made Splink's
``jaro_winkler_similarity(DOUBLE, DOUBLE)`` fail; a register without phones made the EM session
blocked on phone find no pairs (``EMTrainingException``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.linkage.dedup import deduplicate, prepare
from idpkit.linkage.model import MODEL_COLUMNS, TEXT_COLUMNS
from idpkit.testing.demo_register_habits import generate_habits_register

OPTIONAL = ["household_ref", "registration_event", "organisation", "registration_date", "site_id",
            "area_pcode", "relationship", "first_name", "father_name", "grandfather_name",
            "family_name", "full_name", "sex", "date_of_birth", "year_of_birth", "age", "phone",
            "phone_region", "id_number", "address", "locality", "postcode"]
"""The register's optional columns (the contract between import and matching)."""

BASE = generate_habits_register(240, seed=3).records
BASE = BASE.assign(year_of_birth=BASE.date_of_birth.str[:4], registration_event=None,
                   address=None, locality=BASE.site_id, postcode=BASE.area_pcode)

SHAPES = ["as_is", "absent", "all_nan_float", "all_none", "empty_text", "numbers", "bools"]


def shaped(values: pd.Series, shape: str, n: int) -> pd.Series | None:
    """One column as a register might hold it (``None``: the column is absent)."""
    if shape == "absent":
        return None
    if shape == "all_nan_float":
        return pd.Series(np.nan, index=range(n), dtype=float)
    if shape == "all_none":
        return pd.Series([None] * n, dtype=object)
    if shape == "empty_text":
        return pd.Series([""] * n, dtype=object)
    if shape == "numbers":
        return pd.Series(np.arange(n) % 7, dtype="int64")
    if shape == "bools":
        return pd.Series(np.arange(n) % 2 == 0)
    return values.reset_index(drop=True)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=st.fixed_dictionaries({c: st.sampled_from(SHAPES) for c in OPTIONAL}),
       n=st.integers(min_value=0, max_value=240))
def test_any_subset_and_dtype_prepares_and_deduplicates(shapes, n):
    records = pd.DataFrame({"record_id": BASE.record_id.iloc[:n].reset_index(drop=True)})
    for col, shape in shapes.items():
        values = shaped(BASE[col].iloc[:n], shape, n)
        if values is not None:
            records[col] = values.values
    frame = prepare(records, phone_region=None)
    assert list(frame.columns) == MODEL_COLUMNS
    assert len(frame) == n and frame.unique_id.tolist() == records.record_id.tolist()
    for c in TEXT_COLUMNS:  # text stays text (or empty), never numbers
        assert all(v is None or isinstance(v, str) for v in frame[c]), c
    res = deduplicate(frame)
    assert sorted(res.clusters.unique_id) == sorted(records.record_id)


def test_no_phones_and_no_fathers_deduplicates():
    """The two reported crashes together, at a size where training runs every session."""
    records = generate_habits_register(1_500, seed=4).records
    records = records.assign(phone=None, father_name=np.nan, full_name=None)
    res = deduplicate(prepare(records))
    assert len(res.clusters) == 1_500 and res.model is not None
    assert res.clusters.cluster_id.nunique() < 1_500  # something was still linked


def test_phones_use_their_own_country_code_then_the_records_region():
    """+252, 00252, bare 252 and local forms with a per-record region, with a default region
    for the rest (expected E.164 values written out by hand)."""
    records = pd.DataFrame({
        "record_id": list("abcdefg"),
        "phone": ["+252 61 234 5678", "00252612345678", "252612345678", "0612345678",
                  "8031234567", "0803 123 4567", "912345678"],
        "phone_region": ["NG", None, "NG", "SO", "NG", None, "SS"]})
    got = prepare(records, phone_region="NG").phone.tolist()
    assert got == ["+252612345678"] * 4 + ["+2348031234567"] * 2 + ["+211912345678"]


def test_birth_year_from_age_when_the_date_is_missing():
    records = pd.DataFrame({"record_id": ["a", "b", "c", "d"],
                            "date_of_birth": ["1990-05-01", None, "19870412", None],
                            "age": [None, 30, None, "x"],
                            "registration_date": ["2024-01-01", "2024-03-01", None, "2024"]})
    got = prepare(records).birth_year.tolist()
    assert got[:3] == [1990, 2024 - 30, 1987] and pd.isna(got[3])


def test_swapped_name_order_gives_the_same_names_key():
    records = pd.DataFrame({"record_id": ["a", "b", "c"],
                            "first_name": ["Ali", "Hassan", None],
                            "father_name": ["Guled", "Guled", None],
                            "grandfather_name": ["Hassan", "Ali", None],
                            "full_name": [None, None, "Hassan Guled Ali"]})
    key = prepare(records).names_key
    assert key.nunique() == 1 and key.notna().all()
