"""Flows over a period and the accounting identity (issue 3, part 2), against the demo's truth.

What the demo's files can tell, and is therefore held to the truth exactly, on every backend:
arrivals by admin 0-2 (flow monitoring reports them by arrival admin 2), departures by admin 0-2
(derived from the identity), returns at every level (derived from the returnee stocks), and the net
IDP change at every level. Gross arrivals and departures per admin 3 are not in the files (flow
monitoring is by admin 2), so at admin 3 only the net is checked.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pandas as pd
import pytest

from idpkit.figures.flows import flows_frame, identity_frame
from idpkit.ingest.pipeline import ingest_file
from idpkit.warehouse import connect
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv


def _truth(demo_operation) -> pd.DataFrame:
    t = pd.read_csv(demo_operation.truth_dir / "flows.csv")
    for lv, n in ((2, 6), (1, 4)):
        t[f"adm{lv}_pcode"] = t.adm3_pcode.str[:n]
    t["adm0_pcode"] = "ZDL"
    t["flow"] = t.flow.replace({"arrivals": "arrival", "departures": "departure",
                                "returns": "return"})
    return t


def _signed(df: pd.DataFrame, key: list[str]) -> pd.Series:
    x = df[df.flow.isin(["arrival", "departure"])]
    v = x.value.where(x.flow == "arrival", -x.value)
    s = v.groupby([x[k] for k in key]).sum()
    return s[s != 0].sort_index()


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_flows_equal_truth(demo_wh, demo_operation, level):
    truth = _truth(demo_operation)
    key = [f"adm{level}_pcode", "cause"]
    periods = truth[["from_date", "to_date"]].drop_duplicates().to_numpy().tolist()
    assert len(periods) == 4  # 5 rounds
    for d0, d1 in periods:
        got = flows_frame(demo_wh, date.fromisoformat(d0), date.fromisoformat(d1), level)
        assert set(got.flow) <= {"arrival", "departure", "return"}
        t = truth[truth.to_date == d1]
        flows = ("arrival", "departure", "return") if level <= 2 else ("return",)
        for flow in flows:
            exp = t[t.flow == flow].groupby(key).value.sum().astype(float)
            g = got[got.flow == flow].groupby(key).value.sum()
            assert g[g != 0].sort_index().to_dict() == exp.sort_index().to_dict(), (d1, flow)
        assert _signed(got, key).to_dict() == _signed(t, key).astype(float).to_dict(), d1
        # arrivals come from the flow-monitoring records; departures and returns are derived
        if level <= 2:
            assert not got[got.flow == "arrival"].derived.any()
            assert got[got.flow == "departure"].derived.all()
        assert got[got.flow == "return"].derived.all()


def test_identity_residuals(demo_wh, demo_operation):
    truth = _truth(demo_operation)
    d0, d1 = truth[["from_date", "to_date"]].drop_duplicates().to_numpy().tolist()[-1]
    ident = identity_frame(demo_wh, date.fromisoformat(d0), date.fromisoformat(d1), 2)
    idp = ident[ident.population_group == "idps"]
    assert idp.complete.all()
    # only arrivals are reported, so the residual is minus the (unreported) departures
    dep = truth[(truth.to_date == d1) & (truth.flow == "departure")].groupby(
        ["adm2_pcode", "cause"]).value.sum()
    res = idp.set_index(["adm2_pcode", "cause"]).residual
    res = res[res != 0]
    assert (-res).sort_index().to_dict() == dep.astype(float).sort_index().to_dict()
    assert (ident.residual == ident.stock_to - (ident.stock_from + ident.inflows
                                                - ident.outflows)).all()


def test_period_must_be_forward(demo_wh):
    with pytest.raises(ValueError, match="after"):
        flows_frame(demo_wh, date(2025, 5, 1), date(2025, 4, 1), 1)


@pytest.mark.parametrize("level", [1, 2])
def test_od_matrix_equals_truth(demo_wh, demo_operation, level):
    from idpkit.figures.od import od_frame

    od = pd.read_csv(demo_operation.truth_dir / "od.csv")
    od = od[od.flow.isin(["new_displacement", "secondary_displacement"])]
    n = {1: 4, 2: 6}[level]
    od["o"], od["d"] = od.origin_adm3_pcode.str[:n], od.destination_adm3_pcode.str[:n]
    for d0, d1 in od[["from_date", "to_date"]].drop_duplicates().to_numpy().tolist():
        got = od_frame(demo_wh, date.fromisoformat(d0), date.fromisoformat(d1), level)
        assert got[f"origin_adm{level}_pcode"].notna().all()
        g = got.groupby([f"origin_adm{level}_pcode", f"adm{level}_pcode", "cause"]).value.sum()
        exp = od[od.to_date == d1].groupby(["o", "d", "cause"]).value.sum().astype(float)
        assert g.sort_index().to_dict() == exp.sort_index().to_dict(), d1
        assert set(got.flow) == {"arrival"}


def test_cli_flows_identity_od_series_explain(demo_operation, tmp_path):
    from typer.testing import CliRunner

    from idpkit.cli.app import app

    db = str(tmp_path / "cli.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["areas", "load", str(demo_operation.gazetteer_csv), "--db", db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", *map(str, demo_operation.all_assessment_files()), "--db", db])
    assert r.exit_code == 0, r.output
    dates = sorted(pd.read_csv(demo_operation.truth_dir / "stocks.csv").reference_date.unique())
    d0, d1 = dates[-2], dates[-1]
    r = runner.invoke(app, ["figures", "flows", "--from", d0, "--to", d1, "--level", "2",
                            "--format", "csv", "--db", db])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == ("adm2_pcode,adm2_name,population_group,flow,cause,"
                                        "from_date,to_date,derived,value")
    r = runner.invoke(app, ["figures", "flows", "--from", d0, "--to", d1, "--identity",
                            "--format", "json", "--db", db])
    assert r.exit_code == 0 and '"residual"' in r.output
    r = runner.invoke(app, ["figures", "od", "--from", d0, "--to", d1, "--format", "hxl",
                            "--db", db])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1].startswith("#adm2+code+origin,#adm2+name+origin,#adm2+code")
    r = runner.invoke(app, ["figures", "series", "--from", dates[0], "--to", d1, "--format",
                            "csv", "--db", db])
    assert r.exit_code == 0, r.output
    series = pd.read_csv(pd.io.common.StringIO(r.output))
    assert set(series.month) == {d[:7] for d in dates}
    r = runner.invoke(app, ["figures", "explain", "ZD01", d1, "idps", "--db", db])
    assert r.exit_code == 0 and "recommended" in r.output and "Rows used" in r.output
    r = runner.invoke(app, ["figures", "flows", "--from", d1, "--to", d0, "--db", db])
    assert r.exit_code != 0 and "after" in r.output
    r = runner.invoke(app, ["figures", "explain", "NOPE1", d1, "idps", "--db", db])
    assert r.exit_code != 0


def test_reported_event_flows_are_used_as_reported(demo_operation, tmp_path):
    """An event-tracking file tagging new displacement and returns: reported, not derived, and a
    reported return stops the derived one."""
    from idpkit.figures.flows import flows_frame

    gaz = pd.read_csv(demo_operation.gazetteer_csv, skiprows=[1])
    a2 = gaz[gaz["Admin Level"] == 2]["P-Code"].tolist()[:2]
    f = tmp_path / "ett_events.csv"
    f.write_text(
        "Event date,LGA Pcode,New IDPs (ind),Returns (ind),Reason\n"
        "#date+reported,#adm2+code,#affected+idps+new+ind,#affected+returnees+returns+ind,#cause+type\n"
        f"2031-01-10,{a2[0]},120,7,Conflict\n"
        f"2031-01-20,{a2[0]},30,,Flood\n"
        f"2031-02-03,{a2[1]},999,,Conflict\n", encoding="utf-8")
    with connect(str(tmp_path / "w.duckdb")) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        assert ingest_file(wh, f).status == "imported"
        got = flows_frame(wh, date(2031, 1, 1), date(2031, 1, 31), 2)
    assert not got.derived.any()
    nd = got[got.flow == "new_displacement"].set_index("cause").value.to_dict()
    assert nd == {"conflict": 120.0, "disaster": 30.0}
    assert got[got.flow == "return"].value.tolist() == [7.0]
    assert set(got.adm2_pcode) == {a2[0]}


@pytest.mark.parametrize("level", [0, 2, 3])
def test_identity_of_all_periods_equals_one_call_per_period(demo_wh, demo_operation, level):
    """One query for every period gives, period by period, what one call per period gives; so
    do rows chosen once and shared with the stocks."""
    from idpkit.figures.flows import identity_periods_frame
    from idpkit.figures.stock import StockQuery, chosen_rows

    dates = sorted(date.fromisoformat(d) for d in
                   pd.read_csv(demo_operation.truth_dir / "stocks.csv").reference_date.unique())
    # a period inside one round and one after the last round (stale stocks: none at the end)
    dates += [dates[1] + timedelta(days=5), dates[-1] + timedelta(days=300)]
    dates.sort()
    every = [identity_frame(demo_wh, d0, d1, level) for d0, d1 in pairwise(dates)]
    exp = pd.concat([e for e in every if len(e)], ignore_index=True)
    before = {t for t in demo_wh.con.list_tables() if t.startswith("_idpkit_tmp")}
    got = identity_periods_frame(demo_wh, list(reversed(dates)), level)  # order does not matter
    pd.testing.assert_frame_equal(got, exp)
    assert got.from_date.nunique() == len([e for e in every if len(e)]) >= len(dates) - 2
    with demo_wh.scratch():
        rows = chosen_rows(demo_wh, StockQuery(dates))
        shared = identity_periods_frame(demo_wh, dates, level, rows=rows)
    pd.testing.assert_frame_equal(shared, exp)
    assert {t for t in demo_wh.con.list_tables() if t.startswith("_idpkit_tmp")} == before


def test_identity_needs_a_period(demo_wh):
    from idpkit.figures.flows import identity_periods_frame

    with pytest.raises(ValueError, match="two dates"):
        identity_periods_frame(demo_wh, [date(2025, 1, 31), date(2025, 1, 31)], 1)
    with pytest.raises(ValueError, match="after"):
        identity_frame(demo_wh, date(2025, 5, 1), date(2025, 4, 1), 1)


def test_two_files_of_one_flow_release_are_not_added(demo_operation, tmp_path):
    """The same flow-monitoring release imported as two different files (another byte layout:
    different hash) counts once; a later file re-reporting one day replaces that day only; a file
    of other days adds, and so does a file of the same days at other places."""
    gaz = pd.read_csv(demo_operation.gazetteer_csv, skiprows=[1])
    a2 = gaz[gaz["Admin Level"] == 2]["P-Code"].tolist()[:3]
    head = ("Date,LGA Pcode,Arrivals (ind),Reason\n"
            "#date+reported,#adm2+code,#affected+idps+arrivals+ind,#cause+type\n")
    week1 = f"2031-01-10,{a2[0]},100,Conflict\n2031-01-11,{a2[1]},40,Conflict\n"
    files = {"release.csv": head + week1,
             "release_copy.csv": head.replace(",", ";") + week1.replace(",", ";"),
             "correction.csv": head + f"2031-01-11,{a2[1]},45,Conflict\n",
             "week2.csv": head + f"2031-01-20,{a2[0]},7,Conflict\n"}
    with connect(str(tmp_path / "w.duckdb")) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))

        def arrivals() -> dict[str, float]:
            got = flows_frame(wh, date(2031, 1, 1), date(2031, 1, 31), 2)
            got = got[(got.flow == "arrival") & ~got.derived]
            return got.groupby("adm2_pcode").value.sum().to_dict()

        for name in ("release.csv", "release_copy.csv"):
            (tmp_path / name).write_text(files[name], encoding="utf-8")
            assert ingest_file(wh, tmp_path / name).status == "imported"
        assert arrivals() == {a2[0]: 100.0, a2[1]: 40.0}
        (tmp_path / "correction.csv").write_text(files["correction.csv"], encoding="utf-8")
        assert ingest_file(wh, tmp_path / "correction.csv").status == "imported"
        assert arrivals() == {a2[0]: 100.0, a2[1]: 45.0}
        (tmp_path / "week2.csv").write_text(files["week2.csv"], encoding="utf-8")
        assert ingest_file(wh, tmp_path / "week2.csv").status == "imported"
        assert arrivals() == {a2[0]: 107.0, a2[1]: 45.0}
        # another point's file of the same source and days, at another place: it adds
        other = head + f"2031-01-10,{a2[2]},9,Conflict\n2031-01-11,{a2[2]},4,Conflict\n"
        (tmp_path / "point2.csv").write_text(other, encoding="utf-8")
        assert ingest_file(wh, tmp_path / "point2.csv").status == "imported"
        assert arrivals() == {a2[0]: 107.0, a2[1]: 45.0, a2[2]: 13.0}
