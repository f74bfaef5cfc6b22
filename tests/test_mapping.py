"""The mapping file: every key works (header rows, no header, two-row headers, skipped rows, the HXL
row, the whole file's date and country…), a wrong mapping is one line naming the file and the key,
and docs/mapping.md documents every key and every role."""

from __future__ import annotations

import csv
import json
import re
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from conftest import dataset_rows
from idpkit.errors import MappingError, NoDataFoundError
from idpkit.ingest.mapping import ROLES, Mapping, ValueColumn
from idpkit.ingest.pipeline import IngestOptions, ingest_file

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
IRQ_2014 = CORPUS / "figures" / "irq_dtm_master_list_2014-08-18.csv"
NGA_STATES = ["NG002", "NG008", "NG036", "NG005", "NG016", "NG019", "NG020", "NG035"]


def _mapping(tmp_path: Path, text: str, name: str = "map.yml") -> Mapping:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return Mapping.load(p)


def _csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _totals(result) -> dict[tuple[str, str], float]:
    t = result.totals
    return {(r.population_group, r.unit): float(r.value) for r in t.itertuples()}


# ------------------------------------------------------------------------------ the keys, core
@pytest.mark.core
def test_every_key_is_read(tmp_path):
    m = _mapping(tmp_path, """
sheet: [IDPs, Returnees]
header_rows: [3, 4]
hxl_row: none
skip_rows: 2
data_start_row: 6
date: 2024-01-31
country: nga
round: 38
operation: NE Nigeria
kind: site
columns:
  "Where": adm2_pcode
  3: value
  "#affected+hh": {population_group: returnees, unit: households, cause: conflict,
                   cause_detail: insurgency, sex: female, age_group: 0-17, hazard: flood}
""")
    assert m.sheets == ["IDPs", "Returnees"] and m.header_rows == [3, 4] and m.hxl_row == "none"
    assert m.skip_rows == 2 and m.data_start_row == 6 and m.gives_layout and m.has_header
    assert (m.date, m.country, m.round, m.operation, m.kind) == (date(2024, 1, 31), "NGA", "38",
                                                                 "NE Nigeria", "site")
    assert m.columns[3] == ValueColumn()  # `value`: idps, individuals, present stock
    spec = m.columns["#affected+hh"].spec()
    assert (spec.population_group, spec.cause_detail, spec.sex, spec.age_group) == \
        ("returnees", "insurgency", "female", "0-17")
    assert not _mapping(tmp_path, "header: none\n").has_header
    assert not _mapping(tmp_path, "header_row: 0\n").has_header
    assert _mapping(tmp_path, "header: no\n").header == "none"  # YAML's `no` is False


@pytest.mark.core
def test_constants_fill_the_options_the_command_line_left_unset(tmp_path):
    m = _mapping(tmp_path, "date: 2024-01-31\ncountry: TCD\nround: 7\noperation: Lac\n"
                           "kind: baseline_area\n")
    o = m.fill_options(IngestOptions())
    assert (o.reporting_date, o.country, o.round, o.operation, o.kind) == \
        (date(2024, 1, 31), "TCD", "7", "Lac", "baseline_area")
    given_ = m.fill_options(IngestOptions(reporting_date=date(2023, 5, 1), country="NER"))
    assert (given_.reporting_date, given_.country, given_.round) == (date(2023, 5, 1), "NER", "7")


