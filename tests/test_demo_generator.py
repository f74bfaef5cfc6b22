"""The demo operation generator: determinism, exact accounting, file shapes, injected errors."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from idpkit.testing.demo import (
    DemoOperation,
    generate_operation,
    write_large_gazetteer_csv,
    write_large_observations_csv,
)
from idpkit.testing.demo_files import BASELINE_COLUMNS, BASELINE_SHEET, FLOW_COLUMNS, SITE_COLUMNS
from idpkit.testing.demo_large import LARGE_COLUMNS, LARGE_HXL

PLACEHOLDERS = {"-", "n/a", "Not available", ""}


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> DemoOperation:
    return generate_operation(tmp_path_factory.mktemp("demo") / "zedland")


@pytest.fixture(scope="module")
def truth(op: DemoOperation) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p, keep_default_na=False, dtype={"row": "Int64"}) for p in op.truth_dir.glob("*.csv")}


@pytest.fixture(scope="module")
def error_rows(truth: dict[str, pd.DataFrame]) -> set[tuple[str, int]]:
    """The extra rows that are not in the truth: errors, and rows at an unknown place (warnings,
    kept by idpkit, so they count nobody)."""
    e = truth["injected_errors"]
    extra = (e["severity"] == "error") | e["code"].isin(["pcode_typo", "pcode_unknown",
                                                         "unknown_location"])
    return set(zip(e.loc[extra, "file"], e.loc[extra, "row"].astype(int)))


def read_csv_lines(path: Path) -> list[list[str]]:
    """A demo CSV as the user sees it: encoding and delimiter sniffed, one list per line."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    delim = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))


def baseline_sheet(path: Path) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["Summary", BASELINE_SHEET, "Methodology"]
    return wb.get_sheet_by_name(BASELINE_SHEET).to_python(skip_empty_area=False)


def num(v: object) -> int:
    """Cell value as a count; placeholders are missing (0 for sums)."""
    if isinstance(v, str) and v.strip() in PLACEHOLDERS:
        return 0
    return int(float(v))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- truth
def test_same_seed_same_bytes(op: DemoOperation, tmp_path: Path) -> None:
    again = generate_operation(tmp_path / "again")
    for name in ("stocks.csv", "flows.csv", "od.csv", "injected_errors.csv", "file_totals.csv"):
        assert (op.truth_dir / name).read_bytes() == (again.truth_dir / name).read_bytes(), name
    for a, b in zip(op.site_files + op.flow_files, again.site_files + again.flow_files):
        assert a.read_bytes() == b.read_bytes()


def test_other_seed_differs(op: DemoOperation, tmp_path: Path) -> None:
    other = generate_operation(tmp_path / "other", seed=8, rounds=3)
    assert (op.truth_dir / "stocks.csv").read_bytes() != (other.truth_dir / "stocks.csv").read_bytes()
    assert len(other.baseline_files) == 3


