"""``idpkit serve`` and the CLI on one DuckDB warehouse at the same time (issue 21 item 4, issue 22
item 4): a running server used to hold DuckDB's write lock, so every CLI command failed with a raw
"Could not set lock on file" — ``tokens revoke`` included, so a leaked token worked until someone
stopped the service. The server now lets go of the file when idle and the CLI waits briefly for a
lock; this runs a real server process and real CLI processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from idpkit.cli.app import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token
                                 else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture()
def server(tmp_path: Path, demo_operation):
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    db = tmp_path / "w.duckdb"
    files = [f for f in demo_operation.all_assessment_files() if f.name.startswith("baseline")]
    with connect(str(db)) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        ingest_file(wh, files[0])
    port = _free_port()
    env = {**os.environ, "IDPKIT_LOCK_WAIT": "60", "NO_COLOR": "1"}
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--db", str(db)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a condition, with room for a loaded machine
    while True:
        try:
            if _get(base + "/api")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out, errs = proc.communicate(timeout=10)
            pytest.fail(f"server did not start: {errs[-2000:]}")
        time.sleep(0.2)
    try:
        yield base, db, env, files
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "Dashboard: http://127.0.0.1" in proc.stderr.read()


def test_cli_works_while_the_server_runs(server):
    base, db, env, files = server
    assert _get(base + "/api/figures/stock?level=1")[0] == 200  # the server has used the file

    made = _cli("tokens", "create", "side", "--role", "analyst", "--db", str(db), env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1].strip()
    status, body = _get(base + "/api/figures/stock?level=1", token)
    assert status == 200 and body["public_rules"] is False  # the running server sees the token

    imported = _cli("ingest", str(files[1]), "--db", str(db), env=env)
    assert imported.returncode == 0, imported.stderr
    status, body = _get(base + "/api/datasets")
    assert status == 200 and len(body["data"]) == 2  # and the new import

    revoked = _cli("tokens", "revoke", "side", "--db", str(db), env=env)
    assert revoked.returncode == 0, revoked.stderr
    status, body = _get(base + "/api/figures/stock?level=1", token)
    assert status == 401  # a revoked token stops working at once, server still running


def test_a_held_lock_is_a_clear_message_not_duckdbs_text(tmp_path):
    """Another process holding the file: the CLI waits IDPKIT_LOCK_WAIT seconds, then says who
    holds it and what to do (exit 1, no traceback)."""
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "c.execute('create table t(x int)'); print('held', flush=True); time.sleep(120)",
         str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = _cli("summary", "--db", str(db), env={**os.environ, "IDPKIT_LOCK_WAIT": "0.5"})
        assert res.returncode == 1, res
        text = " ".join(res.stderr.split())
        assert f"is in use by process {holder.pid}" in text and "IDPKIT_LOCK_WAIT" in text
        assert "Traceback" not in res.stderr and "Could not set lock" not in res.stderr
    finally:
        holder.kill()
        holder.wait()
