"""Failures the mutation tests found (tests/test_ingest_mutations.py), each as its smallest
reproducer: a strict xfail that turns into a pass — and so fails the suite, asking for the xfail
and the exclusion in test_ingest_mutations.py to be removed — once it is fixed.
"""

from __future__ import annotations

import shutil

import pytest

from idpkit.ingest.pipeline import ImportResult, IngestOptions, ingest_file
from idpkit.warehouse import connect
from table_mutations import MoveColumn, apply, load, write
from test_ingest_mutations import Lab, lab, stored_totals  # noqa: F401 - lab is a fixture


def imported(lab: Lab, book) -> tuple[ImportResult, dict]:
    """``book`` written as its fixture was and imported as it is (--accept-as-is) into a fresh
    warehouse: the result and the stored totals."""
    d = lab.folder()
    path = write(book, d)
    shutil.copy(lab.template, d / "w.duckdb")
    with connect(str(d / "w.duckdb")) as wh:
        r = ingest_file(wh, path, IngestOptions(accept_as_is=True))
        return r, stored_totals(wh, r.dataset_id)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="the first of 'new_displacement' and 'new_displacement_rounded' is "
                          "stored, the other ignored: the column order decides")
def test_column_order_does_not_choose_the_rounded_column(lab):
    _, base = imported(lab, load("idmc_gidd_disaster_events.csv"))
    # column 17 'new_displacement_rounded' moved before column 16 'new_displacement'
    _, moved = imported(lab, apply(load("idmc_gidd_disaster_events.csv"), [MoveColumn(17, 16)]))
    assert moved == base


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="with 'yearReportingDate' (#date+year+reported) or 'monthReportingDate' "
                          "(#date+month+reported) before 'reportingDate' (#date+reported), that "
                          "column is read as the date and every row is quarantined (invalid-date)")
@pytest.mark.parametrize("move", [MoveColumn(11, 10), MoveColumn(12, 10)], ids=["year", "month"])
def test_the_full_date_column_wins_over_year_and_month_columns(lab, move):
    base, base_totals = imported(lab, load("dtm-api-v3-admin0-2-afg-hti-tcd.csv"))
    moved, moved_totals = imported(lab, apply(load("dtm-api-v3-admin0-2-afg-hti-tcd.csv"), [move]))
    assert moved.rows_accepted == base.rows_accepted
    assert moved_totals == base_totals


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="#affected+idps+ind+newdisp+disaster is read as a present stock, like "
                          "#affected+idps+ind+stock+disaster beside it: the two are taken for one "
                          "count (duplicate-value-column) and the first in column order is stored")
def test_new_displacements_and_stocks_do_not_depend_on_column_order(lab):
    _, base = imported(lab, load("idmc_hdx_displacement_data.csv"))
    # column 6 'Disaster Stock Displacement' moved before column 5 'Disaster New Displacements'
    _, moved = imported(lab, apply(load("idmc_hdx_displacement_data.csv"), [MoveColumn(6, 5)]))
    assert moved == base
