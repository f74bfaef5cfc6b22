"""Failures the mutation tests found (tests/test_ingest_mutations.py), each as its smallest
reproducer: a strict xfail that turns into a pass — and so fails the suite, asking for the xfail
and the exclusion in test_ingest_mutations.py to be removed — once it is fixed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ibis.common.exceptions import RelationError

from idpkit.ingest.pipeline import ImportResult, ingest_file
from idpkit.warehouse import connect
from table_mutations import DropColumns, Footnote, MoveColumn, apply, load, write
from test_ingest_mutations import Lab, lab, stored_totals  # noqa: F401 - lab is a fixture


def imported(lab: Lab, book=None, *, path: Path | None = None) -> tuple[ImportResult, dict]:
    """``book`` (or the file at ``path``) imported into a fresh warehouse: result, totals."""
    d = lab.folder()
    path = path or write(book, d)
    shutil.copy(lab.template, d / "w.duckdb")
    with connect(str(d / "w.duckdb")) as wh:
        r = ingest_file(wh, path)
        return r, stored_totals(wh, r.dataset_id)


def _country_only_csv(d: Path) -> Path:
    p = d / "returnees.csv"
    p.write_text("Country Code,Returnees\n#country+code,#affected+returnees+ind\nUKR,70000\n",
                 encoding="utf-8")
    return p


@pytest.mark.xfail(strict=True, raises=RelationError,
                   reason="jump_findings unions this file's totals (reported_level int32) with "
                          "the stored observations (int16) when the country is the only place")
@pytest.mark.parametrize("case", ["ukr_returnees_r13 without its oblast columns",
                                  "three-line CSV"])
def test_a_table_whose_only_place_is_the_country_imports(lab, case):
    if case == "three-line CSV":
        r, totals = imported(lab, path=_country_only_csv(lab.folder()))
        assert totals == {("returnees", "individuals", "present_stock"): 70000.0}
    else:  # columns 4 and 5 are 'Oblast' and 'Oblast pcode'
        r, totals = imported(lab, apply(load("ukr_returnees_r13.xlsx"), [DropColumns((4, 5))]))
    assert r.status == "imported"
    assert r.rows_read == r.rows_accepted + r.rows_quarantined


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
                   reason="a note under a table whose places are country codes (or area names) "
                          "only is accepted as a data row with a no-values warning")
def test_a_note_under_a_country_table_is_quarantined(lab):
    base, _ = imported(lab, load("idmc_gidd_conflict_new_displacements.csv"))
    noted, _ = imported(lab, apply(load("idmc_gidd_conflict_new_displacements.csv"),
                                   [Footnote("Source: IOM DTM", blank_before=False)]))
    assert noted.rows_read == base.rows_read + 1
    assert noted.rows_accepted == base.rows_accepted
    assert noted.issue_counts.get(("note-row", "error")) == 1
