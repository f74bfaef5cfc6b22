"""Property tests (Hypothesis) for the parsers every import goes through.

Whatever text a cell holds, the parsers must not raise: HXL tags, dates, rounds, causes, site types
and counts map to a value, a missing value, or a finding, never to a crash. ``open_source`` on any
bytes either opens the file or raises an :class:`~idpkit.errors.IdpkitError`. An end-to-end property
ingests small generated CSVs into a fresh DuckDB warehouse and checks that every non-blank row is
counted once, as accepted or quarantined.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from idpkit.errors import IdpkitError, NoDataFoundError
from idpkit.ingest.hxl import Tag, looks_like_hxl_row, parse_tag
from idpkit.ingest.normalise import (EXCEL_EPOCH, normalise_cause, normalise_round,
                                     normalise_site_type, parse_dates)
from idpkit.ingest.profile import ColumnProfile
from idpkit.ingest.readers import SourceFile, open_source
from idpkit.ingest.transform import parse_count
from idpkit.model.vocabulary import CAUSES, HAZARDS, SITE_TYPES

FAST = settings(max_examples=200, deadline=None)
# Each end-to-end example is a whole import (~0.5 s): few examples, and no shrinking, which would
# take minutes; a failure is reported as generated.
SLOW = settings(max_examples=20, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Text as found in cells: anything, with the characters exports are full of made likely.
cell_text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(list("0123456789 ,.-+/#:;'\"=()abcdefxyzNAÉé\t\u00a0\u202f")),
            max_size=20),
)

# ---------------------------------------------------------------------------------------------
# HXL

_WORD = re.compile(r"[a-z0-9_]+")


@FAST
@given(cell_text)
@example("#")
@example("#+")
@example("  # AFFECTED + IDPs +Ind ")
@example("#İstanbul+ǅ")
@example("#\u0130\u212a+\u00df")
def test_parse_tag_never_raises(text):
    tag = parse_tag(text)
    assert tag is None or isinstance(tag, Tag)
    if tag is not None:
        assert tag.hashtag == tag.hashtag.lower()
        assert _WORD.fullmatch(tag.hashtag), tag
        assert all(_WORD.fullmatch(a) for a in tag.attributes), tag
        assert tag.raw == text
        again = parse_tag(str(tag))  # the printed form parses back to the same tag
        assert again is not None
        assert (again.hashtag, again.attributes) == (tag.hashtag, tag.attributes)
    if "#" not in text:
        assert tag is None


@FAST
@given(st.from_regex(r"\s*#\s*[A-Za-z][A-Za-z0-9_]{0,11}(\s*\+\s*[A-Za-z0-9_]{1,10}){0,4}\s*",
                     fullmatch=True))
def test_well_formed_tags_parse(text):
    tag = parse_tag(text)
    assert tag is not None
    n_attrs = len({a.lower() for a in re.findall(r"\+\s*([A-Za-z0-9_]+)", text)})
    assert len(tag.attributes) <= n_attrs  # synonyms may merge, never invent


@FAST
@given(st.lists(st.one_of(st.none(), cell_text, st.integers(), st.floats(), st.booleans(),
                          st.dates()), max_size=30))
def test_looks_like_hxl_row_never_raises(cells):
    assert looks_like_hxl_row(cells) in (True, False)


def test_looks_like_hxl_row_examples():
    assert looks_like_hxl_row(["#adm1+code", "#affected+idps+ind", None, ""])
    assert not looks_like_hxl_row(["#adm1+code", "Borno", "1200"])
    assert not looks_like_hxl_row(["#adm1+code"])


# ---------------------------------------------------------------------------------------------
# Dates

LOW, HIGH = date(1950, 1, 1), date(2100, 12, 31)


@FAST
@given(st.lists(cell_text, max_size=20))
@example(["jan 5000"])
@example(["Jul 2101", "Jul 1949"])
@example(["31/12/99999"])
@example(["٣١/١٢/٢٠٢٠"])  # Arabic-Indic digits
@example(["99999", "00000", "18263"])
@example(["1 Sept 2021", "sept 3 2021", "mars 2020", "29 feb 2021"])
def test_parse_dates_never_raises_and_stays_in_range(values):
    mapping, ambiguous = parse_dates(values)
    assert isinstance(ambiguous, bool)
    assert set(mapping) == set(values)
    for text, d in mapping.items():
        assert d is None or (isinstance(d, date) and LOW <= d <= HIGH), (text, d)


@FAST
@given(st.dates(min_value=LOW, max_value=HIGH), st.sampled_from(["", "T00:00:00", " 13:45",
                                                                  "T08:30:00Z", "T23:59:59.123+03:00"]))
def test_iso_dates_round_trip(d, suffix):
    text = d.isoformat() + suffix
    mapping, ambiguous = parse_dates([text, " " + text + " "])
    assert mapping[text] == d
    assert mapping[" " + text + " "] == d
    assert not ambiguous


@FAST
@given(st.dates(min_value=LOW, max_value=HIGH), st.sampled_from(["", ".0", ".5", ".999"]))
def test_excel_serials_round_trip(d, frac):
    serial = (d - EXCEL_EPOCH).days
    assert EXCEL_EPOCH + timedelta(days=serial) == d
    text = f"{serial}{frac}"
    assert parse_dates([text])[0][text] == d


@FAST
@given(st.dates(min_value=LOW, max_value=HIGH))
def test_day_first_dates_decided_by_column(d):
    """A column with a day above 12 is read day-first throughout."""
    texts = [f"{d.day:02d}/{d.month:02d}/{d.year}", "25/12/2020"]
    mapping, ambiguous = parse_dates(texts)
    assert mapping[texts[0]] == d and not ambiguous


# ---------------------------------------------------------------------------------------------
# Rounds, causes, site types


@FAST
@given(cell_text)
@example("1" * 5000)
@example("Round " + "9" * 4400)
@example("r٣")
def test_normalise_round_never_raises(text):
    out = normalise_round(text)
    assert out is None or (isinstance(out, str) and out == out.strip() and out)
    if not text.strip():
        assert out is None


@FAST
@given(st.integers(min_value=0, max_value=10**6),
       st.sampled_from(["{}", "Round {}", "round {}", "R{}", "r {}", "Tour {}", "RND-{}", "#{}",
                        "{}.0", " cycle_{} ", "Round 00{}", "Ronda {}", "rodada {}",
                        "Ciclo {}"]))
def test_normalise_round_numbers(n, fmt):
    assert normalise_round(fmt.format(n)) == str(n)


@FAST
@given(cell_text)
@example("Conflict; Natural disaster")
@example("flood / conflit et sécheresse")
@example(";;;")
@example("")
def test_normalise_cause_never_raises(text):
    cause, hazard, detail, multi = normalise_cause(text)
    assert cause in CAUSES
    assert hazard is None or hazard in HAZARDS
    assert detail is None or isinstance(detail, str)
    assert isinstance(multi, bool)
    if multi:
        assert cause == "other" and hazard is None


def test_normalise_cause_examples():
    assert normalise_cause("Conflict")[:2] == ("conflict", None)
    assert normalise_cause("Inondations")[:2] == ("disaster", "flood")
    assert normalise_cause("Conflict; Natural disaster")[0::3] == ("other", True)
    assert normalise_cause("unknown")[0] == "unknown"


@FAST
@given(cell_text)
def test_normalise_site_type_never_raises(text):
    assert normalise_site_type(text) in SITE_TYPES


# ---------------------------------------------------------------------------------------------
# open_source on any bytes

_PREFIXES = [b"", b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf",
             b"\xff\xfe", b"\xfe\xff", b"{", b"[", b'{"result": [', b"a,b,c\n", b"#adm1+code,",
             b'"', b"\r\n"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PREFIXES), st.binary(max_size=3000),
       st.sampled_from([".csv", ".json", ".xlsx", ".txt", ""]))
@example(b"[" * 50_000, b"", ".json")  # deeper than the JSON parser's recursion limit
@example(b"[" + b"1" * 5000 + b"]", b"", ".json")  # an integer too long for int()
@example(b'a,"' + b"x" * 200_000 + b'"\n', b"1,2\n", ".csv")  # a field above csv's size limit
@example(b"\xff\xfe", "a,b\n\x00,1\n".encode("utf-16-le"), ".csv")  # NUL inside UTF-16 text
@example(b"", "é,ü\n".encode("utf-16-be") * 3, ".csv")
def test_open_source_any_bytes(prefix, body, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"upload{suffix}"
        p.write_bytes(prefix + body)
        try:
            src = open_source(p)
        except IdpkitError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        try:
            assert isinstance(src, SourceFile)
            assert src.kind in ("xlsx", "csv", "json")
            assert src.sheets
        finally:
            src.cleanup()


def _encoded_csv(rows: list[list[str]], encoding: str, delimiter: str = ",") -> bytes:
    """Rows written as CSV in ``encoding``; examples the encoding cannot hold are discarded."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    try:
        return buf.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
        raise  # unreachable: assume(False) aborts the example


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cell_text, min_size=1, max_size=5), min_size=1, max_size=8),
       st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le"]),
       st.sampled_from([",", ";", "\t"]))
