"""Open an export safely and hand back its sheets as grids of text.

Supported: XLSX/XLSM/XLS/ODS (via calamine), CSV/TSV/TXT in any common encoding and delimiter,
DTM API JSON, and ZIP archives or folders of CSV files (ODK Central / Briefcase exports: one CSV
per repeat group, each read as a sheet). Hostile or broken files are refused here with one clear
message, before anything touches the warehouse.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import hashlib
import io
import json
import math
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from charset_normalizer import from_bytes

from idpkit.errors import HostileFileError, NoDataFoundError, UnreadableFileError
from idpkit.ingest.hxl import looks_like_hxl_row

MAX_XLSX_UNCOMPRESSED = 2 * 1024**3  # beyond this a workbook is refused (use CSV for big data)
MAX_ZIP_RATIO = 200  # compression ratio of a member above which it is treated as a zip bomb
MAX_ZIP_MEMBERS = 10_000
MAX_CSV_ZIP_UNCOMPRESSED = 512 * 1024**2
EXCEL_MAX_ROWS, EXCEL_MAX_COLS = 1_048_576, 16_384
MAX_SHEET_CELLS = 100_000_000  # rows x columns a sheet may span (the reader fills the whole grid)
# a row or cell and its reference (``<row r="12"``, ``<c r="AB12"``), with or without a prefix
_CELL_REF = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?(?:row|c)\s[^>]{0,200}?\br="([A-Za-z]*)([0-9]+)"')  # CSV files of a ZIP are read into memory, like workbooks
SAMPLE_BYTES = 1 << 20


@dataclass
class Sheet:
    """One sheet (or the only table of a CSV/JSON file)."""

    name: str
    rows: list[list[object]] | None = None  # whole grid for workbooks and JSON
    preview: list[list[str]] = field(default_factory=list)  # first rows, as text


@dataclass
class SourceFile:
    path: Path
    kind: str  # xlsx | csv | json | zip | folder
    sheets: list[Sheet]
    encoding: str | None = None
    delimiter: str | None = None
    utf8_path: Path | None = None  # CSV transcoded to UTF-8 when the file was not UTF-8
    notes: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        if self.utf8_path is not None and self.utf8_path != self.path:
            self.utf8_path.unlink(missing_ok=True)


def cell_text(value: object) -> str | None:
    """A cell as text the way a user reads it: 534.0 -> '534', dates ISO, blanks None."""
    if value is None:
        return None
    if isinstance(value, str):
        s = value.strip()
        return s or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat()
    if isinstance(value, (_dt.date,)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value)
    return str(value).strip() or None


def open_source(path: Path) -> SourceFile:
    """Sniff the format from the bytes (not the extension) and open the file."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UnreadableFileError("file not found", location=str(path)) from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot read file: {exc.strerror}", location=str(path)) from None
    if stat.S_ISDIR(st.st_mode):
        return _open_csv_folder(path)
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFileError("not a regular file", location=str(path))
    if st.st_size == 0:
        raise UnreadableFileError("file is empty", location=str(path))
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        infos = _check_zip(path)
        names = {i.filename for i in infos}
        if any(n.endswith("workbook.xml") or n == "content.xml" for n in names):
            return _open_workbook(path)
        if any(_is_csv_member(i) for i in infos):
            return _open_csv_zip(path, infos)
        raise UnreadableFileError("a zip archive, but not an XLSX or ODS workbook, and no CSV "
                                  "files in it", location=str(path))
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _open_workbook(path)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"[") and path.suffix.lower() in (".json", ".geojson", ""):
        return _open_json(path)
    return _open_csv(path, head)


# ---------------------------------------------------------------------------------------------
# Workbooks


