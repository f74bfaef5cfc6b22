"""Datasets listed, shown and removed (atomically, audited, sites kept where still reported), on
every backend; `idpkit datasets list|show|remove`. Expected numbers come from the files written
here and from counting the warehouse's tables directly, never from the functions under test."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idpkit.cli.app import app
from idpkit.ingest.pipeline import IngestOptions, ingest_file
from idpkit.warehouse import connect
from idpkit.warehouse import datasets as ds
from idpkit.warehouse.datasets import (UnknownDatasetError, audit_statement, list_datasets,
                                       remove_datasets, removal_statements, show_dataset)

HEADER = "Admin 1 P-code,Admin 1 name,IDP individuals,IDP households\n"
# A: two good rows (350 individuals, 70 households) and one non-numeric count (quarantined)
FILE_A = HEADER + "NG001,Abia,100,20\nNG002,Adamawa,250,50\nNG004,Anambra,about 10,2\n"
# B: one good row (300, 60) and one negative count (quarantined)
FILE_B = HEADER + "NG002,Adamawa,300,60\nNG003,Akwa Ibom,-5,1\n"
PER_DATASET = ("observations", "issues", "quarantine", "datasets")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _ingest(wh, path: Path, day: date = date(2024, 1, 31)):
    r = ingest_file(wh, path, IngestOptions(reporting_date=day))
    assert r.status == "imported", r.notes
    return r


def _scalar(wh, sql: str):
    return wh.backend.fetch_df(sql).iloc[0, 0]


def _count(wh, table: str, dataset_id: str) -> int:
    return int(_scalar(wh, f"SELECT count(*) FROM \"{table}\" WHERE dataset_id = '{dataset_id}'"))


def _value(wh, dataset_id: str, unit: str) -> float:
    v = _scalar(wh, "SELECT sum(value) FROM observations WHERE sex = 'all' AND age_group = 'all' "
                    f"AND dataset_id = '{dataset_id}' AND unit = '{unit}'")
    return float(v) if v is not None and v == v else 0.0


def _snapshot(wh) -> dict[str, object]:
    """Everything removal could touch: row counts of every table, and the sites as they are."""
    tables = ["observations", "issues", "quarantine", "datasets", "sites", "dataset_audit"]
    counts = {t: int(_scalar(wh, f'SELECT count(*) FROM "{t}"')) for t in tables}
    sites = wh.backend.fetch_df("SELECT site_id, dataset_id FROM sites ORDER BY site_id")
    return {**counts, "sites_rows": sorted(map(tuple, sites.values.tolist()))}


@pytest.fixture
def two(wh, tmp_path):
    """Warehouse with A (imported first) and B."""
    a = _ingest(wh, _write(tmp_path, "a.csv", FILE_A), date(2024, 1, 31))
    b = _ingest(wh, _write(tmp_path, "b.csv", FILE_B), date(2024, 2, 29))
    return wh, a.dataset_id, b.dataset_id


# ----------------------------------------------------------------------------- list and show
def test_list_newest_first_with_counts(two):
    wh, a, b = two
    df = list_datasets(wh)
    assert list(df.columns) == ds.LIST_COLUMNS
    assert list(df.dataset_id) == [b, a]
    row = df.set_index("dataset_id").loc[a]
    assert (row.file_name, int(row.rows_read), int(row.rows_accepted),
            int(row.rows_quarantined), int(row.observations)) == ("a.csv", 3, 2, 1, 4)
    assert row.reporting_date == date(2024, 1, 31)


def test_show_counts_issues_quarantine_and_totals(two):
    wh, a, _ = two
    d = show_dataset(wh, a)
    assert d.dataset["file_name"] == "a.csv" and "column_mapping" not in d.dataset
    assert d.column_mapping["IDP individuals"].startswith("value: idps, individuals")
    assert d.quarantined_rows == 1
    assert ("non-numeric-count", "error") in set(zip(d.issues.code, d.issues.severity, strict=True))
    t = d.totals.set_index("unit")
    assert t.loc["individuals", "value"] == 350 and t.loc["households", "value"] == 70
    assert set(d.totals.reported_level) == {1}
    doc = json.loads(json.dumps(d.to_dict()))  # JSON-ready as it is
    assert doc["dataset"]["reporting_date"] == "2024-01-31" and doc["quarantined_rows"] == 1


def test_show_totals_per_reported_level(wh, tmp_path):
    """A DTM API extract repeats the country's people at admin 0 and 1: one total per level."""
    f = _write(tmp_path, "api.csv",
               "id,operation,admin0Name,admin0Pcode,admin1Name,admin1Pcode,adminLevel,"
               "numPresentIdpInd,reportingDate,roundNumber\n"
               "1,Op,Nigeria,NGA,,,0,1000,2024-01-31,5\n"
               "2,Op,Nigeria,NGA,Abia,NG001,1,400,2024-01-31,5\n"
               "3,Op,Nigeria,NGA,Adamawa,NG002,1,600,2024-01-31,5\n")
    r = ingest_file(wh, f)
    t = show_dataset(wh, r.dataset_id).totals
    ind = t[t.unit == "individuals"].set_index("reported_level").value.to_dict()
    assert ind == {0: 1000, 1: 1000}  # never 2000