def test_open_source_any_csv(rows, encoding, delimiter):
    data = _encoded_csv(rows, encoding, delimiter)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "rows.csv"
        p.write_bytes(data)
        try:
            open_source(p).cleanup()
        except IdpkitError as exc:
            assert "\n" not in str(exc)


any_names = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)
# Legacy code pages cannot be told apart on arbitrary text (``ÈÛÏÇÏ`` is cp1252 and, as bytes, Baghdad
# in cp1256), so those are checked on names as written in the places that use them.
_LATIN_WORD = r"[A-ZÉÎÔ]?[a-z]{1,4}([éèêàâçôûùîïëüñãõ][a-z]{1,4}){0,2}"
latin_names = st.from_regex(rf"{_LATIN_WORD}( {_LATIN_WORD}| à| – {_LATIN_WORD}){{0,3}}", fullmatch=True)
ARABIC = [c for c in map(chr, range(0x621, 0x64B)) if c.encode("cp1256", "ignore")]
arabic_names = st.lists(st.text(alphabet=st.sampled_from(ARABIC), min_size=2, max_size=7),
                        min_size=1, max_size=3).map(" ".join)
NAMES = {"utf-16-le": any_names, "utf-16-be": any_names, "utf-8": any_names,
         "cp1252": latin_names, "cp1256": arabic_names}


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(NAMES)).flatmap(
    lambda enc: st.tuples(st.just(enc), st.lists(st.tuples(NAMES[enc], st.integers(0, 10**6)),
                                                 min_size=1, max_size=10))))
