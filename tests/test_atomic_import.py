"""An import killed with SIGKILL in the middle of its transaction leaves the warehouse unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from idpkit.ingest.pipeline import ingest_file
from idpkit.model.tables import CORE_TABLES
from idpkit.warehouse import connect

DTM = Path(__file__).parent / "fixtures" / "dtm"


def _counts(url: str) -> dict[str, int]:
    with connect(url) as wh:
        return {t: int(wh.table(t).count().execute()) for t in CORE_TABLES}


def test_sigkill_mid_import_changes_nothing(warehouse_url, tmp_path):
    with connect(warehouse_url) as wh:
        ingest_file(wh, DTM / "ethiopia_site_assessment_round_28.xlsx")
    before = _counts(warehouse_url)
    marker = tmp_path / "in-transaction"
    env = dict(os.environ, IDPKIT_PAUSE_IN_TRANSACTION=str(marker))
    code = ("import sys; from idpkit.warehouse import connect; "
            "from idpkit.ingest.pipeline import ingest_file; "
            "wh = connect(sys.argv[1]); ingest_file(wh, sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, warehouse_url,
                             str(DTM / "nigeria_baseline_assessment_round_38.xlsx")], env=env)
    try:
        deadline = time.time() + 120
        while not marker.exists():
            assert proc.poll() is None, "import ended before reaching its transaction"
            assert time.time() < deadline, "import never reached its transaction"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.5)  # PostgreSQL notices the dropped connection and rolls back
    assert _counts(warehouse_url) == before
    # and the same file imports cleanly afterwards
    with connect(warehouse_url) as wh:
        r = ingest_file(wh, DTM / "nigeria_baseline_assessment_round_38.xlsx")
        assert r.status == "imported" and r.rows_read == 790
        assert int(wh.table("datasets").count().execute()) == before["datasets"] + 1
