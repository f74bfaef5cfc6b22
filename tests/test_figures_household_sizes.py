"""Configured household sizes (issue 3, part 4): per area, source and year, the most specific
rule wins; the source's own size still comes first; bad rule files are named by file, row and
column."""

from __future__ import annotations

import math
from datetime import date

import pytest

from conftest import new_warehouse_url
from idpkit.figures.stock import StockQuery, stock_frame
from idpkit.figures.units import HouseholdSizesError, read_household_sizes
from idpkit.ingest.pipeline import ingest_file
from idpkit.warehouse import connect
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv


def _households_only(src, dst, keep_individuals_in: str | None = None):
    """The demo site file with the IDP individuals emptied (except in admin 1
    ``keep_individuals_in``); returns (rows, column indexes)."""
    raw = src.read_bytes()
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    lines = raw.decode(enc).splitlines()
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    cols = lines[0].split(delim)
    ix = {k: cols.index(k) for k in ("IDP Individuals", "IDP Households", "Admin 1 Pcode")}
    rows = [r.split(delim) for r in lines[2:] if r.strip()]
    rows = [r for r in rows if len(r) == len(cols) and r[ix["IDP Households"]].strip().isdigit()
            and int(r[ix["IDP Households"]]) > 0 and r[ix["IDP Individuals"]].strip().isdigit()]
    for r in rows:
        if r[ix["Admin 1 Pcode"]] != keep_individuals_in:
            r[ix["IDP Individuals"]] = ""
    dst.write_text("\n".join([lines[0], lines[1]] + [delim.join(r) for r in rows]) + "\n",
                   encoding="utf-8")
    return rows, ix


def test_most_specific_configured_size_wins(backend, request, tmp_path, demo_operation):
    rows, ix = _households_only(demo_operation.site_files[0], tmp_path / "hh.csv",
                                keep_individuals_in=None)
    a1s = sorted({r[ix["Admin 1 Pcode"]] for r in rows})
    assert len(a1s) >= 3
    with new_warehouse_url(backend, request, tmp_path) as url, connect(url) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        assert ingest_file(wh, tmp_path / "hh.csv").status == "imported"
        d = date(2031, 1, 1)
        plain = stock_frame(wh, StockQuery(d, level=0, max_age_days=100_000))
        year = plain.source_date.iloc[0].year
        iso3 = plain.adm0_pcode.iloc[0]
        sizes = tmp_path / "sizes.csv"
        sizes.write_text(
            "pcode,source,year,size\n"
            f"{iso3},,,5.5\n"                      # the country
            f"{a1s[0]},,{year},4.5\n"              # admin 1, this year: beats the country
            f"{a1s[1]},,{year - 1},3.0\n"          # another year: does not match
            f",site,,7.0\n"                        # any area, this assessment type
            f"{a1s[2]},site,,6.25\n",              # area + source beats source alone
            encoding="utf-8")
        rules = read_household_sizes(sizes)
        conv = stock_frame(wh, StockQuery(d, level=0, max_age_days=100_000,
                                          convert_households=True, household_sizes=rules,
                                          household_size=2.0))
        typ = "site"  # the demo's site assessment (checked below through the datasets table)
        assert typ in set(wh.table("datasets").assessment_type.execute())

    def size_of(a1: str) -> float:
        if a1 == a1s[0]:
            return 4.5
        if a1 == a1s[2]:
            return 6.25
        return 5.5  # the country rule is finer than the source-only rule

    expected = sum(math.floor(int(r[ix["IDP Households"]]) * size_of(r[ix["Admin 1 Pcode"]])
                              + 0.5) for r in rows)
    ind = conv[(conv.unit == "individuals") & (conv.population_group == "idps")]
    assert ind.value.sum() == expected and ind.derived.all()