def test_accounting_identity(truth: dict[str, pd.DataFrame]) -> None:
    stocks, flows, od = truth["stocks"], truth["flows"], truth["od"]
    assert set(stocks["population_group"]) == {"idps", "returnees"}
    assert set(flows["flow"]) == {"new_displacement", "arrivals", "departures", "secondary_displacement",
                                  "returns"}
    assert (stocks["value"] > 0).all() and (flows["value"] > 0).all()
    ind = stocks[stocks["unit"] == "individuals"]
    s = ind.set_index(["adm3_pcode", "reference_date", "population_group", "cause"])["value"].to_dict()
    dates = sorted(ind["reference_date"].unique())
    assert len(dates) == 12
    f = flows.groupby(["adm3_pcode", "to_date", "population_group", "flow", "cause"])["value"].sum().to_dict()
    locs = set(ind["adm3_pcode"]) | set(flows["adm3_pcode"])
    checked = 0
    for prev, cur in zip(dates, dates[1:]):
        for loc in locs:
            for cause in ("conflict", "disaster"):
                before, after = s.get((loc, prev, "idps", cause), 0), s.get((loc, cur, "idps", cause), 0)
                arr = f.get((loc, cur, "idps", "arrivals", cause), 0)
                dep = f.get((loc, cur, "idps", "departures", cause), 0)
                assert after == before + arr - dep, (loc, cur, cause)
                assert f.get((loc, cur, "idps", "secondary_displacement", cause), 0) <= dep
                checked += 1
            r0, r1 = s.get((loc, prev, "returnees", "unknown"), 0), s.get((loc, cur, "returnees", "unknown"), 0)
            assert r1 == r0 + f.get((loc, cur, "returnees", "returns", "unknown"), 0)
    assert checked > 1000

    # od.csv is the same movements, person by person
    mv = od[od["flow"] != "returns"].groupby(["destination_adm3_pcode", "to_date", "cause"])["value"].sum()
    arrivals = flows[flows["flow"] == "arrivals"].set_index(["adm3_pcode", "to_date", "cause"])["value"]
    pd.testing.assert_series_equal(mv.sort_index(), arrivals.sort_index(), check_names=False)
    out = od[od["flow"] != "new_displacement"].groupby(["origin_adm3_pcode", "to_date", "cause"])["value"].sum()
    deps = flows[flows["flow"] == "departures"].set_index(["adm3_pcode", "to_date", "cause"])["value"]
    pd.testing.assert_series_equal(out.sort_index(), deps.sort_index(), check_names=False)
    new = od[od["flow"] == "new_displacement"].groupby(["origin_adm3_pcode", "to_date", "cause"])["value"].sum()
    nd = flows[flows["flow"] == "new_displacement"].set_index(["adm3_pcode", "to_date", "cause"])["value"]
    pd.testing.assert_series_equal(new.sort_index(), nd.sort_index(), check_names=False)
    assert (od["origin_adm3_pcode"] != od["destination_adm3_pcode"]).all()

    # stock by origin sums to the stock; households never exceed individuals
    by_origin = truth["stocks_by_origin"].groupby(["adm3_pcode", "reference_date", "cause"])["value"].sum()
    idp_ind = ind[ind["population_group"] == "idps"].set_index(["adm3_pcode", "reference_date", "cause"])["value"]
    pd.testing.assert_series_equal(by_origin.sort_index(), idp_ind.sort_index(), check_names=False)
    wide = stocks.pivot_table(index=["adm3_pcode", "reference_date", "population_group", "cause"],
                              columns="unit", values="value", fill_value=0)
    assert (wide["households"] <= wide["individuals"]).all()


# ---------------------------------------------------------------------------------------------- files
def test_gazetteer_and_boundaries(op: DemoOperation) -> None:
    lines = op.gazetteer_csv.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Location,Admin Level,P-Code,Name,Parent P-Code,Valid from date"
    assert lines[1] == "#country+code,#geo+admin_level,#adm+code,#adm+name,#adm+code+parent,#date+start"
    gz = pd.read_csv(op.gazetteer_csv, skiprows=[1], encoding="utf-8-sig")
    assert gz.groupby("Admin Level").size().to_dict() == {1: 4, 2: 20, 3: 240}
    assert (gz["Location"] == "ZDL").all() and (gz.loc[gz["Admin Level"] == 1, "Parent P-Code"] == "ZDL").all()
    a3 = gz[gz["Admin Level"] == 3]
    assert a3["P-Code"].str.fullmatch(r"ZD\d{6}").all()
    assert (a3["P-Code"].str[:6] == a3["Parent P-Code"]).all()
    assert not a3.duplicated(["Parent P-Code", "Name"]).any()
    assert a3["Name"].duplicated().any()  # a few names repeat under other admin 2s

    def area(ring: list[list[float]]) -> float:
        x, y = np.array(ring).T
        return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))

    areas: dict[int, dict[str, float]] = {}
    for level, path in op.boundaries.items():
        fc = json.loads(path.read_text(encoding="utf-8"))
        assert fc["type"] == "FeatureCollection"
        areas[level] = {}
        for feat in fc["features"]:
            p = feat["properties"]
            assert {f"adm{level}_pcode", f"adm{level}_name", f"adm{level - 1}_pcode",
                    f"admin{level}Pcode", f"admin{level}Name"} <= set(p)
            g = feat["geometry"]
            ring = g["coordinates"][0][0] if g["type"] == "MultiPolygon" else g["coordinates"][0]
            assert ring[0] == ring[-1] and area(ring) > 0  # closed, counter-clockwise
            areas[level][p[f"adm{level}_pcode"]] = area(ring)
    for level in (2, 3):  # children tile their parent
        sums: dict[str, float] = defaultdict(float)
        for code, a in areas[level].items():
            sums[code[: 2 + 2 * (level - 1)]] += a
        for parent, a in sums.items():
            assert a == pytest.approx(areas[level - 1][parent], rel=1e-5)


