"""Publication rules (issue 3, part 5), the figure CSV/HXL/JSON writers and the CLI's ``figures``."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from idpkit.cli.app import app
from idpkit.figures.output import to_csv, write_with_schema
from idpkit.figures.publication import apply_publication_rules, idmc_round
from idpkit.figures.schema import hxl_tag, stock_columns, table_schema


@pytest.mark.parametrize("value,expected", [
    (0, 0), (1, 1), (99, 99), (100, 100), (101, 100), (105, 100), (115, 120), (125, 120),
    (999, 1000), (1000, 1000), (1001, 1000), (1050, 1000), (1150, 1200), (9949, 9900),
    (9950, 10000), (9999, 10000), (10000, 10000), (12500, 12000), (13500, 14000), (1_234_567, 1_235_000),
    (-1234, -1200),
])
def test_idmc_rounding(value, expected):
    got = idmc_round(np.array([value], dtype=float))[0]
    assert (expected is None and math.isnan(got)) or got == expected


@given(st.integers(min_value=1, max_value=10**9))
def test_rounding_error_is_bounded_and_monotone_steps(v):
    r = idmc_round(np.array([v, v + 1], dtype=float))
    step = 1 if v <= 100 else 10 if v <= 1000 else 100 if v < 10000 else 1000
    assert abs(r[0] - v) <= step / 2
    assert r[0] % step == 0
    assert r[1] >= r[0]


def test_small_cells_suppressed_before_rounding():
    df = pd.DataFrame({"value": [0.0, 3.0, 4.0, 5.0, 1234.0, np.nan]})
    out = apply_publication_rules(df, suppress_below=5)
    assert out.suppressed.tolist() == [False, True, True, False, False, False]
    # a true 0 stays 0 (assessed, nobody counted), never "no figure"
    assert out.value.isna().tolist() == [False, True, True, False, False, True]
    assert out.value.tolist()[3:5] == [5.0, 1200.0]


def test_hxl_row_and_table_schema(tmp_path):
    cols = stock_columns(2, ["site_type"])
    df = pd.DataFrame([["ZD0101", "Shaisa", "idps", "conflict", "individuals",
                        pd.Timestamp("2025-05-31").date(), 1234.0, pd.Timestamp("2025-05-31").date(),
                        False, 0.5, "camp"]], columns=cols)
    text = to_csv(df, hxl=True).splitlines()
    assert text[0].split(",") == cols
    tags = text[1].split(",")
    assert tags[:2] == ["#adm2+code", "#adm2+name"]
    assert tags[cols.index("value")] == "#affected+idps+ind"
    assert tags[cols.index("reference_date")] == "#date+reported"
    assert text[2].split(",")[cols.index("value")] == "1234"
    assert text[2].split(",")[cols.index("stale")] == "false"
    schema_path = write_with_schema(df, tmp_path / "stock.csv", hxl=True)
    schema = json.loads(schema_path.read_text())
    assert [f["name"] for f in schema["fields"]] == cols
    assert {f["name"]: f["type"] for f in schema["fields"]}["value"] == "number"
    # Frictionless reads the file with its schema and finds no error
    from frictionless import Resource, Schema, validate

    plain = write_with_schema(df, tmp_path / "plain.csv", hxl=False)
    report = validate(Resource(path="plain.csv", basepath=str(tmp_path),
                               schema=Schema.from_descriptor(json.loads(plain.read_text()))))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert hxl_tag("adm0_pcode") == "#country+code"
    assert table_schema(["value"], group="returnees", unit="households")["fields"][0]["hxl"] == \
        "#affected+returnees+hh"


def test_cli_figures_stock(tmp_path, fixtures_dir):
    db = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(fixtures_dir / "dtm" / "nigeria_baseline_assessment_round_38.xlsx"),
                            "--db", db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["figures", "stock", "--level", "1", "--format", "csv", "--db", db])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == ("adm1_pcode,adm1_name,population_group,cause,unit,reference_date,value,"
                        "source_date,stale,coverage")
    df = pd.read_csv(pd.io.common.StringIO(r.output))
    assert set(df.adm1_pcode) >= {"NG008"} and (df.value >= 0).all()
    r = runner.invoke(app, ["figures", "stock", "--level", "2", "--format", "hxl", "--public",
                            "--db", db, "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.schema.json").exists()
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("#adm2+code,#adm2+name")
    r = runner.invoke(app, ["figures", "stock", "--level", "7", "--db", db])
    assert r.exit_code == 2 and "--level" in r.output
    r = runner.invoke(app, ["figures", "stock", "--date", "31/05/2025", "--db", db])
    assert r.exit_code != 0 and "YYYY-MM-DD" in r.output
