"""The registration-list generator: determinism, shape, household structure, duplicates and errors.

Backend-free and fast: the deduplication itself is tested elsewhere; these tests make sure the data
it is measured on is what the module docstring of :mod:`idpkit.testing.demo_register` promises.
"""

from __future__ import annotations

import re
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from idpkit.testing.demo_register import (
    RECORD_COLUMNS,
    Register,
    generate_register,
    true_pairs,
    write_register_csv,
)

pytestmark = pytest.mark.core

PERSON_FIELDS = ["first_name", "father_name", "family_name", "sex", "date_of_birth", "age", "phone",
                 "id_number"]
ARABIC = re.compile("[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def hard() -> Register:
    return generate_register(10_000, seed=7, hardest=True)


@pytest.fixture(scope="module")
def soft() -> Register:
    return generate_register(10_000, seed=7)


def _with_base(reg: Register) -> pd.DataFrame:
    """Each record next to its person's first record (the one duplicates are derived from)."""
    df = reg.records.join(reg.truth.drop(columns="record_id"))
    base = df.groupby("person_id", sort=False).head(1).set_index("person_id")
    dup = df[df["person_id"].duplicated()]
    return dup.merge(base[PERSON_FIELDS].add_suffix("_base"), left_on="person_id", right_index=True,
                     how="left")


def test_deterministic_for_a_seed() -> None:
    a, b = generate_register(2_000, seed=5), generate_register(2_000, seed=5)
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = generate_register(2_000, seed=6)
    assert not a.records["first_name"].equals(c.records["first_name"])


@pytest.mark.parametrize("n", [1, 7, 123, 4_321])
def test_exact_record_count_and_columns(n: int) -> None:
    reg = generate_register(n, seed=2)
    assert list(reg.records.columns) == RECORD_COLUMNS
    assert len(reg.records) == len(reg.truth) == n
    assert reg.records["record_id"].is_unique
    assert (reg.records["record_id"] == reg.truth["record_id"]).all()
    assert set(reg.truth.columns) >= {"record_id", "person_id", "household_id"}


def test_columns_look_like_a_registration_export(hard: Register) -> None:
    r = hard.records
    assert 2 <= r["organisation"].nunique() <= 4
    assert set(r["relationship"]) <= {"head", "spouse", "son", "daughter", "father", "mother",
                                      "brother", "sister", "other"}
    assert set(r["sex"].dropna()) == {"M", "F"} and r["sex"].isna().any()
    dob = r["date_of_birth"].dropna()
    assert dob.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert 0.02 < r["date_of_birth"].isna().mean() < 0.2
    est = r[r["dob_estimated"]]
    assert len(est) > 0 and est["date_of_birth"].str.endswith("-01-01").all()
    phones = r["phone"].dropna()
    assert phones.str.fullmatch(r"(\+249|00249|249|0)?[ ]?\d[\d ]{7,11}\d").all()
    assert phones.str.startswith("+249").any() and phones.str.startswith("0").any()
    assert phones.str.contains(" ").any()
    assert r["id_number"].dropna().str.fullmatch(r"\d{11}").all() and r["id_number"].isna().mean() > 0.3
    assert r["household_size"].between(1, 13).all() and (r["age"] >= 0).all()
    assert r["area_pcode"].str.fullmatch(r"ZD0[12]0\d").all()
    assert (r["site_id"].str[:6] == r["area_pcode"]).all()


def test_household_structure(hard: Register) -> None:
    df = hard.records.join(hard.truth.drop(columns="record_id"))
    sizes = df.groupby("household_id")["person_id"].nunique()
    assert 4.5 < sizes.mean() < 7 and sizes.max() <= 13
    heads = df[df["relationship"] == "head"].set_index("household_ref")
    members = df[df["relationship"] != "head"].merge(
        heads[["first_name", "family_name", "phone", "sex"]].add_suffix("_head"),
        left_on="household_ref", right_index=True, how="left")
    members = members[members["first_name_head"].notna()]
    assert (members["family_name"] == members["family_name_head"]).mean() > 0.6
    with_phone = members[members["phone"].notna()]
    assert (with_phone["phone"] == with_phone["phone_head"]).mean() > 0.5
    # Arabic naming: a child's second name is the (male) head's first name
    kids = members[members["relationship"].isin(["son", "daughter"]) & (members["sex_head"] == "M")]
    assert (kids["father_name"] == kids["first_name_head"]).mean() > 0.6
    # different people share all three names (common names, siblings named alike)
    names = df.drop_duplicates("person_id")[["first_name", "father_name", "family_name"]]
    assert names.duplicated().sum() > 5


def test_names_in_arabic_script_and_variants(hard: Register) -> None:
    share = hard.records["first_name"].dropna().map(lambda s: bool(ARABIC.search(s))).mean()
    assert 0.03 < share < 0.3
    first = set(hard.records["first_name"].dropna())
    assert {"Mohammed", "Muhammad", "Mohamed"} <= first and "محمد" in first


def test_duplicate_share_approximately_as_asked() -> None:
    for share in (0.1, 0.3, 0.5):
        reg = generate_register(10_000, seed=3, duplicate_share=share)
        refs = reg.records.join(reg.truth.drop(columns="record_id")).groupby("household_id")[
            "household_ref"].nunique()
        assert abs((refs > 1).mean() - share) < 0.05, share


def test_hardest_every_duplicate_carries_errors(hard: Register) -> None:
    d = _with_base(hard)
    assert len(d) > 1_000
    k = d["errors"].str.count(";") + 1
    assert k.between(1, 4).all()
    assert set(k) == {1, 2, 3, 4}
    changed = sum((d[f].fillna("<NA>").astype(str) != d[f"{f}_base"].fillna("<NA>").astype(str))
                  for f in PERSON_FIELDS)
    assert (changed >= 1).all()
    assert (changed >= np.minimum(k, 2)).all()
    # all duplicates (records after a person's first) are flagged as carrying errors
    df = hard.records.join(hard.truth.drop(columns="record_id"))
    later = df["person_id"].duplicated()
    assert ((df["errors"] != "") == later).all()
    kinds = set(d["errors"].str.split(";").explode())
    assert {"script", "first_name:typo", "first_name:translit", "first_name:nickname",
            "family_name:swapped", "dob:swap_day_month", "phone:format", "id_number:digit",
            "sex:missing"} <= kinds


def test_custom_error_range_and_soft_mode(soft: Register) -> None:
    later = soft.truth["person_id"].duplicated()
    clean = (soft.truth["errors"] == "") & later
    assert 0.2 < clean.sum() / later.sum() < 0.5  # some duplicates are clean copies
    reg = generate_register(3_000, seed=4, errors=(2, 3), hardest=True)
    d = reg.truth[reg.truth["person_id"].duplicated()]
    assert (d["errors"].str.count(";") + 1).between(2, 3).all()


def test_true_pairs(hard: Register) -> None:
    pairs = true_pairs(hard.truth)
    counts = hard.truth["person_id"].value_counts()
    assert len(pairs) == sum(comb(int(c), 2) for c in counts)
    person = dict(zip(hard.truth["record_id"], hard.truth["person_id"]))
    assert all(a < b and person[a] == person[b] for a, b in pairs)
    assert counts.max() <= 3


def test_write_csv(tmp_path: Path) -> None:
    reg = generate_register(500, seed=9)
    path = write_register_csv(reg, tmp_path / "out" / "register.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == RECORD_COLUMNS and len(back) == 500
    assert (back["record_id"] == reg.records["record_id"]).all()