def test_unknown_id_names_the_closest(two):
    wh, a, _ = two
    typo = a[:-1] + ("0" if a[-1] != "0" else "1")
    with pytest.raises(UnknownDatasetError) as e:
        show_dataset(wh, typo)
    assert a in str(e.value) and e.value.code == "unknown-dataset"
    before = _snapshot(wh)
    with pytest.raises(UnknownDatasetError):
        remove_datasets(wh, [a, typo])
    assert _snapshot(wh) == before


# ----------------------------------------------------------------------------- removal
def test_remove_one_keeps_the_other(two):
    wh, a, b = two
    # another part's table (like the area view's activities) and a view over observations
    wh.execute_atomically([
        'CREATE TABLE "other_part" ("dataset_id" VARCHAR, "x" INTEGER)',
        f"INSERT INTO \"other_part\" VALUES ('{a}', 1), ('{a}', 2), ('{b}', 3)",
        'CREATE VIEW "obs_view" AS SELECT dataset_id, value FROM observations'])
    assert [_count(wh, t, a) for t in PER_DATASET] == [4, 1, 1, 1]
    kept = {t: _count(wh, t, b) for t in (*PER_DATASET, "other_part")}
    assert kept["observations"] == 2 and kept["quarantine"] == 1 and kept["datasets"] == 1

    gone = remove_datasets(wh, [a], note="wrong round")
    assert list(gone.dataset_id) == [a]
    assert {t: _count(wh, t, a) for t in (*PER_DATASET, "other_part")} == dict.fromkeys(
        (*PER_DATASET, "other_part"), 0)
    assert {t: _count(wh, t, b) for t in (*PER_DATASET, "other_part")} == kept
    assert (_value(wh, b, "individuals"), _value(wh, b, "households")) == (300, 60)
    assert list(list_datasets(wh).dataset_id) == [b]


def test_removal_is_audited(two, tmp_path):
    wh, a, _ = two
    remove_datasets(wh, [a], note="duplicate upload")
    audit = wh.table("dataset_audit").execute()
    assert sorted(audit.action) == ["import", "import", "remove"]  # imports are audited too
    audit = audit[audit.action == "remove"]
    assert len(audit) == 1
    row = audit.iloc[0]
    assert (row.action, row.dataset_id, row.file_name, row.note) == (
        "remove", a, "a.csv", "duplicate upload")
    assert row.file_hash == hashlib.sha256((tmp_path / "a.csv").read_bytes()).hexdigest()
    assert row.os_user and row.idpkit_version and row.replaced_by is None
    assert row.audited_at is not None


def test_removal_is_atomic(two, monkeypatch):
    """The last statement fails (after every DELETE ran): nothing changes."""
    wh, a, _ = two
    before = _snapshot(wh)
    monkeypatch.setattr(ds, "audit_statement",
                        lambda *args, **kw: 'INSERT INTO "no_such_table" VALUES (1)')
    with pytest.raises(Exception):
        remove_datasets(wh, [a])
    assert _snapshot(wh) == before
    assert [_count(wh, t, a) for t in PER_DATASET] == [4, 1, 1, 1]


