"""-o and --format on the commands that print a table (issue 21 item 6): the file holds what
standard output would, CSV by default and JSON with --format json; nothing is printed instead."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
from typer.testing import CliRunner

from idpkit.cli.app import app


def _run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def _warehouse(tmp_path):
    """A small warehouse: two rows of a baseline (hand-written) and one forecast run's alert."""
    from idpkit.forecast.store import save
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect

    f = tmp_path / "b.csv"
    f.write_text("State Pcode,IDP individuals,Reporting date\n"
                 "#adm1+code,#affected+idps+ind,#date+reported\n"
                 "NG002,120,2024-01-31\nNG008,=HYPERLINK(1),2024-01-31\nNG008,80,2024-01-31\n",
                 encoding="utf-8")
    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        ingest_file(wh, f)
        save(wh, alerts=pd.DataFrame([{
            "area_pcode": "NG002", "area_name": "=cmd|calc", "admin_level": 1,
            "target": "arrivals", "population_group": "idps", "unit": "individuals",
            "target_month": "2024-03", "horizon": 1, "model": "naive", "value": 1234.0,
            "lo80": 1000.0, "hi80": 1500.0, "recent_mean": 400.0, "rule": "r",
            "reason": "forecast 1,234 is 3.1× the last 3 months' mean (400)",
            "backtest_alerts": 2, "backtest_hits": 0, "backtest_surges": 3,
            "caveat": "Unconfirmed: …"}]))
    return db


def test_summary_and_alerts_write_csv_or_json_files(tmp_path):
    db = _warehouse(tmp_path)
    out = tmp_path / "s.csv"
    r = _run("summary", "-o", str(out), "--db", db)
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    # two valid rows: 120 in NG002 and 80 in NG008 (the formula row is quarantined)
    got = {(x[1], x[4]): x[5] for x in rows[1:]}
    assert got == {("NG002", "individuals"): "120", ("NG008", "individuals"): "80"}
    assert "NG002" not in r.stdout  # written, not printed

    js = tmp_path / "s.json"
    assert _run("summary", "--format", "json", "-o", str(js), "--db", db).exit_code == 0
    assert sorted(r["value"] for r in json.loads(js.read_text(encoding="utf-8"))) == [80, 120]

    a = tmp_path / "alerts.csv"
    r = _run("forecast", "alerts", "-o", str(a), "--db", db)
    assert r.exit_code == 0, r.output
    lines = a.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("#") and "#loc+code" in lines[1]  # HXL tag row
    df = pd.read_csv(a, skiprows=[1])
    assert df.loc[0, "area_name"] == "'=cmd|calc"  # neutralised, never a live formula
    assert df.loc[0, "backtest_hits"] == 0 and df.loc[0, "caveat"].startswith("Unconfirmed")


def test_explain_takes_format_json_and_output(tmp_path):
    db = _warehouse(tmp_path)
    out = tmp_path / "e.json"
    r = _run("figures", "explain", "NG002", "2024-01-31", "--format", "json", "-o", str(out),
             "--db", db)
    assert r.exit_code == 0, r.output
    e = json.loads(out.read_text(encoding="utf-8"))
    assert e["area"] == "NG002" and e["value"] == 120
    old = _run("figures", "explain", "NG002", "2024-01-31", "--json", "--db", db)
    assert old.exit_code == 0 and json.loads(old.stdout)["value"] == 120
