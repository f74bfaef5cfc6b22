"""Real OCHA 3W/4W/5W files (issue 20): organisations per admin 1 × sector and people
targeted/reached per group equal the numbers counted independently with plain pandas
(``tests/fixtures/activities/count_expected.py``, method in its docstring), on trimmed copies
always and on the whole ``../shared`` corpus when it is present; files that cannot be read as
who does what where are refused with what to map, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from idpkit.areas.activities import import_activities
from idpkit.errors import IdpkitError

FIX = Path(__file__).parent / "fixtures" / "activities"
EXPECTED = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "real-data" / "corpus" / "activities"


def _counts(wh, key: str) -> tuple[dict[str, int], dict[str, float]]:
    """idpkit's stored rows, grouped the way expected.json is keyed."""
    a = wh.table("activities").execute()
    a["key"] = a[key].fillna("(none)")
    orgs = {f"{k}|{s}": int(n)
            for (k, s), n in a.groupby(["key", "sector"]).organisation.nunique().items()}
    a["g"] = a.population_group.fillna("all")
    people: dict[str, float] = {}
    for kind in ("targeted", "reached"):
        p = a[a[kind].notna()].groupby(["key", "sector", "g"])[kind].sum()
        people.update({f"{kind}|{k}|{s}|{g}": float(v) for (k, s, g), v in p.items()})
    return orgs, people


def _check(wh, path: Path, exp: dict) -> None:
    s = import_activities(wh, path)
    assert s.rows_read == s.rows_accepted + s.rows_quarantined
    assert s.rows_accepted == exp["rows_counted"]
    orgs, people = _counts(wh, exp["key"])
    assert orgs == exp["organisations"]
    assert people.keys() == exp["people"].keys()
    for k, v in exp["people"].items():
        assert people[k] == pytest.approx(v), k
    ds = wh.table("datasets").execute().iloc[0]
    assert (ds.rows_read, ds.rows_accepted, ds.rows_quarantined) == \
        (s.rows_read, s.rows_accepted, s.rows_quarantined)
    q = wh.table("quarantine").execute()
    assert len(q) == s.rows_quarantined and (q.codes != "").all()


@pytest.mark.parametrize("fixture", sorted(EXPECTED["fixtures"]))
def test_trimmed_real_files_import_right(wh, fixture):
    _check(wh, FIX / fixture, EXPECTED["fixtures"][fixture])


def test_new_warehouse_is_seeded_and_keeps_real_pcodes(wh):
    """An empty warehouse gets the embedded OCHA list (valid P-codes are not rejected), and
    the file's admin 3 codes (beyond the list) are added to ``areas`` with their parents."""
    s = import_activities(wh, FIX / "irq_3w_longtable.xlsx")
    assert s.rows_quarantined == 0
    areas = wh.table("areas").execute().set_index("pcode")
    assert len(areas) > 1000
    a = wh.table("activities").execute()
    assert set(a.admin_level) == {3} and a.area_pcode.isin(areas.index).all()
    some = a.area_pcode.iloc[0]
    assert areas.loc[some, "admin_level"] == 3
    assert areas.loc[some, "parent_pcode"] in areas.index
    assert set(a.population_group) == {"idps", "returnees"}  # "Out-of-camp IDPs", "Returnees"


def test_people_by_group_in_the_files_words(wh):
    import_activities(wh, FIX / "moz_4w_people_by_group.xlsx")
    a = wh.table("activities").execute()
    assert {"idps", "host_community"} <= set(a.population_group.dropna())
    issues = wh.table("issues").execute()
    assert "group-not-recognised" in set(issues.code)  # "# people" names no group


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/real-data corpus not present")
@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_real_corpus_imports_right(tmp_path, name):
    from idpkit.warehouse import connect

    with connect(str(tmp_path / "w.duckdb")) as wh:
        _check(wh, CORPUS / name, EXPECTED["files"][name])


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/real-data corpus not present")
@pytest.mark.parametrize("name", sorted(EXPECTED["refused"]))
def test_real_corpus_refusals_say_what_to_map(tmp_path, name):
    from idpkit.warehouse import connect

    with connect(str(tmp_path / "w.duckdb")) as wh:
        with pytest.raises(IdpkitError) as e:
            import_activities(wh, CORPUS / name)
        assert "activities" not in wh.con.list_tables() or \
            int(wh.table("activities").count().execute()) == 0
    msg = str(e.value)
    assert "sector" in msg or "summary" in msg


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/real-data corpus not present")
def test_every_corpus_file_is_covered():
    names = {p.name for p in CORPUS.iterdir()}
    assert names == set(EXPECTED["files"]) | set(EXPECTED["refused"])


def test_the_cli_imports_and_refuses(tmp_path):
    from typer.testing import CliRunner

    from idpkit.cli.app import app

    db = str(tmp_path / "w.duckdb")
    r = CliRunner().invoke(app, ["areas", "activities", "import", "--db", db,
                                 str(FIX / "sdn_3w_names_only.xlsx")])
    assert r.exit_code == 0, r.output
    assert "300 rows read" in r.output
    bad = tmp_path / "no_sector.csv"
    pd.DataFrame({"Organisation": ["A", "B"], "Admin1 Pcode": ["XQ01", "XQ02"]}).to_csv(
        bad, index=False)
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-m", "idpkit.cli", "areas", "activities", "import",
                           "--db", db, str(bad)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    out = " ".join(proc.stderr.split())
    assert "Error:" in out and "no sector column" in out and "--mapping" in out
