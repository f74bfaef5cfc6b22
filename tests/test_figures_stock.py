"""Stocks at a reference date (issue 3, part 1): ground truth, real DTM rounds, source rules.

The demo operation's generator knows every true stock; the figures must equal it at every admin level
and every round, on every backend (which is also the DuckDB/PostgreSQL parity test: both are held to
the same exact numbers).
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from conftest import new_warehouse_url
from idpkit.figures.stock import StockQuery, stock_frame
from idpkit.ingest.pipeline import ingest_file
from idpkit.warehouse import connect
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

ROOT = Path(__file__).resolve().parents[1]
DTM = ROOT / "tests" / "fixtures" / "dtm"


def _truth(demo_operation) -> pd.DataFrame:
    t = pd.read_csv(demo_operation.truth_dir / "stocks.csv")
    for lv, n in ((2, 6), (1, 4)):
        t[f"adm{lv}_pcode"] = t.adm3_pcode.str[:n]
    t["adm0_pcode"] = "ZDL"
    # the baseline files give IDP households as one total, without a cause split
    t.loc[t.unit == "households", "cause"] = "unknown"
    return t


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_demo_stocks_equal_truth_at_every_level_and_round(demo_wh, demo_operation, level):
    truth = _truth(demo_operation)
    key = [f"adm{level}_pcode", "population_group", "cause", "unit"]
    dates = sorted(truth.reference_date.unique())
    every = stock_frame(demo_wh, StockQuery([date.fromisoformat(d) for d in dates], level=level))
    for d in dates:
        got = every[every.reference_date.astype(str) == d]
        assert len(got) and not got.stale.any() and (got.source_date.astype(str) == d).all()
        g = got.groupby(key).value.sum()
        g = g[g != 0]
        exp = truth[truth.reference_date == d].groupby(key).value.sum().astype(float)
        assert g.sort_index().to_dict() == exp.sort_index().to_dict(), (d, level)
        # one date alone gives the same as that date among many
        if d == dates[-1]:
            alone = stock_frame(demo_wh, StockQuery(date.fromisoformat(d), level=level))
            assert alone.value.sum() == got.value.sum()


def test_demo_totals_without_cause_and_between_rounds(demo_wh, demo_operation):
    truth = _truth(demo_operation)
    dates = sorted(truth.reference_date.unique())
    # a date between two rounds reads the earlier round, whole
    mid = date.fromisoformat(dates[2]) + timedelta(days=3)
    got = stock_frame(demo_wh, StockQuery(mid, level=1, by=()))
    assert set(got.cause) == {"all"}
    exp = truth[truth.reference_date == dates[2]].groupby(
        ["adm1_pcode", "population_group", "unit"]).value.sum().astype(float)
    g = got.groupby(["adm1_pcode", "population_group", "unit"]).value.sum()
    assert g[g != 0].sort_index().to_dict() == exp.sort_index().to_dict()
    # before the first round there is nothing
    assert stock_frame(demo_wh, StockQuery(date.fromisoformat(dates[0]) - timedelta(days=1))).empty


def test_sites_are_triangulation_not_added(demo_wh, demo_operation):
    d = date.fromisoformat(sorted(_truth(demo_operation).reference_date.unique())[-1])
    allsrc = stock_frame(demo_wh, StockQuery(d, level=1), all_sources=True)
    rec = allsrc[allsrc.role == "recommended"]
    assert rec.source.str.contains("baseline_area").all()
    tri = allsrc[allsrc.role == "triangulation"]
    assert len(tri) and tri.source.str.contains("| site |", regex=False).all()
    idp = allsrc[(allsrc.population_group == "idps") & (allsrc.unit == "individuals")]
    for _, cell in idp.groupby("adm1_pcode"):
        totals = cell.groupby("source").value.sum()
        assert cell.range_min.iloc[0] == totals.min() and cell.range_max.iloc[0] == totals.max()
        assert cell.sources.iloc[0] == len(totals)
    # the recommended table alone equals the baseline, never baseline + sites
    plain = stock_frame(demo_wh, StockQuery(d, level=1))
    assert plain.value.sum() == rec.value.sum()
    # a priority naming sites first makes them recommended
    q = StockQuery(d, level=1, priority=("site", "baseline_area"))
    assert stock_frame(demo_wh, q, all_sources=True).query(
        "role == 'recommended' and population_group == 'idps'").source.str.contains("| site |",
                                                                                    regex=False).all()


def test_stale_rounds_are_marked_not_carried_forward(demo_wh, demo_operation):
    last = date.fromisoformat(sorted(_truth(demo_operation).reference_date.unique())[-1])
    late = last + timedelta(days=400)
    got = stock_frame(demo_wh, StockQuery(late, level=1, max_age_days=180))
    assert len(got) and got.stale.all()
    assert (got.source_date.astype(str) == last.isoformat()).all()
    fresh = stock_frame(demo_wh, StockQuery(late, level=1, max_age_days=500))
    assert not fresh.stale.any()


def test_coverage_is_share_of_child_areas_assessed(demo_wh, demo_operation):
    d = sorted(_truth(demo_operation).reference_date.unique())[0]
    base = pd.read_csv(demo_operation.truth_dir / "stocks.csv")
    base = base[base.reference_date == d]
    got = stock_frame(demo_wh, StockQuery(date.fromisoformat(d), level=2))
    gaz = pd.read_csv(demo_operation.gazetteer_csv, skiprows=[1])
    wards = gaz[gaz["Admin Level"] == 3]
    n_kids = wards.groupby(wards["Parent P-Code"]).size()
    row = got[(got.population_group == "returnees") & (got.unit == "individuals")]
    assert ((row.coverage > 0) & (row.coverage <= 1)).all()
    # level 3 is the finest: every reported ward covers itself
    lv3 = stock_frame(demo_wh, StockQuery(date.fromisoformat(d), level=3))
    assert (lv3.coverage == 1).all()
    assert set(row.adm2_pcode) <= set(n_kids.index)


def _api_rows() -> list[dict[str, str]]:
    with open(DTM / "dtm-api-v3-admin0-2-afg-hti-tcd.csv", encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh) if not r["id"].startswith("#")]


def test_real_dtm_api_admin0_stock_per_operation_and_round(backend, request, tmp_path):
    """Per operation and round, the admin-0 stock is that round's rows summed (at the finest level
    the round gives in each admin-1 area; rows split by reason added; rounds never mixed)."""
    rows = _api_rows()
    rounds: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for x in rows:
        rounds[(x["operation"], x["roundNumber"])].append(x)
    expected: dict[tuple[str, str], tuple[str, float]] = {}
    for (op, rnd), rr in rounds.items():
        finest: dict[str, int] = {}
        for x in rr:
            a1 = x["admin1Pcode"]
            finest[a1] = max(finest.get(a1, -1), int(x["adminLevel"]))
        has_a1 = any(x["admin1Pcode"] for x in rr)
        total = sum(float(x["numPresentIdpInd"] or 0) for x in rr
                    if int(x["adminLevel"]) == finest[x["admin1Pcode"]]
                    and (x["admin1Pcode"] or not has_a1))
        day = max(x["reportingDate"][:10] for x in rr)
        expected[(op, rnd)] = (day, total)
    checked = 0
    with new_warehouse_url(backend, request, tmp_path) as url, connect(url) as wh:
        assert ingest_file(wh, DTM / "dtm-api-v3-admin0-2-afg-hti-tcd.csv").status == "imported"
        days = sorted({date.fromisoformat(d) for d, _ in expected.values()})
        every = stock_frame(wh, StockQuery(days, level=0, by=(), max_age_days=0), all_sources=True)
        every = every[(every.population_group == "idps") & (every.unit == "individuals")]
        every["operation"] = every.source.str.split(" | ", regex=False).str[1]
        for (op, rnd), (day, total) in sorted(expected.items()):
            # two rounds of one operation on one day cannot be told apart by date: skip those
            same_day = [r for (o2, r), (d2, _) in expected.items() if o2 == op and d2 == day]
            if len(same_day) > 1:
                continue
            got = every[(every.operation == op) & (every.reference_date.astype(str) == day)
                        & (every.source_date.astype(str) == day)]
            assert got.value.sum() == pytest.approx(total), (op, rnd)
            checked += 1
        # a single operation and date alone gives the same
        (op, rnd), (day, total) = next(iter(sorted(expected.items())))
        one = stock_frame(wh, StockQuery(date.fromisoformat(day), level=0, operation=op, by=()))
        assert one[(one.population_group == "idps")].value.sum() == pytest.approx(total)
    assert checked >= 20


def test_same_round_in_two_files_is_counted_once(backend, request, tmp_path, demo_operation):
    f = demo_operation.site_files[0]
    copy = tmp_path / ("again_" + f.name)
    shutil.copy(f, copy)
    with open(copy, "ab") as fh:
        fh.write(b"\n")  # different bytes, same content: not recognised as a re-import
    with new_warehouse_url(backend, request, tmp_path) as url, connect(url) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        ingest_file(wh, f)
        one = stock_frame(wh, StockQuery(date(2030, 1, 1), level=1, max_age_days=10_000))
        assert ingest_file(wh, copy).status == "imported"
        two = stock_frame(wh, StockQuery(date(2030, 1, 1), level=1, max_age_days=10_000))
        assert two.value.sum() == one.value.sum() > 0


def test_explain_lists_sources_rows_and_exclusions(demo_wh, demo_operation):
    from idpkit.figures.explain import UnknownAreaError, explain

    dates = sorted(_truth(demo_operation).reference_date.unique())
    d = date.fromisoformat(dates[2])
    e = explain(demo_wh, "ZD01", d, "idps")
    truth = _truth(demo_operation)
    exp = truth[(truth.reference_date == dates[2]) & (truth.adm1_pcode == "ZD01")
                & (truth.population_group == "idps") & (truth.unit == "individuals")].value.sum()
    assert e["value"] == exp
    roles = {s["role"] for s in e["sources"]}
    assert roles == {"recommended", "triangulation"}
    rec_rows = [r for r in e["rows_used"] if "baseline" in r["file"]]
    assert sum(r["value"] for r in rec_rows) == exp
    rules = {r["rule"] for r in e["rows_not_used"]}
    assert any("older round" in r for r in rules) and any("after the reference" in r for r in rules)
    with pytest.raises(UnknownAreaError):
        explain(demo_wh, "XX99", d, "idps")


def test_households_converted_to_individuals_when_asked(backend, request, tmp_path, demo_operation):
    """Rows giving households only get derived individuals: households x the source's own size
    (from its rows giving both, same round and admin 1), rounded half up; flagged derived."""
    import math

    src = demo_operation.site_files[0]
    raw = src.read_bytes()
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    text = raw.decode(enc, errors="strict")
    delim = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    lines = text.splitlines()
    header, tags, body = lines[0], lines[1], lines[2:]
    cols = header.split(delim)
    i_ind, i_hh, i_a1 = cols.index("IDP Individuals"), cols.index("IDP Households"), \
        cols.index("Admin 1 Pcode")
    rows = [r.split(delim) for r in body if r.strip()]
    rows = [r for r in rows if len(r) == len(cols) and r[i_ind].strip().isdigit()
            and r[i_hh].strip().isdigit() and int(r[i_hh]) > 0]
    kept_both, hh_only = rows[::2], rows[1::2]
    for r in hh_only:
        r[i_ind] = ""
    f = tmp_path / "sites_hh_only.csv"
    f.write_text("\n".join([header, tags] + [delim.join(r) for r in kept_both + hh_only]) + "\n",
                 encoding="utf-8")
    size: dict[str, float] = {}
    for a1 in {r[i_a1] for r in kept_both}:
        both = [r for r in kept_both if r[i_a1] == a1]
        size[a1] = sum(int(r[i_ind]) for r in both) / sum(int(r[i_hh]) for r in both)
    expected = sum(int(r[i_ind]) for r in kept_both) + sum(
        math.floor(int(r[i_hh]) * size[r[i_a1]] + 0.5) for r in hh_only if r[i_a1] in size)
    with new_warehouse_url(backend, request, tmp_path) as url, connect(url) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        assert ingest_file(wh, f).status == "imported"
        d = date(2031, 1, 1)
        plain = stock_frame(wh, StockQuery(d, level=0, max_age_days=100_000))
        assert "derived" not in plain.columns
        conv = stock_frame(wh, StockQuery(d, level=0, max_age_days=100_000,
                                          convert_households=True))
        ind = conv[conv.unit == "individuals"]
        assert ind.value.sum() == expected
        assert ind.derived.all() and not conv[conv.unit == "households"].derived.any()
        assert conv[conv.unit == "households"].value.sum() == \
            plain[plain.unit == "households"].value.sum()


def test_by_site_type_splits_the_site_source(demo_wh, demo_operation):
    d = date.fromisoformat(sorted(_truth(demo_operation).reference_date.unique())[-1])
    q = StockQuery(d, level=1, by=("site_type",), priority=("site",))
    got = stock_frame(demo_wh, q)
    sites = pd.read_csv(demo_operation.truth_dir / "sites.csv")
    ss = pd.read_csv(demo_operation.truth_dir / "site_stocks.csv")
    ss = ss[(ss.reference_date == d.isoformat()) & (ss.unit == "individuals")].merge(sites,
                                                                                      on="site_id")
    ss["adm1_pcode"] = ss.adm3_pcode.str[:4]
    exp = ss.groupby(["adm1_pcode", "site_type"]).value.sum().astype(float)
    g = got[(got.population_group == "idps") & (got.unit == "individuals")].groupby(
        ["adm1_pcode", "site_type"]).value.sum()
    assert g[g != 0].sort_index().to_dict() == exp[exp != 0].sort_index().to_dict()


def test_file_without_round_codes_dated_over_days_is_one_round(backend, request, tmp_path,
                                                               demo_operation):
    """Field teams date each row on the day they visited: a file without round codes whose dates
    span a few days is one round (all its rows counted), and a French stock-by-origin file
    ("région de provenance") stays a stock, not flow monitoring."""
    gaz = pd.read_csv(demo_operation.gazetteer_csv, skiprows=[1])
    a3 = gaz[gaz["Admin Level"] == 3]["P-Code"].tolist()[:6]
    f = tmp_path / "evaluation_sites.csv"
    lines = ["Date de collecte,Code admin 3,Région de provenance,Nombre de PDI (individus)"]
    lines += [f"2031-03-{10 + i:02d},{p},{gaz['Name'].iloc[0]},{100 + i}" for i, p in enumerate(a3)]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with new_warehouse_url(backend, request, tmp_path) as url, connect(url) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        assert ingest_file(wh, f).status == "imported"
        assert set(wh.table("observations").metric.execute()) == {"present_stock"}
        got = stock_frame(wh, StockQuery(date(2031, 3, 31), level=0, by=()))
        assert got.value.sum() == sum(100 + i for i in range(len(a3)))
        assert (got.source_date.astype(str) == f"2031-03-{10 + len(a3) - 1:02d}").all()
        # before the round's last day the round is not complete yet: no figure
        assert stock_frame(wh, StockQuery(date(2031, 3, 12), level=0, by=())).empty


def test_figure_tables_leave_no_temporary_tables(demo_wh, demo_operation):
    """A long-lived connection (the API server) must not collect one TEMP table per request."""
    from idpkit.figures.flows import identity_frame

    dates = [date.fromisoformat(d) for d in sorted(_truth(demo_operation).reference_date.unique())]
    before = {t for t in demo_wh.con.list_tables() if t.startswith("_idpkit_tmp")}
    stock_frame(demo_wh, StockQuery(dates, level=2))
    identity_frame(demo_wh, dates[0], dates[1], 2)
    assert {t for t in demo_wh.con.list_tables() if t.startswith("_idpkit_tmp")} == before


def _temp_tables(wh) -> set[str]:
    return {t for t in wh.con.list_tables() if t.startswith("_idpkit_tmp")}


def test_stock_frames_equal_one_call_per_level(demo_wh, demo_operation):
    """All levels from one stored row set give what one ``stock_frame`` call per level gives."""
    from idpkit.figures.stock import stock_frames

    dates = [date.fromisoformat(d) for d in sorted(_truth(demo_operation).reference_date.unique())]
    dates.append(dates[-1] + timedelta(days=400))  # a date where every round is stale
    before = _temp_tables(demo_wh)
    for q, all_sources in ((StockQuery(dates), False),
                           (StockQuery(dates, by=("cause", "site_type")), True),
                           (StockQuery(dates, by=(), convert_households=True,
                                       household_size=5.0), False)):
        every = stock_frames(demo_wh, q, [0, 1, 2, 3], all_sources=all_sources)
        assert list(every) == [0, 1, 2, 3]
        for lv, got in every.items():
            alone = stock_frame(demo_wh, replace(q, level=lv), all_sources=all_sources)
            pd.testing.assert_frame_equal(got, alone)
    assert _temp_tables(demo_wh) == before
    with pytest.raises(ValueError, match="admin level"):
        stock_frames(demo_wh, StockQuery(dates), [1, 7])


def test_chosen_rows_are_shared_and_checked(demo_wh, demo_operation):
    """Rows stored once serve stocks of any level and of any subset of their dates; rows stored
    for other filters are refused rather than silently giving other numbers."""
    from idpkit.figures.stock import chosen_rows

    dates = [date.fromisoformat(d) for d in sorted(_truth(demo_operation).reference_date.unique())]
    before = _temp_tables(demo_wh)
    with demo_wh.scratch():
        rows = chosen_rows(demo_wh, StockQuery(dates))
        for q in (StockQuery(dates, level=3), StockQuery(dates[1:3], level=1, by=())):
            pd.testing.assert_frame_equal(stock_frame(demo_wh, q, rows=rows),
                                          stock_frame(demo_wh, q))
        with pytest.raises(ValueError, match="other dates or filters"):
            stock_frame(demo_wh, StockQuery(dates, max_age_days=30), rows=rows)
        with pytest.raises(ValueError, match="other dates or filters"):
            stock_frame(demo_wh, StockQuery(dates[0] - timedelta(days=1)), rows=rows)
    assert _temp_tables(demo_wh) == before
