"""The corpus instrument itself: hand-counted expectations that cover every fixture and still match
the files, a mapping idpkit accepts, and the runner's rules for summing and judging.

It does not import anything into idpkit (that is `make corpus`, whose outcomes change while
ingestion is rewritten); it keeps the measuring instrument honest.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from idpkit.ingest.mapping import Mapping

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
FOLDERS = ("figures", "activities", "needs")


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def counter() -> ModuleType:
    return _load("count_expected", CORPUS / "count_expected.py")


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    return _load("corpus_runner", ROOT / "scripts" / "corpus.py")


@pytest.fixture(scope="module")
def fixtures_json() -> dict:
    return json.loads((CORPUS / "expected-fixtures.json").read_text(encoding="utf-8"))["files"]


def test_every_fixture_has_expectations(fixtures_json):
    on_disk = {p.name for f in FOLDERS for p in (CORPUS / f).iterdir()}
    on_disk |= {p.name for p in (ROOT / "tests" / "fixtures" / "dtm").iterdir()}
    assert on_disk == set(fixtures_json)


def test_expectations_still_match_the_fixtures(counter, fixtures_json):
    """Re-counting the trimmed files gives the committed JSON (regenerate it with
    count_expected.py after changing a fixture)."""
    folders = [CORPUS / f for f in FOLDERS] + [ROOT / "tests" / "fixtures" / "dtm"]
    assert json.loads(json.dumps(counter.count_folder(folders))) == fixtures_json


@pytest.mark.parametrize("name", ["expected.json", "expected-fixtures.json"])
def test_entries_are_complete(name):
    files = json.loads((CORPUS / name).read_text(encoding="utf-8"))["files"]
    for fname, spec in files.items():
        assert spec["levels"] in ("all", "coarsest")
        for run in spec["runs"]:
            assert run["outcome"] in ("right", "refused", "not-displacement-figures"), fname
            if run["outcome"] != "right":
                assert not run.get("expected"), fname
                continue
            assert run["expected"], fname
            for e in run["expected"]:
                assert {"population_group", "unit", "metric"} <= set(e["by"]), (fname, e)
                assert isinstance(e["value"], (int, float)) and e["method"], (fname, e)
            # the grand total of each (group, unit, metric) is there: an entry with no finer key
            groups = {(e["by"]["population_group"], e["by"]["unit"], e["by"]["metric"])
                      for e in run["expected"]}
            grand = {(e["by"]["population_group"], e["by"]["unit"], e["by"]["metric"])
                     for e in run["expected"] if set(e["by"]) <= {"population_group", "unit",
                                                                   "metric", "iso3",
                                                                   "reporting_date"}}
            assert groups == grand, fname


def test_the_iraq_mapping_is_in_idpkits_format():
    m = Mapping.load(CORPUS / "mappings" / "irq_dtm_master_list.yml")
    assert len(m.columns) == 41
    assert m.columns[4].unit == "households" and m.columns[7] == "adm1_name"


def test_stored_value_sums_lists_months_and_missing_keys(runner):
    t = pd.DataFrame({
        "iso3": ["UKR", "UKR", "UKR"], "reporting_date": pd.to_datetime(["2023-09-30"] * 3),
        "adm1_pcode": ["UA32", "UA80", None], "population_group": ["idps"] * 3,
        "unit": ["individuals"] * 3, "metric": ["present_stock"] * 3, "cause": [None] * 3,
        "level": [1, 1, 0], "value": [363000.0, 285000.0, 20000.0]})
    by = {"iso3": "UKR", "population_group": "idps", "unit": "individuals",
          "metric": "present_stock"}
    assert runner.stored_value(t, by) == 668000
    assert runner.stored_value(t, {**by, "adm1_pcode": ["UA32", "UA80"]}) == 648000
    assert runner.stored_value(t, {**by, "month": "2023-09"}) == 668000
    assert runner.stored_value(t, {**by, "reporting_date": "2023-09-30", "year": 2023}) == 668000
    assert runner.stored_value(t, {**by, "hazard": "flood"}) == 0
    # the coarsest level per country and date, for files that repeat people at several levels
    assert runner.coarsest_level(t).value.sum() == 20000


def _spec(runner, outcome: str, expected: list | None = None):
    return runner.RunSpec(Path("f.csv"), [], outcome, expected or [], "all",
                          "idpkit areas needs import" if outcome != "right" else None)


def _stored(runner, rows: list[tuple[str, str, str, float]]):
    t = pd.DataFrame(rows, columns=["population_group", "unit", "metric", "value"])
    for c in ("iso3", "reporting_date", "adm1_pcode", "cause"):
        t[c] = None
    t["level"] = 0
    return runner.Stored(pd.DataFrame(), t)


def test_judge_outcomes(runner):
    entry = {"by": {"population_group": "idps", "unit": "individuals", "metric": "present_stock"},
             "value": 100}
    ok = runner.Process(0, "imported", 1.0)
    stock = [("idps", "individuals", "present_stock", 100.0)]
    assert runner.judge(_spec(runner, "right", [entry]), ok, _stored(runner, stock)).outcome == "right"
    off = [("idps", "individuals", "present_stock", 101.0)]
    assert runner.judge(_spec(runner, "right", [entry]), ok, _stored(runner, off)).outcome == "wrong"
    extra = stock + [("returnees", "individuals", "present_stock", 5.0)]
    v = runner.judge(_spec(runner, "right", [entry]), ok, _stored(runner, extra))
    assert v.outcome == "wrong" and "returnees" in v.why
    refused = runner.Process(1, "Error: f.csv: no counts", 1.0)
    empty = _stored(runner, [])
    assert runner.judge(_spec(runner, "right", [entry]), refused, empty).outcome == "refused"
    assert runner.judge(_spec(runner, "not-displacement-figures"), refused, empty).outcome == "right"
    assert runner.judge(_spec(runner, "refused"), ok, _stored(runner, stock)).outcome == "wrong"
    crash = runner.Process(1, "Traceback (most recent call last):", 1.0)
    assert runner.judge(_spec(runner, "right", [entry]), crash, empty).outcome == "crashed"
    assert runner.judge(_spec(runner, "right", [entry]), runner.Process(None, "", 900.0),
                        empty).outcome == "crashed"


def test_markdown_blocks_are_replaced_by_label_and_prose_is_kept(runner, tmp_path):
    row = runner.Row(_spec(runner, "not-displacement-figures"), runner.Verdict("right", "refused"),
                     runner.Stored(pd.DataFrame(), pd.DataFrame()), 3.0, 1.5)
    doc = tmp_path / "corpus.md"
    runner.write_markdown([row], doc, "scripts/corpus.py", "Baseline", [])
    doc.write_text(doc.read_text() + "\nHand-written notes.\n")
    runner.write_markdown([row], doc, "scripts/corpus.py", "Baseline", [])
    runner.write_markdown([row], doc, "scripts/corpus.py", "After", ["x: needs --country"])
    text = doc.read_text()
    assert text.count("## Baseline") == 1 and text.count("## After") == 1
    assert "Hand-written notes." in text and "| f.csv | - | - | not-displacement-figures |" in text
    assert "ratio median 2.0" in text
