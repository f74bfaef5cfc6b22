"""Issue 22 item 7: junk is refused, not stored.

* A cell longer than its column's limit (text 10,000 characters, codes such as P-codes 100;
  both configurable) refuses the file with a message naming the row and the column, before any
  later stage reads the cell; nothing is stored.
* A header over nothing but empty rows is refused with a non-zero exit (``idpkit ingest``).
* API request bodies that are not file uploads are limited (413 in the one error shape).

Row numbers expected here are counted from the generated file's lines, independently of idpkit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.errors import HostileFileError

HEADER = ["Site ID", "Site name", "Admin 1 Pcode", "Admin 2 Pcode", "IDP individuals", "Date"]
HXL = ["#loc+code", "#loc+name", "#adm1+code", "#adm2+code", "#affected+idps+ind",
       "#date+reported"]


def _rows(n: int) -> list[list[str]]:
    return [[f"S{i}", f"Camp {i}", "NG008", f"NG00800{i % 9 + 1}", str(100 + i), "2024-03-31"]
            for i in range(1, n + 1)]


def _write(path: Path, rows: list[list[str]], fmt: str) -> Path:
    if fmt == "json":
        path.write_text(json.dumps([dict(zip(HEADER, r)) for r in rows]), encoding="utf-8")
    else:
        def line(cells: list[str]) -> str:
            return ",".join('"' + c.replace('"', '""') + '"' for c in cells)
        path.write_text("\n".join([line(HEADER), line(HXL)] + [line(r) for r in rows]) + "\n",
                        encoding="utf-8")
    return path


def _counts(wh) -> tuple[int, int]:
    return (int(wh.table("datasets").count().execute()),
            int(wh.table("observations").count().execute()))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from([0, 1, 3]), extra=st.integers(1, 3000),
       row=st.integers(0, 4), fmt=st.sampled_from(["csv", "json"]))
def test_overlong_cell_refuses_the_file_naming_row_and_column(wh, tmp_path_factory, column,
                                                               extra, row, fmt):
    """Small configured limits (the rule, not the default numbers, is under test): one cell over
    its column's limit anywhere refuses the file; codes (site id, P-code) have the code limit."""
    from idpkit.ingest.context import IngestOptions
    from idpkit.ingest.pipeline import ingest_file

    max_text, max_code = 300, 20
    code = column in (0, 3)
    limit = max_code if code else max_text
    rows = _rows(5)
    rows[row][column] = rows[row][column][:2] + "7" * (limit + extra - 2)
    path = _write(tmp_path_factory.mktemp("long") / f"long.{fmt}", rows, fmt)
    before = _counts(wh)
    with pytest.raises(HostileFileError) as err:
        ingest_file(wh, path, IngestOptions(max_text_chars=max_text, max_code_chars=max_code))
    msg = err.value.message
    user_row = row + 3 if fmt == "csv" else None  # header, HXL row, then data from line 3
    if user_row is not None:
        assert f"row {user_row}," in msg, msg
    assert f"column '{HEADER[column]}'" in msg and f"{limit + extra:,} characters" in msg, msg
    assert f"limited to {limit:,}" in msg and "7" * 50 not in msg
    assert _counts(wh) == before


def test_cells_at_the_limit_are_accepted(wh, tmp_path):
    from idpkit.ingest.context import IngestOptions
    from idpkit.ingest.pipeline import ingest_file

    rows = _rows(3)
    rows[1][1] = "N" * 300
    r = ingest_file(wh, _write(tmp_path / "ok.csv", rows, "csv"),
                    IngestOptions(max_text_chars=300, max_code_chars=20))
    assert r.status == "imported" and r.rows_accepted == 3


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("IDPKIT_DB", "COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "idpkit.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300, check=False)


def test_cli_refuses_a_10_mb_site_name_with_defaults(tmp_path):
    rows = _rows(3)
    rows[2][1] = "x" * (10 << 20)
    path = _write(tmp_path / "huge.csv", rows, "csv")
    proc = _cli("ingest", str(path), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "row 5" in err[0] and "'Site name'" in err[0], err
    assert "10,000" in err[0] and len(err[0]) < 400


@pytest.mark.parametrize("blank", [",,,,,", " , , , , , ", ""])
@pytest.mark.parametrize("hxl", [True, False])
def test_cli_refuses_a_header_over_empty_rows(tmp_path, blank, hxl):
    lines = [",".join(HEADER)] + ([",".join(HXL)] if hxl else []) + [blank] * 20_000
    path = tmp_path / "empty-rows.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    proc = _cli("ingest", str(path), "--db", str(db), cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "no data rows" in proc.stderr
    assert "imported as" not in proc.stdout + proc.stderr


def test_api_refuses_large_non_upload_bodies(tmp_path):
    from idpkit.api.app import create_app
    from idpkit.api.body_limit import MAX_BODY_BYTES

    client = TestClient(create_app(str(tmp_path / "w.duckdb")), raise_server_exceptions=False)
    body = b'{"pcode": "' + b"1" * (MAX_BODY_BYTES + 10) + b'"}'
    for url in ("/api/datasets", "/api/figures/stock", "/api/anything"):
        r = client.post(url, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413, (url, r.status_code, r.text[:200])
        err = r.json()["error"]
        assert set(err) == {"code", "message", "location"} and err["code"] == "too-large"
    small = client.post("/api/datasets", content=b"{}",
                        headers={"content-type": "application/json"})
    assert small.status_code != 413
