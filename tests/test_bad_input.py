"""Bad files: each is refused with one clear line, and the warehouse stays exactly as it was.

Every case is generated here (nothing large is stored). Through the API each bad file raises the
right :class:`~idpkit.errors.IdpkitError` subclass with a one-line message naming the problem, and the
core tables (row counts) and the list of tables are unchanged, on every selected backend. Through the
CLI, the same files give exit code 1 and exactly one ``Error: …`` line each, never a traceback.
Odd but valid text (cp1252, UTF-16 without BOM) imports with its accents intact, formula-like text is
imported and flagged, and a big CSV is never loaded whole into Python memory.
"""

from __future__ import annotations

import io
import os
import random
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from idpkit.errors import HostileFileError, IdpkitError, NoDataFoundError, UnreadableFileError
from idpkit.ingest.pipeline import ImportResult, ingest_file
from idpkit.model.tables import CORE_TABLES

ROOT = Path(__file__).resolve().parent.parent
ETHIOPIA = ROOT / "tests" / "fixtures" / "dtm" / "ethiopia_site_assessment_round_28.xlsx"

SITE_HEADER = "Site ID,Site name,Admin 1 Pcode,Admin 2 Pcode,IDP individuals,Date"
SITE_HXL = "#loc+code,#loc+name,#adm1+code,#adm2+code,#affected+idps+ind,#date+reported"
ACCENTED = ["École Sainte-Thérèse", "Maïduguri façade", "Camp Gwoza – Zoné ñ"]


def _site_csv(names: list[str], *, values: list[str] | None = None) -> str:
    values = values or [str(100 + 10 * i) for i in range(len(names))]
    rows = [SITE_HEADER, SITE_HXL]
    for i, (name, v) in enumerate(zip(names, values), 1):
        quoted = '"' + name.replace('"', '""') + '"'
        rows.append(f"S{i},{quoted},NG008,NG00800{i},{v},2024-03-31")
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------
# The bad files


@dataclass(frozen=True)
class Case:
    error: type[IdpkitError]
    words: tuple[str, ...]  # the message must name the problem with these words (any one of them)
    build: Callable[[Path], Path]


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p
    return build


def _junk(d: Path) -> Path:
    rng = random.Random(20240331)
    data = bytes(rng.randrange(256) for _ in range(8000)) + b"\x00" * 64 + \
        bytes(rng.randrange(256) for _ in range(4000))
    p = d / "junk.csv"
    p.write_bytes(data)
    return p


def _junk_high_bytes(d: Path) -> Path:
    """Binary without a single NUL: must still not be taken for text."""
    rng = random.Random(7)
    p = d / "junk-no-nul.csv"
    p.write_bytes(bytes(rng.randrange(1, 256) for _ in range(20000)))
    return p