def test_statements_are_quoted_and_escaped(two):
    wh, a, _ = two
    hostile = "x'); DROP TABLE observations; --"
    sql = removal_statements(wh, [hostile])
    assert any(s.startswith('DELETE FROM "observations"') for s in sql)
    assert sql[-1].startswith('DELETE FROM "datasets"')
    assert not any("dataset_audit" in s for s in sql)
    before = _snapshot(wh)
    wh.execute_atomically(sql)  # matches nothing, breaks nothing
    assert _snapshot(wh) == before
    assert "'x''); DROP" in audit_statement("remove", hostile)
    with pytest.raises(ValueError):
        audit_statement("delete", a)


SITES = "Site ID,Site name,Admin 1 P-code,IDP individuals,Date\n"


def test_sites_reattributed_to_the_earliest_remaining_dataset(wh, tmp_path):
    """S-1 is first reported by d1, again by d2 and d3; S-2 only by d1; S-3 first by d2."""
    d1 = _ingest(wh, _write(tmp_path, "s1.csv", SITES + "S-1,Camp one,NG002,100,2024-01-31\n"
                                                        "S-2,Camp two,NG002,50,2024-01-31\n"))
    d2 = _ingest(wh, _write(tmp_path, "s2.csv", SITES + "S-1,Camp one,NG002,110,2024-02-29\n"
                                                        "S-3,Camp three,NG001,70,2024-02-29\n"))
    d3 = _ingest(wh, _write(tmp_path, "s3.csv", SITES + "S-1,Camp one,NG002,120,2024-03-31\n"))
    d1, d2, d3 = d1.dataset_id, d2.dataset_id, d3.dataset_id

    def sites():
        df = wh.backend.fetch_df("SELECT site_id, dataset_id, site_name FROM sites")
        return {r.site_id: (r.dataset_id, r.site_name) for r in df.itertuples()}

    assert sites() == {"S-1": (d1, "Camp one"), "S-2": (d1, "Camp two"),
                       "S-3": (d2, "Camp three")}
    remove_datasets(wh, [d1])
    assert sites() == {"S-1": (d2, "Camp one"), "S-3": (d2, "Camp three")}
    remove_datasets(wh, [d2])
    assert sites() == {"S-1": (d3, "Camp one")}
    remove_datasets(wh, [d3])
    assert sites() == {}


def test_atomic_insert_runs_before_statements_in_its_transaction(two):
    """``before`` is how an import replaces a dataset: removal and inserts commit together."""
    wh, a, b = two
    copy_b = f"SELECT * FROM observations WHERE dataset_id = '{b}'"
    # a failing insert rolls back the removal that ran before it
    before = _snapshot(wh)
    with pytest.raises(Exception):
        wh.atomic_insert([("observations", copy_b), ("observations", "SELECT no_such_column")],
                         before=removal_statements(wh, [a]))
    assert _snapshot(wh) == before
    # and a good one commits both
    wh.atomic_insert([("observations", copy_b)],
                     before=[*removal_statements(wh, [a]),
                             audit_statement("replace", a, replaced_by=b, note="test")])
    assert [_count(wh, t, a) for t in PER_DATASET] == [0, 0, 0, 0]
    assert _count(wh, "observations", b) == 4
    audit = wh.table("dataset_audit").execute()
    audit = audit[audit.action != "import"]
    assert list(zip(audit.action, audit.dataset_id, audit.replaced_by, strict=True)) == [
        ("replace", a, b)]


def test_sigkill_between_removal_and_insert_changes_nothing(two, warehouse_url, tmp_path):
    """The fault point waits after ``before`` ran and the first insert: a killed replacement
    leaves the old dataset in place."""
    wh, a, b = two
    before = _snapshot(wh)
    wh.close()
    marker = tmp_path / "in-transaction"
    code = ("import sys; from idpkit.warehouse import connect; "
            "from idpkit.warehouse.datasets import removal_statements; "
            "wh = connect(sys.argv[1]); "
            "wh.atomic_insert([('observations', "
            "f\"SELECT * FROM observations WHERE dataset_id = '{sys.argv[3]}'\")], "
            "before=removal_statements(wh, [sys.argv[2]]))")
    env = dict(os.environ, IDPKIT_PAUSE_IN_TRANSACTION=str(marker))
    proc = subprocess.Popen([sys.executable, "-c", code, warehouse_url, a, b], env=env)
    try:
        deadline = time.time() + 120
        while not marker.exists():
            assert proc.poll() is None, "ended before reaching its transaction"
            assert time.time() < deadline, "never reached its transaction"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.5)  # PostgreSQL notices the dropped connection and rolls back
    with connect(warehouse_url) as again:
        assert _snapshot(again) == before