@example(("utf-16-le", [("\u0100\u0400\u0600 \u0200", 5), ("Ā-Ѐ", 6)]))  # characters with a zero byte
@example(("utf-16-be", [("\u0100\u0400\u0600 \u0200", 5), ("Ā-Ѐ", 6)]))
@example(("cp1256", [("بغداد", 5), ("البصرة", 6)]))  # was read as Mac Roman
@example(("cp1252", [("Été à Kayes", 5), ("Ségou", 6)]))  # was read as DOS cp850
@example(("cp1252", [("Ùbeda", 5)]))  # was read as Arabic
def test_open_source_reads_text_encodings(case):
    """UTF-16 without a BOM, cp1252 and cp1256 are recognised; every cell reads back as written."""
    encoding, data_rows = case
    rows = [["Admin 1 name", "IDP individuals"]] + [[n.strip(), str(v)] for n, v in data_rows]
    data = _encoded_csv(rows, encoding)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "names.csv"
        p.write_bytes(data)
        src = open_source(p)
        try:
            if encoding != "utf-8" and not data.isascii():
                assert src.encoding == encoding
            assert src.delimiter == ","
            got = [[c.strip() for c in r] for r in src.sheets[0].preview]
            assert got == [[c.strip() for c in r] for r in rows]
            with open(src.utf8_path, encoding="utf-8", newline="") as fh:
                assert [[c.strip() for c in r] for r in csv.reader(fh)] == got
        finally:
            src.cleanup()


# ---------------------------------------------------------------------------------------------
# Counts, evaluated by the engine

ENGINE_SPACE = " \t\n\r\v\f"  # what ibis' strip() removes in SQL (Python's strip() removes more)
PLACEHOLDER_TEXTS = ["n/a", "N/A", " n/a ", "-", "--", "Not available", "NOT AVAILABLE", "na", "",
                     "   ", "#N/A", "none", "null"]


