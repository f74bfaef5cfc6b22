"""The warehouse on every selected backend: core tables, atomic writes, staging, persistence."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from idpkit.model.tables import CORE_TABLES, ISSUES, OBSERVATIONS
from idpkit.warehouse import connect
from idpkit.warehouse.backends import STAGE_PREFIX, _redact


def _rows(schema, rows: list[dict]) -> pa.Table:
    """An Arrow table with every column of ``schema`` (missing values null)."""
    names = list(schema.names)
    return pa.Table.from_pylist(
        [{c: r.get(c) for c in names} for r in rows], schema=schema.to_pyarrow()
    )


OBS_ROWS = [
    {"dataset_id": "dtm-nga-r46", "source_sheet": "Baseline", "source_row": 2, "operation": "NGA",
     "round": "46", "reporting_date": dt.date(2024, 3, 31), "iso3": "NGA",
     "area_pcode": "NG002001", "reported_level": 2, "adm1_pcode": "NG002", "adm2_pcode": "NG002001",
     "population_group": "idps", "metric": "present_stock", "cause": "conflict", "unit": "individuals",
     "sex": "all", "age_group": "all", "value": 1520.0},
    {"dataset_id": "dtm-nga-r46", "source_sheet": "Baseline", "source_row": 2, "operation": "NGA",
     "round": "46", "reporting_date": dt.date(2024, 3, 31), "iso3": "NGA",
     "area_pcode": "NG002001", "reported_level": 2, "adm1_pcode": "NG002", "adm2_pcode": "NG002001",
     "population_group": "idps", "metric": "present_stock", "cause": "disaster", "hazard": "flood",
     "unit": "individuals", "sex": "all", "age_group": "all", "value": 310.0},
]
ISSUE_ROWS = [
    {"dataset_id": "dtm-nga-r46", "file_name": "DTM_NGA_R46.xlsx", "sheet": "Baseline", "row": 7,
     "column_name": "LGA Pcode", "value": "NG02001", "code": "unknown-pcode", "severity": "error",
     "message": "P-code NG02001 is not in the gazetteer; did you mean NG002001?"},
]


def _count(wh, name: str) -> int:
    return int(wh.table(name).count().execute())


def _stage(wh, schema, rows) -> str:
    name = wh.backend.new_stage_name()
    wh.backend.load_arrow(name, _rows(schema, rows))
    return name


def test_core_tables_exist_after_connect(wh):
    tables = set(wh.con.list_tables())
    missing = set(CORE_TABLES) - tables
    assert not missing, f"core tables missing: {sorted(missing)}"
    for name, schema in CORE_TABLES.items():
        assert list(wh.table(name).schema().names) == list(schema.names), name
        assert _count(wh, name) == 0


def test_connect_twice_keeps_tables(warehouse_url):
    with connect(warehouse_url) as first:
        first.ensure_tables()
    with connect(warehouse_url) as second:
        assert set(CORE_TABLES) <= set(second.con.list_tables())


def test_atomic_insert_inserts_all(wh):
    obs = _stage(wh, OBSERVATIONS, OBS_ROWS)
    iss = _stage(wh, ISSUES, ISSUE_ROWS)
    wh.atomic_insert([("observations", wh.table(obs)), ("issues", wh.table(iss))])
    assert _count(wh, "observations") == 2
    assert _count(wh, "issues") == 1
    got = wh.table("observations").order_by("cause").to_pyarrow().to_pylist()
    assert [r["cause"] for r in got] == ["conflict", "disaster"]
    assert [r["value"] for r in got] == [1520.0, 310.0]
    assert got[1]["hazard"] == "flood" and got[0]["hazard"] is None
    assert got[0]["reporting_date"] == dt.date(2024, 3, 31)
    assert got[0]["reported_level"] == 2


def _insert_sql(wh, table_name: str, stage: str) -> str:
    cols = ", ".join(f'"{c}"' for c in CORE_TABLES[table_name].names)
    return f'INSERT INTO "{table_name}" ({cols}) SELECT {cols} FROM "{stage}"'


def test_failed_second_statement_inserts_nothing(wh):
    obs = _stage(wh, OBSERVATIONS, OBS_ROWS)
    with pytest.raises(Exception):
        wh.execute_atomically([
            _insert_sql(wh, "observations", obs),
            'INSERT INTO "no_such_table" ("x") VALUES (1)',
        ])
    assert _count(wh, "observations") == 0
    # the connection is usable after the rollback, and a good batch still goes in
    wh.execute_atomically([_insert_sql(wh, "observations", obs)])
    assert _count(wh, "observations") == 2


def test_atomic_insert_failure_inserts_nothing(wh):
    """A failure inside the transaction (second insert violates NOT NULL) rolls back the first."""
    obs = _stage(wh, OBSERVATIONS, OBS_ROWS)
    bad = _stage(wh, ISSUES, [{**ISSUE_ROWS[0], "dataset_id": None}])
    with pytest.raises(Exception):
        wh.atomic_insert([("observations", wh.table(obs)), ("issues", wh.table(bad))])
    assert _count(wh, "observations") == 0
    assert _count(wh, "issues") == 0


def test_load_arrow_round_trip(wh):
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(['Maiduguri, "MMC"', "", None], pa.string()),
        "note": pa.array(["line one\nline two", "Ngala – Gamboru", "N'Djamena"], pa.string()),
        "value": pa.array([1520.5, None, 0.0], pa.float64()),
        "ok": pa.array([True, False, None], pa.bool_()),
        "day": pa.array([dt.date(2024, 3, 31), None, dt.date(1999, 12, 1)], pa.date32()),
    })
    name = wh.backend.new_stage_name()
    assert name.startswith(STAGE_PREFIX)
    wh.backend.load_arrow(name, table)
    got = wh.table(name).order_by("id").to_pyarrow().to_pylist()
    assert got == table.to_pylist()
    # loading again replaces the stage rather than appending to it
    wh.backend.load_arrow(name, table.slice(0, 1))
    assert _count(wh, name) == 1


def test_drop_stages(warehouse_url):
    with connect(warehouse_url) as wh:
        first, second = wh.backend.new_stage_name(), wh.backend.new_stage_name()
        for name in (first, second):
            wh.backend.load_arrow(name, pa.table({"x": [1]}))
        wh.backend.drop_stages([first])
        tables = wh.con.list_tables()
        assert first not in tables and second in tables
    # staging tables die with their connection: nothing is left after a reconnect
    with connect(warehouse_url) as wh:
        assert not [t for t in wh.con.list_tables() if t.startswith(STAGE_PREFIX)]


def test_stages_are_private_to_their_connection(warehouse_url):
    """Two users importing at once on a shared server never see or drop each other's stages."""
    with connect(warehouse_url) as first:
        name = first.backend.new_stage_name()
        first.backend.load_arrow(name, pa.table({"x": [1, 2]}))
        with connect(warehouse_url) as second:
            assert name not in second.con.list_tables()
        assert _count(first, name) == 2