def test_the_source_own_size_comes_before_rules(backend, request, tmp_path, demo_operation):
    rows, ix = _households_only(demo_operation.site_files[0], tmp_path / "hh.csv")
    # one admin 1 keeps both counts for half its rows: its own size applies there
    a1 = sorted({r[ix["Admin 1 Pcode"]] for r in rows})[0]
    mine = [r for r in rows if r[ix["Admin 1 Pcode"]] == a1]
    both, hh_only = mine[::2], mine[1::2]
    raw = (tmp_path / "hh.csv").read_text(encoding="utf-8").splitlines()
    delim = ";" if raw[0].count(";") > raw[0].count(",") else ","
    individuals = {id(r): str(int(int(r[ix["IDP Households"]]) * 3.7)) for r in both}
    for r in both:
        r[ix["IDP Individuals"]] = individuals[id(r)]
    (tmp_path / "mixed.csv").write_text("\n".join(raw[:2] + [delim.join(r) for r in rows]) + "\n",
                                         encoding="utf-8")
    own = sum(int(individuals[id(r)]) for r in both) / sum(int(r[ix["IDP Households"]])
                                                           for r in both)
    with new_warehouse_url(backend, request, tmp_path) as url, connect(url) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        assert ingest_file(wh, tmp_path / "mixed.csv").status == "imported"
        sizes = tmp_path / "sizes.csv"
        sizes.write_text(f"pcode,size\n{a1},9\n", encoding="utf-8")
        conv = stock_frame(wh, StockQuery(date(2031, 1, 1), level=1, max_age_days=100_000,
                                          convert_households=True,
                                          household_sizes=read_household_sizes(sizes)))
    got = conv[(conv.adm1_pcode == a1) & (conv.unit == "individuals")
               & (conv.population_group == "idps")].value.sum()
    expected = sum(int(individuals[id(r)]) for r in both) + sum(
        math.floor(int(r[ix["IDP Households"]]) * own + 0.5) for r in hh_only)
    assert got == expected


@pytest.mark.parametrize("text, where, message", [
    ("pcode,people\nZD01,5\n", None, "'size' column"),
    ("pcode,size,extra\nZD01,5,x\n", None, "unknown column"),
    ("pcode,size\nZD01,five\n", "row 2, column size", "not a number"),
    ("pcode,size\nZD01,5\nZD02,0.5\n", "row 3, column size", "1-50"),
    ("pcode,year,size\nZD01,20x4,5\n", "row 2, column year", "not a year"),
    ("pcode,size\nZD01,5\nzd01,6\n", "row 3, column size", "first on row 2"),
])
def test_bad_household_size_files_are_named(tmp_path, text, where, message):
    f = tmp_path / "sizes.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(HouseholdSizesError) as exc:
        read_household_sizes(f)
    assert message in exc.value.message
    if where:
        assert exc.value.location == f"{f}, {where}"


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_sizes_file_is_read_or_refused_clearly(tmp_path, text):
    """Whatever the file holds, the reader gives rules or a HouseholdSizesError (never another
    exception), and every rule it gives is within the documented range."""
    f = tmp_path / "sizes.csv"
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        rules = read_household_sizes(f)
    except HouseholdSizesError as exc:
        assert exc.message and exc.location and str(f) in exc.location
        return
    assert all(1 <= r.size <= 50 for r in rules)
    assert all(r.year is None or 1900 <= r.year <= 2200 for r in rules)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.from_regex(r"[A-Z]{2}[0-9]{2,6}", fullmatch=True) | st.none(),
                          st.sampled_from([None, "site", "baseline_area", "IOM DTM"]),
                          st.integers(1950, 2100) | st.none(),
                          st.floats(1, 50, allow_nan=False).map(lambda x: round(x, 2))),
                unique_by=lambda t: (t[0], t[1], t[2]), max_size=20))
def test_written_sizes_are_read_back(tmp_path, rows):
    f = tmp_path / "sizes.csv"
    f.write_text("pcode,source,year,size\n" + "".join(
        f"{p or ''},{s or ''},{'' if y is None else y},{z}\n" for p, s, y, z in rows),
        encoding="utf-8")
    got = read_household_sizes(f)
    assert [(r.pcode, r.source, r.year, r.size) for r in got] == rows