def _check_zip(path: Path) -> list[zipfile.ZipInfo]:
    """The parts of a zip archive (workbook or ZIP of CSVs), refused when hostile: path tricks in
    names, zip bombs, too many parts or too much in all."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFileError("truncated or corrupt workbook (not a valid XLSX zip)",
                                  location=str(path)) from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise HostileFileError(f"workbook has {len(infos)} parts; refusing", location=str(path))
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or \
                (len(name) > 1 and name[1] == ":"):
            raise HostileFileError(f"workbook part with a path trick in its name: {name!r}",
                                   location=str(path))
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and \
                info.file_size > 50 * 1024**2:
            raise HostileFileError(
                f"workbook part {name!r} expands {info.file_size // info.compress_size}× "
                "(zip bomb); refusing", location=str(path))
    if total > MAX_XLSX_UNCOMPRESSED:
        raise HostileFileError(f"workbook expands to {total / 1024**3:.1f} GiB; export large data "
                               "as CSV instead", location=str(path))
    return infos


def _is_csv_member(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    return not info.is_dir() and name.lower().endswith((".csv", ".tsv")) and \
        not name.split("/")[-1].startswith((".", "~$")) and "__MACOSX/" not in name


def _open_csv_zip(path: Path, infos: list[zipfile.ZipInfo]) -> SourceFile:
    """A ZIP of CSV files (ODK Central / Briefcase export: the submissions, and one file per
    repeat group linked by ``PARENT_KEY``): each file a sheet, read into memory like a workbook,
    so the repeat files can be joined to their submissions (:mod:`idpkit.ingest.kobo`)."""
    members = [i for i in infos if _is_csv_member(i)]
    total = sum(i.file_size for i in members)
    if total > MAX_CSV_ZIP_UNCOMPRESSED:
        raise UnreadableFileError(f"the CSV files of this ZIP hold {total / 1024**2:,.0f} MiB; "
                                  "unzip it and ingest the main CSV file on its own",
                                  location=str(path))
    with zipfile.ZipFile(path) as zf:
        def read(info: zipfile.ZipInfo) -> bytes:
            try:
                return zf.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError,
                    NotImplementedError, RuntimeError) as exc:
                raise UnreadableFileError(f"cannot read {info.filename!r} in the ZIP ({exc})",
                                          location=str(path)) from None

        return _csv_files_as_sheets(path, "zip", "ZIP", [
            (i.filename, f"{path}!{i.filename}", lambda i=i: read(i)) for i in members])


def csv_folder_members(path: Path) -> list[Path]:
    """The CSV files directly in a folder, in name order (hidden files, Excel lock files and
    sub-folders such as ODK's ``media/`` left out)."""
    try:
        entries = sorted(path.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise UnreadableFileError(f"cannot list the folder: {exc.strerror}",
                                  location=str(path)) from None
    return [p for p in entries if p.suffix.lower() in (".csv", ".tsv") and p.is_file()
            and not p.name.startswith((".", "~$"))]


def _open_csv_folder(path: Path) -> SourceFile:
    """A folder of CSV files — what ODK Briefcase writes: the form's submissions and one file per
    repeat group (``Form-group.csv``) — read like a ZIP of CSV files: each file a sheet, so the
    repeat files can be joined to their submissions. Only the files directly in the folder."""
    members = csv_folder_members(path)
    if not members:
        raise UnreadableFileError("a folder, but no CSV files in it (give a file, or the folder "
                                  "of an ODK Briefcase export)", location=str(path))
    total = sum(p.stat().st_size for p in members)
    if total > MAX_CSV_ZIP_UNCOMPRESSED:
        raise UnreadableFileError(f"the CSV files of this folder hold {total / 1024**2:,.0f} MiB; "
                                  "ingest the main CSV file on its own", location=str(path))

    def read(p: Path) -> bytes:
        try:
            return p.read_bytes()
        except OSError as exc:
            raise UnreadableFileError(f"cannot read file: {exc.strerror}", location=str(p)) from None

    return _csv_files_as_sheets(path, "folder", "folder", [
        (p.name, str(p), lambda p=p: read(p)) for p in members])


def _csv_files_as_sheets(path: Path, kind: str, container: str,
                         members: list[tuple[str, str, Callable[[], bytes]]]) -> SourceFile:
    """Several CSV files (``(name, location for messages, read bytes)``) as the sheets of one
    source, each named after its file; ODK's headers (``group-question``) rewritten."""
    from idpkit.ingest.kobo import odk_headers

    csv.field_size_limit(1 << 30)
    sheets: list[Sheet] = []
    skipped = []
    for filename, where, read in members:
        data = read()
        if not data.strip(b"\xef\xbb\xbf \t\r\n"):
            skipped.append(filename)
            continue
        encoding = _detect_encoding(data[:SAMPLE_BYTES], Path(where))
        text = data.decode(encoding, errors="replace")
        if _printable_ratio(text[:20000]) < 0.95:
            raise UnreadableFileError("binary or wrongly encoded file: not readable as text",
                                      location=where)
        delimiter = _detect_delimiter(text[:SAMPLE_BYTES])
        try:
            rows: list[list[object]] = [
                list(r) for r in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""),
                                            delimiter=delimiter)]
        except csv.Error as exc:
            raise UnreadableFileError(f"cannot parse CSV: {exc}", location=where) from None
        if rows and (fixed := odk_headers(rows[0])) is not None:
            rows[0] = fixed
        name = Path(filename.replace("\\", "/")).stem[:100] or "csv"
        taken = {sh.name for sh in sheets}
        base, k = name, 2
        while name in taken:
            name, k = f"{base} ({k})", k + 1
        sheets.append(Sheet(name=name, rows=rows,
                            preview=[[cell_text(c) or "" for c in r] for r in rows[:40]]))
    if not sheets:
        raise UnreadableFileError(f"the CSV files in this {container} are empty", location=str(path))
    notes = [f"{container} of {len(sheets)} CSV file(s), each read as a sheet"]
    if skipped:
        notes.append(f"empty file(s) in the {container}: " + ", ".join(map(repr, skipped)))
    return SourceFile(path=path, kind=kind, sheets=sheets, notes=notes)