def _parse_counts(texts: list[str | None]) -> pd.DataFrame:
    con = ibis.duckdb.connect()
    try:
        t = ibis.memtable(pd.DataFrame({"i": range(len(texts)), "s": pd.Series(texts, dtype=object)}),
                          schema={"i": "int64", "s": "string"})
        v, bad = parse_count(t.s)
        return con.execute(t.select("i", "s", v=v, bad=bad).order_by("i"))
    finally:
        con.disconnect()


number_text = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.integers(min_value=-10**12, max_value=10**12).map(lambda n: f"{n:,}"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"[-+]?[0-9]{0,6}([.,][0-9]{0,4})?([eE][-+]?[0-9]{1,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}([ .,'\u00a0\u202f][0-9]{3}){1,3}", fullmatch=True),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), cell_text, number_text, st.sampled_from(PLACEHOLDER_TEXTS)),
                min_size=1, max_size=40))
@example(["1e999", "-1e999", "1e-999", "9" * 400, "1.e5", ".5", "+.5e-3", "5.", "+", ".", "e5"])
@example(["\x00", "1\x002", "\ud7ff", "١٢٣", "１２３"])
def test_parse_count_never_errors(texts):
    df = _parse_counts(texts)
    assert len(df) == len(texts)
    for row in df.itertuples():
        bad = bool(row.bad)
        if pd.isna(row.s) or row.s.strip(ENGINE_SPACE).lower() in ("", "n/a", "-", "not available"):
            assert pd.isna(row.v) and not bad, row
        if not pd.isna(row.v):
            assert not bad, row


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=-10**15, max_value=10**15), min_size=1, max_size=30),
       st.booleans())
def test_parse_count_integers(ns, separators):
    texts = [f"{n:,}" if separators else str(n) for n in ns]
    df = _parse_counts(texts)
    assert df.v.tolist() == [float(n) for n in ns], list(zip(texts, df.v))
    assert not df.bad.any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), cell_text, number_text, st.sampled_from(PLACEHOLDER_TEXTS)),
                min_size=1, max_size=40))
@example(["007", "-0", "999999999999999", "9999999999999999", "1.234", "-", "--1", "1\n"])
def test_parse_count_shortcuts_agree_with_the_full_rules(texts):
    """The whole-number shortcut (PostgreSQL) and the TRY_CAST shortcut (DuckDB) only skip work:
    every cell gets the value and verdict the full cleaning rules give it."""
    con = ibis.duckdb.connect()
    try:
        t = ibis.memtable(pd.DataFrame({"i": range(len(texts)), "s": pd.Series(texts, dtype=object)}),
                          schema={"i": "int64", "s": "string"})
        full_v, full_bad = parse_count(t.s, _slow=True)
        out = {"full_v": full_v, "full_bad": full_bad}
        for name, kw in (("whole", {}), ("cast", {"try_cast": True})):
            v, bad = parse_count(t.s, **kw)
            out[f"{name}_v"], out[f"{name}_bad"] = v, bad
        df = con.execute(t.select("i", "s", **out).order_by("i"))
    finally:
        con.disconnect()
    for name in ("whole", "cast"):
        same_v = (df[f"{name}_v"] == df.full_v) | (df[f"{name}_v"].isna() & df.full_v.isna())
        assert same_v.all(), df[~same_v][["s", "full_v", f"{name}_v"]]
        assert (df[f"{name}_bad"] == df.full_bad).all(), df[["s", "full_bad", f"{name}_bad"]]


def test_parse_count_placeholders_and_examples():
    df = _parse_counts(PLACEHOLDER_TEXTS + [None])
    assert df.v.isna().all() and not df.bad.any()
    df = _parse_counts(["1 234", "1\u00a0234", "1.234.567", "12,5", "approx 200", "1,2,3", "-7"])
    assert df.v.tolist()[:4] == [1234.0, 1234.0, 1234567.0, 12.5]
    assert pd.isna(df.v[4]) and df.bad[4]
    assert pd.isna(df.v[5]) and df.bad[5]
    assert df.v[6] == -7.0 and not df.bad[6]