# ----------------------------------------------------------------------------- CLI
runner = CliRunner()


def _cli(url: str, *args: str, stdin: str | None = None):
    return runner.invoke(app, ["datasets", *args, "--db", url], input=stdin)


def test_cli_list_and_show(two, warehouse_url, tmp_path):
    wh, a, b = two
    wh.close()  # the CLI opens the warehouse itself (DuckDB: one writer per file)
    r = _cli(warehouse_url, "list", "--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [x["dataset_id"] for x in rows] == [b, a]
    assert rows[1]["reporting_date"] == "2024-01-31" and rows[1]["rows_quarantined"] == "1"
    r = _cli(warehouse_url, "list", "--format", "json")
    assert [x["observations"] for x in json.loads(r.stdout)] == [2, 4]
    out = tmp_path / "list.txt"
    r = _cli(warehouse_url, "list", "-o", str(out))
    assert r.exit_code == 0 and a in out.read_text(encoding="utf-8")

    r = _cli(warehouse_url, "show", a, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["dataset"]["dataset_id"] == a and doc["quarantined_rows"] == 1
    assert {(t["unit"], t["value"]) for t in doc["totals"]} == {("individuals", 350),
                                                               ("households", 70)}
    r = _cli(warehouse_url, "show", a, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert {"section": "quarantine", "key": "rows", "value": "1"} in rows
    assert {"section": "totals", "key": "2024-01-31/1/idps/individuals/present_stock",
            "value": "350"} in rows
    r = _cli(warehouse_url, "show", a)
    assert r.exit_code == 0 and "non-numeric-count" in r.stdout and "a.csv" in r.stdout


def test_cli_remove(two, warehouse_url):
    wh, a, b = two
    before = _snapshot(wh)
    kept = [_count(wh, t, b) for t in PER_DATASET]
    wh.close()

    def snapshot():
        with connect(warehouse_url) as w:
            return _snapshot(w)

    # unknown id: one line, exit 1, nothing changed
    r = _cli(warehouse_url, "remove", "ds_nope", "--yes")
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: no dataset 'ds_nope'") and len(r.stderr.splitlines()) == 1
    assert snapshot() == before
    # no --yes and no terminal: one line saying to add --yes
    r = _cli(warehouse_url, "remove", a)
    assert r.exit_code == 1 and "--yes" in r.stderr and r.stderr.startswith("Error:")
    assert len(r.stderr.splitlines()) == 1 and snapshot() == before
    # --yes: removed
    r = _cli(warehouse_url, "remove", a, "--yes", "--note", "test")
    assert r.exit_code == 0, r.output
    assert a in r.stdout and "4 observations" in r.stdout
    with connect(warehouse_url) as w:
        assert [_count(w, t, a) for t in PER_DATASET] == [0, 0, 0, 0]
        assert [_count(w, t, b) for t in PER_DATASET] == kept
        audit = w.table("dataset_audit").execute()
        assert audit[audit.action == "remove"].note.tolist() == ["test"]


def test_cli_remove_asks_on_a_terminal(two, warehouse_url, monkeypatch):
    wh, a, _ = two
    before = _snapshot(wh)
    wh.close()
    monkeypatch.setattr("idpkit.cli.datasets._interactive", lambda: True)
    r = _cli(warehouse_url, "remove", a, stdin="n\n")
    assert r.exit_code == 1 and "Nothing removed" in r.stderr
    with connect(warehouse_url) as w:
        assert _snapshot(w) == before
    r = _cli(warehouse_url, "remove", a, stdin="y\n")
    assert r.exit_code == 0, r.output
    with connect(warehouse_url) as w:
        assert _count(w, "datasets", a) == 0