def source_sha256(path: Path) -> str:
    """The content hash that recognises a re-import: of the file's bytes, or for a folder of CSV
    files, of each file's name and bytes in name order (renaming the folder changes nothing)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in csv_folder_members(path):
            h.update(p.name.encode("utf-8") + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
        return h.hexdigest()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def source_bytes(path: Path) -> int:
    """Size of a file, or of the CSV files of a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in csv_folder_members(path))
    return path.stat().st_size


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _check_sheet_extent(path: Path) -> None:
    """Refuse a workbook whose cells lie outside Excel's sheet, or span a grid too big to hold.

    Why here: the workbook reader builds each sheet's whole grid from its largest cell reference,
    and a damaged or hostile reference (``A999999999``) makes it ask for more memory than exists,
    which aborts the process instead of raising an error. Scanned in bounded chunks."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename
            if "worksheets/" not in name or not name.endswith(".xml"):
                continue
            max_row = max_col = 0
            tail = b""
            sheet = name.rsplit("/", 1)[-1]
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(1 << 23):
                        buf = tail + chunk
                        for m in _CELL_REF.finditer(buf):
                            max_row = max(max_row, int(m.group(2)[:12]))
                            if m.group(1):
                                max_col = max(max_col, _column_number(m.group(1)[:8]))
                        tail = buf[-300:]
            except zipfile.BadZipFile as exc:
                if "CRC" in str(exc):  # more (or other) bytes than the archive declares
                    raise HostileFileError(f"workbook part {sheet!r} does not match its declared "
                                           f"size or checksum ({exc}); refusing",
                                           location=str(path)) from None
                raise UnreadableFileError(f"truncated or corrupt workbook ({exc})",
                                          location=str(path)) from None
            except (zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                    RuntimeError) as exc:  # damaged offsets, compression, encrypted parts
                msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                raise UnreadableFileError(f"truncated or corrupt workbook ({msg})",
                                          location=str(path)) from None
            if max_row > EXCEL_MAX_ROWS or max_col > EXCEL_MAX_COLS:
                raise UnreadableFileError(
                    f"damaged workbook: part {sheet!r} has cells beyond Excel's last row or column "
                    f"(row {max_row:,}, column {max_col:,})", location=str(path))
            if max_row * max(max_col, 1) > MAX_SHEET_CELLS:
                raise UnreadableFileError(
                    f"sheet part {sheet!r} spans {max_row:,} rows × {max_col:,} columns; export "
                    "large data as CSV instead", location=str(path))


def _open_workbook(path: Path) -> SourceFile:
    if zipfile.is_zipfile(path):
        _check_sheet_extent(path)
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = []
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append(Sheet(name=name, rows=rows,
                                preview=[[cell_text(c) or "" for c in r] for r in rows[:40]]))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine's errors; a Rust panic arrives as a BaseException
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "larger than its declared" in msg:  # a part lies about its size: a disguised zip bomb
            raise HostileFileError(f"workbook part expands beyond its declared size ({msg}); "
                                   "refusing", location=str(path)) from None
        raise UnreadableFileError(f"cannot read workbook ({msg}); is it encrypted or truncated?",
                                  location=str(path)) from None
    return SourceFile(path=path, kind="xlsx", sheets=sheets)


# ---------------------------------------------------------------------------------------------
# JSON (DTM API v3 responses, or a plain list of records)


def _open_json(path: Path) -> SourceFile:
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
    except RecursionError:
        raise UnreadableFileError("invalid JSON: nested too deeply", location=str(path)) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, numbers over 4300 digits
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UnreadableFileError(f"invalid JSON: {msg}", location=str(path)) from None
    records = data
    if isinstance(data, dict):
        for key in ("result", "results", "data", "records", "value"):
            if isinstance(data.get(key), list):
                records = data[key]
                break
        else:
            raise UnreadableFileError("JSON object without a list of records "
                                      "(expected 'result' as in the DTM API)", location=str(path))
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise UnreadableFileError("JSON holds no records", location=str(path))
    headers: list[str] = []
    seen: set[str] = set()
    for r in records:
        for k in r:
            if k not in seen:
                seen.add(k)
                headers.append(k)
    rows: list[list[object]] = [headers] + [[r.get(h) for h in headers] for r in records]
    sheet = Sheet(name="records", rows=rows, preview=[[cell_text(c) or "" for c in r] for r in rows[:40]])
    return SourceFile(path=path, kind="json", sheets=[sheet])


# ---------------------------------------------------------------------------------------------
# CSV


def _detect_encoding(head: bytes, path: Path) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    if b"\x00" in sample:
        raise UnreadableFileError("binary file (NUL bytes), not a CSV or workbook",
                                  location=str(path))
    # cut at the last newline so a multi-byte character is not split
    cut = sample.rfind(b"\n")
    if cut > 0 and len(sample) == SAMPLE_BYTES:
        sample = sample[:cut]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    enc = _legacy_encoding(sample)
    if enc is not None:
        return enc
    best = from_bytes(sample, cp_isolation=["cp1252", "latin_1", "cp1256", "utf_16", "mac_roman",
                                            "cp850", "iso8859_15"]).best()
    if best is None:
        raise UnreadableFileError("cannot tell the text encoding; is this a text file?",
                                  location=str(path))
    enc = best.encoding
    # prefer cp1252 over latin-1 (a superset of its printable characters, as Excel writes it)
    return "cp1252" if enc in ("latin_1", "iso8859_1") else enc


# Legacy code pages of exports, in order of preference when equally plausible: Excel's Western
# "CSV" (French, Spanish, Portuguese names), Arabic, then DOS and old Mac Excel.
LEGACY_ENCODINGS = ("cp1252", "cp1256", "cp850", "mac_roman")
_NEUTRAL = set("\u00a0\u202f\u2019\u2018\u201c\u201d\u00ab\u00bb\u2013\u2014\u00b0\u2026\u00b7")
_WORD = re.compile(r"[^\W\d_]+")


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    return unicodedata.name(ch, "?").split(" ")[0]


def _implausible(text: str) -> int:
    """How many non-ASCII characters of ``text`` look like a wrong decoding: symbols and box
    drawing where letters belong, words mixing scripts (``ةcole``), and words made only or mostly
    of accented Latin letters (``ÍáÈ``, ``ÈÛÏÇÏ``: Arabic read as cp1252)."""
    bad = 2 * sum(1 for ch in text if not ch.isascii() and ch not in _NEUTRAL and not ch.isalpha()
                  and not unicodedata.category(ch).startswith("M") and not ch.isspace())
    for m in _WORD.finditer(text):
        w = m.group()
        if w.isascii():
            continue
        n_other = sum(1 for ch in w if not ch.isascii())
        scripts = {_script(ch) for ch in w if not unicodedata.category(ch).startswith("M")}
        if len(scripts) > 1 or (scripts == {"LATIN"} and (
                (len(w) >= 2 and n_other == len(w)) or (len(w) >= 4 and n_other * 2 > len(w)))):
            bad += n_other
    return bad


def _legacy_encoding(sample: bytes) -> str | None:
    """The legacy code page under which the sample reads most plausibly (None: none decodes)."""
    probe, size = [], 0  # judged on lines with non-ASCII bytes only, up to 64 KiB of them
    for line in sample.splitlines():
        if not line.isascii():
            probe.append(line)
            size += len(line)
            if size > 1 << 16:
                break
    best: tuple[int, int] | None = None
    choice = None
    for rank, enc in enumerate(LEGACY_ENCODINGS):
        try:
            sample.decode(enc)
        except UnicodeDecodeError:
            continue
        score = (_implausible(b"\n".join(probe).decode(enc)), rank)
        if best is None or score < best:
            best, choice = score, enc
    return choice


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``-be`` when the bytes read as UTF-16 text without a BOM (Excel's "Unicode
    text" and some exporters write it so): NULs in every other byte only, and a clean decode."""
    n = min(len(sample), 1 << 16) & ~1
    if n < 4:
        return None
    even, odd = sample[0:n:2], sample[1:n:2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    # zeros on the other side too are characters such as U+0100 or U+0600 (00 01, 00 06)
    if zeros_odd >= 0.2 and zeros_even * 4 < zeros_odd:
        enc = "utf-16-le"
    elif zeros_even >= 0.2 and zeros_odd * 4 < zeros_even:
        enc = "utf-16-be"
    else:
        return None
    try:  # incremental: a surrogate pair cut at the end of the sample is not an error
        text = codecs.getincrementaldecoder(enc)("strict").decode(sample[:n], final=False)
    except UnicodeDecodeError:
        return None
    return enc if "\x00" not in text else None


def _detect_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    best, best_score = ",", (-1.0, 0)
    for d in (",", ";", "\t", "|"):
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        except csv.Error:
            continue
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode)
        if score > best_score:
            best, best_score = d, score
    return best