# ---------------------------------------------------------------------------------------------
# End to end: small generated CSVs into a fresh DuckDB warehouse

HEADER = ["Admin 1 Pcode", "IDP individuals", "Reporting date"]
HXL = ["#adm1+code", "#affected+idps+ind", "#date+reported"]

# Cells of a text file: no control characters but tab and line breaks (a file dense with them is
# refused by open_source as binary, which is tested above).
file_text = st.one_of(
    st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cc", "Cs")),
                               st.sampled_from(list("\t\r\n ,;\"'#=+-"))), max_size=30),
    st.text(alphabet=st.sampled_from(list("0123456789 ,.-+/#:;'\"=()abcxyzNAÉé\t\u00a0\u202f")),
            max_size=20),
)
pcode_cell = st.one_of(st.sampled_from(["NG008", "NG002", "ng008", " NG036 ", "NG999", "XX001", ""]),
                       file_text)
count_cell = st.one_of(number_text, st.integers(0, 10**6).map(str), st.integers(-500, -1).map(str),
                       st.sampled_from(PLACEHOLDER_TEXTS), file_text)
date_cell = st.one_of(st.dates(min_value=date(2015, 1, 1), max_value=date(2025, 12, 31)).map(str),
                      st.sampled_from(["31/03/2024", "45382", "Mar 2024", "", "n/a", "2024-02-30"]),
                      file_text)
data_rows = st.lists(st.tuples(pcode_cell, count_cell, date_cell), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def template_warehouse(tmp_path_factory) -> Path:
    """An empty DuckDB warehouse with the embedded gazetteer loaded, copied for each example."""
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import ensure_gazetteer

    path = tmp_path_factory.mktemp("template") / "template.duckdb"
    with connect(str(path)) as wh:
        ensure_gazetteer(wh)
    return path


def _blank(cell: str) -> bool:
    return cell.strip(ENGINE_SPACE) == ""


@SLOW
@given(rows=data_rows, blank_lines=st.lists(st.integers(0, 12), max_size=3))
@example(rows=[("NG008", "0", "31/03/2024"), ("NG008", "\n\u00b1J", "")],
         blank_lines=[])  # a quoted line break
@example(rows=[("", " ", "\t")], blank_lines=[0, 1])  # nothing but blank rows
@example(rows=[("NG008", "1,234", "2024-03-31"), ("NG008", "1,234", "2024-03-31")], blank_lines=[1])
@example(rows=[("NG008", "many", "2024-03-31")] * 3 + [("NG002", "few", "2024-03-31")] * 3,
         blank_lines=[])  # the count column holds no numbers
@example(rows=[("NG008", "5", "2024-03-31"), ("\u00ae\rv", "7", "0..0")], blank_lines=[])
@example(rows=[("NG008", "0", "")], blank_lines=[])  # no date anywhere in the date column
@example(rows=[("NG008", "5", "2024-03-31"), (" ", "", "\t")], blank_lines=[])  # spaces only: blank
@example(rows=[("NG008", "0", "2015-01-01"), ("NG008", "6.589929372589677e+217", "2024-05-23")],
         blank_lines=[])  # an absurd count, ten times the one before it
def test_ingest_counts_every_row_once(template_warehouse, rows, blank_lines):
    from idpkit.ingest.pipeline import IngestOptions, ingest_file
    from idpkit.warehouse import connect

    rows = [list(r) for r in rows]
    for i in sorted(blank_lines, reverse=True):
        rows.insert(min(i, len(rows)), ["", "", ""])
    buf = io.StringIO()
    w = csv.writer(buf)  # CRLF, so cells holding \r or \n are quoted
    w.writerow(HEADER)
    w.writerow(HXL)
    w.writerows(rows)
    expected = sum(1 for r in rows if not all(_blank(c) for c in r))
    counts = ColumnProfile([r[1].strip() or None for r in rows])
    no_numbers = counts.n >= 5 and counts.numeric < 0.5  # the count column is not read as counts
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "generated.csv"
        p.write_text(buf.getvalue(), encoding="utf-8")
        db = Path(d) / "w.duckdb"
        shutil.copy(template_warehouse, db)
        with connect(str(db)) as wh:
            if expected == 0:
                with pytest.raises(NoDataFoundError):
                    ingest_file(wh, p)
                return
            try:
                # rows are counted once whatever the plausibility stage thinks of the whole
                r = ingest_file(wh, p, IngestOptions(accept_as_is=True))
            except NoDataFoundError:
                assert no_numbers  # the only count column holds no numbers: nothing to import
                assert int(wh.table("datasets").count().execute()) == 0
                return
            assert r.status == "imported"
            assert r.rows_read == r.rows_accepted + r.rows_quarantined == expected, (
                r.rows_read, r.rows_accepted, r.rows_quarantined, expected)
            n = {t: int(wh.table(t).count().execute())
                 for t in ("datasets", "quarantine", "observations")}
        assert n["datasets"] == 1
        assert n["quarantine"] == r.rows_quarantined
        assert n["observations"] == r.observations <= r.rows_accepted


# ---------------------------------------------------------------------------------------------
# Damaged workbooks: a real XLSX with bytes changed or cut off


def _small_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Baseline"
    ws.append(["Admin 1 Pcode", "IDP individuals", "Date"])
    ws.append(["#adm1+code", "#affected+idps+ind", "#date+reported"])
    for i in range(20):
        ws.append([f"NG{8 + i % 3:03d}", 100 + i, date(2024, 3, 31)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX = _small_xlsx()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(XLSX)))
def test_open_source_damaged_workbook(changes, cut):
    data = bytearray(XLSX)
    for i, b in changes:
        data[i] = b
    data = bytes(data[: max(cut, 4)])
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "damaged.xlsx"
        p.write_bytes(data)
        try:
            src = open_source(p)
        except IdpkitError as exc:
            assert "\n" not in str(exc)
            return
        assert src.kind in ("xlsx", "csv", "json")
        src.cleanup()


XLSX_PARTS = {i.filename: zipfile.ZipFile(io.BytesIO(XLSX)).read(i.filename)
              for i in zipfile.ZipFile(io.BytesIO(XLSX)).infolist()}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(XLSX_PARTS)), st.data())
