"""Needs severity (issue 7): every aggregation rule against hand-computed cases on every backend,
people in need with design-based CIs, the pandas reference, and import errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from idpkit.areas.needs import (
    NeedsSource,
    NeedsSpec,
    analyse,
    compute,
    import_needs,
    load_source,
)
from idpkit.areas.rules import RulesError, SeverityRules
from idpkit.areas.tables import AREA_TABLES
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

FIX = Path(__file__).parent / "fixtures" / "areas"
A, B, C = "XQ0101", "XQ0102", "XQ0201"

RULES = {
    "phase_in_need": 3,
    "intersectoral": {"method": "max"},
    "area_rule": {"threshold": 0.25},
    "sectors": {
        "wash": {"indicators": [{"column": "water", "below": {2: 15, 3: 10, 4: 5, 5: 3}},
                                {"column": "san", "values": {"open": 4, "shared": 2}}]},
        "food": {"indicators": [{"column": "fcs", "below": {3: 35.5, 4: 21.5}}]},
        "edu": {"indicators": [{"column": "oos", "at_least": {3: 0.25, 5: 1.0}}]},
    },
}

# area, group, weight, size, water, san, fcs, oos  -> expected wash, food, edu, max, mean_top(2)
ROWS = [
    (A, "idps", 1, 1, 20.0, "improved", 40.0, None, 1, 1, None, 1, 1),
    (A, "idps", 1, 1, 12.0, "shared", 30.0, 0.25, 2, 3, 3, 3, 3),
    (A, "idps", 1, 1, 4.0, None, None, 1.0, 4, None, 5, 5, 5),    # mean 4.5 -> 5 (half up)
    (A, "idps", 1, 1, None, " OPEN ", 10.0, 0.1, 4, 4, 1, 4, 4),
    (A, "host_community", 1, 1, 20.0, None, 40.0, 0.0, 1, 1, 1, 1, 1),
    (A, "host_community", 1, 1, 20.0, None, 40.0, 0.0, 1, 1, 1, 1, 1),
    (A, "host_community", 1, 1, 20.0, None, 40.0, 0.0, 1, 1, 1, 1, 1),
    (A, "host_community", 1, 1, 8.0, None, 30.0, 0.3, 3, 3, 3, 3, 3),  # exactly 25%: reached
    (B, "idps", 1, 2, 4.0, None, None, None, 4, None, None, 4, 4),    # pop 2 of 8 = 25%
    (B, "idps", 2, 3, 20.0, None, None, None, 1, None, None, 1, 1),   # food, edu: no data
    (B, "host_community", 1, 1, 4.0, None, None, None, 4, None, None, 4, 4),  # 1 of 5 = 20%
    (B, "host_community", 4, 1, 20.0, None, None, None, 1, None, None, 1, 1),
    (C, "returnees", 1, 1, 12.0, "shared", 30.0, 0.6, 2, 3, 3, 3, 3),  # [2,3,3] top 2: 3
    (C, "returnees", 1, 1, 12.0, "shared", 40.0, 0.25, 2, 1, 3, 3, 3),  # [2,1,3]: 2.5 -> 3
    (C, "returnees", 1, 1, 12.0, "shared", 40.0, 0.0, 2, 1, 1, 2, 2),  # [2,1,1]: 1.5 -> 2
]
COLS = ["pcode", "grp", "w", "n", "water", "san", "fcs", "oos", "x_wash", "x_food", "x_edu",
        "x_max", "x_mean2"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=COLS)


def _setup(wh, rules: dict = RULES) -> NeedsSource:
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    wh.ensure_tables(AREA_TABLES)
    df = _frame().drop(columns=[c for c in COLS if c.startswith("x_")]).rename(
        columns={"pcode": "area_pcode", "grp": "population_group"})
    table = pa.Table.from_pandas(df, preserve_index=False).cast(pa.schema([
        ("area_pcode", pa.string()), ("population_group", pa.string()), ("w", pa.float64()),
        ("n", pa.float64()), ("water", pa.float64()), ("san", pa.string()),
        ("fcs", pa.float64()), ("oos", pa.float64())]))
    wh.backend.load_arrow("needs_hand", table)
    return NeedsSource("hand", "locations", wh.table("needs_hand"), "w", "n", "individuals",
                       SeverityRules.from_dict(rules), None, None)


def _row(df: pd.DataFrame, area: str, group: str, sector: str) -> pd.Series:
    hit = df[(df.area_pcode == area) & (df.population_group == group) & (df.sector == sector)]
    assert len(hit) == 1, (area, group, sector)
    return hit.iloc[0]


def test_household_scores_hand_computed(wh):
    from idpkit.areas.needs import scored

    src = _setup(wh)
    s = scored(src.table, src.rules, weight="w", size="n").execute()
    exp = _frame()
    for col, x in (("sev_wash", "x_wash"), ("sev_food", "x_food"), ("sev_edu", "x_edu"),
                   ("sev_intersectoral", "x_max")):
        got = pd.to_numeric(s[col], errors="coerce").to_numpy(dtype=float)
        want = pd.to_numeric(exp[x], errors="coerce").to_numpy(dtype=float)
        np.testing.assert_array_equal(got, want, err_msg=col)
    rules = {**RULES, "intersectoral": {"method": "mean_top", "top": 2}}
    r2 = SeverityRules.from_dict(rules)
    s2 = scored(src.table, r2, weight="w", size="n").execute()
    np.testing.assert_array_equal(s2.sev_intersectoral.to_numpy(dtype=float),
                                  exp.x_mean2.to_numpy(dtype=float))


def test_area_phase_rule_ties_missing_sectors_and_groups(wh):
    src = _setup(wh)
    res = compute(wh, src)
    sev, pin = res.severity, res.pin
    # A idps: wash [1,2,4,4] -> 50% at 4+ -> 4; food [1,3,-,4] -> 1/3 at 4 -> 4; edu 1/3 at 5
    assert _row(sev, A, "idps", "wash").phase == 4
    assert _row(sev, A, "idps", "food").phase == 4
    assert _row(sev, A, "idps", "food").records == 3
    assert _row(sev, A, "idps", "edu").phase == 5
    assert _row(sev, A, "idps", "intersectoral").phase == 5
    # ties: exactly 25% reaches the phase
    assert _row(sev, A, "host_community", "wash").phase == 3
    assert _row(sev, A, "host_community", "wash").share_phase_3 == pytest.approx(0.25)
    assert _row(sev, B, "idps", "wash").phase == 4  # 2 of 8 people (weights x sizes)
    assert _row(sev, B, "host_community", "wash").phase == 1  # 20% < 25%
    # a sector with no value at all is missing, never phase 1; people in need unknown
    food_b = _row(sev, B, "idps", "food")
    assert pd.isna(food_b.phase) and food_b.records == 0
    assert pd.isna(_row(pin, B, "idps", "food").people_in_need)
    # a group with no data has no rows (not phase 1)
    assert sev[(sev.area_pcode == B) & (sev.population_group == "returnees")].empty
    # people in need: people at phase 3 or worse (weight x size)
    assert _row(pin, A, "idps", "wash").people_in_need == 2
    assert _row(pin, A, "idps", "intersectoral").people_in_need == 3
    assert _row(pin, B, "idps", "wash").people_in_need == 2
    assert _row(pin, B, "idps", "wash").population == 8
    assert _row(pin, A, "host_community", "wash").people_in_need == 1


def test_roll_up_to_a_coarser_level(wh):
    src = _setup(wh)
    res = compute(wh, src, level=1)
    assert set(res.severity.area_pcode) == {"XQ01", "XQ02"}
    # XQ01 idps wash: A [1,2,4,4] pop 1 each + B 4 (pop 2) and 1 (pop 6) -> 4+ share 4/12
    r = _row(res.severity, "XQ01", "idps", "wash")
    assert r.share_phase_4 == pytest.approx(4 / 12) and r.phase == 4
    assert set(res.severity.admin_level) == {1}


def test_mean_top_matches_the_pandas_reference(wh):
    from idpkit.testing.demo_areas import household_needs, pandas_needs_reference

    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    df = household_needs(3000, [A, B, C], seed=3, clusters_per_area=3)
    rules = SeverityRules.load()
    rules.intersectoral.top = 2
    rules.intersectoral.method = "mean_top"
    df["population_group"] = df.pop_group.map({"IDP": "idps", "Returnee": "returnees",
                                               "Host community": "host_community"})
    wh.backend.load_arrow("needs_gen", pa.Table.from_pandas(df, preserve_index=False))
    src = NeedsSource("gen", "locations", wh.table("needs_gen").rename(area_pcode="pcode"),
                      "weight", "hh_size", "individuals", rules, None, None)
    res = compute(wh, src)
    ref_sev, ref_pin = pandas_needs_reference(df, rules, area="pcode", group="population_group",
                                              weight="weight", size="hh_size")
    got = res.severity[ref_sev.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.astype({"phase": "Int64"}), ref_sev, check_dtype=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(res.pin[ref_pin.columns].reset_index(drop=True), ref_pin,
                                  check_dtype=False, rtol=1e-9)


def _write_households(tmp_path: Path, n: int = 900) -> tuple[Path, Path]:
    from idpkit.testing.demo_areas import household_needs

    df = household_needs(n, [A, B, C], seed=5, clusters_per_area=4)
    csv = tmp_path / "msna.csv"
    df.to_csv(csv, index=False)
    return csv, FIX / "needs_spec_households.yaml"


def test_household_survey_people_in_need_with_design_based_cis(wh, tmp_path):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    csv, spec = _write_households(tmp_path)
    imp = import_needs(wh, csv, NeedsSpec.from_yaml(spec))
    assert imp.records == 900 and imp.kind == "households"
    res = analyse(wh, imp.source_id)
    pin = res.pin.dropna(subset=["people_in_need"])
    assert len(pin) and (pin.unit == "individuals").all()
    # the engine's CI is centred on its own point estimate, which must equal ours; a count's
    # CI is cut at 0: the lower bound is max(0, estimate - half-width), half-width from ci_high
    half = pin.ci_high - pin.people_in_need
    np.testing.assert_allclose(pin.ci_low, np.maximum(0.0, pin.people_in_need - half),
                               rtol=1e-9, atol=1e-9)
    assert ((pin.people_in_need - half) < 0).any()  # this survey has such small totals
    assert (pin.ci_low >= 0).all() and (pin.se > 0).all()
    # the same numbers as the pandas reference over the file
    from idpkit.testing.demo_areas import pandas_needs_reference

    df = pd.read_csv(csv)
    df["grp"] = df.pop_group.map({"IDP": "idps", "Returnee": "returnees",
                                  "Host community": "host_community"})
    _, ref = pandas_needs_reference(df, SeverityRules.load(), area="pcode", group="grp",
                                    weight="weight", size="hh_size")
    merged = ref.merge(res.pin, on=["area_pcode", "population_group", "sector"])
    assert len(merged) == len(ref)
    np.testing.assert_allclose(merged.people_in_need_x.fillna(-1),
                               merged.people_in_need_y.fillna(-1), rtol=1e-9)
    stored = wh.table("need_pin").count().execute()
    assert stored == len(res.pin)
    assert load_source(wh).source_id == "hh_test"


def test_rules_naming_missing_columns_import_nothing(wh, tmp_path):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    csv, spec = _write_households(tmp_path, 300)
    rules = SeverityRules.from_dict({"sectors": {"x": {"indicators": [
        {"column": "no_such_column", "at_least": {3: 1}}]}}})
    with pytest.raises(RulesError, match="no_such_column"):
        import_needs(wh, csv, NeedsSpec.from_yaml(spec), rules=rules)
    assert "survey_hh_test" not in wh.con.list_tables()
    assert int(wh.table("surveys").count().execute()) == 0
    assert int(wh.table("needs_sources").count().execute()) == 0


def test_locations_import_names_file_row_and_column(wh, tmp_path):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    from idpkit.areas.needs import NeedsImportError

    df = pd.DataFrame({"pcode": [A, "XQ9999", B], "group": ["IDPs", "Host community", "martians"],
                       "people": [100, 200, "lots"], "water_lpd": [10, 20, 30]})
    for c in SeverityRules.load().columns():
        if c not in df:
            df[c] = np.nan
    path = tmp_path / "ki.csv"
    df.to_csv(path, index=False)
    spec = NeedsSpec.from_dict({"needs": {"id": "ki", "kind": "locations", "area": "pcode",
                                          "group": "group", "size": "people"}})
    with pytest.raises(NeedsImportError) as exc:
        import_needs(wh, path, spec)
    found = {(f.code, f.row, f.column) for f in exc.value.findings}
    assert ("unknown-pcode", 3, "pcode") in found
    assert ("unknown-group", 4, "group") in found
    assert ("non-numeric-count", 4, "people") in found
    assert all(f.file == "ki.csv" for f in exc.value.findings)
    assert "needs_ki" not in wh.con.list_tables()


@pytest.mark.parametrize("bad, message", [
    ({"sectors": {"w": {"indicators": [{"column": "x", "below": {2: 5, 3: 10}}]}}}, "stricter"),
    ({"sectors": {"w": {"indicators": [{"column": "x", "below": {2: 5}, "values": {1: 2}}]}}},
     "exactly one"),
    ({"sectors": {"w": {"indicators": [{"column": "x", "values": {"a": 7}}]}}}, "1-5"),
    ({"sectors": {"intersectoral": {"indicators": [{"column": "x", "values": {"a": 2}}]}}},
     "reserved"),
    ({"sectors": {}}, "sectors"),
    ({"area_rule": {"threshold": 0}, "sectors": {"w": {"indicators": [
        {"column": "x", "values": {"a": 2}}]}}}, "threshold"),
])
def test_invalid_rules_are_refused_with_their_place(bad, message):
    with pytest.raises(RulesError, match=message):
        SeverityRules.from_dict(bad, location="rules.yaml")


def test_shipped_rules_load_and_round_trip():
    r = SeverityRules.load()
    assert len(r.sectors) == 6
    again = SeverityRules.from_text(r.to_text())
    assert again == r
    assert yaml.safe_load(r.to_text())["area_rule"]["threshold"] == 0.25


KOBO_RULES = """
sectors:
  protection:
    indicators:
      - column: felt_unsafe          # a Kobo select_one yes_no question
        values: {yes: 4, No: 2}