def _printable_ratio(text: str) -> float:
    if not text:
        return 1.0
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\r\n\t") or 0x7F <= ord(c) < 0xA0)
    return 1 - bad / len(text)


def _open_csv(path: Path, head: bytes) -> SourceFile:
    encoding = _detect_encoding(head, path)
    text = head.decode(encoding, errors="replace")
    if _printable_ratio(text[:20000]) < 0.95:
        raise UnreadableFileError("binary or wrongly encoded file: not readable as text",
                                  location=str(path))
    whole = len(head) < SAMPLE_BYTES  # the sample is the whole file
    if whole and not text.strip(" \t\r\n\ufeff\x0b\x0c"):
        raise UnreadableFileError("file is blank (only whitespace)", location=str(path))
    delimiter = _detect_delimiter(text)
    lines = text.splitlines()
    if not whole:
        lines = lines[:-1]  # the last line of a partial sample may be cut
    try:
        preview = [list(r) for r in csv.reader(lines[:40], delimiter=delimiter)]
    except csv.Error as exc:  # e.g. a cell over csv's 128 KiB field limit
        raise UnreadableFileError(f"cannot parse CSV: {exc}", location=str(path)) from None
    from idpkit.ingest.kobo import odk_headers

    if preview and (fixed := odk_headers(preview[0])) is not None:  # ODK Central's root CSV
        preview[0] = [str(h) for h in fixed]
    if whole:
        _check_has_data_rows(lines, delimiter, path)
    utf8_path = path
    notes = []
    if encoding not in ("utf-8", "utf-8-sig"):
        utf8_path = _transcode(path, encoding)
        notes.append(f"read as {encoding}")
    return SourceFile(path=path, kind="csv", sheets=[Sheet(name=path.stem, preview=preview)],
                      encoding=encoding, delimiter=delimiter, utf8_path=utf8_path, notes=notes)