def test_baseline_files_match_truth(op: DemoOperation, truth: dict[str, pd.DataFrame],
                                    error_rows: set[tuple[str, int]]) -> None:
    stocks = truth["stocks"]
    totals = truth["file_totals"].set_index(["file", "adm1_pcode", "population_group", "unit"])["value"]
    dates = sorted(stocks["reference_date"].unique())
    serial_seen = date_seen = False
    for t, path in enumerate(op.baseline_files):
        rows = baseline_sheet(path)
        h = next(i for i, r in enumerate(rows) if r[0] == "Snapshot date")
        assert h in (2, 3) and all(str(c).startswith("#") for c in rows[h + 1])
        assert [c.replace("P-code", "Pcode") for c in rows[h]] == [c for c, _ in BASELINE_COLUMNS]
        got: dict[tuple[str, str], int] = defaultdict(int)
        file_tot: dict[tuple[str, str, str], int] = defaultdict(int)
        seen_keys = set()
        for i, r in enumerate(rows[h + 2 :], start=h + 3):  # Excel row numbers
            if (path.name, i) in error_rows:
                continue
            key = tuple(map(str, r))
            if key in seen_keys:
                pytest.fail(f"{path.name} row {i}: an undeclared duplicate")
            seen_keys.add(key)
            serial_seen |= isinstance(r[0], float)
            date_seen |= not isinstance(r[0], float)
            pc, adm1 = r[7], r[3]
            ind, conf, flood = num(r[9]), num(r[10]), num(r[11])
            assert ind == conf + flood
            if not (isinstance(r[12], str) and r[12] in PLACEHOLDERS):
                assert num(r[12]) + num(r[13]) == ind
            for key2, v in (("idps|individuals", ind), ("idps|households", num(r[8])),
                            ("returnees|individuals", num(r[14])), ("returnees|households", num(r[15]))):
                got[(pc, key2)] += v
                g, u = key2.split("|")
                file_tot[(adm1, g, u)] += v
        want = stocks[stocks["reference_date"] == dates[t]].groupby(["adm3_pcode", "population_group", "unit"])[
            "value"].sum()
        want_d = {(pc, f"{g}|{u}"): int(v) for (pc, g, u), v in want.items()}
        assert {k: v for k, v in got.items() if v} == want_d, path.name
        for (adm1, g, u), v in file_tot.items():
            assert totals[(path.name, adm1, g, u)] == v
    assert serial_seen and date_seen


def test_site_files(op: DemoOperation, truth: dict[str, pd.DataFrame], error_rows: set[tuple[str, int]]) -> None:
    site_stocks = truth["site_stocks"].set_index(["site_id", "reference_date", "unit"])["value"].to_dict()
    sites = truth["sites"].set_index("site_id")
    assert set(sites["site_type"]) <= {"camp", "collective_centre", "informal_settlement"}
    assert 20 <= len(sites) <= 30
    quads = {
        f["properties"]["adm3_pcode"]: np.array(f["geometry"]["coordinates"][0][:4])
        for f in json.loads(op.boundaries[3].read_text(encoding="utf-8"))["features"]
    }
    for sid, s in sites.iterrows():  # inside the (convex) polygon of its admin 3
        q = quads[s["adm3_pcode"]]
        e, p = np.roll(q, -1, axis=0) - q, np.array([s["longitude"], s["latitude"]]) - q
        assert (e[:, 0] * p[:, 1] - e[:, 1] * p[:, 0] > 0).all(), sid
    dates = sorted(truth["stocks"]["reference_date"].unique())
    delims = set()
    for t, path in enumerate(op.site_files):
        lines = read_csv_lines(path)
        delims.add(";" if b";" in path.read_bytes().splitlines()[0] else ",")
        assert lines[0] == [c for c, _ in SITE_COLUMNS] and lines[1] == [x for _, x in SITE_COLUMNS]
        n = 0
        for i, r in enumerate(lines[2:], start=3):
            if (path.name, i) in error_rows:
                continue
            assert site_stocks[(r[0], dates[t], "individuals")] == int(r[13])
            assert site_stocks[(r[0], dates[t], "households")] == int(r[12])
            n += 1
        assert n == sum(1 for k in site_stocks if k[1] == dates[t] and k[2] == "individuals")
    assert delims == {",", ";"}
    assert any("É" in p.read_bytes().decode("cp1252") for p in op.site_files if b"\xc9" in p.read_bytes())


