"""No traceback reaches a user: a bug (any exception that is not an IdpkitError) becomes one line
naming a crash report, exit code 2 in the CLI and a 500 in the API's one error shape; the report
holds the file's structure, never a cell value or the exception's message."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

MARKER = "ZQX-private-7f3a9c"  # in a data cell: must never reach a report
HEADER = ("State Pcode,IDP individuals,Reporting date\n"
          "#adm1+code,#affected+idps+ind,#date+reported\n")


@pytest.fixture()
def crash_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "crash"  # does not exist yet: the boundary creates it 0700
    monkeypatch.setenv("IDPKIT_CRASH_DIR", str(folder))
    return folder


def _csv(folder: Path, name: str, rows: str) -> Path:
    p = folder / name
    p.write_text(HEADER + rows, encoding="utf-8")
    return p


def _reports(folder: Path) -> list[Path]:
    return sorted(folder.glob("crash-*.json")) if folder.is_dir() else []


def _recurse() -> None:
    _recurse()


def _counts(url: str) -> dict[str, int]:
    from idpkit.warehouse import connect

    with connect(url) as wh:
        return {t: int(wh.table(t).count().execute())
                for t in ("datasets", "observations", "issues", "quarantine")}


# ---------------------------------------------------------------------------------------------
# (a) CLI: ingest, per file


def test_ingest_bug_is_one_line_exit_2_report_and_nothing_half_written(
        tmp_path, crash_dir, warehouse_url, monkeypatch):
    import idpkit.warehouse.warehouse as warehouse
    from idpkit.cli.app import app

    bad = _csv(tmp_path, "bad.csv", f"NG002,120,2024-01-31\nNG008,{MARKER},2024-01-31\n")
    good = _csv(tmp_path, "good.csv", "NG002,340,2024-02-29\nNG008,210,2024-02-29\n")
    calls = []

    def fault() -> None:  # inside the import's transaction, after its first INSERT ran
        calls.append(1)
        if len(calls) == 1:
            _recurse()  # a real RecursionError, as the expression builder once raised

    monkeypatch.setattr(warehouse, "_fault_point", fault)
    before = _counts(warehouse_url)
    r = CliRunner().invoke(app, ["ingest", str(bad), str(good), "--db", warehouse_url])

    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    line = next(x for x in r.stderr.splitlines() if x.startswith("Error:"))
    assert line.startswith(f"Error: {bad}: idpkit could not read this file (internal error: "
                           "RecursionError). A crash report (the file's structure, no cell "
                           "values) was written to ")
    assert line.endswith("please attach it to a bug report.")
    assert "good.csv imported as" in r.stdout  # the next file was still imported

    [report] = _reports(crash_dir)
    assert str(report) in line
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(crash_dir.stat().st_mode) == 0o700
    text = report.read_text(encoding="utf-8")
    assert MARKER not in text and str(tmp_path) not in text
    doc = json.loads(text)
    assert doc["command"] == "ingest" and doc["exception"]["type"] == "RecursionError"
    frames = doc["exception"]["frames"]["list"]
    assert any(f["file"] == "idpkit/warehouse/warehouse.py" for f in frames)
    assert any(f.get("repeated", 0) > 100 for f in frames)  # the recursion, collapsed
    f = doc["file"]
    assert f["name"] == "bad.csv" and f["size"] == bad.stat().st_size and len(f["sha256"]) == 64
    assert f["format"]["kind"] == "csv"
    assert f["structure"]["sheets"]["list"][0] == {"name": "bad", "rows": 4, "columns": 3}
    [layout] = f["structure"]["layouts"]["list"]
    assert (layout["header_row"], layout["hxl_row"]) == (1, 2)
    assert [(c["header"], c["tag"], c["role"]) for c in layout["columns"]] == [
        ("State Pcode", "#adm1+code", "adm1_pcode"),
        ("IDP individuals", "#affected+idps+ind", "value"),
        ("Reporting date", "#date+reported", "reporting_date")]

    # atomic: the failed file left nothing; the good one is the only new dataset
    after = _counts(warehouse_url)
    assert after["datasets"] == before["datasets"] + 1
    from idpkit.warehouse import connect

    with connect(warehouse_url) as wh:
        names = wh.table("datasets").file_name.execute().tolist()
    assert "bad.csv" not in names and "good.csv" in names
    assert after["observations"] - before["observations"] == 2  # the good file's two rows


def test_a_bad_input_error_and_a_bug_exit_2_and_debug_shows_the_traceback(
        tmp_path, crash_dir, monkeypatch):
    import idpkit.ingest.pipeline as pipeline
    from idpkit.cli.app import app

    db = str(tmp_path / "w.duckdb")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    ok = _csv(tmp_path, "ok.csv", "NG002,1,2024-01-31\n")

    def broken(wh, path, options=None, progress=None):
        if path.name == "ok.csv":
            raise AttributeError(f"'_Import' object has no attribute '_area_findings' {MARKER}")
        return real(wh, path, options, progress)

    real = pipeline.ingest_file
    monkeypatch.setattr(pipeline, "ingest_file", broken)
    r = CliRunner().invoke(app, ["validate", str(empty), str(ok), "--db", db])
    assert r.exit_code == 2  # 2 (a bug) wins over 1 (bad input)
    assert "empty.csv: file is empty" in r.stderr
    assert "(internal error: AttributeError)" in r.stderr and MARKER not in r.output
    [report] = _reports(crash_dir)
    assert json.loads(report.read_text())["command"] == "validate"
    assert MARKER not in report.read_text()

    r = CliRunner().invoke(app, ["--debug", "validate", str(ok), "--db", db])
    assert isinstance(r.exception, AttributeError)  # tracebacks stay for developers
    assert len(_reports(crash_dir)) == 1


# ---------------------------------------------------------------------------------------------
# (b) CLI: main()'s last resort, for every command


def _new_warehouse(db: str) -> None:
    """An empty warehouse file: read-only commands refuse a --db that names none."""
    from idpkit.warehouse import connect

    connect(db).close()


def test_main_turns_any_bug_into_one_line_and_exit_2(tmp_path, crash_dir, monkeypatch, capsys):
    import idpkit.warehouse.summary as summary
    from idpkit.cli import app as cli

    def broken(*_a, **_k):
        raise RuntimeError(f"cannot add {MARKER} to {tmp_path}")

    monkeypatch.setattr(summary, "summary_expr", broken)
    db = str(tmp_path / "w.duckdb")
    _new_warehouse(db)
    monkeypatch.setattr(sys, "argv", ["idpkit", "summary", "--format", "json", "--db", db])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: idpkit failed (internal error: RuntimeError). A crash report "
                          "(no cell values) was written to ")
    assert "Traceback" not in err and MARKER not in err and len(err.strip().splitlines()) == 1
    [report] = _reports(crash_dir)
    doc = json.loads(report.read_text())
    assert doc["command"] == "idpkit summary" and doc["file"] is None
    assert MARKER not in report.read_text() and str(tmp_path) not in report.read_text()

    monkeypatch.setattr(sys, "argv", ["idpkit", "--debug", "summary", "--db", db])
    with pytest.raises(RuntimeError):
        cli.main()


def test_main_reports_an_oserror_without_a_file_name(tmp_path, crash_dir, monkeypatch, capsys):
    import idpkit.warehouse.summary as summary
    from idpkit.cli import app as cli

    def broken(*_a, **_k):
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(summary, "summary_expr", broken)
    _new_warehouse(str(tmp_path / "w.duckdb"))
    monkeypatch.setattr(sys, "argv", ["idpkit", "summary", "--db", str(tmp_path / "w.duckdb")])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    assert "(internal error: ConnectionResetError)" in capsys.readouterr().err


def test_boundary_survives_an_unwritable_crash_folder(tmp_path, monkeypatch):
    from idpkit.crashreport import report_unexpected

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("IDPKIT_CRASH_DIR", str(blocker / "crash"))
    line = report_unexpected(KeyError("x"), command="inspect")
    assert line.startswith("Error: idpkit failed (internal error: KeyError). No crash report "
                           "could be written (")


# ---------------------------------------------------------------------------------------------
# (c) API


@pytest.fixture()
def api(tmp_path):
    from idpkit.api.app import create_app
    from idpkit.api.auth import create_token
    from idpkit.warehouse import connect

    db = str(tmp_path / "api.duckdb")
    with connect(db) as wh:
        token = create_token(wh, "t-admin", "admin")
    app = create_app(db)
    return app, TestClient(app, raise_server_exceptions=False), {"Authorization": f"Bearer {token}"}


def test_upload_bug_is_a_500_in_the_error_shape_without_server_paths(tmp_path, crash_dir, api,
                                                                    monkeypatch):
    import idpkit.ingest.pipeline as pipeline

    app, client, auth = api

    def broken(wh, path, options=None, progress=None):
        raise RuntimeError(f"failed on {path} near {MARKER}")

    monkeypatch.setattr(pipeline, "ingest_file", broken)
    body = (HEADER + f"NG002,{MARKER},2024-01-31\n").encode()
    r = client.post("/api/datasets", headers=auth, files={"file": ("../../x/crash me.csv", body)})
    assert r.status_code == 500
    doc = r.json()
    assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message", "location"}
    assert doc["error"]["code"] == "internal-error" and doc["error"]["location"] == "form.file"
    msg = doc["error"]["message"]
    assert msg.startswith("crash me.csv: idpkit could not read this file (internal error: "
                          "RuntimeError); crash report crash-") and msg.endswith(".json")
    assert "/" not in msg and "/tmp" not in r.text and MARKER not in r.text
    [report] = _reports(crash_dir)
    assert report.name in msg
    doc = json.loads(report.read_text())
    assert doc["command"] == "api upload" and MARKER not in report.read_text()
    assert [c["role"] for c in doc["file"]["structure"]["layouts"]["list"][0]["columns"]] == [
        "adm1_pcode", "value", "reporting_date"]
    assert client.get("/api/datasets", headers=auth).json()["data"] == []


def test_api_generic_handler_writes_a_report_and_keeps_the_shape(crash_dir, api):
    app, client, auth = api

    def boom(pcode: str) -> dict:
        raise ZeroDivisionError(f"no {pcode}")

    app.add_api_route("/api/boom/{pcode}", boom)
    r = client.get(f"/api/boom/{MARKER}")
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "internal-error" and err["location"] is None
    assert err["message"].startswith("the server failed: ZeroDivisionError; crash report crash-")
    assert MARKER not in r.text and "/tmp" not in r.text
    [report] = _reports(crash_dir)
    doc = json.loads(report.read_text())
    assert doc["command"] == "api GET /api/boom/{pcode}" and doc["file"] is None
    assert MARKER not in report.read_text()


# ---------------------------------------------------------------------------------------------
# (d) describing a file never fails, never hangs


def test_describe_a_1000_column_workbook(tmp_path):
    from idpkit.crashreport import describe_file

    p = tmp_path / "wide.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["State Pcode", "Reporting date"] + [f"IDP individuals site {i}" for i in range(998)])
    for r in range(5):
        ws.append(["NG002", "2024-01-31"] + [r * i for i in range(997)] + [MARKER])
    wb.save(p)
    d = describe_file(p)
    assert d["format"]["kind"] == "xlsx"
    assert d["structure"]["sheets"]["list"] == [{"name": "data", "rows": 6, "columns": 1000}]
    [layout] = d["structure"]["layouts"]["list"]
    assert layout["column_count"] == 1000 and len(layout["columns"]) == 1000
    assert layout["columns"][0]["role"] == "adm1_pcode"
    assert MARKER not in json.dumps(d)


@pytest.mark.parametrize("content", [
    b"PK\x03\x04" + os.urandom(4000),  # a zip that is not one
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4000),  # an OLE header and noise
    os.urandom(20000),
    b"",
    b"a," * 200_000 + b"\n",  # one line, 200,000 columns
], ids=["fake-zip", "fake-xls", "noise", "empty", "wide-line"])
def test_describe_garbage_does_not_raise(tmp_path, content):
    from idpkit.crashreport import describe_file, write_crash_report

    p = tmp_path / "garbage.xlsx"
    p.write_bytes(content)
    d = describe_file(p)
    assert d["name"] == "garbage.xlsx" and d["size"] == len(content)
    assert "error" in d["structure"] or "sheets" in d["structure"]
    json.dumps(d)


def test_describe_records_a_failing_part_and_keeps_the_others(tmp_path, monkeypatch):
    import idpkit.ingest.detect as detect
    from idpkit.crashreport import describe_file

    monkeypatch.setattr(detect, "candidate_layouts", lambda source: _recurse())
    p = _csv(tmp_path, "deep.csv", "NG002,1,2024-01-31\n")
    d = describe_file(p)
    assert d["structure"]["layouts"] == {"error": "RecursionError"}
    assert d["structure"]["sheets"]["list"][0]["columns"] == 3


def test_describe_gives_up_after_its_time_limit(tmp_path, monkeypatch):
    import idpkit.ingest.readers as readers
    from idpkit.crashreport import describe_file

    release = threading.Event()
    monkeypatch.setattr(readers, "open_source", lambda path: release.wait(30))
    p = _csv(tmp_path, "slow.csv", "NG002,1,2024-01-31\n")
    try:
        d = describe_file(p, timeout=0.5)
    finally:
        release.set()
    assert d["structure"] == {"error": "timeout"} and d["size"] == p.stat().st_size