def _check_has_data_rows(lines: list[str], delimiter: str, path: Path) -> None:
    """Refuse a small CSV that cannot hold a data row: nothing but delimiters, a lone header line,
    or a header and its HXL row."""
    try:
        records = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
    except csv.Error:
        return  # let the CSV parser report it, with its line number
    if not records:
        raise UnreadableFileError("file has no text (only delimiters and whitespace)",
                                  location=str(path))
    if len(records) == 1:
        what = "an HXL tag row" if looks_like_hxl_row(records[0]) else "a header"
        raise NoDataFoundError(f"only one line ({what}) and no data rows", location=str(path))
    if len(records) == 2 and any(looks_like_hxl_row(r) for r in records):
        raise NoDataFoundError("only a header and its HXL tag row; no data rows",
                               location=str(path))


def _transcode(path: Path, encoding: str) -> Path:
    """Stream a non-UTF-8 text file into a temporary UTF-8 copy (bounded memory)."""
    fd, tmp = tempfile.mkstemp(prefix="idpkit-", suffix=".csv")
    os.close(fd)
    with open(path, encoding=encoding, errors="replace", newline="") as src, \
            open(tmp, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    return Path(tmp)


def grid_to_arrow(rows: list[list[object]], start: int, ncols: int, sheet_row_offset: int = 1) -> pa.Table:
    """Rows of a workbook grid, from index ``start``, as an all-text Arrow table with ``_row``.

    ``_row`` is the row number a user sees in Excel (1-based). Blank rows are dropped here, so they
    are not counted as rows read.
    """
    cols: list[list[str | None]] = [[] for _ in range(ncols)]
    rownums: list[int] = []
    for i in range(start, len(rows)):
        texts = [cell_text(c) for c in rows[i][:ncols]]
        if not any(texts):
            continue
        texts += [None] * (ncols - len(texts))
        rownums.append(i + sheet_row_offset)
        for j, t in enumerate(texts):
            cols[j].append(t)
    data = {"_row": pa.array(rownums, pa.int64())}
    for j in range(ncols):
        data[f"c{j}"] = pa.array(cols[j], pa.string())
    return pa.table(data)


def csv_select_sql(path: Path, *, delimiter: str, skip_rows: int, ncols: int,
                   row_numbers: bool = True) -> str:
    """DuckDB SQL reading a UTF-8 CSV as text columns ``c0..cN`` plus ``_row`` (row numbers as the
    user sees them: ``skip_rows`` lines above the data). One CSV parser for every backend: DuckDB's,
    which pads short rows instead of dropping them. Not ``parallel``: DuckDB cannot combine it with
    ``null_padding`` when a quoted cell holds a line break ("CSV Error on Line: …"), and the
    single-threaded reader keeps ``_row`` in file order."""
    cols = ", ".join(f"'c{j}': 'VARCHAR'" for j in range(ncols))
    delim = delimiter.replace("'", "''")
    p = str(path).replace("'", "''")
    rows = f"(row_number() OVER () + {skip_rows})::BIGINT AS _row, " if row_numbers else ""
    return (f"SELECT {rows}* "
            f"FROM read_csv('{p}', delim='{delim}', quote='\"', escape='\"', header=false, "
            f"skip={skip_rows}, columns={{{cols}}}, all_varchar=true, null_padding=true, "
            f"strict_mode=false, parallel=false, auto_detect=false, max_line_size=16777216)")


def csv_batches(path: Path, *, delimiter: str, skip_rows: int, ncols: int) -> pa.RecordBatchReader:
    """Stream a UTF-8 CSV as all-text Arrow batches with ``_row`` (for backends without a reader)."""
    import duckdb

    con = duckdb.connect()
    rel = con.sql(csv_select_sql(path, delimiter=delimiter, skip_rows=skip_rows, ncols=ncols))
    return rel.fetch_record_batch(1_000_000)


def read_text_sample(path: Path, encoding: str, n: int = SAMPLE_BYTES) -> str:
    with open(path, "rb") as fh:
        return fh.read(n).decode(encoding, errors="replace")


__all__ = ["SourceFile", "Sheet", "open_source", "grid_to_arrow", "csv_batches", "cell_text",
           "io"]