@pytest.mark.core
@pytest.mark.parametrize("text, where, allowed", [
    ("headr_row: 3\n", "headr_row", "did you mean 'header_row'"),
    ("header_row: three\n", "header_row", "1-based row number"),
    ("header_row: -2\n", "header_row", "0 or more"),
    ("hxl_row: 0\n", "hxl_row", "1 or more"),
    ("header_rows: [4, 3]\n", "header_rows", "e.g. [3, 4]"),
    ("header: sometimes\n", "header", "none"),
    ("skip_rows: 2\nheader_row: 5\n", "skip_rows", "row 3, not 5"),
    ("header: none\nheader_rows: [1, 2]\n", "header_rows", "header: none"),
    ("header_row: 3\nhxl_row: 4\ndata_start_row: 4\n", "data_start_row", "below the header"),
    ("date: 31/01/2024\n", "date", "YYYY-MM-DD"),
    ("country: Nigeria\n", "country", "ISO 3166 alpha-3"),
    ("kind: census\n", "kind", "baseline_area, site"),
    ("sheet: {a: 1}\n", "sheet", "a sheet name"),
    ("columns:\n  X: adm9_pcode\n", "columns", "did you mean 'adm4_pcode'"),
    ("columns:\n  X: {unit: people}\n", "columns.X.unit", "individuals, households"),
    ("columns:\n  X: {units: people}\n", "columns.X.units", "did you mean 'unit'"),
    ("columns:\n  X: {metric: stock}\n", "columns.X.metric", "present_stock"),
    ("columns:\n  X: {hazard: meteor}\n", "columns.X.hazard", "flood"),
    ("columns:\n  X: {age_group: kids}\n", "columns.X.age_group", "0-17"),
    ("columns:\n  X: [1, 2]\n", "columns.X", "a role"),
    ("- a list\n", "", "not a list"),
])
def test_a_wrong_mapping_is_one_line_naming_file_key_and_what_is_allowed(tmp_path, text, where,
                                                                         allowed):
    p = tmp_path / "bad.yml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as e:
        Mapping.load(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: {where}") and allowed in msg and "\n" not in msg, msg


def test_a_column_not_in_the_file_lists_the_files_headers(wh, tmp_path):
    f = _csv(tmp_path / "f.csv", [["State Pcode", "IDP individuals"], ["NG002", 5]])
    m = _mapping(tmp_path, "columns:\n  Ward: adm3_name\n")
    with pytest.raises(MappingError) as e:
        ingest_file(wh, f, IngestOptions(mapping=m, dry_run=True))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "map.yml")) and "'Ward'" in msg
    assert "columns: State Pcode, IDP individuals" in msg


