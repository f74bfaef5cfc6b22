"""`idpkit inspect`: what an import would decide about a file, without importing it; the mapping
it writes reproduces the import exactly (on real DTM exports, corpus files and workbooks that
split one table over sheets); a refused file still shows its sheets and what detection saw."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from idpkit.cli.app import app
from idpkit.ingest.inspect import ROW_CLASSES, Inspection, inspect_file
from idpkit.ingest.mapping import Mapping
from idpkit.ingest.pipeline import IngestOptions, ingest_file
from idpkit.warehouse import connect

ROOT = Path(__file__).resolve().parent.parent
DTM = ROOT / "tests" / "fixtures" / "dtm"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
NIGERIA = DTM / "nigeria_baseline_assessment_round_38.xlsx"
IRQ_2014 = CORPUS / "figures" / "irq_dtm_master_list_2014-08-18.csv"


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["inspect", *args])
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def nigeria(tmp_path_factory) -> tuple[int, dict, str]:
    """`idpkit inspect` of the Nigeria baseline, as JSON and as the table (run once)."""
    code, out = run(str(NIGERIA), "--format", "json")
    code2, table = run(str(NIGERIA))
    assert code == code2 == 0, out + table
    return code, json.loads(out), table


def _nigeria_by_hand() -> dict[tuple[str, str], float]:
    """National IDP totals straight from the workbook with openpyxl: column L (households) and
    M (individuals) of every data row (from row 3, under the header and HXL rows)."""
    ws = openpyxl.load_workbook(NIGERIA, read_only=True, data_only=True)[
        "Baseline Assessment Dataset"]
    out: dict[tuple[str, str], float] = defaultdict(float)
    for row in ws.iter_rows(min_row=3, values_only=True):
        for col, unit in ((11, "households"), (12, "individuals")):
            if row[col] not in (None, ""):
                out[("idps", unit)] += float(row[col])
    return dict(out)


def test_nigeria_sheet_rows_columns_and_totals(nigeria):
    _, doc, table = nigeria
    assert doc["status"] == "ok" and doc["format"] == "xlsx"
    assert doc["sheets"] == [{"name": "Baseline Assessment Dataset", "rows": 792, "columns": 29,
                              "imported": True, "note": doc["sheets"][0]["note"]}]
    lay = doc["layout"]
    assert (lay["sheet"], lay["header_rows"], lay["hxl_row"], lay["data_start_row"]) == \
        ("Baseline Assessment Dataset", [1], 2, 3)
    by_header = {c["header"]: c for c in doc["columns"]}
    ind = by_header["Estimated Number of IDP"]
    assert (ind["role"], ind["counts"]["unit"], ind["tag"], ind["confidence"]) == \
        ("value", "individuals", "#affected+idps+ind", "high")
    assert ind["evidence"] == "HXL tag #affected+idps+ind"
    # the swapped LGA tags: roles from the values, and the admin level of each area column
    assert (by_header["LGA"]["role"], by_header["LGA"]["evidence"]) == \
        ("adm2_name", "the values under it")
    assert {c["header"]: c["admin_level"] for c in doc["columns"] if c["admin_level"]} == {
        "State of Displacement": 1, "State Pcode": 1, "LGA": 2, "LGA Pcode": 2, "Ward": 3,
        "CODs PCODE": 3, "state_orig": 1, "lga_orig": 2}
    assert [c["header"] for c in doc["ignored_columns"]] == [
        "Date Occurred", "Year", "idp_category", "reason_insurgency_YesNo", "reason_clash_YesNo",
        "reason_disaster_YesNo", "reason_others_YesNo"]
    assert doc["date"]["decision"] == "column 'Snapshot date'"
    assert doc["rows"]["read"] == 790 == doc["rows"]["accepted"]
    assert set(doc["rows"]["classes"]) == set(ROW_CLASSES)
    got = {(t["population_group"], t["unit"]): t["value"] for t in doc["totals"]}
    assert got == pytest.approx(_nigeria_by_hand())
    assert {(t["iso3"], t["reporting_date"]) for t in doc["totals"]} == {("NGA", "2021-07-30")}
    # the table says the same
    assert "Baseline Assessment Dataset" in table
    assert "header row 1, HXL row 2, data from row 3" in table
    assert "2,182,613" in table and "444,781" in table
    assert f"{_nigeria_by_hand()[('idps', 'individuals')]:,.0f}" in table


def test_json_keys_are_the_documented_ones(nigeria):
    _, doc, _ = nigeria
    documented = _doc_keys()
    assert set(doc) == set(Inspection.__dataclass_fields__) == documented["top"]
    for key in ("layout", "rows"):
        assert set(doc[key]) <= documented[key], key
    assert set(doc["columns"][0]) == documented["columns"]
    assert set(doc["totals"][0]) == documented["totals"]


def _doc_keys() -> dict[str, set[str]]:
    """JSON keys documented in docs/mapping.md's inspect section, by parent (`top` for the
    first level): rows of the table `| key | parent | meaning |`."""
    text = (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")
    section = text.split("### JSON", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = defaultdict(set)
    for key, parent in re.findall(r"^\| `([a-z0-9_]+)` \| `?([a-z_]+|—)`? \|", section, re.M):
        out["top" if parent == "—" else parent].add(key)
    return out


def test_inspect_never_writes_to_the_warehouse(tmp_path):
    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        before = {t: wh.table(t).count().execute() for t in ("datasets", "observations",
                                                              "areas", "issues")}
    code, _ = run(str(NIGERIA), "--db", db, "--format", "json")
    assert code == 0
    with connect(db) as wh:
        after = {t: wh.table(t).count().execute() for t in before}
    assert after == before


def test_a_refused_file_still_shows_its_sheets_and_guesses(tmp_path):
    f = tmp_path / "contacts.xlsx"
    wb = Workbook()
    wb.active.title = "Contacts"
    wb.active.append(["Name", "Organisation", "Phone"])
    wb.active.append(["A. Person", "NGO", "+234 1"])
    notes = wb.create_sheet("Notes")
    notes.append(["Round 38 notes"])
    wb.save(f)
    code, out = run(str(f), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "refused" and "recognisable" in doc["error"]
    assert [(s["name"], s["imported"]) for s in doc["sheets"]] == [("Contacts", False),
                                                                   ("Notes", False)]
    contacts = next(c for c in doc["candidates"] if c["sheet"] == "Contacts")
    assert contacts["header_rows"] == [1] and contacts["data_start_row"] == 2
    assert [c["header"] for c in contacts["columns"]] == ["Name", "Organisation", "Phone"]
    code, table = run(str(f))
    assert code == 1 and "Contacts" in table and "Notes" in table and "Refused:" in table


def test_a_headerless_file_is_refused_then_imported_with_the_mapping_inspect_wrote(tmp_path):
    """The worked example of docs/mapping.md: inspect → --write-mapping → edit → ingest."""
    m = tmp_path / "irq.yml"
    code, out = run(str(IRQ_2014), "--write-mapping", str(m))
    assert code == 1 and "no header row" in out
    text = m.read_text(encoding="utf-8")
    assert "header: none" in text and re.search(r"^  41: +ignore", text, re.M)
    # the edit a user makes: column 4 counts IDP families, 7 and 8 name the places, 18 the date
    text = re.sub(r"^  4: +ignore", "  4: {population_group: idps, unit: households}", text,
                  flags=re.M)
    for pos, role in ((7, "adm1_name"), (8, "adm2_name"), (18, "reporting_date")):
        text = re.sub(rf"^  {pos}: +ignore", f"  {pos}: {role}", text, flags=re.M)
    m.write_text(text, encoding="utf-8")
    code, out = run(str(IRQ_2014), "--mapping", str(m), "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    expected = json.loads((CORPUS / "expected-fixtures.json").read_text(encoding="utf-8"))
    right = next(r for r in expected["files"][IRQ_2014.name]["runs"] if r["outcome"] == "right")
    grand = right["expected"][0]
    assert doc["totals"] == [{**grand["by"], "value": grand["value"]}]


def test_write_mapping_refuses_to_overwrite_without_force(tmp_path):
    m = tmp_path / "m.yml"
    m.write_text("# mine\n", encoding="utf-8")
    code, out = run(str(IRQ_2014), "--write-mapping", str(m))
    assert code == 1 and "--force" in out and m.read_text() == "# mine\n"
    code, _ = run(str(IRQ_2014), "--write-mapping", str(m), "--force")
    assert code == 1 and "header: none" in m.read_text()


def test_a_bug_goes_through_the_crash_boundary(tmp_path, monkeypatch):
    import idpkit.ingest.inspect as inspect_mod

    def boom(*a, **k):
        raise RecursionError("deep")

    monkeypatch.setenv("IDPKIT_CRASH_DIR", str(tmp_path / "crash"))
    monkeypatch.setattr(inspect_mod, "inspect_file", boom)
    code, out = run(str(IRQ_2014))
    assert code == 2 and "internal error: RecursionError" in out and "crash report" in out.lower()
    assert list((tmp_path / "crash").iterdir())


# ------------------------------------------------------------------------------ round trip
def _observations(wh, dataset_id: str) -> pd.DataFrame:
    t = wh.table("observations")
    df = t.filter(t.dataset_id == dataset_id).drop("dataset_id").execute()
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _round_trip(path: Path, tmp_path: Path, options: IngestOptions | None = None) -> Inspection:
    """Import ``path`` as it is, and again with the mapping inspect writes for it: the same
    observations, row for row."""
    options = options or IngestOptions()
    with connect(tmp_path / "plain.duckdb") as wh:
        insp = inspect_file(wh, path, options)
        assert insp.status == "ok", insp.error
        plain = ingest_file(wh, path, options)
        want = _observations(wh, plain.dataset_id)
    m = tmp_path / "written.yml"
    m.write_text(insp.mapping, encoding="utf-8")
    mapping = Mapping.load(m)
    with connect(tmp_path / "mapped.duckdb") as wh:
        mapped = ingest_file(wh, path, IngestOptions(mapping=mapping))
        got = _observations(wh, mapped.dataset_id)
    assert (mapped.rows_read, mapped.rows_quarantined) == (plain.rows_read, plain.rows_quarantined)
    assert len(want) and len(got) == len(want)
    pd.testing.assert_frame_equal(got, want)
    return insp


@pytest.mark.parametrize("name", ["nigeria_baseline_assessment_round_38.xlsx",
                                  "ethiopia_site_assessment_round_28.xlsx",
                                  "iraq_idps_master_list_round_123.xlsx",
                                  "dtm-api-v3-admin0-2-afg-hti-tcd.csv"])
def test_written_mapping_round_trips_on_real_dtm_exports(name, tmp_path):
    _round_trip(DTM / name, tmp_path)


@pytest.mark.parametrize("name,options", [
    # no date anywhere in this workbook: given, and carried by the written mapping
    ("figures/ukr_gps_r13_idp_report.xlsx", IngestOptions(reporting_date=date(2023, 5, 31))),
    ("figures/idmc_gidd_disaster_events.csv", None)])
def test_written_mapping_round_trips_on_corpus_files(name, options, tmp_path):
    _round_trip(CORPUS / name, tmp_path, options)


def test_written_mapping_round_trips_a_headerless_file_and_its_date(tmp_path):
    mapping = Mapping.load(CORPUS / "mappings" / "irq_dtm_master_list.yml")
    insp = _round_trip(IRQ_2014, tmp_path, IngestOptions(mapping=mapping,
                                                         reporting_date=pd.Timestamp(
                                                             "2014-08-18").date()))
    assert "header: none" in insp.mapping and "date: 2014-08-18" in insp.mapping
    assert re.search(r"^  4: +\{population_group: idps, unit: households", insp.mapping, re.M)


def test_written_mapping_round_trips_one_table_over_sheets(tmp_path):
    """Per-group sheets (the same headers mean IDPs in one sheet, returnees in the other) and a
    sheet with title rows and its columns in another order."""
    f = tmp_path / "groups.xlsx"
    wb = Workbook()
    wb.active.title = "Read me"
    wb.active.append(["Individuals and households by group; see each sheet"])
    head = ["LGA Pcode", "LGA", "Individuals", "Households", "Date"]
    for name, rows, titles in (
            ("IDPs", [["NG002001", "Demsa", 500, 100, "2021-07-30"],
                      ["NG002002", "Fufore", 700, 140, "2021-07-30"]], 0),
            ("Returnees", [["NG002001", "Demsa", 90, 18, "2021-07-30"],
                           ["NG002003", "Ganye", 40, 8, "2021-07-30"]], 2)):
        ws = wb.create_sheet(name)
        for i in range(titles):
            ws.append([f"DTM Nigeria, {name}, title line {i + 1}"])
        order = [0, 1, 2, 3, 4] if not titles else [4, 3, 2, 1, 0]
        ws.append([head[j] for j in order])
        for r in rows:
            ws.append([r[j] for j in order])
    wb.save(f)
    insp = _round_trip(f, tmp_path)
    assert 'sheet: ["IDPs", "Returnees"]' in insp.mapping
    assert not re.search(r"^header_row", insp.mapping, re.M)  # the sheets' rows differ
