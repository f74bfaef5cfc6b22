"""4W activities (issue 7): totals from breakdowns, de-duplicated reach, coverage, gaps,
overlaps and continuity against hand-computed cases on every backend; the import's row checks;
the parser fuzzed with Hypothesis."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.areas.activities import (
    continuity,
    coverage,
    import_activities,
    reach_by_area,
)
from idpkit.areas.importing import parse_dates
from idpkit.areas.needs import NeedsResults, store_results
from idpkit.areas.rules import SeverityRules
from idpkit.areas.tables import AREA_TABLES
from idpkit.errors import AlreadyImportedError, IdpkitError
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv
from idpkit.warehouse.sqltext import literal

FIX = Path(__file__).parent / "fixtures" / "areas"
GOOD = """organisation,sector,activity,phase,pcode,start_date,end_date,population_group,sex,age_group,targeted,reached
Org A,WASH,trucking,humanitarian,XQ010101,2025-01-01,2025-03-31,idps,all,all,500,400
Org A,WASH,trucking,humanitarian,XQ010101,2025-01-01,2025-03-31,idps,female,all,,210
Org B,wash,latrines,Humanitarian response,XQ010102,2025-01-01,2025-03-31,IDP,all,all,300,100
Org C,shelter,tents,humanitarian,XQ0101,2025-02-01,2025-06-30,idps,female,all,,120
Org C,shelter,tents,humanitarian,XQ0101,2025-02-01,2025-06-30,idps,male,all,,80
Org C,shelter,tents,humanitarian,XQ0101,2025-02-01,2025-06-30,idps,male,0-17,,30
Org D,food_security,cash,humanitarian,XQ0101,2025-01-01,2025-03-31,host,all,all,100,60
Org E,livelihoods,jobs,recovery,XQ0102,2025-07-01,2025-12-31,idps,all,all,50,40
Org F,health,clinic,humanitarian,XQ0102,2025-01-01,2025-06-30,idps,all,all,100,90
Org F,health,clinic,humanitarian,XQ0201,2025-01-01,2025-03-31,idps,all,all,100,90
Org G,health,clinic 2,humanitarian,XQ0201,2025-04-01,2025-06-30,idps,all,all,100,90
Org H,health,mobile,humanitarian,XQ0201,2025-07-01,2025-09-30,idps,all,all,100,90
"""


@pytest.fixture
def act_wh(wh, tmp_path):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    p = tmp_path / "4w.csv"
    p.write_text(GOOD, encoding="utf-8")
    stored = import_activities(wh, p)
    assert stored.rows_quarantined == 0, stored.findings
    return wh


def _pin(wh) -> None:
    wh.ensure_tables(AREA_TABLES)
    wh.execute_atomically([
        ("INSERT INTO needs_sources (source_id, kind, table_name, unit, rules, imported_at) "
        f"VALUES ('n1', 'locations', 'areas', 'individuals', {literal(SeverityRules.load().to_text())}, "
        "TIMESTAMP '2025-07-01 00:00:00')")])
    pin = pd.DataFrame([("XQ0101", "idps", "wash", 1000.0), ("XQ0101", "idps", "shelter", 1000.0),
                        ("XQ0101", "idps", "food_security", 300.0),
                        ("XQ0102", "idps", "health", 0.0), ("XQ0201", "idps", "wash", 0.0)],
                       columns=["area_pcode", "population_group", "sector", "people_in_need"])
    pin = pin.assign(source_id="n1", admin_level=2, unit="individuals", population=5000.0)
    store_results(wh, NeedsResults("n1", pd.DataFrame(columns=["source_id"]), pin))


def test_reach_uses_totals_and_max_across_sectors(act_wh):
    r = reach_by_area(act_wh, level=2).set_index(["area_pcode", "population_group"])
    # wash 400 + 100 (breakdown rows not added); shelter only by sex: 120 + 80 (age rows not)
    assert r.loc[("XQ0101", "idps")].unique_reached == 500
    assert r.loc[("XQ0101", "idps")].reported_reach == 700
    assert r.loc[("XQ0101", "host_community")].unique_reached == 60
    assert r.loc[("XQ0102", "idps")].unique_reached == 90
    assert r.loc[("XQ0102", "idps")].reported_reach == 130
    assert r.loc[("XQ0201", "idps")].unique_reached == 270
    at3 = reach_by_area(act_wh).set_index(["area_pcode", "population_group"])
    assert at3.loc[("XQ010101", "idps")].unique_reached == 400  # its own P-code, not rolled up


def test_coverage_gaps_and_overlaps(act_wh):
    _pin(act_wh)
    c = coverage(act_wh, "n1").set_index(["area_pcode", "sector", "population_group"])
    wash = c.loc[("XQ0101", "wash", "idps")]
    assert (wash.reached, wash.coverage, wash.status, bool(wash.overlap)) == \
        (500, 0.5, "covered", True)
    shelter = c.loc[("XQ0101", "shelter", "idps")]
    assert (shelter.coverage, shelter.status, bool(shelter.overlap)) == (0.2, "low", False)
    food = c.loc[("XQ0101", "food_security", "idps")]
    assert (food.reached, food.status) == (0, "gap")
    assert c.loc[("XQ0201", "health", "idps")].status == "no_need_data"
    assert c.loc[("XQ0102", "health", "idps")].status == "covered"  # nobody in need
    # nobody in need (0) and no wash activity in XQ0201: not "covered" but a state of its own
    no_need = c.loc[("XQ0201", "wash", "idps")]
    assert (no_need.reached, no_need.status) == (0, "no_need") and pd.isna(no_need.coverage)
    q1 = coverage(act_wh, "n1", start=date(2025, 4, 1))
    q1 = q1.set_index(["area_pcode", "sector", "population_group"])
    assert q1.loc[("XQ0101", "wash", "idps")].status == "gap"  # trucking ended in March


def test_continuity_statuses(act_wh):
    c = continuity(act_wh, level=2).set_index(["area_pcode", "period"])
    assert c.loc[("XQ0101", "2025-Q1")].status == "humanitarian_only"
    assert c.loc[("XQ0101", "2025-Q2")].status == "gap"
    assert c.loc[("XQ0102", "2025-Q2")].status == "continued"
    assert c.loc[("XQ0201", "2025-Q1")].status == "humanitarian_only"
    assert c.loc[("XQ0201", "2025-Q3")].status == "gap"
    assert c.loc[("XQ0101", "2025-Q1")].ending_activities == 3
    months = continuity(act_wh, level=2, months=6).set_index(["area_pcode", "period"])
    assert months.loc[("XQ0201", "2025-01+5m")].status == "humanitarian_only"
    by_sector = continuity(act_wh, level=2, by_sector=True)
    assert {"sector", "status"} <= set(by_sector.columns)


def test_import_errors_name_file_row_and_field(wh):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    s = import_activities(wh, FIX / "activities_bad.csv")
    assert s.rows_read == 11 and s.rows_accepted + s.rows_quarantined == 11
    found = {(f.code, f.row, f.column) for f in s.findings}
    for expected in [("duplicate-row", 3, "organisation"), ("missing-value", 4, "organisation"),
                     ("unknown-phase", 5, "phase"), ("unknown-pcode", 6, "pcode"),
                     ("end-before-start", 7, "end_date"), ("unknown-group", 8,
                                                          "population_group"),
                     ("negative-count", 9, "reached"), ("non-numeric-count", 10, "reached"),
                     ("invalid-date", 11, "start_date"), ("unknown-sector", 12, "sector")]:
        assert expected in found, expected
    assert s.rows_accepted == 2  # row 2, and row 12 (only a warning)
    stored = wh.table("activities").execute()
    assert sorted(stored.source_row) == [2, 12]
    assert stored.set_index("source_row").loc[12].phase == "transition_recovery"
    assert stored.set_index("source_row").loc[12].population_group == "host_community"
    issues = wh.table("issues").filter(lambda t: t.dataset_id == s.dataset_id).execute()
    assert len(issues) == len(s.findings)
    ds = wh.table("datasets").filter(lambda t: t.dataset_id == s.dataset_id).execute().iloc[0]
    assert (ds.rows_read, ds.rows_accepted, ds.rows_quarantined) == (11, 2, 9)
    with pytest.raises(AlreadyImportedError):
        import_activities(wh, FIX / "activities_bad.csv")


def test_unreadable_files_are_errors(wh, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(IdpkitError, match="empty"):
        import_activities(wh, empty)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(IdpkitError):
        import_activities(wh, binary)


CELL = st.one_of(st.just(""), st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                                 blacklist_characters="\x00"),
                                      max_size=12),
                 st.sampled_from(["idps", "host", "2025-01-01", "31/12/2025", "45000", "-1",
                                  "XQ0101", "humanitarian", "wash", "all", "female", "0-17"]))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.lists(CELL, min_size=12, max_size=12), min_size=1, max_size=6))
def test_fuzzed_4w_files_never_lose_rows(tmp_path_factory, rows):
    import csv
    import uuid

    from idpkit.warehouse import connect

    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"{uuid.uuid4().hex}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(GOOD.splitlines()[0].split(","))
        w.writerows(rows)
    with connect(str(folder / "w.duckdb")) as wh:
        load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
        try:
            s = import_activities(wh, path)
        except IdpkitError:
            return  # an unreadable file is refused as a whole, with nothing written
        assert s.rows_accepted + s.rows_quarantined == s.rows_read
        assert int(wh.table("activities").count().execute()) == s.rows_accepted
        assert all(f.row is None or 2 <= f.row <= s.rows_read + 1 for f in s.findings)


@given(st.text(max_size=20))
def test_parse_dates_never_raises(text):
    out = parse_dates(pd.Series([text, None]))
    assert out.iloc[1] is None
    assert out.iloc[0] is None or isinstance(out.iloc[0], date)


@given(st.dates(min_value=date(1960, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_dates_reads_iso_and_day_first(d):
    out = parse_dates(pd.Series([d.isoformat(), d.strftime("%d/%m/%Y")]))
    assert list(out) == [d, d]


def _intersectoral_needs(wh) -> None:
    """Inter-sectoral needs results at admin 2 (the 4W of ``GOOD`` reports partly at admin 3)."""
    wh.ensure_tables(AREA_TABLES)
    wh.execute_atomically([
        ("INSERT INTO needs_sources (source_id, kind, table_name, unit, rules, imported_at) "
         f"VALUES ('n2', 'locations', 'areas', 'individuals', "
         f"{literal(SeverityRules.load().to_text())}, TIMESTAMP '2025-07-01 00:00:00')")])
    rows = [("XQ0101", "idps", 1000.0, 4), ("XQ0101", "host_community", 200.0, 3),
            ("XQ0201", "idps", 500.0, 3)]
    base = pd.DataFrame(rows, columns=["area_pcode", "population_group", "people_in_need",
                                       "phase"]).assign(source_id="n2", admin_level=2,
                                                        sector="intersectoral",
                                                        population=5000.0, unit="individuals")
    store_results(wh, NeedsResults("n2", base.drop(columns="people_in_need"),
                                   base.drop(columns="phase")))


def test_priority_unmet_counts_reach_reported_in_sub_areas(act_wh):
    from idpkit.areas.priority import criteria_frame

    _intersectoral_needs(act_wh)
    c = criteria_frame(act_wh, "n2").set_index("area_pcode")
    # By hand from GOOD, rolled up to admin 2. XQ0101 idps: wash = 400 (XQ010101, total row;
    # its female breakdown not added) + 100 (XQ010102) = 500, shelter = 120 + 80 = 200 (sex
    # rows only), unique = max = 500; host: food 60. Need 1000 + 200 -> unmet 1200 - 560 = 640.
    # (Read at its own P-codes only, the admin-3 wash reach is lost: 1200 - 260 = 940.)
    assert c.loc["XQ0101", "unmet"] == 640
    # XQ0201 idps: health 90 + 90 + 90 = 270 reached, 500 in need -> 230
    assert c.loc["XQ0201", "unmet"] == 230


def _pandas_reach(start: date | None, end: date | None) -> dict:
    """Unique reached per admin-2 area and group from GOOD, computed independently: keep the
    activities whose [start_date, end_date] overlaps [start, end]; an activity's total is its
    (all, all) row, else the sum of its sex rows with age all; sum per sector, max over sectors."""
    import io

    df = pd.read_csv(io.StringIO(GOOD), parse_dates=["start_date", "end_date"])
    df["start_date"], df["end_date"] = df.start_date.dt.date, df.end_date.dt.date
    if start is not None:
        df = df[df.end_date >= start]
    if end is not None:
        df = df[df.start_date <= end]
    df["area"] = df.pcode.str[:6]
    df["sector"] = df.sector.str.lower()
    df["group"] = df.population_group.map({"idps": "idps", "IDP": "idps",
                                           "host": "host_community"})
    key = ["organisation", "sector", "activity", "area", "pcode", "start_date", "group"]
    tot = df[(df.sex == "all") & (df.age_group == "all")].groupby(key).reached.sum()
    sex = df[(df.sex != "all") & (df.age_group == "all")].groupby(key).reached.sum()
    per_activity = tot.combine_first(sex).reset_index()
    per_sector = per_activity.groupby(["area", "group", "sector"]).reached.sum()
    return per_sector.groupby(["area", "group"]).max().to_dict()


def test_reach_counts_only_activities_running_in_the_period(act_wh):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    days = st.one_of(st.none(), st.dates(min_value=date(2024, 12, 1),
                                         max_value=date(2026, 1, 31)))

    @settings(max_examples=15, deadline=None)
    @given(days, days)
    def check(d0, d1):
        if d0 and d1 and d1 < d0:
            d0, d1 = d1, d0
        got = reach_by_area(act_wh, level=2, start=d0, end=d1)
        got = {(r.area_pcode, r.population_group): r.unique_reached for r in got.itertuples()}
        assert got == _pandas_reach(d0, d1)

    check()
    with pytest.raises(IdpkitError, match="before it starts"):
        reach_by_area(act_wh, level=2, start=date(2025, 5, 1), end=date(2025, 4, 1))


def test_coverage_and_profiles_take_a_period(act_wh, warehouse_url):
    from typer.testing import CliRunner

    from idpkit.areas.profile import profiles_table
    from idpkit.cli.app import app

    # Q3 2025 by hand from GOOD: XQ0101 nothing runs (shelter ended 30 June); XQ0102 jobs 40
    # (health ended in June); XQ0201 the mobile clinic 90. All time: 560, 130 -> max 90, 270.
    q3 = profiles_table(act_wh, 2, start=date(2025, 7, 1), end=date(2025, 9, 30))
    q3 = q3.set_index("area_pcode").unique_reached
    assert pd.isna(q3["XQ0101"]) and (q3["XQ0102"], q3["XQ0201"]) == (40, 90)
    ever = profiles_table(act_wh, 2).set_index("area_pcode").unique_reached
    assert (ever["XQ0101"], ever["XQ0102"], ever["XQ0201"]) == (560, 90, 270)

    _pin(act_wh)
    db = warehouse_url
    run = CliRunner()
    out = run.invoke(app, ["areas", "activities", "coverage", "--source", "n1", "--from",
                           "2025-04-01", "--to", "2025-06-30", "--format", "csv", "--db", db])
    assert out.exit_code == 0, out.output
    assert "XQ0101,wash,idps,1000.0,0.0" in out.output  # trucking ended in March: a gap
    out = run.invoke(app, ["areas", "activities", "coverage", "--from", "2025-13-01",
                           "--db", db])
    assert out.exit_code == 2 and "--from" in out.output and "not a date" in out.output
    out = run.invoke(app, ["areas", "profiles", "--from", "2025-06-01", "--to", "2025-01-01",
                           "--db", db])
    assert out.exit_code == 2 and "--to" in out.output and "before --from" in out.output


@given(st.text(max_size=12), st.text(max_size=12))
def test_period_options_are_dates_or_a_usage_error(a, b):
    import typer

    from idpkit.cli.options import parse_period

    try:
        d0, d1 = parse_period(a, b)
    except typer.BadParameter as exc:
        assert exc.param_hint in ("--from", "--to")
        return
    # what was accepted is what an ISO reading gives, in order
    assert d0 == (date.fromisoformat(a.strip()) if a else None)
    assert d1 == (date.fromisoformat(b.strip()) if b else None)
    assert d0 is None or d1 is None or d0 <= d1
