"""Name, phone, date and ID normalisation; pseudonymisation keys."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idpkit.linkage.normalise import (clean_id, dates_column, name_skeleton, normalise_name,
                                      normalise_phone)
from idpkit.linkage.protect import pseudonym_key, pseudonymise

pytestmark = pytest.mark.core


@pytest.mark.parametrize("variants", [
    ["Mohammed", "Muhammad", "Mohamed", "Mohamad", "MOHAMMAD", "محمد", "Muḥammad"],
    ["Abdel Rahman", "Abdulrahman", "Abd al-Rahman", "عبد الرحمن", "Abdu Rahman"],
    ["Hussein", "Husain", "Hussain", "حسين"],
    ["Yusuf", "Youssef", "يوسف"],
    ["Khalid", "Khaled", "خالد"],
    ["Ibrahim", "Ebrahim", "إبراهيم"],
    ["Fatima", "Fatma", "فاطمة"],
])
def test_transliterations_share_a_skeleton(variants):
    skeletons = {name_skeleton(normalise_name(v)) for v in variants}
    assert len(skeletons) == 1, skeletons


def test_different_names_keep_different_skeletons():
    names = ["Mohammed", "Ahmed", "Hamid", "Abdi", "Abdullah", "Amina", "Aisha", "Omar"]
    assert len({name_skeleton(normalise_name(n)) for n in names}) == len(names)
    # names of one Arabic root can share a skeleton; their spellings still differ (Jaro-Winkler)
    assert name_skeleton(normalise_name("Mahmoud")) == name_skeleton(normalise_name("Mohammed"))
    assert normalise_name("Mahmoud") != normalise_name("Mohammed")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_normalise_name_is_total_idempotent_and_latin(text):
    n = normalise_name(text)
    if n is not None:
        assert n == normalise_name(n)
        assert all("a" <= ch <= "z" for ch in n)
        s = name_skeleton(n)
        assert s and s[0].isalpha()


def test_phones_to_e164():
    assert normalise_phone("0912 345 678", "SD") == "+249912345678"
    assert normalise_phone("+249 91 234 5678", "SD") == "+249912345678"
    assert normalise_phone("00249912345678", "SD") == "+249912345678"
    assert normalise_phone("n/a", "SD") is None
    assert normalise_phone(None, "SD") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=25))
def test_phone_parser_never_raises(text):
    out = normalise_phone(text, "SD")
    assert out is None or out.startswith("+")


def test_dates_and_ids():
    d = dates_column(pd.Series(["1984-03-07", "07/03/1984", "1984", None, "not a date"]))
    assert d.dob_year.tolist()[:3] == [1984, 1984, 1984]
    assert d.dob_month.tolist()[0] == 3 and pd.isna(d.dob_month.tolist()[2])
    assert pd.isna(d.dob_year.tolist()[3]) and pd.isna(d.dob_year.tolist()[4])
    assert clean_id(pd.Series(["ab-123 45", " ", None])).tolist()[0] == "AB12345"


def test_pseudonyms_are_keyed_stable_and_need_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("IDPKIT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("IDPKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    key = pseudonym_key()
    assert (tmp_path / "k" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    assert pseudonym_key() == key
    a = pseudonymise(pd.Series(["R-001", "R-002", None, "R-001"]), key)
    assert a[0] == a[3] and a[0] != a[1] and pd.isna(a[2]) and "R-001" not in a[0]
    other = pseudonymise(pd.Series(["R-001"]), b"another key")
    assert other[0] != a[0]
