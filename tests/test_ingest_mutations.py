"""Real files, changed the way users change them (Hypothesis): no traceback, no row lost.

The tables of the real fixtures (tests/fixtures/dtm, tests/fixtures/corpus), trimmed to 30 data
rows, are mutated — columns dropped, duplicated, reordered, renamed or translated; HXL row
dropped; rows shuffled; blank, title and footnote rows; sheets added or renamed; up to 1,000
columns — and written as XLSX or CSV (delimiters, encodings); see ``table_mutations.py``.

* ``ingest_file`` (import or dry run) returns an :class:`ImportResult` or raises an
  :class:`~idpkit.errors.IdpkitError`; anything else fails the test with the mutation that caused
  it, as Python that writes the file.
* An import keeps rows read = accepted + quarantined, counts every data row written, and the
  warehouse agrees with its result (datasets, quarantine, observations, issues); a refused
  import or a dry run leaves every core table as it was, and a dry run foretells the counts.
* Shuffling rows, reordering columns, renaming the data sheet or adding a notes sheet changes
  neither the rows counted nor the totals stored per (population_group, unit, metric); title
  rows, blank rows, footnotes, a pivot sheet, or saving the workbook as CSV change neither the
  rows accepted nor those totals. (Renamed headers may: a header decides an untagged column.)

A finding is left out of these properties (``COLUMN_ORDER_MATTERS``) only while it is open, as a
strict xfail of its own; fixed ones stay here as explicit examples (all five found so far).

DuckDB only (these are not parity tests): each example copies a warehouse whose gazetteer is
loaded already. One import takes 1-10 s (the Ibis compilation grows with the columns), so the
examples are few, fixed (``derandomize``), and not shrunk; ``IDPKIT_MUTATION_EXAMPLES=N`` runs N
random examples per test instead (with shrinking), to look for new failures.
"""

from __future__ import annotations

import math
import os
import shutil
import traceback
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from idpkit.errors import IdpkitError, ImplausibleImportError
from idpkit.ingest.pipeline import ImportResult, IngestOptions, ingest_file
from idpkit.model.tables import CORE_TABLES
from idpkit.warehouse import connect
from table_mutations import (IMPORTED, SPECS, AddSheet, Book, Csv, DropColumns, DropHxl,
                             DuplicateColumn, Footnote, MoveColumn, RenameHeaders, RenameSheet,
                             ReorderColumns, ShuffleRows, TitleRows, Widen, Xlsx, any_mutation,
                             apply, blank_rows, file_format, footnote, load, neutral_mutation,
                             notes_sheet, pivot_sheet, rename_sheet, reproducer, shuffle_rows,
                             title_rows, utf_csv_format, write)

# Open findings (each a strict xfail of its own while open): the properties here leave these
# fixtures' column reordering out until the finding passes. None is open now; the last one (the
# month column #date+month+reported before the full date, read as the date) is fixed and kept as
# an explicit example below.
COLUMN_ORDER_MATTERS: set[str] = set()

_EXPLORE = int(os.environ.get("IDPKIT_MUTATION_EXAMPLES", "0"))