def test_flow_file_matches_od(op: DemoOperation, truth: dict[str, pd.DataFrame],
                              error_rows: set[tuple[str, int]]) -> None:
    gz = pd.read_csv(op.gazetteer_csv, skiprows=[1], encoding="utf-8-sig")
    a1 = gz[gz["Admin Level"] == 1].set_index("P-Code")["Name"]
    a2 = gz[gz["Admin Level"] == 2]
    code_of = {(a1[p], n): c for c, n, p in zip(a2["P-Code"], a2["Name"], a2["Parent P-Code"])}
    path = op.flow_files[0]
    lines = read_csv_lines(path)
    assert lines[0] == [c for c, _ in FLOW_COLUMNS] and lines[1] == [x for _, x in FLOW_COLUMNS]
    got: dict[tuple[str, str, str], int] = defaultdict(int)
    with_code = 0
    for i, r in enumerate(lines[2:], start=3):
        if (path.name, i) in error_rows:
            continue
        dest = code_of[(r[3], r[4])]
        if r[5]:
            assert r[5] == dest
            with_code += 1
        got[(r[0][:7], code_of[(r[1], r[2])], dest)] += int(r[6])
    assert 0.3 < with_code / (len(lines) - 2) < 0.7
    od = truth["od"]
    od = od[od["flow"] != "returns"]
    want = od.groupby([od["to_date"].str[:7], od["origin_adm3_pcode"].str[:6],
                       od["destination_adm3_pcode"].str[:6]])["value"].sum()
    assert dict(got) == {k: int(v) for k, v in want.items()}


def test_injected_errors_are_where_stated(op: DemoOperation, truth: dict[str, pd.DataFrame]) -> None:
    errors = truth["injected_errors"]
    required = {"pcode_typo", "negative_value", "non_numeric", "placeholder_missing", "duplicate_row",
                "households_exceed_individuals", "sex_sum_exceeds_total", "value_jump", "formula_injection"}
    assert required <= set(errors["code"])
    files = {p.name: p for p in op.all_assessment_files()}
    assert len(files) == 25 and op.all_assessment_files()[0].name == "baseline_round_01.xlsx"
    cache: dict[str, list[list[object]]] = {}
    for e in errors.itertuples(index=False):
        path = files[e.file]
        if e.file not in cache:
            cache[e.file] = baseline_sheet(path) if path.suffix == ".xlsx" else read_csv_lines(path)  # type: ignore
        rows = cache[e.file]
        header_idx = next(i for i, r in enumerate(rows) if r and r[0] in ("Snapshot date", "Site ID", "Date"))
        row = rows[int(e.row) - 1]
        if e.code == "duplicate_row":
            assert row in rows[header_idx + 2 : int(e.row) - 1] + rows[int(e.row) :]
            continue
        cell = row[rows[header_idx].index(e.column)]
        if isinstance(cell, float):
            assert cell == float(e.value), e
        else:
            assert str(cell) == e.value, e
    jump = errors[errors["code"] == "value_jump"]
    assert (jump["severity"] == "warning").all() and len(jump) >= 1


def test_file_totals_cover_every_file(op: DemoOperation, truth: dict[str, pd.DataFrame]) -> None:
    ft = truth["file_totals"]
    assert set(ft["file"]) == {p.name for p in op.all_assessment_files()}
    assert (ft["value"] >= 0).all()


# --------------------------------------------------------------------------------------------- large
def test_large_observations_csv(tmp_path: Path) -> None:
    path = write_large_observations_csv(tmp_path / "big.csv", 50_000, chunk_rows=20_000)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == LARGE_COLUMNS and lines[1] == LARGE_HXL
    assert len(lines) == 50_002
    df = pd.read_csv(path, skiprows=[1], dtype=str, keep_default_na=False)
    assert len(df) == 50_000 and df["id"].astype(int).is_unique
    gz = pd.read_csv(write_large_gazetteer_csv(tmp_path / "gz.csv"), skiprows=[1], encoding="utf-8-sig")
    assert gz.groupby("Admin Level").size().to_dict() == {1: 20, 2: 1000}
    known = set(gz["P-Code"])
    bad_code = ~df["admin2Pcode"].isin(known)
    assert 0 < bad_code.sum() < 500 and set(df["admin1Pcode"]) <= known
    nonnum = ~df["numPresentIdpInd"].str.fullmatch(r"-?\d+")
    assert 0 < nonnum.sum() < 500
    again = write_large_observations_csv(tmp_path / "big2.csv", 50_000, chunk_rows=20_000)
    assert again.read_bytes() == path.read_bytes()