"""


def test_kobo_yes_no_answers_match_rules_keys(wh):
    from idpkit.areas.needs import scored

    rules = SeverityRules.from_text(KOBO_RULES)
    # answers as Kobo exports them (any case, stray spaces); expected phases by the rule read as
    # text: yes -> 4, no -> 2, any other answer -> `otherwise` (1), empty -> missing
    answers = ["yes", "No", "YES ", " no", "maybe", None]
    expected = [4, 2, 4, 2, 1, np.nan]
    wh.backend.load_arrow("kobo", pa.table({"felt_unsafe": pa.array(answers, pa.string()),
                                            "flag": pa.array([True, False, True, False, None,
                                                              None], pa.bool_())}))
    got = scored(wh.table("kobo"), rules, weight=None, size=None).execute()
    np.testing.assert_array_equal(got.sev_protection.to_numpy(dtype=float), expected)
    # the same rule over a column a reader turned into booleans: True is yes, False is no
    flags = SeverityRules.from_text(KOBO_RULES.replace("felt_unsafe", "flag"))
    got = scored(wh.table("kobo"), flags, weight=None, size=None).execute()
    np.testing.assert_array_equal(got.sev_protection.to_numpy(dtype=float),
                                  [4, 2, 4, 2, np.nan, np.nan])
    # stored rules keep the words through their own round trip
    assert SeverityRules.from_text(rules.to_text()) == rules


YAML_BOOLEAN_WORDS = ["yes", "no", "on", "off", "true", "false"]


def _any_case(draw, word: str) -> str:
    from hypothesis import strategies as st

    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if f else c for c, f in zip(word, flips, strict=True))


@pytest.mark.core
def test_yaml_boolean_words_in_rules_match_answers_in_any_case():
    import ibis
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from idpkit.areas.needs import scored

    con = ibis.duckdb.connect()

    @st.composite
    def case(draw):
        k1, k2 = draw(st.lists(st.sampled_from(YAML_BOOLEAN_WORDS), min_size=2, max_size=2,
                               unique=True))
        keys = [_any_case(draw, k1), _any_case(draw, k2)]
        picks = draw(st.lists(st.sampled_from([0, 1]), min_size=1, max_size=6))
        pad = st.sampled_from(["", " ", "  "])
        answers = [draw(pad) + _any_case(draw, (k1, k2)[i]) + draw(pad) for i in picks]
        return keys, picks, answers

    @settings(max_examples=25, deadline=None)
    @given(case())
    def check(c):
        keys, picks, answers = c
        text = (f"sectors:\n  s:\n    indicators:\n      - column: q\n"
                f"        values: {{{keys[0]}: 5, {keys[1]}: 3}}\n")
        rules = SeverityRules.from_text(text)
        # expected: the answer's word, whatever its case and spaces, gets its key's phase
        expected = [(5, 3)[i] for i in picks]
        t = ibis.memtable(pa.table({"q": pa.array(answers, pa.string())}))
        got = con.execute(scored(t, rules, weight=None, size=None).select("sev_s"))
        assert got.sev_s.astype(int).tolist() == expected

    check()


@pytest.mark.parametrize("seed, bad", [(1, ""), (2, "five"), (3, "-2")])
def test_household_with_blank_or_bad_size_refuses_the_import(wh, tmp_path, seed, bad):
    from idpkit.areas.needs import NeedsImportError

    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    csv, spec = _write_households(tmp_path, 300)
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    rows = sorted(np.random.default_rng(seed).choice(len(df), size=3, replace=False))
    df.loc[rows, "hh_size"] = bad
    df.to_csv(csv, index=False)
    with pytest.raises(NeedsImportError, match="nothing was imported") as info:
        import_needs(wh, csv, NeedsSpec.from_yaml(spec))
    # the rows as a text editor shows them: the header is line 1, data row i is line i + 2
    code = "negative-count" if bad.startswith("-") else "non-numeric-count"
    assert {(f.code, f.row, f.column) for f in info.value.findings} == \
        {(code, int(r) + 2, "hh_size") for r in rows}
    # all or nothing: neither the survey nor the needs source was stored
    assert int(wh.table("surveys").count().execute()) == 0
    assert int(wh.table("needs_sources").count().execute()) == 0


def _mean_top_pandas(df: pd.DataFrame, top: int) -> pd.Series:
    """Mean of the `top` highest sector phases with a value, rounded half up (NaN: none)."""
    phases = df[["x_wash", "x_food", "x_edu"]].astype(float).to_numpy()
    srt = -np.sort(-np.nan_to_num(phases, nan=-np.inf), axis=1)[:, :top]
    srt = np.where(np.isinf(srt), np.nan, srt)
    mean = np.nanmean(np.where(np.isnan(srt).all(axis=1, keepdims=True), 0, srt), axis=1)
    return pd.Series(np.floor(mean + 0.5), index=df.index).where(~np.isnan(phases).all(axis=1))


@pytest.mark.parametrize("method", ["mean_top", "max"])
def test_sector_pin_above_intersectoral_is_reported_under_mean_top(wh, method):
    rules = {**RULES, "intersectoral": {"method": method, "top": 3}}
    res = compute(wh, _setup(wh, rules))
    # independently: per household the sector phases of ROWS and the inter-sectoral score
    # (mean_top in pandas, or the max), PiN = sum of weight x size at phase 3 or worse, then every
    # (area, group, sector) whose PiN exceeds the inter-sectoral PiN
    df = _frame()
    df["pop"] = df.w * df.n
    df["x_inter"] = _mean_top_pandas(df, 3) if method == "mean_top" else \
        df[["x_wash", "x_food", "x_edu"]].astype(float).max(axis=1)
    pin = {c: df[df[c].astype(float) >= 3].groupby(["pcode", "grp"]).pop.sum()
           for c in ("x_wash", "x_food", "x_edu", "x_inter")}
    inter = pin["x_inter"]
    expected = {(a, g, c[2:], float(v), float(inter.get((a, g), 0.0)))
                for c in ("x_wash", "x_food", "x_edu") for (a, g), v in pin[c].items()
                if v > inter.get((a, g), 0.0)}
    if method == "mean_top":
        assert expected == {(C, "returnees", "edu", 2.0, 1.0)}  # [2,1,3] averages to 2
    else:
        assert expected == set()  # max: never below a sector
    got = {(f.area_pcode, f.population_group, f.sector, f.people, f.compared_with)
           for f in res.warnings if f.code == "sector-pin-exceeds-intersectoral"}
    assert got == expected
    for f in res.warnings:
        assert f.severity == "warning" and f.area_pcode in f.message


STOCK_CSV = """Date,Admin 2 Pcode,IDPs (ind),Returnees (ind)
#date+reported,#adm2+code,#affected+idps+ind,#affected+returnees+ind
2025-06-01,XQ0101,2,1
2025-06-01,XQ0201,5,5
"""


def test_pin_above_the_groups_stock_in_the_area_is_reported(wh, tmp_path):
    from idpkit.ingest.pipeline import IngestOptions, ingest_file

    src = _setup(wh)  # max rules
    path = tmp_path / "stock.csv"
    path.write_text(STOCK_CSV, encoding="utf-8")
    assert ingest_file(wh, path, IngestOptions(country="XQA")).status == "imported"
    res = compute(wh, src)
    # independently, from ROWS: inter-sectoral (max) PiN = people (w x n) at phase 3 or worse,
    # needs population = people with any sector scored; compared with the stock of the file
    df = _frame()
    df["pop"] = df.w * df.n
    g = df.assign(need=df["pop"].where(df.x_max.astype(float) >= 3, 0.0)).groupby(["pcode", "grp"])
    stock = {(A, "idps"): 2.0, (A, "returnees"): 1.0, (C, "idps"): 5.0, (C, "returnees"): 5.0}
    expected = {(a, grp, col, float(v), stock[(a, grp)])
                for col, series in (("people_in_need", g.need.sum()),
                                    ("population", g["pop"].sum()))
                for (a, grp), v in series.items() if (a, grp) in stock and v > stock[(a, grp)]}
    assert expected == {(A, "idps", "people_in_need", 3.0, 2.0), (A, "idps", "population", 4.0,
                                                                   2.0)}
    got = {(f.area_pcode, f.population_group, f.column, f.people, f.compared_with)
           for f in res.warnings if f.code == "pin-exceeds-stock"}
    assert got == expected
    assert all("XQ0101" in f.message and "idps" in f.message for f in res.warnings)
    # a stock that covers only part of a coarser area is no ceiling: nothing at admin 1
    assert not [f for f in compute(wh, src, level=1).warnings if f.code == "pin-exceeds-stock"]


def test_stored_records_without_size_are_reported_not_silently_dropped(wh):
    src = _setup(wh)
    wh.execute_atomically(["UPDATE needs_hand SET n = NULL WHERE area_pcode = 'XQ0201' "
                           "AND fcs = 40.0"])  # two of C's three rows (ROWS: fcs 40 twice)
    res = compute(wh, src)
    hit = [f for f in res.warnings if f.code == "non-numeric-count"]
    assert len(hit) == 1 and hit[0].severity == "warning" and "2 record(s)" in hit[0].message
    assert hit[0].column == "n"
