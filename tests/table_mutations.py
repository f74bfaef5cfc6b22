"""Real fixture tables, the ways users change them, and Hypothesis strategies that combine those.

A fixture is loaded as a :class:`Book`: its sheets as grids of cells (every sheet of a workbook,
read with python-calamine, which also opens the files openpyxl cannot), with the data sheet split
into title rows, header, HXL row, data rows and footnotes. Each mutation is a small frozen
dataclass whose ``repr`` is Python that rebuilds it, so a failing example prints as a reproducer:

    book = load("ethiopia_site_assessment_round_28.xlsx")
    book = apply(book, [DropHxl(), ShuffleRows(seed=3)])
    path = write(book, folder, Csv(delimiter=";", encoding="utf-16"))

Every random choice is a parameter (a seed, or a column number taken modulo the current width),
never drawn inside ``apply``: the same mutation always gives the same file.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import openpyxl
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# ---------------------------------------------------------------------------------------------
# The fixtures and where their tables are


@dataclass(frozen=True)
class Spec:
    path: Path
    sheet: str | None = None  # the data sheet of a workbook; None for CSV
    header: int | None = 0  # row index of the header (None: the first line is data)
    hxl: bool = False  # the row after the header is an HXL row
    data_end: int | None = None  # rows from here on are footnotes, kept below the data


def _dtm(name: str, **kw) -> Spec:
    return Spec(FIXTURES / "dtm" / name, **kw)


def _corpus(folder: str, name: str, **kw) -> Spec:
    return Spec(FIXTURES / "corpus" / folder / name, **kw)


SPECS: dict[str, Spec] = {s.path.name: s for s in [
    _dtm("dtm-api-v3-admin0-2-afg-hti-tcd.csv", hxl=True),
    _dtm("ethiopia_site_assessment_round_28.xlsx", sheet="Sites", hxl=True),
    _dtm("iraq_idps_master_list_round_123.xlsx", sheet="DTM Dataset", hxl=True),
    _dtm("nigeria_baseline_assessment_round_38.xlsx", sheet="Baseline Assessment Dataset",
         hxl=True),
    _corpus("figures", "idmc_disaster_all_dataset.xlsx", sheet="Sheet1", hxl=True),
    _corpus("figures", "idmc_displacement_all_dataset.xlsx", sheet="Sheet1", hxl=True),
    _corpus("figures", "idmc_gidd_conflict_new_displacements.csv"),
    _corpus("figures", "idmc_gidd_disaster_events.csv"),
    _corpus("figures", "idmc_hdx_displacement_data.csv", hxl=True),
    _corpus("figures", "irq_dtm_master_list_2014-08-18.csv", header=None),
    _corpus("figures", "irq_dtm_master_list_2014-09-01.csv", header=None),
    _corpus("figures", "irq_dtm_master_list_columns.csv"),
    _corpus("figures", "mli_population_movements_hxl.csv", hxl=True),
    _corpus("figures", "ukr_gps_r13_idp_report.xlsx", sheet="ESTIMATED POPULATION", hxl=True),
    _corpus("figures", "ukr_gps_r14_idp_estimates.xlsx", sheet="Estimated Population", hxl=True),
    _corpus("figures", "ukr_returnees_r12.xlsx", sheet="Returnees by Macro-region", header=2,
            hxl=True),
    _corpus("figures", "ukr_returnees_r13.xlsx", sheet="Returnees by Oblast", hxl=True,
            data_end=28),
    _corpus("activities", "whowhatwhere_5w_bfa_fev2022.xlsx", sheet="Jan - Fev Public", hxl=True),
    _corpus("activities", "whowhatwhere_afghanistan_3w_july_to_september_2021.csv", hxl=True),
    _corpus("activities", "whowhatwhere_ukr_5w_round12_2022_05_26.xlsx",
            sheet="People_Reached_by_Oblast"),
    _corpus("needs", "afg_hno_2024_pin_by_admin2_cluster.csv"),
]}

# The files with displacement figures idpkit reads (the others it refuses: no header row,
# who-does-what-where, needs): the metamorphic properties compare their imports. Some need
# --accept-as-is (the IDMC files have years but no reporting date).
IMPORTED = [
    "dtm-api-v3-admin0-2-afg-hti-tcd.csv", "ethiopia_site_assessment_round_28.xlsx",
    "iraq_idps_master_list_round_123.xlsx", "nigeria_baseline_assessment_round_38.xlsx",
    "idmc_disaster_all_dataset.xlsx", "idmc_displacement_all_dataset.xlsx",
    "idmc_gidd_conflict_new_displacements.csv", "idmc_gidd_disaster_events.csv",
    "idmc_hdx_displacement_data.csv", "ukr_gps_r13_idp_report.xlsx",
    "ukr_gps_r14_idp_estimates.xlsx", "ukr_returnees_r12.xlsx", "ukr_returnees_r13.xlsx",
]

# ---------------------------------------------------------------------------------------------
# The model

Row = tuple


@dataclass(frozen=True)
class Sheet:
    name: str
    data: tuple[Row, ...]  # the data rows (of a sheet other than the data sheet: every row)
    above: tuple[Row, ...] = ()  # title rows
    header: Row | None = None
    hxl: Row | None = None
    below: tuple[Row, ...] = ()  # footnotes

    def rows(self) -> list[Row]:
        head = [r for r in (self.header, self.hxl) if r is not None]
        return [*self.above, *head, *self.data, *self.below]

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows()), default=0)


@dataclass(frozen=True)
class Book:
    name: str  # file name without suffix
    sheets: tuple[Sheet, ...]
    main: int  # index of the data sheet
    suffix: str  # of the fixture: ".csv" or ".xlsx"

    @property
    def data_sheet(self) -> Sheet:
        return self.sheets[self.main]

    def with_data_sheet(self, sheet: Sheet) -> Book:
        sheets = list(self.sheets)
        sheets[self.main] = sheet
        return replace(self, sheets=tuple(sheets))

    def data_rows_written(self) -> int:
        """Data rows with at least one non-blank cell: what an import must count, one way or the
        other (accepted or quarantined)."""
        return sum(1 for r in self.data_sheet.data if any(not _blank(c) for c in r))


def _blank(c: object) -> bool:
    return c is None or (isinstance(c, str) and not c.strip())


def _read_grid(spec: Spec) -> list[tuple[str, list[list]]]:
    if spec.path.suffix == ".csv":
        with spec.path.open(encoding="utf-8-sig", newline="") as fh:
            return [(spec.path.stem, [list(r) for r in csv.reader(fh)])]
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(spec.path))
    return [(n, wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names]


@cache
def load(name: str, max_rows: int = 30) -> Book:
    """The fixture ``name`` with at most ``max_rows`` data rows (every k-th, so that all its
    countries, states and levels stay in), every other sheet whole."""
    spec = SPECS[name]
    sheets = []
    main = 0
    for i, (sheet_name, grid) in enumerate(_read_grid(spec)):
        rows = [tuple(_cell(c) for c in r) for r in grid]
        if spec.sheet is not None and sheet_name != spec.sheet or spec.sheet is None and i > 0:
            sheets.append(Sheet(sheet_name, tuple(rows)))
            continue
        main = i
        h = spec.header
        start = 0 if h is None else h + 1 + spec.hxl
        end = len(rows) if spec.data_end is None else spec.data_end
        data = rows[start:end]
        step = max(1, -(-len(data) // max_rows))
        sheets.append(Sheet(
            sheet_name, tuple(data[::step][:max_rows]),
            above=tuple(rows[:h]) if h else (),
            header=rows[h] if h is not None else None,
            hxl=rows[h + 1] if h is not None and spec.hxl else None,
            below=tuple(rows[end:])))
    return Book(spec.path.stem, tuple(sheets), main, spec.path.suffix)


def _cell(c: object) -> object:
    if isinstance(c, str):
        return c if c.strip() else (c or None)
    if isinstance(c, float) and c.is_integer() and abs(c) < 2**53:
        return int(c)
    return c


def apply(book: Book, mutations) -> Book:
    for m in mutations:
        book = m.apply(book)
    return book

# ---------------------------------------------------------------------------------------------
# Column mutations (header, HXL cell and data cells move together)


def _pad(row: Row | None, width: int) -> Row | None:
    return None if row is None else tuple(row) + (None,) * (width - len(row))


def _map_columns(book: Book, fn) -> Book:
    """``fn(columns)`` gets and returns a list of columns, each a tuple of cells: header (when
    the sheet has one), HXL cell (when it has one), then every data row."""
    s = book.data_sheet
    w = s.width
    block = [r for r in (s.header, s.hxl) if r is not None] + list(s.data)
    block = [_pad(r, w) for r in block]
    cols = list(zip(*block)) if block else []
    cols = fn(cols)
    rows = list(zip(*cols)) if cols else [()] * len(block)
    it = iter(rows)
    header = next(it) if s.header is not None else None
    hxl = next(it) if s.hxl is not None else None
    return book.with_data_sheet(replace(s, header=header, hxl=hxl, data=tuple(it)))


@dataclass(frozen=True)
class DropColumns:
    columns: tuple[int, ...]  # taken modulo the width; at least one column is kept

    def apply(self, book: Book) -> Book:
        def fn(cols):
            gone = {c % len(cols) for c in self.columns} if cols else set()
            kept = [c for i, c in enumerate(cols) if i not in gone]
            return kept or cols[:1]
        return _map_columns(book, fn)


@dataclass(frozen=True)
class KeepColumns:
    """Only a few columns kept, in their order (an extract of the columns a user needs)."""

    columns: tuple[int, ...]  # modulo the width

    def apply(self, book: Book) -> Book:
        def fn(cols):
            keep = {c % len(cols) for c in self.columns} if cols else set()
            return [c for i, c in enumerate(cols) if i in keep]
        return _map_columns(book, fn)


@dataclass(frozen=True)
class DuplicateColumn:
    column: int
    at: int
    rename: str | None = None  # a header style (see RENAMES) for the copy; None: same header

    def apply(self, book: Book) -> Book:
        has_header = book.data_sheet.header is not None

        def fn(cols):
            if not cols:
                return cols
            col = list(cols[self.column % len(cols)])
            if self.rename and has_header and isinstance(col[0], str):
                col[0] = rename_header(col[0], self.rename)
            out = list(cols)
            out.insert(self.at % (len(cols) + 1), tuple(col))
            return out
        return _map_columns(book, fn)


@dataclass(frozen=True)
class ReorderColumns:
    seed: int

    def apply(self, book: Book) -> Book:
        def fn(cols):
            cols = list(cols)
            random.Random(self.seed).shuffle(cols)
            return cols
        return _map_columns(book, fn)


@dataclass(frozen=True)
class MoveColumn:
    """One column moved to another place (the smallest reordering, for reproducers)."""

    column: int
    to: int

    def apply(self, book: Book) -> Book:
        def fn(cols):
            cols = list(cols)
            if cols:
                col = cols.pop(self.column % len(cols))
                cols.insert(self.to % (len(cols) + 1), col)
            return cols
        return _map_columns(book, fn)


@dataclass(frozen=True)
class Widen:
    """Filler question columns (yes/no answers, scores, free text), as site assessments have by
    the hundred, until the sheet is ``width`` columns wide; spread among the real columns or all
    after them."""

    width: int
    seed: int = 0
    spread: bool = False

    def apply(self, book: Book) -> Book:
        rnd = random.Random(self.seed)
        s = book.data_sheet

        def fn(cols):
            out = list(cols)
            for n in range(max(0, self.width - len(cols))):
                q = QUESTIONS[n % len(QUESTIONS)]
                header = f"Q{n + 1}. {q[0]}"
                answers = q[1]
                col = []
                if s.header is not None:
                    col.append(header)
                if s.hxl is not None:
                    col.append(rnd.choice(["", f"#indicator+q{n + 1}", "#indicator+text"]))
                col += [rnd.choice(answers) for _ in s.data]
                out.insert(rnd.randrange(len(out) + 1) if self.spread else len(out), tuple(col))
            return out
        return _map_columns(book, fn)


QUESTIONS = [
    ("Is there a functioning water point in the site?", ["Yes", "No", "Don't know", None]),
    ("Main type of shelter", ["Tent", "Makeshift", "Collective centre", "Host family", None]),
    ("Does the site have a site management agency?", ["Yes", "No", None]),
    ("Are latrines separated by sex?", ["Yes", "No", "Partially", None]),
    ("Distance to the nearest health facility (km)", [1, 2, 5, 10, 25, None]),
    ("Most common source of income", ["Daily labour", "Agriculture", "None", "Trade"]),
    ("Score of access to markets (1-5)", [1, 2, 3, 4, 5]),
    ("Comments of the enumerator", ["", "Road flooded", "Access by foot only", None]),
    ("Is there a school within 2 km?", ["Yes", "No"]),
    ("Priority need #1", ["Food", "Shelter", "NFI", "Water", "Health", "Protection"]),
]

# ---------------------------------------------------------------------------------------------
# Header mutations

# Whole headers first, then words; EN -> (fr, es, pt).
PHRASES = {
    "idp individuals": ("PDI individus", "PDI individuos", "PDI indivíduos"),
    "idp households": ("PDI ménages", "PDI hogares", "PDI agregados familiares"),
    "reported date": ("Date de rapport", "Fecha de reporte", "Data do relatório"),
    "country code": ("Code pays", "Código de país", "Código do país"),
    "country name": ("Nom du pays", "Nombre del país", "Nome do país"),
    "start date": ("Date de début", "Fecha de inicio", "Data de início"),
    "event name": ("Nom de l'événement", "Nombre del evento", "Nome do evento"),
    "survey date": ("Date de l'enquête", "Fecha de la encuesta", "Data do inquérito"),
}
WORDS = {
    "idp": ("PDI", "PDI", "PDI"), "idps": ("PDI", "PDI", "PDI"),
    "individuals": ("individus", "individuos", "indivíduos"),
    "households": ("ménages", "hogares", "agregados familiares"),
    "household": ("ménage", "hogar", "agregado familiar"),
    "returnees": ("retournés", "retornados", "retornados"),
    "returnee": ("retourné", "retornado", "retornado"),
    "estimated": ("estimé", "estimado", "estimado"), "number": ("nombre", "número", "número"),
    "date": ("date", "fecha", "data"), "reported": ("rapportée", "reportada", "reportada"),
    "country": ("pays", "país", "país"), "code": ("code", "código", "código"),
    "name": ("nom", "nombre", "nome"), "site": ("site", "sitio", "local"),
    "region": ("région", "región", "região"), "state": ("état", "estado", "estado"),
    "zone": ("zone", "zona", "zona"), "round": ("tour", "ronda", "ronda"),
    "year": ("année", "año", "ano"), "population": ("population", "población", "população"),
    "present": ("présente", "presente", "presente"),
    "displaced": ("déplacés", "desplazados", "deslocados"),
    "new": ("nouveaux", "nuevos", "novos"),
    "displacement": ("déplacement", "desplazamiento", "deslocamento"),
    "displacements": ("déplacements", "desplazamientos", "deslocamentos"),
    "conflict": ("conflit", "conflicto", "conflito"),
    "disaster": ("catastrophe", "desastre", "desastre"),
    "location": ("localité", "localidad", "localidade"),
    "governorate": ("gouvernorat", "gobernación", "governorado"),
    "district": ("district", "distrito", "distrito"), "total": ("total", "total", "total"),
    "hazard": ("aléa", "amenaza", "perigo"), "type": ("type", "tipo", "tipo"),
    "category": ("catégorie", "categoría", "categoria"), "event": ("événement", "evento", "evento"),
    "start": ("début", "inicio", "início"), "survey": ("enquête", "encuesta", "inquérito"),
    "of": ("de", "de", "de"), "and": ("et", "y", "e"), "in": ("en", "en", "em"),
}
ABBREVIATIONS = {
    "individuals": "Ind.", "households": "HH", "household": "HH", "number": "No.",
    "estimated": "Est.", "population": "Pop.", "displaced": "Displ.", "governorate": "Gov.",
    "displacements": "Displ.", "displacement": "Displ.", "reported": "Rep.",
    "country": "Ctry", "code": "Cd", "returnees": "Ret.", "date": "Dt",
}
LANGUAGES = {"fr": 0, "es": 1, "pt": 2}
RENAMES = ["upper", "lower", "title", "spaces", "newline", "underscores", "punctuation",
           "no-punctuation", "abbreviate", "fr", "es", "pt", "copy-suffix", "blank"]


def _by_words(text: str, fn) -> str:
    return re.sub(r"[A-Za-z]+", lambda m: fn(m.group(0)), text)


def rename_header(text: str, style: str) -> str:
    if style == "upper":
        return text.upper()
    if style == "lower":
        return text.lower()
    if style == "title":
        return text.title()
    if style == "spaces":
        return "  " + re.sub(" ", "   ", text) + " \t"
    if style == "newline":
        return text.replace(" ", "\n", 1) if " " in text else text + "\n"
    if style == "underscores":
        return re.sub(r"\s+", "_", text.strip())
    if style == "punctuation":
        return f"{text} *:"
    if style == "no-punctuation":
        return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text)).strip() or text
    if style == "abbreviate":
        return _by_words(text, lambda w: ABBREVIATIONS.get(w.lower(), w))
    if style in LANGUAGES:
        k = LANGUAGES[style]
        phrase = PHRASES.get(re.sub(r"\s+", " ", text.strip().lower()))
        if phrase:
            return phrase[k]
        return _by_words(text, lambda w: WORDS[w.lower()][k] if w.lower() in WORDS else w)
    if style == "copy-suffix":
        return f"{text}.1"
    if style == "blank":
        return ""
    raise ValueError(style)


@dataclass(frozen=True)
class RenameHeaders:
    style: str
    columns: tuple[int, ...] | None = None  # modulo the width; None: every column

    def apply(self, book: Book) -> Book:
        s = book.data_sheet
        if s.header is None or not s.header:
            return book
        header = list(s.header)
        picked = range(len(header)) if self.columns is None else \
            {c % len(header) for c in self.columns}
        for c in picked:
            if isinstance(header[c], str):
                header[c] = rename_header(header[c], self.style) or None
        return book.with_data_sheet(replace(s, header=tuple(header)))


@dataclass(frozen=True)
class DropHxl:
    def apply(self, book: Book) -> Book:
        return book.with_data_sheet(replace(book.data_sheet, hxl=None))

# ---------------------------------------------------------------------------------------------
# Row mutations


@dataclass(frozen=True)
class ShuffleRows:
    seed: int

    def apply(self, book: Book) -> Book:
        data = list(book.data_sheet.data)
        random.Random(self.seed).shuffle(data)
        return book.with_data_sheet(replace(book.data_sheet, data=tuple(data)))


@dataclass(frozen=True)
class BlankRows:
    at: tuple[int, ...]  # positions among the data rows, modulo their number + 1

    def apply(self, book: Book) -> Book:
        data = list(book.data_sheet.data)
        for a in self.at:
            data.insert(a % (len(data) + 1), ())
        return book.with_data_sheet(replace(book.data_sheet, data=tuple(data)))


@dataclass(frozen=True)
class TitleRows:
    texts: tuple[str, ...]

    def apply(self, book: Book) -> Book:
        s = book.data_sheet
        if s.header is None:
            return book
        return book.with_data_sheet(replace(s, above=tuple((t,) for t in self.texts) + s.above))


@dataclass(frozen=True)
class Footnote:
    text: str
    blank_before: bool = True

    def apply(self, book: Book) -> Book:
        s = book.data_sheet
        rows = (((),) if self.blank_before else ()) + ((self.text,),)
        return book.with_data_sheet(replace(s, below=s.below + rows))


@dataclass(frozen=True)
class GroupHeaderRow:
    """A row of group labels over the header (what merged cells such as "IDPs" over
    "Households | Individuals" leave in an export): a label over every ``every``-th column."""

    every: int
    labels: tuple[str, ...] = ("Location", "IDPs", "Displaced population", "Site information")

    def apply(self, book: Book) -> Book:
        s = book.data_sheet
        if s.header is None:
            return book
        step = max(1, self.every)
        row = tuple(self.labels[(j // step) % len(self.labels)] if j % step == 0 else None
                    for j in range(s.width))
        return book.with_data_sheet(replace(s, above=s.above + (row,)))


@dataclass(frozen=True)
class NumbersAsText:
    """Numbers in data cells written as text the way exports format them."""

    style: str  # thousands | french | decimal | padded
    columns: tuple[int, ...] | None = None  # modulo the width; None: every column

    def apply(self, book: Book) -> Book:
        fmt = {"thousands": "{:,}", "french": "{:,}", "decimal": "{:.1f}", "padded": " {} "}
        s = book.data_sheet
        w = s.width
        picked = range(w) if self.columns is None or not w else {c % w for c in self.columns}

        def text(c):
            if not isinstance(c, (int, float)) or isinstance(c, bool):
                return c
            t = fmt[self.style].format(c)
            return t.replace(",", "\u202f") if self.style == "french" else t
        data = tuple(tuple(text(c) if j in picked else c for j, c in enumerate(r))
                     for r in s.data)
        return book.with_data_sheet(replace(s, data=data))


TITLES = ["Displacement Tracking Matrix", "IDP Master List - Round 5",
          "Matrice de suivi des déplacements (DTM) – Évaluation de base", "Fuente: OIM",
          "Estimated figures, subject to revision", ""]
FOOTNOTES = ["Source: IOM DTM", "* Estimates may be under-represented in hard-to-reach areas.",
             "Note : les chiffres sont arrondis.", "Fuente: OIM DTM, datos preliminares",
             "Total", "n/a = not available"]

# ---------------------------------------------------------------------------------------------
# Sheet mutations (lost when written as CSV, as when a user saves one sheet as CSV)

NOTES = (("Notes",), ("This workbook was prepared by the information management unit.",),
         ("Please contact the data team with any questions.",), (),
         ("Methodology", "Key informant interviews at site level."))


def _sheet_name(book: Book, want: str) -> str:
    want = re.sub(r"[\[\]:*?/\\]", " ", want).strip()[:31] or "Sheet"
    names = {s.name.lower() for s in book.sheets}
    name, n = want, 2
    while name.lower() in names:
        suffix = f" ({n})"
        name, n = want[:31 - len(suffix)] + suffix, n + 1
    return name


def _pivot(book: Book) -> tuple[Row, ...]:
    """A pivot of the data sheet: sum of its first numeric column by its first text column,
    with a grand total, as Excel writes one."""
    s = book.data_sheet
    w = s.width
    data = [_pad(r, w) for r in s.data]

    def number(c: object) -> bool:
        return isinstance(c, (int, float)) and not isinstance(c, bool)
    num = next((j for j in range(w) if sum(number(r[j]) for r in data) > len(data) // 2), None)
    txt = next((j for j in range(w) if any(isinstance(r[j], str) for r in data)), None)
    if num is None or txt is None:
        return (("Row Labels", "Count"), ("(blank)", len(data)), ("Grand Total", len(data)))
    label = s.header[num] if s.header is not None and s.header[num] else "Value"
    sums: dict[str, float] = {}
    for r in data:
        v = r[num] if number(r[num]) else 0
        sums[str(r[txt])] = sums.get(str(r[txt]), 0) + v
    return (("Row Labels", f"Sum of {label}"), *sorted(sums.items()),
            ("Grand Total", sum(sums.values())))


@dataclass(frozen=True)
class AddSheet:
    kind: str  # notes | copy | pivot
    before: bool  # before the data sheet (else after every sheet)
    name: str

    def apply(self, book: Book) -> Book:
        name = _sheet_name(book, self.name)
        if self.kind == "notes":
            new = Sheet(name, NOTES)
        elif self.kind == "copy":
            new = replace(book.data_sheet, name=name)
        else:
            new = Sheet(name, _pivot(book))
        sheets = list(book.sheets)
        at = book.main if self.before else len(sheets)
        sheets.insert(at, new)
        return replace(book, sheets=tuple(sheets), main=book.main + (at <= book.main))


@dataclass(frozen=True)
class RenameSheet:
    name: str

    def apply(self, book: Book) -> Book:
        name = _sheet_name(replace(book, sheets=tuple(
            s for i, s in enumerate(book.sheets) if i != book.main)), self.name)
        return book.with_data_sheet(replace(book.data_sheet, name=name))


SHEET_NAMES = {
    "notes": ["Notes", "Read me", "Lisez-moi", "Methodology", "Léame"],
    "copy": ["Data (copy)", "Copy of data", "Feuil2", "old"],
    "pivot": ["Summary", "Pivot", "Resumen", "Tableau croisé", "Sheet3"],
}
NEUTRAL_SHEET_NAMES = ["Data", "Sheet1", "Feuil1", "Hoja1", "Dados", "DTM", "Export 2024"]

# ---------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class Csv:
    delimiter: str = ","
    encoding: str = "utf-8"  # any Python codec; characters it lacks become "?"
    lineterminator: str = "\r\n"

    suffix = ".csv"


@dataclass(frozen=True)
class Xlsx:
    suffix = ".xlsx"


def csv_text(c: object) -> str:
    if c is None:
        return ""
    if isinstance(c, bool):
        return "TRUE" if c else "FALSE"
    if isinstance(c, datetime):
        return c.isoformat(sep=" ") if c.time() != time(0) else c.date().isoformat()
    if isinstance(c, (date, time)):
        return c.isoformat()
    if isinstance(c, timedelta):
        return str(c)
    if isinstance(c, float):
        return repr(c)
    return str(c)


def _xlsx_value(c: object) -> object:
    if isinstance(c, str):
        c = ILLEGAL_CHARACTERS_RE.sub("", c)
        return c or None
    if isinstance(c, timedelta):
        return str(c)
    return c


def write(book: Book, folder: Path, fmt: Csv | Xlsx | None = None) -> Path:
    """The book as a file named after its fixture in ``folder``: CSV holds the data sheet only."""
    fmt = fmt or (Csv() if book.suffix == ".csv" else Xlsx())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{book.name}{fmt.suffix}"
    if isinstance(fmt, Csv):
        rows = [[csv_text(c) for c in r] for r in book.data_sheet.rows()]
        with path.open("w", encoding=fmt.encoding, errors="replace", newline="") as fh:
            out = csv.writer(fh, delimiter=fmt.delimiter, lineterminator=fmt.lineterminator)
            out.writerows(rows)
        return path
    wb = openpyxl.Workbook(write_only=True)
    names: set[str] = set()
    for s in book.sheets:  # a CSV's name can be longer than Excel's 31 characters
        name = s.name[:31]
        while name.lower() in names:
            name = f"{name[:28]}~{len(names)}"
        names.add(name.lower())
        ws = wb.create_sheet(name)
        for r in s.rows():
            ws.append([_xlsx_value(c) for c in r])
    wb.save(path)
    return path

# ---------------------------------------------------------------------------------------------
# Strategies

_col = st.integers(0, 10_000)
_seed = st.integers(0, 2**16)

drop_columns = st.lists(_col, min_size=1, max_size=4).map(lambda cs: DropColumns(tuple(cs)))
keep_columns = st.lists(_col, min_size=1, max_size=6).map(lambda cs: KeepColumns(tuple(cs)))
duplicate_column = st.builds(DuplicateColumn, _col, _col, st.none() | st.sampled_from(RENAMES))
reorder_columns = st.builds(ReorderColumns, _seed)
rename_headers = st.builds(RenameHeaders, st.sampled_from(RENAMES),
                           st.lists(_col, min_size=1, max_size=8).map(tuple))
translate_headers = st.builds(RenameHeaders, st.sampled_from(["fr", "es", "pt", "upper",
                                                              "abbreviate"]))
shuffle_rows = st.builds(ShuffleRows, _seed)
blank_rows = st.lists(_col, min_size=1, max_size=3).map(lambda a: BlankRows(tuple(a)))
title_rows = st.lists(st.sampled_from(TITLES), min_size=1, max_size=3).map(
    lambda t: TitleRows(tuple(t)))
footnote = st.builds(Footnote, st.sampled_from(FOOTNOTES), st.booleans())
add_sheet = st.sampled_from(list(SHEET_NAMES)).flatmap(
    lambda kind: st.builds(AddSheet, st.just(kind), st.booleans(),
                           st.sampled_from(SHEET_NAMES[kind])))
rename_sheet = st.builds(RenameSheet, st.sampled_from(NEUTRAL_SHEET_NAMES))
widen = st.builds(Widen, st.integers(20, 120), _seed, st.booleans())
group_header = st.builds(GroupHeaderRow, st.integers(1, 6))
numbers_as_text = st.builds(NumbersAsText, st.sampled_from(["thousands", "french", "decimal",
                                                            "padded"]),
                            st.none() | st.lists(_col, min_size=1, max_size=4).map(tuple))

any_mutation = st.one_of(
    drop_columns, keep_columns, duplicate_column, reorder_columns, rename_headers,
    translate_headers,
    st.just(DropHxl()), shuffle_rows, blank_rows, title_rows, footnote, add_sheet, rename_sheet,
    widen, group_header, numbers_as_text)

csv_format = st.builds(Csv, st.sampled_from([",", ";", "\t", "|"]),
                       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
                       st.sampled_from(["\r\n", "\n"]))
file_format = st.one_of(st.builds(Xlsx), csv_format)

notes_sheet = st.builds(AddSheet, st.just("notes"), st.booleans(),
                        st.sampled_from(SHEET_NAMES["notes"]))
pivot_sheet = st.builds(AddSheet, st.just("pivot"), st.booleans(),
                        st.sampled_from(SHEET_NAMES["pivot"]))
# Mutations after which an import must count the same rows and store the same totals.
neutral_mutation = st.one_of(shuffle_rows, reorder_columns, rename_sheet, notes_sheet)
# Text that survives any encoding: saving a workbook as such a CSV loses nothing but sheets.
utf_csv_format = st.builds(Csv, st.sampled_from([",", ";", "\t"]),
                           st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))


def reproducer(fixture: str, mutations, fmt) -> str:
    """Python lines that write the mutated file (with this module imported)."""
    return (f"book = apply(load({fixture!r}), {list(mutations)!r})\n"
            f"path = write(book, folder, {fmt!r})")