def budget(n: int) -> settings:
    """``n`` fixed examples, unshrunk (a shrink is minutes of imports); or, when exploring, many
    random ones, shrunk."""
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if _EXPLORE else [])
    return settings(max_examples=_EXPLORE or n, deadline=None, derandomize=not _EXPLORE,
                    database=None, phases=phases, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------------------------------------
# A fresh warehouse and folder per example


class Lab:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.duckdb"
        from idpkit.warehouse.areas import ensure_gazetteer

        with connect(str(self.template)) as wh:
            ensure_gazetteer(wh)

    def folder(self) -> Path:
        d = self.root / uuid.uuid4().hex[:10]
        d.mkdir()
        return d


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    return Lab(tmp_path_factory.mktemp("mutations"))


def table_counts(wh) -> dict[str, int]:
    return {t: int(wh.table(t).count().execute()) for t in CORE_TABLES}


def _count(wh, table: str, dataset_id: str) -> int:
    t = wh.table(table)
    return int(t.filter(t.dataset_id == dataset_id).count().execute())


class Outcome:
    """What one ingestion of a mutated file did."""

    def __init__(self, result: ImportResult | None, error: IdpkitError | None,
                 totals: dict[tuple, float]) -> None:
        self.result, self.error, self.totals = result, error, totals

    @property
    def kind(self) -> str:
        return type(self.error).__name__ if self.error else self.result.status


def ingest_checked(lab: Lab, book: Book, fmt, *, dry_run: bool = False,
                   accept_as_is: bool = False, described: str = "") -> Outcome:
    """Write ``book``, ingest it into a fresh warehouse and check every property that holds
    for any file; returns what happened, with the stored totals of an import. With ``dry_run``
    a dry run comes first: it must change nothing and foretell the import (its counts, or the
    plausibility stage's refusal as an ``implausible-import`` error)."""
    d = lab.folder()
    try:
        path = write(book, d, fmt)
        db = d / "w.duckdb"
        shutil.copy(lab.template, db)
        opts = IngestOptions(accept_as_is=accept_as_is)
        with connect(str(db)) as wh:
            dry = _ingest(wh, path, book, fmt, replace(opts, dry_run=True), described) \
                if dry_run else None
            got = _ingest(wh, path, book, fmt, opts, described)
            if dry is not None:
                foretell(dry, got)
            return got
    finally:
        shutil.rmtree(d, ignore_errors=True)


def foretell(dry: Outcome, got: Outcome) -> None:
    if isinstance(got.error, ImplausibleImportError):
        assert dry.result is not None, f"dry run: {dry.kind}; import: {got.kind}"
        assert ("implausible-import", "error") in dry.result.issue_counts, \
            f"the import was refused ({got.error}), the dry run did not say so"
        return
    assert dry.kind == got.kind.replace("imported", "dry-run"), (dry.kind, got.kind)
    if got.result is not None:
        counts = ("rows_read", "rows_accepted", "rows_quarantined", "observations")
        assert [getattr(dry.result, c) for c in counts] == \
            [getattr(got.result, c) for c in counts], (brief(dry.result), brief(got.result))


def brief(r: ImportResult) -> str:
    return (f"{r.status}: sheet {r.sheet!r}, {r.rows_read} read, {r.rows_accepted} accepted, "
            f"{r.rows_quarantined} quarantined, {r.observations} observations")


def _ingest(wh, path: Path, book: Book, fmt, opts: IngestOptions, described: str) -> Outcome:
    before = table_counts(wh)
    try:
        r = ingest_file(wh, path, opts)
    except IdpkitError as e:
        assert table_counts(wh) == before, f"refused ({e}) but the warehouse changed"
        return Outcome(None, e, {})
    except Exception as e:  # noqa: BLE001 - any other exception is the failure we look for
        frames = traceback.format_exception(e)
        pytest.fail(f"{type(e).__name__} (not an IdpkitError) from ingest_file"
                    f"{' (dry run)' if opts.dry_run else ''}:\n{described}\n\n"
                    f"{''.join(frames[-6:])}", pytrace=False)
    return Outcome(r, None, check_result(wh, r, book, fmt, before))


def check_result(wh, r: ImportResult, book: Book, fmt, before: dict[str, int]) -> dict:
    assert isinstance(r, ImportResult)
    assert r.rows_read == r.rows_accepted + r.rows_quarantined, brief(r)
    assert min(r.rows_read, r.rows_accepted, r.rows_quarantined, r.observations) >= 0, brief(r)
    sheets = (r.sheet or "").split("; ")
    read_main = isinstance(fmt, Csv) or book.data_sheet.name[:31] in sheets
    if read_main:  # every data row written is counted, as accepted or quarantined
        assert r.rows_read >= book.data_rows_written(), \
            f"{book.data_rows_written()} data rows written, {r.rows_read} read (sheet {r.sheet!r})"
    if r.status != "imported":  # dry run, already imported
        assert table_counts(wh) == before, f"{r.status} changed the warehouse"
        return {}
    ds = wh.table("datasets")
    row = ds.filter(ds.dataset_id == r.dataset_id).execute()
    assert len(row) == 1, f"{len(row)} datasets rows for {r.dataset_id}"
    stored = row.iloc[0]
    assert (stored.rows_read, stored.rows_accepted, stored.rows_quarantined,
            stored.observations) == (r.rows_read, r.rows_accepted, r.rows_quarantined,
                                     r.observations), (stored.to_dict(), brief(r))
    assert _count(wh, "quarantine", r.dataset_id) == r.rows_quarantined
    assert _count(wh, "observations", r.dataset_id) == r.observations
    assert _count(wh, "issues", r.dataset_id) == sum(r.issue_counts.values())
    obs = wh.table("observations")
    obs = obs.filter(obs.dataset_id == r.dataset_id)
    q = wh.table("quarantine")
    q = q.filter(q.dataset_id == r.dataset_id)
    src = obs.select("source_sheet", "source_row").distinct()
    assert int(src.count().execute()) <= r.rows_accepted
    both = src.join(q, ["source_sheet", "source_row"])
    assert int(both.count().execute()) == 0, "rows both quarantined and observed"
    after = table_counts(wh)
    assert after["datasets"] == before["datasets"] + 1
    return stored_totals(wh, r.dataset_id)


def stored_totals(wh, dataset_id: str) -> dict[tuple, float]:
    """Totals stored per (population_group, unit, metric): sex and age breakdowns left out."""
    o = wh.table("observations")
    o = o.filter((o.dataset_id == dataset_id) & (o.sex == "all") & (o.age_group == "all"))
    g = o.group_by(["population_group", "unit", "metric"]).aggregate(v=o.value.sum()).execute()
    return {(r.population_group, r.unit, r.metric): float(r.v) for r in g.itertuples()}


def same_totals(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in a)


# ---------------------------------------------------------------------------------------------
# Any mutation: an import or a clear refusal


native = st.none()  # the fixture's own format (CSV stays CSV, a workbook stays a workbook)


@budget(14)
@given(fixture=st.sampled_from(sorted(SPECS)),
       mutations=st.lists(any_mutation, max_size=4),
       fmt=st.one_of(native, file_format),
       dry_run=st.booleans(), accept_as_is=st.booleans())
@example(fixture="ethiopia_site_assessment_round_28.xlsx",
         mutations=[RenameHeaders("fr"), DropHxl()], fmt=None, dry_run=False, accept_as_is=False)
@example(fixture="dtm-api-v3-admin0-2-afg-hti-tcd.csv",
         mutations=[ReorderColumns(7), DuplicateColumn(9, 0, "es")],
         fmt=Csv(";", "utf-16"), dry_run=False, accept_as_is=False)
@example(fixture="ukr_returnees_r13.xlsx",
         mutations=[AddSheet("copy", True, "Copy of data"), AddSheet("pivot", False, "Pivot")],
         fmt=Xlsx(), dry_run=True, accept_as_is=False)
@example(fixture="idmc_hdx_displacement_data.csv", mutations=[ShuffleRows(2)], fmt=None,
         dry_run=True, accept_as_is=False)  # refused as implausible (no date): foretold
# found here, fixed on main: the country as the only place crashed the jump check (RelationError)
@example(fixture="ukr_returnees_r13.xlsx", mutations=[DropColumns((4, 5))], fmt=None,
         dry_run=False, accept_as_is=True)
def test_mutated_file_imports_or_is_refused(lab, fixture, mutations, fmt, dry_run, accept_as_is):
    book = apply(load(fixture), mutations)
    described = reproducer(fixture, mutations, fmt)
    note(described)
    ingest_checked(lab, book, fmt, dry_run=dry_run, accept_as_is=accept_as_is,
                   described=described)


@budget(1)
@given(fixture=st.sampled_from(["ethiopia_site_assessment_round_28.xlsx",
                                "idmc_hdx_displacement_data.csv", "ukr_returnees_r13.xlsx",
                                "dtm-api-v3-admin0-2-afg-hti-tcd.csv"]),
       widen=st.builds(Widen, st.integers(200, 1000), st.integers(0, 99), st.booleans()),
       more=st.lists(st.one_of(st.just(DropHxl()), st.builds(ShuffleRows, st.integers(0, 99)),
                               st.builds(DropColumns, st.tuples(st.integers(0, 999)))),
                     max_size=2),
       fmt=st.one_of(native, file_format))
@example(fixture="ethiopia_site_assessment_round_28.xlsx", widen=Widen(1000, 1, True), more=[],
         fmt=None)
def test_a_thousand_columns(lab, fixture, widen, more, fmt):
    mutations = [widen, *more]
    book = apply(load(fixture), mutations)
    assert book.data_sheet.width >= min(widen.width, 1000)
    described = reproducer(fixture, mutations, fmt)
    note(described)
    ingest_checked(lab, book, fmt, accept_as_is=True, described=described)


# ---------------------------------------------------------------------------------------------
# Metamorphic: what must not change what an import counts and stores. Imported as they are
# (--accept-as-is): the plausibility stage only decides whether the same result is stored, and
# several trimmed fixtures (no date in the IDMC files) would otherwise compare two refusals.


@pytest.fixture(scope="module")
def baselines(lab):
    """Each fixture's unmutated (trimmed) import, made when first needed."""
    cache: dict[str, Outcome] = {}

    class Baselines:
        def __getitem__(self, fixture: str) -> Outcome:
            if fixture not in cache:
                cache[fixture] = ingest_checked(lab, load(fixture), None, accept_as_is=True,
                                                described=reproducer(fixture, [], None))
            return cache[fixture]
    return Baselines()


def assert_same_import(base: Outcome, got: Outcome, *, counts: tuple[str, ...]) -> None:
    assert got.kind == base.kind, f"{base.kind} unmutated, {got.kind} mutated"
    if base.result is None:
        return
    before = {c: getattr(base.result, c) for c in counts}
    after = {c: getattr(got.result, c) for c in counts}
    assert after == before, f"unmutated {before}, mutated {after}"
    assert same_totals(got.totals, base.totals), \
        f"totals unmutated {base.totals}, mutated {got.totals}"


def neutral_for(fixture: str):
    """Shuffled rows, reordered columns, a renamed data sheet, a notes sheet. Reordering is left
    out where it meets an open finding (``COLUMN_ORDER_MATTERS``) until it is fixed."""
    if fixture in COLUMN_ORDER_MATTERS:
        return st.one_of(shuffle_rows, rename_sheet, notes_sheet)
    return neutral_mutation


@budget(5)
@given(st.sampled_from(IMPORTED).flatmap(lambda f: st.tuples(
    st.just(f), st.lists(neutral_for(f), min_size=1, max_size=3))))
@example(("dtm-api-v3-admin0-2-afg-hti-tcd.csv", [ShuffleRows(1)]))
@example(("nigeria_baseline_assessment_round_38.xlsx", [ReorderColumns(3)]))
# found here, fixed on main: the first of two columns of one count was stored ('_rounded' twin
# before the exact count; IDMC +newdisp read as a stock like +stock beside it); the year or the
# month column (#date+month+reported) before the full date was read as the date
@example(("idmc_gidd_disaster_events.csv", [MoveColumn(17, 16)]))
@example(("idmc_hdx_displacement_data.csv", [MoveColumn(6, 5)]))
@example(("dtm-api-v3-admin0-2-afg-hti-tcd.csv", [MoveColumn(11, 10)]))
@example(("dtm-api-v3-admin0-2-afg-hti-tcd.csv", [MoveColumn(12, 10)]))
@example(("ethiopia_site_assessment_round_28.xlsx",
          [RenameSheet("Feuil1"), AddSheet("notes", True, "Read me")]))
@pytest.mark.xdist_group("mutation-baselines")
def test_shuffled_rows_reordered_columns_and_notes_keep_counts_and_totals(
        lab, baselines, case):
    """Row order can change which of two identical rows is called the duplicate, never how many
    rows are accepted nor the totals."""
    fixture, mutations = case
    described = reproducer(fixture, mutations, None)
    note(described)
    got = ingest_checked(lab, apply(load(fixture), mutations), None, accept_as_is=True,
                         described=described)
    assert_same_import(baselines[fixture], got,
                       counts=("rows_read", "rows_accepted", "rows_quarantined"))


# Title rows above the header, blank rows among the data, a footnote under it, a summary pivot
# sheet: README says each is passed over.
layout_mutation = st.one_of(title_rows, blank_rows, footnote, pivot_sheet)


@budget(5)
@given(st.tuples(st.sampled_from(IMPORTED), st.lists(layout_mutation, min_size=1, max_size=3),
                 st.one_of(native, utf_csv_format)))
@example(("ukr_returnees_r13.xlsx", [TitleRows(("Displacement Tracking Matrix", "")),
                                     Footnote("Source: IOM DTM")], None))
@example(("iraq_idps_master_list_round_123.xlsx", [AddSheet("pivot", True, "Summary")], None))
# found here, fixed on main: a note under a table placed by country codes only was accepted
# as a data row
@example(("idmc_gidd_conflict_new_displacements.csv", [Footnote("Source: IOM DTM", False)], None))
@pytest.mark.xdist_group("mutation-baselines")
def test_titles_blank_rows_footnotes_and_pivots_keep_accepted_rows_and_totals(
        lab, baselines, case):
    """Also when the workbook is saved as CSV (UTF-8 or UTF-16, comma, semicolon or tab).
    Footnotes are read and quarantined, so only the accepted rows are compared."""
    fixture, mutations, fmt = case
    described = reproducer(fixture, mutations, fmt)
    note(described)
    got = ingest_checked(lab, apply(load(fixture), mutations), fmt, accept_as_is=True,
                         described=described)
    assert_same_import(baselines[fixture], got, counts=("rows_accepted",))


@pytest.mark.core
def test_the_fixtures_load_as_specified():
    """The specs say where each table is: the header and HXL rows are where they say, and a
    fixture's data rows are all there (trimmed to 30)."""
    for name, spec in SPECS.items():
        book = load(name)
        s = book.data_sheet
        assert s.data, name
        assert spec.sheet is None or s.name == spec.sheet, name
        if spec.hxl:
            assert any(isinstance(c, str) and c.strip().startswith("#") for c in s.hxl), name
        assert book.data_rows_written() <= 30, name