# ------------------------------------------------------------------------------ the keys, imports
def test_header_row_and_columns_by_header(wh, tmp_path):
    rows = [["IDP figures, Nigeria"], ["Round 38"], ["Place", "Folks", "Homes", "Seen on"],
            ["NG002", 100, 20, "2021-07-30"], ["NG008", 50, 10, "2021-07-30"]]
    f = _csv(tmp_path / "f.csv", rows)
    m = _mapping(tmp_path, "header_row: 3\ncolumns:\n  Place: adm1_pcode\n  Seen on: "
                           "reporting_date\n  Folks: value\n  Homes: {unit: households}\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m))
    assert (r.rows_read, r.rows_quarantined) == (2, 0)
    o = dataset_rows(wh, "observations", r.dataset_id)
    assert o.groupby("unit").value.sum().to_dict() == {"individuals": 150, "households": 30}
    assert sorted(o.source_row.unique()) == [4, 5]  # rows as the user sees them
    assert {d.subject: d.evidence for d in r.decisions}["rows"] == "the mapping"


def test_no_header_columns_by_position_the_first_line_is_data(wh, tmp_path):
    f = _csv(tmp_path / "f.csv", [["NG002", 100, "x"], ["NG008", 50, "y"], ["NG036", 7, "z"]])
    m = _mapping(tmp_path, "header: none\ndate: 2024-01-31\ncolumns:\n  1: adm1_pcode\n"
                           "  2: {population_group: idps, unit: individuals}\n  3: ignore\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m))
    assert r.rows_read == 3 and _totals(r) == {("idps", "individuals"): 157}
    assert r.plan.layout.headers == ["column 1", "column 2", "column 3"]
    ds = wh.table("datasets").execute()
    assert str(ds.reporting_date.iloc[0])[:10] == "2024-01-31"


def test_the_iraq_2014_master_list_has_no_header_row(wh):
    """41 columns, no header: every line is a location (Seq 1 first) — totals as counted with
    pandas in tests/fixtures/corpus/expected-fixtures.json."""
    expected = json.loads((CORPUS / "expected-fixtures.json").read_text(encoding="utf-8"))
    run = next(r for r in expected["files"][IRQ_2014.name]["runs"] if r["outcome"] == "right")
    assert run["args"][:2] == ["--mapping", "tests/fixtures/corpus/mappings/irq_dtm_master_list.yml"]
    m = Mapping.load(ROOT / run["args"][1])
    assert m.header == "none"
    r = ingest_file(wh, IRQ_2014, IngestOptions(mapping=m, reporting_date=date(2014, 8, 18)))
    assert r.plan.layout.ncols == 41 and r.plan.layout.data_start == 0
    with open(IRQ_2014, encoding="utf-8", newline="") as fh:
        assert r.rows_read == sum(1 for _ in csv.reader(fh))
    o = dataset_rows(wh, "observations", r.dataset_id)
    assert o.source_row.min() == 1  # the first line, Seq 1, is data
    for e in run["expected"]:
        sub = o
        for k, v in e["by"].items():
            col = sub[k].astype(str).str[:10] if k == "reporting_date" else sub[k]
            sub = sub[col == v]
        assert sub.value.sum() == e["value"], e


def test_header_over_two_rows(wh, tmp_path):
    f = tmp_path / "two.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["Where", "IDPs", None, "Returnees", None])
    ws.append([None, "Households", "Individuals", "Households", "Individuals"])
    ws.append(["NG002", 10, 50, 2, 9])
    ws.append(["NG008", 20, 90, 4, 11])
    wb.save(f)
    m = _mapping(tmp_path, "header_rows: [1, 2]\ndate: 2024-01-31\ncolumns:\n"
                           "  Where: adm1_pcode\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m, dry_run=True))
    assert r.plan.layout.headers[1:] == ["IDPs Households", "IDPs Individuals",
                                         "Returnees Households", "Returnees Individuals"]
    assert _totals(r) == {("idps", "households"): 30, ("idps", "individuals"): 140,
                          ("returnees", "households"): 6, ("returnees", "individuals"): 20}


def test_skip_rows_hxl_row_and_data_start_row(wh, tmp_path):
    rows = [["Title"], ["Region", "People", "Remark"], ["#adm1+code", "#affected+idps+ind", ""],
            ["(a note the publisher left above the data)"], ["NG002", 5, "a"], ["NG008", 6, "b"]]
    f = _csv(tmp_path / "f.csv", rows)
    m = _mapping(tmp_path, "skip_rows: 1\nhxl_row: 3\ndata_start_row: 5\ndate: 2024-01-31\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m, dry_run=True))
    lay = r.plan.layout
    assert (lay.header_row, lay.hxl_row, lay.data_start) == (1, 2, 4)
    assert r.rows_read == 2 and _totals(r) == {("idps", "individuals"): 11}
    # the HXL row is found next to a header the mapping gives; `hxl_row: none` turns it off
    r2 = ingest_file(wh, f, IngestOptions(mapping=_mapping(
        tmp_path, "header_row: 2\nhxl_row: none\ndata_start_row: 5\ndate: 2024-01-31\n"
                  "columns:\n  Region: adm1_pcode\n  People: value\n"), dry_run=True))
    assert r2.plan.layout.hxl_row is None and r2.plan.layout.tags == [None, None, None]
    assert _totals(r2) == {("idps", "individuals"): 11}


def test_a_sheet_whose_only_counts_the_mapping_names_is_imported(wh, tmp_path):
    f = _csv(tmp_path / "f.csv", [["Area", "Tally", "Comment"], ["NG002", 7, "ok"],
                                  ["NG008", 8, "ok"]])
    with pytest.raises(NoDataFoundError):
        ingest_file(wh, f, IngestOptions(dry_run=True))
    m = _mapping(tmp_path, "date: 2024-01-31\ncolumns:\n  Area: adm1_pcode\n  Tally: value\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m, dry_run=True))
    assert _totals(r) == {("idps", "individuals"): 15}


def test_mapping_sheet_list_imports_those_sheets(wh, tmp_path):
    f = tmp_path / "g.xlsx"
    wb = Workbook()
    wb.active.title = "Read me"
    wb.active.append(["Notes only"])
    for name, rows in {"North": [["NG002", 5], ["NG008", 6]],
                       "South": [["NG005", 7]], "Old": [["NG016", 100]]}.items():
        ws = wb.create_sheet(name)
        ws.append(["State Pcode", "IDP individuals"])
        for row in rows:
            ws.append(row)
    wb.save(f)
    m = _mapping(tmp_path, "sheet: [North, South]\ndate: 2024-01-31\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m, dry_run=True))
    assert r.plan.sheet_names == ["North", "South"] and _totals(r) == {("idps", "individuals"): 18}


def test_country_date_round_operation_and_kind_reach_the_import(wh, tmp_path, monkeypatch):
    import idpkit.ingest.pipeline as pipeline

    seen = {}
    real = pipeline.run_import

    def spy(ctx, plan=None):
        seen["options"] = ctx.options
        return real(ctx, plan)

    monkeypatch.setattr(pipeline, "run_import", spy)
    f = _csv(tmp_path / "f.csv", [["State Pcode", "IDP individuals"], ["NG002", 5]])
    m = _mapping(tmp_path, "date: 2024-01-31\ncountry: NGA\nround: 12\noperation: NE\n"
                           "kind: site\n")
    r = ingest_file(wh, f, IngestOptions(mapping=m))
    o = seen["options"]
    assert (o.reporting_date, o.country, o.round, o.operation, o.kind) == \
        (date(2024, 1, 31), "NGA", "12", "NE", "site")
    ds = wh.table("datasets").execute()
    assert (ds["round"].iloc[0], ds.operation.iloc[0], ds.assessment_type.iloc[0]) == \
        ("12", "NE", "site")
    assert str(ds.reporting_date.iloc[0])[:10] == "2024-01-31" and r.rows_accepted == 1


def test_cli_country_and_date_reach_ingest_options(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import idpkit.ingest.pipeline as pipeline
    from idpkit.cli.app import app

    seen = []

    def fake(wh, path, options, progress=None):
        seen.append(options)
        return pipeline.ImportResult(Path(path), "dry-run" if options.dry_run else "imported")

    monkeypatch.setattr(pipeline, "ingest_file", fake)
    f = _csv(tmp_path / "f.csv", [["a", "b"], ["1", "2"]])
    db = str(tmp_path / "w.duckdb")
    for cmd in ("ingest", "validate"):
        res = CliRunner().invoke(app, [cmd, str(f), "--country", "ner", "--date", "2024-02-29",
                                       "--db", db])
        assert res.exit_code == 0, res.output
    assert [(o.country, o.reporting_date, o.dry_run) for o in seen] == \
        [("NER", date(2024, 2, 29), False), ("NER", date(2024, 2, 29), True)]
    bad = CliRunner().invoke(app, ["ingest", str(f), "--country", "Niger", "--db", db])
    assert bad.exit_code == 2 and "ISO3" in bad.output


# ------------------------------------------------------------------------------ generated tables
HEADERS = ["Lieu", "Gens", "Foyers", "Remarque"]  # nothing idpkit recognises without the mapping


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(0, 4), order=st.permutations(range(4)),
       rows=st.lists(st.tuples(st.integers(1, 500), st.integers(1, 8)), min_size=1, max_size=6),
       by_skip=st.booleans(), workbook=st.booleans())
def test_title_rows_and_any_column_order(k, order, rows, by_skip, workbook):
    """A table with k title rows above its header and its columns in any order, read with
    `skip_rows: k` or `header_row: k+1`: the totals are those counted here by hand."""
    states = NGA_STATES[:len(rows)]
    table = [[s, hh * size, hh, f"row {i}"] for i, (s, (hh, size)) in enumerate(zip(states, rows))]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        grid = [[f"Displacement report, part {i + 1}"] for i in range(k)]
        grid.append([HEADERS[j] for j in order])
        grid += [[r[j] for j in order] for r in table]
        if workbook:
            f = d / "t.xlsx"
            wb = Workbook()
            for line in grid:
                wb.active.append(line)
            wb.save(f)
        else:
            f = _csv(d / "t.csv", grid)
        rows_key = f"skip_rows: {k}" if by_skip else f"header_row: {k + 1}"
        m = _mapping(d, f"{rows_key}\ndate: 2024-03-31\ncolumns:\n  Lieu: adm1_pcode\n"
                        "  Gens: {population_group: idps, unit: individuals}\n"
                        "  Foyers: {population_group: idps, unit: households}\n"
                        "  Remarque: ignore\n")
        from idpkit.warehouse import connect

        with connect(d / "w.duckdb") as wh:
            r = ingest_file(wh, f, IngestOptions(mapping=m, dry_run=True))
    assert (r.rows_read, r.rows_quarantined) == (len(table), 0)
    assert _totals(r) == {("idps", "individuals"): sum(t[1] for t in table),
                          ("idps", "households"): sum(t[2] for t in table)}


# ------------------------------------------------------------------------------ documentation
def _doc() -> str:
    return (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")


@pytest.mark.core
def test_docs_document_every_mapping_key():
    doc = _doc()
    keys = re.findall(r"^### `([a-z_]+)`", doc, re.M)
    missing = [k for k in Mapping.model_fields if k not in keys]
    assert not missing, f"docs/mapping.md has no '### `key`' section for: {missing}"
    assert not set(keys) - set(Mapping.model_fields), "documents keys Mapping does not have"
    fields = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.M))
    assert set(ValueColumn.model_fields) <= fields, \
        f"count description fields not in a table: {set(ValueColumn.model_fields) - fields}"


@pytest.mark.core
def test_docs_list_exactly_the_roles():
    section = _doc().split("## Roles", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.M)
    assert sorted(listed) == sorted(set(ROLES) | {"value"}), (
        f"missing: {sorted(set(ROLES) | {'value'} - set(listed))}, "
        f"not roles: {sorted(set(listed) - set(ROLES) - {'value'})}")


@pytest.mark.core
def test_docs_give_the_allowed_values_from_the_vocabulary():
    from idpkit.model import vocabulary as v

    doc = " ".join(_doc().split())
    for values in (v.POPULATION_GROUPS, v.UNITS, v.METRICS, v.CAUSES, v.HAZARDS, v.SEXES,
                   v.ASSESSMENT_TYPES):
        line = ", ".join(f"`{x}`" for x in values)
        assert line in doc, f"docs/mapping.md should list {line}"
