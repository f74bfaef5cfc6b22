"""`idpkit demo` end to end, and no output of it carries personal data of the generated register.

Outputs: every table of the warehouse, and every file the demo wrote except its inputs (the
generated registration list) and the protected store with its key.
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pandas as pd


def test_demo_runs_and_publishes_no_personal_data(tmp_path):
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items()
           if k not in ("IDPKIT_DB", "IDPKIT_REGISTER_DB", "IDPKIT_PSEUDONYM_KEY")}
    env["IDPKIT_PSEUDONYM_KEY_FILE"] = str(tmp_path / "key" / "pseudonym.key")
    r = subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()", "demo",
                        "--out", str(out)], capture_output=True, text=True, timeout=1200,
                       env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    text = " ".join(r.stdout.split())
    assert "Progress measure (IRIS)" in text and "Register:" in text

    register = pd.read_csv(out / "files" / "register" / "registrations.csv", dtype=str)
    phones = set(register.phone.dropna())
    digits = {"".join(ch for ch in p if ch.isdigit())[-9:] for p in phones}
    ids = set(register.id_number.dropna())
    full_names = set((register.first_name + " " + register.father_name + " " +
                      register.family_name).dropna())
    names = set(register.first_name.dropna()) | set(register.family_name.dropna())

    # every warehouse table, every text cell
    con = duckdb.connect(str(out / "idpkit.duckdb"), read_only=True)
    found = []
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = 'main'").fetchall():
        cols = con.execute(f"SELECT column_name FROM information_schema.columns WHERE "
                           f"table_name = '{table}' AND data_type = 'VARCHAR'").fetchall()
        for (col,) in cols:
            values = {v for (v,) in con.execute(
                f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL').fetchall()}
            hits = values & (phones | ids | full_names | names)
            hits |= {v for v in values if any(d in v for d in digits if len(d) == 9)}
            if hits:
                found.append((table, col, sorted(hits)[:3]))
    con.close()
    assert not found, found

    # every file written, except the demo's own inputs and the protected store
    protected = {out / "idpkit.register.duckdb", out / "idpkit.register.duckdb.wal"}
    for path in out.rglob("*"):
        if not path.is_file() or path in protected or "register" in path.parts[-2:-1]:
            continue
        if path.suffix in (".duckdb", ".wal"):
            continue  # the warehouse, checked table by table above
        blob = path.read_bytes().decode("utf-8", errors="ignore")
        if path.suffix == ".pdf":  # compressed streams: scan the text a reader sees
            from pypdf import PdfReader

            blob = " ".join(p.extract_text() or "" for p in PdfReader(path).pages)
        leaked = [s for s in ids | phones | full_names if s and s in blob]
        assert not leaked, (path, leaked[:3])
    assert (out / "idpkit.register.duckdb").exists()
    assert (out / "release" / "datapackage.json").exists()  # the public release was scanned too
    # `make test` installs chromium: the situation report's PDF exists and was scanned too
    assert (out / "release" / "sitrep.pdf").exists()
    counts = (out / "release" / "register_counts.csv").read_text()
    assert "person_key" not in counts and "R0" not in counts
