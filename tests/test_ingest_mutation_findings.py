"""Failures the mutation tests found (tests/test_ingest_mutations.py), each as its smallest
reproducer: a strict xfail that turns into a pass — and so fails the suite, asking for the xfail
and the exclusion in test_ingest_mutations.py to be removed — once it is fixed. Fixed findings
become explicit examples there.
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
                   reason="with 'monthReportingDate' (#date+month+reported) before 'reportingDate' "
                          "(#date+reported), the month column is read as the date and every row "
                          "is quarantined (invalid-date: 'not a date: 3'); without --accept-as-is "
                          "the import is refused as implausible")
def test_the_full_date_column_wins_over_the_month_column(lab):
    base, base_totals = imported(lab, load("dtm-api-v3-admin0-2-afg-hti-tcd.csv"))
    # column 12 'monthReportingDate' moved before column 10 'reportingDate'
    moved, moved_totals = imported(lab, apply(load("dtm-api-v3-admin0-2-afg-hti-tcd.csv"),
                                              [MoveColumn(12, 10)]))
    assert moved.rows_accepted == base.rows_accepted
    assert moved_totals == base_totals
