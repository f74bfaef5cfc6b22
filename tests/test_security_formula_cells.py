"""Issue 22 item 1: no tabular output holds a cell a spreadsheet would run as a formula.

One rule (:mod:`idpkit.model.formula_cells`) decides what is dangerous; every CSV, HXL and XLSX
writer and the ingest-time ``formula-injection`` check use it. The expectations here are written
out independently in plain Python (:func:`dangerous`, :func:`plain_number`), from OWASP's
CSV-injection rules, never from idpkit's own functions.
"""

from __future__ import annotations

import csv
import io

import ibis
import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

PAYLOADS = ['=HYPERLINK("http://x.example","Silmbindom")', "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0"]
BLANKS = " \t\n\r\x0b\x0c"
SIGNS = set("=+-@\uff1d\uff0b\uff0d\uff20")


def dangerous(s: str) -> bool:
    """OWASP: a leading = + - @ (or full-width form), possibly after blanks; a leading tab or CR."""
    return s[:1] in ("\t", "\r") or s.lstrip(BLANKS)[:1] in SIGNS


def plain_number(s: str) -> bool:
    t = s.strip(" ")
    if not t or any(c not in "0123456789+-.eE" for c in t):
        return False
    try:
        float(t)
    except ValueError:
        return False
    return True


def live(s: str) -> bool:
    return dangerous(s) and not plain_number(s)


cell_text = st.text(alphabet=st.sampled_from(list(
    " \t\n\r\x0b\x0c\u00a0=+-@\uff1d\uff0b\uff0d\uff20aZ19.eE|'\"(")), max_size=10)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(cell_text, st.none()), min_size=1, max_size=30))
@example(PAYLOADS + ["-12", "-1.5", " -3", "+4e5", "-", "=", "\tCamp", "Camp -1", "＝1+1"])
def test_neutralised_cells_never_start_like_a_formula(cells):
    from idpkit.model.formula_cells import neutralise_series

    s = pd.Series(cells, dtype=object)
    out = neutralise_series(s)
    assert list(out.index) == list(s.index)
    for before, after in zip(cells, out):
        if before is None:
            assert after is None or pd.isna(after)
        elif live(before):
            assert after == "'" + before
        else:
            assert after == before  # plain numbers and ordinary text unchanged
        assert after is None or pd.isna(after) or not live(after)


@settings(max_examples=200, deadline=None)
@given(st.lists(cell_text, min_size=1, max_size=20))
@example(PAYLOADS + ["-12", "-1.5", "-A1", "- 5", "－1"])
def test_ingest_check_uses_the_same_rule(cells):
    """The ingest-time check (run by the warehouse, not Python) flags exactly the cells the
    writers neutralise: ``-2+3+cmd…`` included (a digit after the sign used to pass)."""
    from idpkit.ingest.transform import formula_like

    con = ibis.duckdb.connect()
    t = ibis.memtable({"i": list(range(len(cells))), "c": cells})
    got = con.execute(t.select("i", f=formula_like(t.c)).order_by("i")).f.tolist()
    con.disconnect()
    assert [bool(f) for f in got] == [live(c) for c in cells]


def test_numbers_and_their_columns_are_left_alone():
    from idpkit.model.formula_cells import neutralise_frame

    df = pd.DataFrame({"n": [-12, 3, -7], "x": [-1.5, 2.0, float("nan")],
                       "t": ["-12", "-1.5", "=1+1"], "=bad": ["a", "b", "c"]})
    out = neutralise_frame(df)
    assert out["n"].tolist() == [-12, 3, -7] and out["n"].dtype == df["n"].dtype
    assert out["x"].iloc[:2].tolist() == [-1.5, 2.0]
    assert out["t"].tolist() == ["-12", "-1.5", "'=1+1"]
    assert list(out.columns) == ["n", "x", "t", "'=bad"]
    assert list(df.columns) == ["n", "x", "t", "=bad"]  # the input is not changed


def _cells_of_csv(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def test_csv_writer_quotes_formulas_but_not_negative_numbers():
    from idpkit.figures.output import to_csv

    df = pd.DataFrame({"adm1_name": PAYLOADS, "value": [-5, 10, -1.5], "note": ["-3", "a", "b"]})
    for hxl in (False, True):
        cells = _cells_of_csv(to_csv(df, hxl=hxl))
        assert not [c for c in cells if live(c)]
        assert {"-5", "-1.5", "-3"} <= set(cells)
        assert {"'" + p for p in PAYLOADS} <= set(cells)


@pytest.fixture(scope="module")
def hostile_release(tmp_path_factory, demo_operation):
    """The demo operation with three admin-1 areas named like formulas and three site names
    too, imported and released."""
    from idpkit.api.auth import create_token
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.publish.package import publish
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("hostile")
    gaz = pd.read_csv(demo_operation.gazetteer_csv, dtype=str, keep_default_na=False)
    gaz.loc[gaz.index[gaz["Admin Level"] == "1"][:3], "Name"] = PAYLOADS
    gaz.to_csv(folder / "gazetteer.csv", index=False)
    sites = pd.read_csv(demo_operation.site_files[0], dtype=str, keep_default_na=False)
    sites.loc[1:3, "Site Name"] = PAYLOADS  # row 0 is the HXL row
    site_file = folder / "sites.csv"
    sites.to_csv(site_file, index=False)
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(folder / "gazetteer.csv"))
        flagged = ingest_file(wh, site_file)
        for f in demo_operation.all_assessment_files()[:2]:
            ingest_file(wh, f)
        publish(wh, folder / "release", pdf=False)
        token = create_token(wh, "test-analyst", "analyst")
    return folder / "release", db, flagged.dataset_id, token


def test_release_has_no_formula_cells(hostile_release):
    release, _, _, _ = hostile_release
    wb = openpyxl.load_workbook(release / "idpkit-release.xlsx")
    values = []
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    values.append(c.value)
    assert not [v for v in values if v.startswith("=") or live(v)]
    assert "'" + PAYLOADS[0] in values  # the names are there, as text
    names = set()
    for p in release.glob("*.csv"):
        cells = _cells_of_csv(p.read_text(encoding="utf-8"))
        assert not [c for c in cells if live(c)], p.name
        names |= set(cells)
    assert {"'" + p for p in PAYLOADS} <= names


def test_api_issues_csv_has_no_formula_cells(hostile_release):
    from idpkit.api.app import create_app

    _, db, dataset_id, token = hostile_release
    client = TestClient(create_app(db), raise_server_exceptions=False)
    r = client.get(f"/api/datasets/{dataset_id}/issues", params={"format": "csv", "limit": 1000},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    cells = _cells_of_csv(r.text)
    assert not [c for c in cells if live(c)]
    assert {"'" + p for p in PAYLOADS} <= set(cells)  # flagged, and shown as text