@example("xl/worksheets/sheet1.xml", None)
def test_open_source_workbook_with_damaged_xml(part, data):
    """A well-formed zip whose parts hold damaged XML (valid CRCs): the XML readers are reached."""
    xml = bytearray(XLSX_PARTS[part])
    if data is None:  # a cell claiming a shared string that does not exist, and a huge row number
        xml = bytearray(bytes(xml).replace(b"<v>100</v>", b"<v>999999</v>", 1)
                        .replace(b'r="3"', b'r="1048577"', 1))
        xml = bytearray(bytes(xml).replace(b't="n"', b't="s"', 1))
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            i = data.draw(st.integers(0, len(xml) - 1))
            op = data.draw(st.sampled_from(["set", "delete", "insert"]))
            junk = data.draw(st.sampled_from([b"<", b">", b'"', b"&", b"\x00", b"\xff", b"9" * 12,
                                              b"-1", b"<c/>", b"</row>", b"A1048577", b"XFE1"]))
            if op == "set":
                xml[i:i + len(junk)] = junk
            elif op == "delete":
                del xml[i:i + data.draw(st.integers(1, 50))]
            else:
                xml[i:i] = junk
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "damaged-xml.xlsx"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in XLSX_PARTS.items():
                zf.writestr(name, bytes(xml) if name == part else content)
        try:
            src = open_source(p)
        except IdpkitError as exc:
            assert "\n" not in str(exc)
            return
        assert src.kind == "xlsx"


def test_open_source_intact_workbook():
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "intact.xlsx"
        p.write_bytes(XLSX)
        src = open_source(p)
        assert src.kind == "xlsx" and src.sheets[0].name == "Baseline"
        assert len(src.sheets[0].rows) == 22


# ---------------------------------------------------------------------------------------------
# The parallel CSV reader gives the same rows, in file order, as the serial one (or refuses, and
# the file is read serially). Small buffers split even these small files into many chunks.

csv_cell = st.sampled_from(["a", "", "1,5", 'x"y', "é", "  ", "n/a", "12", "-3", "two\nlines",
                            '"', "a;b", "\t", "Zoé, \"the\" 3rd"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.lists(csv_cell, min_size=max(1, n - 1), max_size=n + 1),
                         min_size=1, max_size=300))))