def test_load_arrow_from_record_batch_reader(wh):
    table = _rows(ISSUES, ISSUE_ROWS * 3)
    name = wh.backend.new_stage_name()
    wh.backend.load_arrow(name, pa.RecordBatchReader.from_batches(table.schema, table.to_batches(1)))
    assert _count(wh, name) == 3


def test_reconnect_sees_committed_data(warehouse_url):
    with connect(warehouse_url) as wh:
        obs = _stage(wh, OBSERVATIONS, OBS_ROWS)
        iss = _stage(wh, ISSUES, ISSUE_ROWS)
        wh.atomic_insert([("observations", wh.table(obs)), ("issues", wh.table(iss))])
        wh.backend.drop_stages([obs, iss])
    with connect(warehouse_url) as wh:
        assert _count(wh, "observations") == 2
        assert _count(wh, "issues") == 1
        total = wh.table("observations").value.sum().execute()
        assert total == pytest.approx(1830.0)


def test_redact_hides_password():
    url = "postgresql://idpkit:s3cret-pw@db.example.org:5432/idpkit"
    shown = _redact(url)
    assert "s3cret-pw" not in shown
    assert shown == "postgresql://idpkit:***@db.example.org:5432/idpkit"
    assert "p@ss" not in _redact("postgresql://idpkit:p@ss@db.example.org/idpkit")
    assert _redact("idpkit.duckdb") == "idpkit.duckdb"