def _truncated_xlsx(d: Path) -> Path:
    data = ETHIOPIA.read_bytes()
    p = d / "truncated.xlsx"
    p.write_bytes(data[: len(data) // 2])
    return p


def _zip_not_workbook(d: Path) -> Path:
    p = d / "photos.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "not a workbook")
        zf.writestr("img/photo.jpg", os.urandom(2000))
    return p


def _cell_beyond_excel(d: Path) -> Path:
    """A workbook with one cell at row 999,999,999: the reader would try to build a grid that
    large and abort the process, so it must be refused before."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Admin 1 Pcode", "IDP individuals"])
    ws.append(["NG008", 1])
    ws.append(["NG002", 2])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    p = d / "huge-cell.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'r="A3"', b'r="A999999999"', 1)
            zf.writestr(info.filename, data)
    return p


def _zip_csv_path_trick(d: Path) -> Path:
    """A ZIP of CSV files (ODK export) with a member that would escape the folder."""
    p = d / "odk_export.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("form.csv", _site_csv(["x"]))
        zf.writestr("../../form-evil.csv", "a,b\n1,2\n")
    return p


def _zip_csv_binary(d: Path) -> Path:
    """A ZIP whose CSV member is binary junk."""
    p = d / "odk_binary.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("form.csv", bytes(range(256)) * 40)
    return p


def _zip_bomb(d: Path) -> Path:
    """300 MB of one repeated byte in ``sheet1.xml``, streamed: about 300 KB on disk."""
    p = d / "bomb.xlsx"
    chunk = b"<row>" + b"A" * (1 << 20)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml",
                    "<workbook><sheets><sheet name='S' sheetId='1'/></sheets></workbook>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for _ in range(300):
                fh.write(chunk)
    return p


def _lying_zip(d: Path) -> Path:
    """A real workbook whose sheet holds ~20 MB of rows but declares 1000 bytes (a disguised bomb)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Admin 1 Pcode", "IDP individuals"])
    ws.append(["NG008", 1])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>NG008</t></is></c>'
                    b'<c r="B%d"><v>2</v></c></row>' % (i, i, i) for i in range(3, 1003))
    p = d / "lying.xlsx"
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename != sheet:
                zf.writestr(info.filename, data)
                continue
            head, tail = data.split(b"</sheetData>")
            with zf.open(sheet, "w") as fh:
                fh.write(head)
                for _ in range(200):
                    fh.write(rows)
                fh.write(b"</sheetData>" + tail)
    raw = bytearray(p.read_bytes())
    info = zipfile.ZipFile(p).getinfo(sheet)
    assert info.file_size > 10 * 1024**2
    struct.pack_into("<I", raw, info.header_offset + 22, 1000)  # local header: uncompressed size
    at = raw.find(b"PK\x01\x02")
    while at != -1:  # central directory entry of the sheet
        n = struct.unpack_from("<H", raw, at + 28)[0]
        if bytes(raw[at + 46:at + 46 + n]) == sheet.encode():
            struct.pack_into("<I", raw, at + 24, 1000)
        at = raw.find(b"PK\x01\x02", at + 4)
    p.write_bytes(raw)
    assert zipfile.ZipFile(p).getinfo(sheet).file_size == 1000
    return p


def _path_trick(d: Path) -> Path:
    p = d / "trick.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("../../evil.xml", "<evil/>")
    return p


def _directory(d: Path) -> Path:
    """A folder given as the file: read as an ODK Briefcase export (its CSV files as sheets) when
    it holds CSV files; this one holds none (its CSV is in a sub-folder, which is not read)."""
    p = d / "a-folder.csv"
    (p / "media").mkdir(parents=True)
    (p / "media" / "inside.csv").write_text(_site_csv(["x"]))
    (p / "notes.txt").write_text("not a table")
    return p


def _fifo(d: Path) -> Path:
    """A named pipe where a file is expected: refused from its type, never opened (reading it
    would wait forever)."""
    p = d / "pipe.csv"
    os.mkfifo(p)
    return p


CASES: dict[str, Case] = {
    "empty": Case(UnreadableFileError, ("empty",), _write("empty.csv", b"")),
    "whitespace-only": Case(UnreadableFileError, ("blank", "whitespace"),
                            _write("blank.csv", b"  \r\n\t\n    \n\n \t \n")),
    "utf16-whitespace-only": Case(UnreadableFileError, ("blank", "whitespace"),
                                  _write("blank16.csv", " \r\n \n\t\n".encode("utf-16-le"))),
    "delimiters-only": Case(UnreadableFileError, ("no text", "delimiters"),
                            _write("commas.csv", b",,,\n , ,\t,\n,,\n")),
    "binary-junk": Case(UnreadableFileError, ("binary",), _junk),
    "binary-junk-without-nul": Case(UnreadableFileError, ("encoding", "binary", "text"),
                                    _junk_high_bytes),
    "truncated-xlsx": Case(UnreadableFileError, ("truncated", "corrupt"), _truncated_xlsx),
    "zip-not-workbook": Case(UnreadableFileError, ("not an xlsx",), _zip_not_workbook),
    "zip-bomb": Case(HostileFileError, ("zip bomb",), _zip_bomb),
    "xlsx-cell-beyond-excel": Case(UnreadableFileError, ("damaged",), _cell_beyond_excel),
    "zip-csv-path-trick": Case(HostileFileError, ("path trick",), _zip_csv_path_trick),
    "zip-csv-binary": Case(UnreadableFileError, ("binary",), _zip_csv_binary),
    "zip-lying-sizes": Case(HostileFileError, ("declared size",), _lying_zip),
    "zip-path-trick": Case(HostileFileError, ("path trick",), _path_trick),
    "header-only": Case(NoDataFoundError, ("no data rows",),
                        _write("header.csv", (SITE_HEADER + "\n").encode())),
    "header-and-hxl-only": Case(NoDataFoundError, ("no data rows",),
                                _write("header-hxl.csv",
                                       (SITE_HEADER + "\n" + SITE_HXL + "\n").encode())),
    "no-count-columns": Case(NoDataFoundError, ("recognisable",),
                             _write("inventory.csv", b"item,colour\nchair,red\ntable,blue\n")),
    "invalid-json": Case(UnreadableFileError, ("json",), _write("api.json", b'{"result": [{"a": 1},')),
    "directory": Case(UnreadableFileError, ("no csv files",), _directory),
    "named-pipe": Case(UnreadableFileError, ("not a regular file",), _fifo),
    "nonexistent": Case(UnreadableFileError, ("not found",), lambda d: d / "no-such-file.csv"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    return {name: case.build(d) for name, case in CASES.items()}


def test_generated_files_stay_small(bad_files):
    """The bomb is 300 MB inflated, not on disk: the suite must not write big files."""
    sizes = {n: p.stat().st_size for n, p in bad_files.items() if p.is_file()}
    assert sizes["zip-bomb"] < 2 * 1024**2
    with zipfile.ZipFile(bad_files["zip-bomb"]) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size >= 300 * 1024**2


# ---------------------------------------------------------------------------------------------
# Through the API, on every backend


def _snapshot(wh) -> tuple[dict[str, int], set[str]]:
    counts = {name: int(wh.table(name).count().execute()) for name in CORE_TABLES}
    return counts, set(wh.con.list_tables())


def _assert_clear(exc: IdpkitError, case: Case, path: Path) -> None:
    text = str(exc)
    assert type(exc) is case.error, f"{type(exc).__name__}: {text}"
    assert "\n" not in text and "\r" not in text, f"message is not one line: {text!r}"
    assert len(text) < 400, text
    assert path.name in text, f"message does not name the file: {text}"
    assert any(w in text.lower() for w in case.words), f"message does not say why: {text}"
    assert "Traceback" not in text


@pytest.mark.parametrize("name", list(CASES))
def test_bad_file_is_refused_and_warehouse_unchanged(wh, bad_files, name):
    case, path = CASES[name], bad_files[name]
    before = _snapshot(wh)
    with pytest.raises(IdpkitError) as info:
        ingest_file(wh, path)
    _assert_clear(info.value, case, path)
    assert _snapshot(wh) == before


def test_bad_files_leave_a_populated_warehouse_unchanged(wh, bad_files, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(_site_csv(["Alpha", "Beta", "Gamma"], values=["10", "about 20", "30"]))
    r = ingest_file(wh, good)
    assert r.status == "imported" and r.rows_accepted == 2 and r.rows_quarantined == 1
    before = _snapshot(wh)
    assert all(before[0][t] > 0 for t in ("areas", "datasets", "observations", "quarantine", "issues"))
    for name, path in bad_files.items():
        with pytest.raises(IdpkitError) as info:
            ingest_file(wh, path)
        _assert_clear(info.value, CASES[name], path)
        assert _snapshot(wh) == before, name
    # and the good file is still known: importing it again changes nothing
    assert ingest_file(wh, good).status == "already-imported"
    assert _snapshot(wh) == before


def test_count_column_without_numbers_is_refused(wh, tmp_path):
    """The only count column holds words: nothing to import, said in one line, nothing written."""
    from idpkit.warehouse.areas import ensure_gazetteer

    ensure_gazetteer(wh)  # as after any earlier import
    p = tmp_path / "words-for-counts.csv"
    p.write_text(_site_csv([f"Site {i}" for i in range(6)],
                           values=["many", "few", "lots", "some", "unknown", "most"]))
    before = _snapshot(wh)
    with pytest.raises(NoDataFoundError) as info:
        ingest_file(wh, p)
    text = str(info.value)
    assert "\n" not in text and p.name in text, text
    assert _snapshot(wh) == before


# ---------------------------------------------------------------------------------------------
# Through the CLI


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("IDPKIT_DB", "COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "idpkit.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300, check=False)


def _error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return [ln for ln in proc.stderr.splitlines() if ln.strip()]


@pytest.mark.parametrize("name", ["empty", "zip-bomb", "header-only", "no-count-columns", "directory"])
def test_cli_one_error_line(bad_files, tmp_path, name):
    path = bad_files[name]
    db = tmp_path / "cli.duckdb"
    proc = _cli("ingest", "--db", str(db), str(path), cwd=tmp_path)
    assert proc.returncode == 1, proc
    lines = _error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error:") and path.name in lines[0], lines
    assert any(w in lines[0].lower() for w in CASES[name].words), lines


def test_cli_every_bad_file_one_line_each(warehouse_url, bad_files, tmp_path):
    """One run over all bad files: one ``Error:`` line per file, exit 1, the warehouse unchanged."""
    from idpkit.warehouse import connect

    names = list(bad_files)
    proc = _cli("ingest", "--db", warehouse_url, *[str(bad_files[n]) for n in names], cwd=tmp_path)
    assert proc.returncode == 1, proc
    lines = _error_lines(proc)
    assert len(lines) == len(names), proc.stderr
    for line, n in zip(lines, names):
        assert line.startswith("Error:") and bad_files[n].name in line, (n, line)
    with connect(warehouse_url) as wh:
        counts, tables = _snapshot(wh)
    assert set(counts.values()) == {0}, counts
    assert set(CORE_TABLES) <= tables


def test_cli_validate_bad_file(bad_files, tmp_path):
    proc = _cli("validate", "--db", str(tmp_path / "v.duckdb"), str(bad_files["zip-path-trick"]),
                cwd=tmp_path)
    assert proc.returncode == 1
    lines = _error_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("Error:") and "path trick" in lines[0], lines


@pytest.mark.parametrize("fname", ["[/x].csv", "[bold]report[/bold].csv"])
def test_cli_file_name_with_brackets_is_shown_verbatim(tmp_path, fname):
    """The message is printed as text: square brackets in a file name are not console markup."""
    proc = _cli("ingest", "--db", str(tmp_path / "w.duckdb"), fname, cwd=tmp_path)
    assert proc.returncode == 1
    lines = _error_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("Error:"), proc.stderr
    assert fname in lines[0], lines


# ---------------------------------------------------------------------------------------------
# Odd but valid files import correctly


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16-le", "utf-16-be", "utf-16", "utf-8-sig"])
def test_text_encodings_import_with_names_intact(wh, tmp_path, encoding):
    """cp1252 (Excel "CSV"), UTF-16 without a BOM (``-le``/``-be``), UTF-16 with one, UTF-8 with BOM."""
    p = tmp_path / f"sites-{encoding}.csv"
    p.write_bytes(_site_csv(ACCENTED).encode(encoding))
    if encoding in ("utf-16-le", "utf-16-be"):
        assert not p.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    r = ingest_file(wh, p)
    assert r.status == "imported", r
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (3, 3, 0), r.issue_counts
    assert r.observations == 3
    sites = wh.table("sites").execute().set_index("site_id")
    assert sites.loc[["S1", "S2", "S3"], "site_name"].tolist() == ACCENTED
    obs = wh.table("observations").execute()
    assert sorted(obs.value.tolist()) == [100.0, 110.0, 120.0]
    assert set(obs.adm1_pcode) == {"NG008"}


def test_formula_injection_is_imported_and_flagged(wh, tmp_path):
    formula = '=HYPERLINK("http://x","y")'
    p = tmp_path / "formula.csv"
    p.write_text(_site_csv(["Plain camp", formula, "+cmd|' /C calc'!A0"]), encoding="utf-8")
    r: ImportResult = ingest_file(wh, p)
    assert r.status == "imported"
    assert (r.rows_accepted, r.rows_quarantined) == (3, 0)
    assert r.issue_counts.get(("formula-injection", "warning")) == 2
    issues = wh.table("issues").execute()
    flagged = issues[issues.code == "formula-injection"].sort_values("row")
    assert flagged.row.astype(int).tolist() == [4, 5]  # header, HXL row, then data from line 3
    assert flagged.value.tolist()[0] == formula
    assert set(flagged.column_name) == {"Site name"}
    sites = wh.table("sites").execute().set_index("site_id")
    assert sites.loc["S2", "site_name"] == formula  # stored as written, not evaluated or mangled
    obs = wh.table("observations").execute().set_index("source_row")
    assert "formula-injection" in obs.loc[4, "flags"]


# ---------------------------------------------------------------------------------------------
# A big CSV is streamed, never loaded whole into Python


@pytest.mark.slow
def test_big_csv_is_not_loaded_into_python(wh, tmp_path):
    from idpkit.testing.demo import write_large_gazetteer_csv, write_large_observations_csv
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    n = 240_000
    big = write_large_observations_csv(tmp_path / "big.csv", n, chunk_rows=60_000)
    size = big.stat().st_size
    assert size > 30 * 1024**2
    load_areas(wh, read_gazetteer_csv(write_large_gazetteer_csv(tmp_path / "gaz.csv")))
    tracemalloc.start()
    try:
        r = ingest_file(wh, big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status == "imported" and r.rows_read == n
    assert r.rows_accepted + r.rows_quarantined == n
    # The whole file as Python text would be >= its size; as pandas objects several times that.
    limit = min(50 * 1024**2, size // 2)
    assert peak < limit, f"Python allocations peaked at {peak / 1024**2:.0f} MiB " \
                         f"for a {size / 1024**2:.0f} MiB CSV"
