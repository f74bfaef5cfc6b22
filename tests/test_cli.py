"""The command line: exit codes, exact CSV header of `summary`, reports in three formats."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

DTM = Path(__file__).parent / "fixtures" / "dtm"


def idpkit(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                           *args, "--db", db], capture_output=True, text=True, timeout=600)


def test_ingest_summary_validate(tmp_path):
    db = str(tmp_path / "w.duckdb")
    report = tmp_path / "report.html"
    r = idpkit("ingest", str(DTM / "nigeria_baseline_assessment_round_38.xlsx"), "--report",
               str(report), "--source", "IOM DTM", db=db)
    assert r.returncode == 0, r.stderr
    assert "790 rows read" in r.stdout
    page = report.read_text(encoding="utf-8")
    assert "tag-contradicts-values" in page and "<table" in page

    s = idpkit("summary", "--format", "csv", db=db)
    assert s.returncode == 0, s.stderr
    rows = list(csv.reader(io.StringIO(s.stdout)))
    assert rows[0] == ["dataset", "adm1_pcode", "adm1_name", "population_group", "unit", "value"]
    by_state = {(x[1], x[4]): x for x in rows[1:]}
    assert by_state[("NG002", "individuals")][2] == "Adamawa"
    assert int(by_state[("NG002", "individuals")][5]) > 0

    # dry run on a file with an error row: exit 1, JSON names row, column and value
    bad = tmp_path / "bad.csv"
    bad.write_text("State Pcode,IDP individuals,Reporting date\n#adm1+code,#affected+idps+ind,#date+reported\n"
                   "NG002,120,2024-01-31\nNG008,approx 200,2024-01-31\n", encoding="utf-8")
    v = idpkit("validate", str(bad), "--format", "json", db=db)
    assert v.returncode == 1
    doc = json.loads(v.stdout)
    issue = next(i for i in doc["tasks"][0]["issues"] if i["code"] == "non-numeric-count")
    assert (issue["row"], issue["column"], issue["value"]) == (4, "IDP individuals", "approx 200")
    assert doc["tasks"][0]["stats"]["rows_quarantined"] == 1
    # validate changed nothing
    s2 = idpkit("summary", "--format", "csv", db=db)
    assert s2.stdout == s.stdout


def test_errors_are_one_line(tmp_path):
    r = idpkit("ingest", str(tmp_path / "missing.csv"), db=str(tmp_path / "w.duckdb"))
    assert r.returncode != 0
    assert r.stderr.strip().startswith("Error:") and "Traceback" not in r.stderr


def test_household_size_range_is_configurable(tmp_path):
    f = tmp_path / "hh.csv"
    f.write_text("p,ind,hh,date\n#adm1+code,#affected+idps+ind,#affected+idps+hh,#date+reported\n"
                 "NG002,100,2,2021-07-30\n", encoding="utf-8")
    db = str(tmp_path / "w.duckdb")

    def codes(*extra: str) -> set[str]:
        r = idpkit("validate", str(f), "--format", "json", *extra, db=db)
        return {i["code"] for t in json.loads(r.stdout)["tasks"] for i in t["issues"]}

    assert "implausible-household-size" in codes()
    assert "implausible-household-size" not in codes("--household-size", "1-60")
    bad = idpkit("validate", str(f), "--household-size", "5", db=db)
    assert bad.returncode == 2 and "MIN-MAX" in bad.stderr


def test_missing_or_folder_input_is_one_line_error(tmp_path):
    """A file argument that is missing or a folder: one line naming it and exit 1, no traceback,
    whichever command and part opened it (solutions import used to print a traceback)."""
    from idpkit.testing.demo_survey import generate_survey

    db = str(tmp_path / "w.duckdb")
    spec = generate_survey(tmp_path / "sv", ["ZDL0101", "ZDL0102"], psus_per_stratum=2,
                           households_per_psu=3).spec_yaml
    (tmp_path / "folder").mkdir()
    for target in (tmp_path / "missing.csv", tmp_path / "folder"):
        for args in (["solutions", "import", str(target), "--spec", str(spec)],
                     ["ingest", str(target)], ["register", "import", str(target)]):
            r = idpkit(*args, db=db)
            assert r.returncode == 1, (args, r.stdout, r.stderr)
            assert "Traceback" not in r.stderr and str(target) in r.stderr + r.stdout, (args, r.stderr)


def test_a_mistyped_db_is_an_error_not_a_new_empty_warehouse(tmp_path):
    """Issue 21: a mistyped --db created an empty warehouse and `summary` printed an empty table
    with exit 0. Reading commands now refuse a path with no warehouse (naming it), imports still
    create one, `--create` lets any command create it, and dry runs leave nothing behind."""
    typo = tmp_path / "warehuose.duckdb"
    for args in (("summary",), ("figures", "stock"), ("datasets", "list"), ("tokens", "list")):
        r = idpkit(*args, db=str(typo))
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert f"no warehouse at {typo}" in " ".join(r.stderr.split()), (args, r.stderr)
        assert not typo.exists(), args
    f = tmp_path / "f.csv"
    f.write_text("p,ind,date\n#adm1+code,#affected+idps+ind,#date+reported\n"
                 "NG002,100,2021-07-30\n", encoding="utf-8")
    assert idpkit("validate", str(f), db=str(typo)).returncode == 0
    assert not typo.exists()  # a dry run leaves no warehouse behind
    r = subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                        "--create", "summary", "--db", str(typo)], capture_output=True,
                       text=True)
    assert r.returncode == 0 and typo.exists(), r.stderr
    typo.unlink()
    assert idpkit("ingest", str(f), db=str(typo)).returncode == 0 and typo.exists()


def test_version_and_how_to_run_idpkit_again(monkeypatch, tmp_path):
    """Issue 21, the first hour: after `make demo` the bare `idpkit` was "command not found" and
    the demo's closing hint used it; hints now name the program as it was run."""
    from idpkit.cli.app import self_command

    r = subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                        "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("idpkit ")
    script = tmp_path / "venv" / "bin" / "idpkit"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not on PATH
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    assert self_command() == "venv/bin/idpkit"
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert self_command() == "idpkit"
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/idpkit" in readme.split("## What works")[0]


def test_bad_option_values_are_refused_with_the_valid_ones(tmp_path):
    """Issue 21: `ingest --kind nonsense` was stored, `forecast alerts --format jsn` and `validate
    --format csv` printed a table, an unknown --country said "No figures" with exit 0."""
    db = str(tmp_path / "w.duckdb")
    f = tmp_path / "f.csv"
    f.write_text("p,ind,date\n#adm1+code,#affected+idps+ind,#date+reported\n"
                 "NG002,100,2021-07-30\n", encoding="utf-8")
    r = idpkit("ingest", str(f), "--kind", "nonsense", db=db)
    assert r.returncode == 2 and "baseline_area" in r.stderr and "flow_monitoring" in r.stderr
    assert idpkit("ingest", str(f), "--kind", "baseline_area", db=db).returncode == 0
    for args in (("validate", str(f), "--format", "csv"), ("forecast", "alerts", "--format",
                                                           "jsn")):
        r = idpkit(*args, db=db)
        assert r.returncode == 2 and "'table'" in r.stderr and "'json'" in r.stderr, args
    r = idpkit("figures", "stock", "--country", "XXX", db=db)
    assert r.returncode == 2 and "no dataset has 'XXX'" in " ".join(r.stderr.split())
    assert "NGA" in r.stderr
    r = idpkit("figures", "stock", "--operation", "Nowhere", db=db)
    assert r.returncode == 2 and "--operation" in r.stderr
