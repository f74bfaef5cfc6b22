"""Workbooks that split one table over several sheets (per state, per group) beside summary and
methodology sheets: every part imported into one dataset, summaries never (no double counting)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from conftest import dataset_rows
from idpkit.errors import IdpkitError
from idpkit.ingest.pipeline import IngestOptions, ingest_file

HEAD = ["State", "State Pcode", "LGA", "LGA Pcode", "IDP Individuals", "IDP Households",
        "Date of survey"]
STATES = {
    "Adamawa": ("NG002", [("Demsa", "NG002001"), ("Fufore", "NG002002"), ("Ganye", "NG002003")]),
    "Borno": ("NG008", [("Abadam", "NG008001"), ("Askira/Uba", "NG008002")]),
    "Yobe": ("NG036", [("Bade", "NG036001"), ("Bursari", "NG036002"), ("Damaturu", "NG036003")]),
}


def _state_rows(state: str, base: int) -> list[list[object]]:
    pcode, lgas = STATES[state]
    return [[state, pcode, name, code, base + 100 * k, (base + 100 * k) // 5, "2021-07-30"]
            for k, (name, code) in enumerate(lgas)]


def _per_state_workbook(path: Path, *, total_sheet: bool = False,
                        extra_rows: dict[str, list[list[object]]] | None = None) -> dict[str, list]:
    """Summary, Methodology, one sheet per state (Borno with title rows and its columns in
    another order). Returns the data rows written per state sheet (in HEAD's order)."""
    extra_rows = extra_rows or {}
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    written = {s: _state_rows(s, 1000 * (i + 1)) + extra_rows.get(s, [])
               for i, s in enumerate(STATES)}
    summary.append(["State", "State Pcode", "IDP Individuals", "IDP Households"])
    for s, rows in written.items():
        summary.append([s, STATES[s][0], sum(r[4] for r in rows if isinstance(r[4], int) and r[4] > 0),
                        sum(r[5] for r in rows if isinstance(r[5], int) and r[5] > 0)])
    meth = wb.create_sheet("Methodology")
    for line in ("Baseline assessment, round 38", "Key informants at LGA level", "Contact: DTM"):
        meth.append([line])
    for s, rows in written.items():
        ws = wb.create_sheet(s)
        if s == "Borno":  # title rows, then the columns in another order
            ws.append(["DTM Nigeria - Borno state"])
            ws.append(["Round 38, July 2021"])
            ws.append([])
            order = [4, 5, 6, 3, 2, 1, 0]
            ws.append([HEAD[j] for j in order])
            for r in rows:
                ws.append([r[j] for j in order])
        else:
            ws.append(HEAD)
            for r in rows:
                ws.append(r)
    if total_sheet:
        ws = wb.create_sheet("All states")
        ws.append(HEAD)
        for rows in written.values():
            for r in rows:
                ws.append(r)
    wb.save(path)
    return written


def _obs(wh, dataset_id: str) -> pd.DataFrame:
    return dataset_rows(wh, "observations", dataset_id)


def _issues(wh, dataset_id: str) -> pd.DataFrame:
    return dataset_rows(wh, "issues", dataset_id)


def _expected_by_state(written: dict[str, list]) -> dict[str, float]:
    return {STATES[s][0]: float(sum(r[4] for r in rows)) for s, rows in written.items()}


def test_per_state_sheets_imported_summary_and_methodology_not(wh, tmp_path):
    f = tmp_path / "baseline_per_state.xlsx"
    written = _per_state_workbook(f)
    r = ingest_file(wh, f)
    assert set(r.sheet.split("; ")) == {"Adamawa", "Borno", "Yobe"}
    n = sum(len(v) for v in written.values())
    assert r.rows_read == n == r.rows_accepted + r.rows_quarantined and r.rows_quarantined == 0
    o = _obs(wh, r.dataset_id)
    ind = o[(o.unit == "individuals") & (o.sex == "all")]
    assert ind.groupby("adm1_pcode").value.sum().to_dict() == _expected_by_state(written)
    # each observation keeps its sheet and row as the user sees them (Borno: 4 lines above data)
    borno = ind[ind.source_sheet == "Borno"].set_index("adm2_pcode")
    assert borno.source_row.to_dict() == {"NG008001": 5, "NG008002": 6}
    assert set(ind[ind.source_sheet == "Adamawa"].source_row) == {2, 3, 4}
    assert any("'Summary' not imported" in x for x in r.notes)
    assert any("Methodology" in x for x in r.notes)
    ds = wh.table("datasets").execute()
    assert len(ds) == 1 and int(ds.rows_read.iloc[0]) == n  # one dataset, one transaction


def test_total_sheet_beside_the_parts_is_not_added(wh, tmp_path):
    f = tmp_path / "baseline_with_total.xlsx"
    written = _per_state_workbook(f, total_sheet=True)
    r = ingest_file(wh, f)
    o = _obs(wh, r.dataset_id)
    ind = o[(o.unit == "individuals") & (o.sex == "all")]
    assert ind.groupby("adm1_pcode").value.sum().to_dict() == _expected_by_state(written)
    assert r.rows_read == sum(len(v) for v in written.values())
    assert any("repeat places" in x for x in r.notes)


def test_errors_duplicates_across_sheets(wh, tmp_path):
    bad = ["Borno", "NG008", "Abadam", "NG008001", -5, 1, "2021-07-30"]
    dup = _state_rows("Adamawa", 1000)[0]  # the same row again, in the Yobe sheet
    f = tmp_path / "with_errors.xlsx"
    written = _per_state_workbook(f, extra_rows={"Borno": [bad], "Yobe": [dup]})
    r = ingest_file(wh, f)
    n = sum(len(v) for v in written.values())
    assert r.rows_read == n and r.rows_quarantined == 2 and r.rows_accepted == n - 2
    iss = _issues(wh, r.dataset_id)
    neg = iss[iss.code == "negative-count"]
    assert list(zip(neg.sheet, neg.row)) == [("Borno", 7)]
    d = iss[iss.code == "duplicate-row"]
    assert list(zip(d.sheet, d.row)) == [("Yobe", 5)]
    assert "row 2 of sheet 'Adamawa'" in d.message.iloc[0]
    q = wh.table("quarantine").execute()
    assert sorted(zip(q.source_sheet, q.source_row)) == [("Borno", 7), ("Yobe", 5)]
    o = _obs(wh, r.dataset_id)
    ind = o[(o.unit == "individuals") & (o.sex == "all")]
    exp = {STATES[s][0]: float(sum(x[4] for x in rows[:len(STATES[s][1])]))
           for s, rows in written.items()}
    assert ind.groupby("adm1_pcode").value.sum().to_dict() == exp


def test_jumps_found_in_any_sheet(wh, tmp_path):
    prev = tmp_path / "previous.csv"
    prev.write_text("State Pcode,LGA Pcode,IDP Individuals,Date of survey\n"
                    "NG008,NG008002,200,2021-05-31\nNG002,NG002002,1100,2021-05-31\n",
                    encoding="utf-8")
    ingest_file(wh, prev)
    f = tmp_path / "later.xlsx"
    _per_state_workbook(f)
    r = ingest_file(wh, f)
    j = _issues(wh, r.dataset_id)
    j = j[j.code == "value-jump"]
    # Askira/Uba: 200 -> 2100 (×10.5) in the Borno sheet, row 6; Fufore 1100 -> 1100 not flagged
    assert list(zip(j.sheet, j.row)) == [("Borno", 6)]


def test_per_group_sheets(wh, tmp_path):
    f = tmp_path / "groups.xlsx"
    wb = Workbook()
    head = ["LGA Pcode", "LGA", "Individuals", "Households", "Date"]
    data = {"IDPs": [["NG002001", "Demsa", 500, 100, "2021-07-30"],
                     ["NG002002", "Fufore", 700, 140, "2021-07-30"]],
            "Returnees": [["NG002001", "Demsa", 90, 18, "2021-07-30"],
                          ["NG002003", "Ganye", 40, 8, "2021-07-30"]]}
    wb.active.title = "Read me"
    wb.active.append(["Individuals and households by group; see each sheet"])
    for name, rows in data.items():
        ws = wb.create_sheet(name)
        ws.append(head)
        for r in rows:
            ws.append(r)
    wb.save(f)
    r = ingest_file(wh, f)
    assert set(r.sheet.split("; ")) == {"IDPs", "Returnees"}
    assert r.rows_read == 4 == r.rows_accepted
    o = _obs(wh, r.dataset_id)
    got = o.groupby(["population_group", "unit"]).value.sum().to_dict()
    assert got == {("idps", "individuals"): 1200.0, ("idps", "households"): 240.0,
                   ("returnees", "individuals"): 130.0, ("returnees", "households"): 26.0}
    ret = o[o.population_group == "returnees"]
    assert set(ret.source_sheet) == {"Returnees"} and set(ret.source_row) == {2, 3}


def test_sheet_option_restricts(wh, tmp_path):
    f = tmp_path / "pick.xlsx"
    written = _per_state_workbook(f)
    r = ingest_file(wh, f, IngestOptions(sheet="Borno"))
    assert r.sheet == "Borno" and r.rows_read == len(written["Borno"])
    r2 = ingest_file(wh, f, IngestOptions(sheet=["Adamawa", "Yobe"]))
    assert r2.sheet == "Adamawa; Yobe"
    assert r2.rows_read == len(written["Adamawa"]) + len(written["Yobe"])
    assert set(_obs(wh, r2.dataset_id).source_sheet) == {"Adamawa", "Yobe"}
    with pytest.raises(IdpkitError, match="not parts of the table"):
        ingest_file(wh, f, IngestOptions(sheet=["Adamawa", "Summary"]))


def test_per_round_sheets_keep_their_round(wh, tmp_path):
    """One sheet per round: both imported, each row with its own sheet's round and date."""
    f = tmp_path / "rounds.xlsx"
    wb = Workbook()
    wb.active.title = "Round 37"
    sheets = {"Round 37": ("2021-05-31", 1000), "Round 38": ("2021-07-30", 1200)}
    for i, (name, (day, base)) in enumerate(sheets.items()):
        ws = wb.active if i == 0 else wb.create_sheet(name)
        ws.append(["LGA Pcode", "IDP Individuals", "Date"])
        for k, code in enumerate(("NG002001", "NG002002", "NG002003")):
            ws.append([code, base + k, day])
    wb.save(f)
    r = ingest_file(wh, f)
    assert r.sheet == "Round 37; Round 38" and r.rows_read == 6
    o = _obs(wh, r.dataset_id)
    got = o.groupby(["source_sheet", "round"]).agg(v=("value", "sum"),
                                                    d=("reporting_date", "max"))
    assert {k: (float(x.v), str(x.d)[:10]) for k, x in got.iterrows()} == {
        ("Round 37", "37"): (3003.0, "2021-05-31"), ("Round 38", "38"): (3603.0, "2021-07-30")}


def test_cli_sheet_option_repeats(tmp_path):
    """`--sheet` given twice imports those two sheets as one dataset; a summary sheet named with
    them is refused with a one-line error and exit code 1."""
    import subprocess
    import sys

    f = tmp_path / "pick.xlsx"
    written = _per_state_workbook(f)
    db = str(tmp_path / "w.duckdb")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                               *args, "--db", db], capture_output=True, text=True, timeout=300)

    bad = run("ingest", str(f), "--sheet", "Adamawa", "--sheet", "Summary")
    assert bad.returncode == 1 and "not parts of the table" in bad.stderr + bad.stdout
    ok = run("ingest", str(f), "--sheet", "Adamawa", "--sheet", "Yobe")
    assert ok.returncode == 0, ok.stderr
    n = len(written["Adamawa"]) + len(written["Yobe"])
    assert f"{n} rows read" in ok.stdout


