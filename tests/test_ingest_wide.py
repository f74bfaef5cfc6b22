"""Site and village assessments have 150-300 columns, some exports over 1,000: the width of a sheet
must never deepen an expression (a 265-column sheet ended in RecursionError; a 1,000-column one
in DuckDB's expression-depth limit)."""

from __future__ import annotations

import csv
import random
from datetime import date

import openpyxl
import pytest

from conftest import dataset_rows
from idpkit.ingest.pipeline import IngestOptions, ingest_file


def _write(path, ncols: int, rows: int, seed: int) -> tuple[float, float]:
    """A sheet of ``ncols`` columns: two area columns, one IDP-individuals and one IDP-households
    column at random places among free-text questions. Returns the two totals, summed here."""
    rng = random.Random(seed)
    header = ["State Pcode", "State"] + [f"Question {i}" for i in range(ncols - 4)]
    ind_at, hh_at = sorted(rng.sample(range(2, ncols - 2), 2))
    header.insert(ind_at, "IDP individuals")
    header.insert(hh_at, "IDP households")
    data, ind, hh = [], 0.0, 0.0
    for r in range(rows):
        row: list[object] = ["NG001", "Abia"] + [rng.choice(["yes", "no", "n/a", "12"])
                                                 for _ in range(ncols - 4)]
        i, h = rng.randint(50, 500), rng.randint(10, 49)
        row.insert(ind_at, i)
        row.insert(hh_at, h)
        row[-1] = f"unique {r}"  # no two rows identical
        ind, hh = ind + i, hh + h
        data.append(row)
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(data)
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Data"
        ws.append(header)
        for row in data:
            ws.append(row)
        wb.save(path)
    return ind, hh


@pytest.mark.parametrize("ncols,suffix", [(265, ".xlsx"), (1000, ".csv"), (1000, ".xlsx")])
def test_wide_sheets_import(wh, tmp_path, ncols, suffix):
    f = tmp_path / f"wide_{ncols}{suffix}"
    ind, hh = _write(f, ncols, 30, seed=ncols)
    r = ingest_file(wh, f, IngestOptions(reporting_date=date(2024, 5, 31)))
    assert r.status == "imported"
    assert r.rows_read == 30 == r.rows_accepted + r.rows_quarantined
    o = dataset_rows(wh, "observations", r.dataset_id)
    tot = o[(o.sex == "all") & (o.age_group == "all")]
    assert tot[tot.unit == "individuals"].value.sum() == ind
    assert tot[tot.unit == "households"].value.sum() == hh
