"""``idpkit solutions``: import, list, estimate, progress, exit — formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas as pd

from idpkit.testing.demo_survey import generate_survey


def idpkit(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                           *args, "--db", db], capture_output=True, text=True, timeout=600)


def test_solutions_commands(tmp_path):
    demo = generate_survey(tmp_path / "sv", ["ZDL0101", "ZDL0102"], psus_per_stratum=5,
                           households_per_psu=10)
    db = str(tmp_path / "w.duckdb")
    r = idpkit("solutions", "import", str(demo.households_csv), "--spec", str(demo.spec_yaml),
               db=db)
    assert r.returncode == 0, r.stderr
    assert "100 households" in r.stdout

    r = idpkit("solutions", "list", "--format", "csv", db=db)
    assert r.returncode == 0 and "demo_solutions" in r.stdout

    r = idpkit("solutions", "estimate", "demo_solutions", "--by", "area,group", "-i", "employment_rate",
               "--format", "csv", db=db)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 2 * 3 and {x["indicator"] for x in rows} == {"employment_rate"}
    assert {"estimate", "se", "ci_low", "ci_high", "cv", "deff", "n", "weighted_n"} <= set(rows[0])

    r = idpkit("solutions", "estimate", "demo_solutions", "-i", "nope", db=db)
    assert r.returncode != 0 and "unknown indicator" in r.stderr

    r = idpkit("solutions", "progress", "demo_solutions", db=db)
    assert r.returncode == 0, r.stderr
    assert "Across all areas, IDPs are significantly worse off" in r.stdout.replace("\n", " ")

    r = idpkit("solutions", "progress", "demo_solutions", "--view", "gaps", "--format", "json",
               db=db)
    gaps = json.loads(r.stdout)
    assert {"gap", "gap_ci_low", "gap_ci_high", "significant", "status"} <= set(gaps[0])

    r = idpkit("solutions", "progress", "demo_solutions", "--comparison", "martians", db=db)
    assert r.returncode == 1 and "unknown population group" in r.stderr

    out = tmp_path / "exit.csv"
    r = idpkit("solutions", "exit", "demo_solutions", "--people", "hh_size", "-o", str(out),
               db=db)
    assert r.returncode == 0, r.stderr
    assert "Experimental" in r.stderr
    ex = pd.read_csv(out)
    assert (ex.status == "experimental (IRIS exit measure)").all() and "idps_people" in ex

    for _ in range(2):  # re-running replaces, never duplicates
        r = idpkit("solutions", "analyse", "demo_solutions", db=db)
        assert r.returncode == 0, r.stderr
    import duckdb

    con = duckdb.connect(db, read_only=True)
    n_gaps = con.execute("SELECT COUNT(*) FROM solution_gaps").fetchone()[0]
    assert n_gaps == 3 * 25  # two areas and all areas, the 25 library indicators
    assert con.execute("SELECT COUNT(DISTINCT status) FROM solution_exit").fetchone()[0] == 1
    assert con.execute("SELECT COUNT(*) FROM solution_estimates WHERE domain = 'population_group'"
                       ).fetchone()[0] == 3 * 25


def test_import_with_design_errors_exits_1_and_lists_rows(tmp_path):
    demo = generate_survey(tmp_path / "sv", ["ZDL0101"], psus_per_stratum=3, households_per_psu=4)
    df = pd.read_csv(demo.households_csv)
    df.loc[1, "design/weight"] = 0
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    db = str(tmp_path / "w.duckdb")
    r = idpkit("solutions", "import", str(bad), "--spec", str(demo.spec_yaml), db=db)
    assert r.returncode == 1
    assert "survey-non-positive-weight" in r.stderr and "nothing was imported" in r.stderr
    assert "Traceback" not in r.stderr
    r = idpkit("solutions", "list", "--format", "csv", db=db)
    assert r.stdout.strip().splitlines()[1:] == []