def test_sheet_repeating_places_below_its_first_rows_is_not_added(wh, tmp_path):
    """A sheet that starts with new places and repeats the main sheet's further down (beyond any
    sample of its first rows) still repeats them: all its rows are compared, not a sample."""
    from idpkit.warehouse.areas import Gazetteer

    lgas = sorted((a.pcode, a.name, a.parent) for a in
                  Gazetteer.from_embedded().by_country_level[("NGA", 2)])
    dates = [f"2021-{m:02d}-28" for m in range(1, 10)]

    def rows(ds: list[str]) -> list[list[object]]:
        return [[parent, parent, name, code, 100 + k, d] for d in ds
                for k, (code, name, parent) in enumerate(lgas)]

    head = ["State", "State Pcode", "LGA", "LGA Pcode", "IDP Individuals", "Date of survey"]
    main, new, old = rows(dates[:5]), rows(dates[5:]), rows(dates[:5])
    assert len(new) > 3000 and len(old) > len(new)  # the repeats start beyond row 3,000
    wb = Workbook()
    ws = wb.active
    ws.title = "Baseline"
    ws.append(head)
    ws.append(["#adm1+name", "#adm1+code", "#adm2+name", "#adm2+code", "#affected+idps+ind",
               "#date+reported"])
    for r in main:
        ws.append(r)
    upd = wb.create_sheet("Update")
    upd.append(head)
    for r in new + old:
        upd.append(r)
    f = tmp_path / "baseline_and_update.xlsx"
    wb.save(f)
    r = ingest_file(wh, f)
    assert r.sheet == "Baseline" and r.rows_read == len(main)
    assert any("'Update' not imported" in x and "repeat places" in x for x in r.notes)