def test_parallel_csv_staging_equals_serial_read(shape):
    import duckdb

    from idpkit.ingest.readers import csv_select_sql
    from idpkit.warehouse.backends import DuckDBBackend

    ncols, rows = shape
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.csv"
        p.write_text(buf.getvalue(), encoding="utf-8")
        sel = csv_select_sql(p, delimiter=",", skip_rows=0, ncols=ncols, row_numbers=False)
        serial = duckdb.connect().execute(sel).fetchall()
        small = sel.replace("max_line_size=16777216", "max_line_size=2048, buffer_size=4096")
        b = DuckDBBackend(":memory:")
        try:
            cols = [f"c{j}" for j in range(ncols)]
            b.stage_csv("s", small, first_row=1, columns=cols)
            staged = b.raw.execute(f"SELECT _row, {', '.join(cols)} FROM s ORDER BY _row").fetchall()
        finally:
            b.close()
    ws = " \t\n\r\u00a0"
    kept = [(i + 1, *r) for i, r in enumerate(serial)
            if any((c or "").strip(ws) for c in r)]  # blank rows are not data rows
    assert staged == kept


# formula_like is the shared formula rule: tests/test_security_formula_cells.py checks it.


# ---------------------------------------------------------------------------------------------
# Header names


@FAST
@given(cell_text)
@example("Nº")
@example("No. of")
@example("n o de")
@example("Nombre de")
def test_role_from_header_never_raises(text):
    from idpkit.ingest.columns import SIMPLE_ROLES, role_from_header

    role, spec, prio = role_from_header(text)
    assert role == "value" or role in SIMPLE_ROLES or re.fullmatch(
        r"(origin_)?adm[1-4]_(pcode|name)", role), role
    assert (spec is not None) == (role == "value") and isinstance(prio, int)


_GROUP_WORDS = {"idps": ["IDP", "IDPs", "PDI", "displaced", "deslocados", "desplazados"],
                "returnees": ["returnee", "retournés", "retornados"]}
_UNIT_WORDS = {"households": ["HH", "households", "ménages", "hogares", "agregados familiares"],
               "individuals": ["individuals", "ind", "personnes", "pessoas", "personas"]}


@FAST
@given(st.sampled_from(sorted(_GROUP_WORDS)), st.sampled_from(sorted(_UNIT_WORDS)),
       st.data(), st.sampled_from(["No. of {g} {u}", "Nº de {u} {g}", "N° {g} {u}",
                                   "Number of {g} {u}", "{g} ({u})", "Total {g} {u}"]))
def test_count_header_group_and_unit(group, unit, data, fmt):
    """Whatever the language and the number sign ("No.", "Nº", "N°"), a header naming a group
    and a unit is a count of that group in that unit: "No." is not a yes/no column, and a unit
    named outright wins over one implied."""
    from idpkit.ingest.columns import role_from_header

    g = data.draw(st.sampled_from(_GROUP_WORDS[group]))
    u = data.draw(st.sampled_from(_UNIT_WORDS[unit]))
    role, spec, _ = role_from_header(fmt.format(g=g, u=u))
    assert role == "value", fmt.format(g=g, u=u)
    assert (spec.population_group, spec.unit, spec.sex) == (group, unit, "all"), fmt.format(g=g, u=u)


@FAST
@given(st.lists(st.lists(st.sampled_from(["", "IDPs", "Returnees", "HH", "Ind", "12", "1,5", "State",
                                          "x y", " "]), min_size=1, max_size=6),
                min_size=1, max_size=6), st.integers(min_value=-1, max_value=6))
def test_two_row_headers_never_raise(grid, top):
    """Any grid: one column name per column, or None (not a two-row header)."""
    from idpkit.ingest.detect import _two_row_headers

    ncols = max(len(r) for r in grid)
    rows = [[c.strip() for c in r] + [""] * (ncols - len(r)) for r in grid]
    out = _two_row_headers(rows, top, ncols)
    assert out is None or (len(out) == ncols and all(isinstance(h, str) and h for h in out))
