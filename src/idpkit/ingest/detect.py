"""Find the data sheet, its header row and its HXL row, as a person opening the file would.

Exports put title rows above the header, summary and methodology sheets beside the data, and the
HXL row under (rarely above) the header. We score every sheet by how many columns we recognise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from idpkit.errors import MappingError, NoDataFoundError
from idpkit.ingest.columns import ColumnAssignment, fold, group_word, guess_roles
from idpkit.ingest.hxl import Tag, looks_like_hxl_row, parse_tag
from idpkit.ingest.kinds import mapping_names_counts, refuse_other_kind
from idpkit.ingest.kobo import kobo_meta_role
from idpkit.ingest.readers import Sheet, SourceFile, cell_text

if TYPE_CHECKING:
    from idpkit.ingest.mapping import Mapping

SCAN_ROWS = 40


@dataclass
class Layout:
    """Where the table sits in a sheet (0-based row indexes into the sheet's grid)."""

    sheet: str
    header_row: int | None
    hxl_row: int | None
    data_start: int
    headers: list[str]
    tags: list[Tag | None]
    guesses: list[ColumnAssignment]
    score: float
    notes: list[str] = field(default_factory=list)
    header_rows: tuple[int, ...] = ()  # every header row (two for a header over two rows)
    from_mapping: bool = False  # rows given by a mapping (header_row, skip_rows…), not detected

    @property
    def ncols(self) -> int:
        return len(self.headers)

    @property
    def n_values(self) -> int:
        return sum(1 for g in self.guesses if g.role == "value")


def _is_number(s: str) -> bool:
    return bool(re.fullmatch(r"-?[\d.,\s]+", s))


def detect_layout(sheet: Sheet, mapping: Mapping | None = None, *,
                  require_counts: bool = True) -> Layout | None:
    """The table of a sheet: from the mapping when it says where the table is (header or skip
    rows), else detected; the mapping's columns count (a sheet whose only counts the mapping
    names is a data sheet). None when the sheet holds no table (or, with ``require_counts``, no
    count column)."""
    if mapping is not None and mapping.gives_layout:
        layout: Layout | None = layout_from_mapping(sheet, mapping)
    else:
        layout = _detect(sheet)
        if layout is not None and mapping is not None and mapping.columns:
            try:
                layout = _with_mapping(layout, mapping)
            except MappingError:
                pass  # the mapping names columns this sheet lacks: it means another sheet
    if layout is None or (require_counts and (layout.n_values == 0 or layout.score < 0)):
        return None
    return layout


def _score(guesses: list[ColumnAssignment], hxl: int | None, n_rows: int) -> float:
    """How much a sheet looks like the data: counts, then areas, an HXL row, then size. A sheet
    without data rows scores below zero."""
    if n_rows <= 0:
        return -1.0
    n_value = sum(1 for g in guesses if g.role == "value")
    n_area = sum(1 for g in guesses if g.role.startswith(("adm", "country")))
    # Counts matter up to a few (a justification or summary sheet has many count-like columns
    # over a handful of rows); a table of displacement places its rows, so area columns weigh,
    # and so does the number of rows (a workbook's data sheet had admin 1-3 P-codes and names
    # over hundreds of rows and lost to a 12-row "justification" sheet).
    return (10 * min(n_value, 4) + 4 * n_area + (15 if n_area else 0)
            + (5 if hxl is not None else 0) + 8 * math.log10(1 + min(n_rows, 1_000_000)))


def _with_mapping(layout: Layout, mapping: Mapping) -> Layout:
    """The layout with the mapping's column roles in its guesses (raises MappingError when the
    mapping names a column the sheet lacks)."""
    over = mapping.overrides(layout)
    guesses = [over.get(g.index, g) for g in layout.guesses]
    if layout.score < 0:
        return replace(layout, guesses=guesses)
    # the same score, with the mapping's counts and areas in place of the guessed ones
    score = layout.score + _score(guesses, None, 1) - _score(layout.guesses, None, 1)
    return replace(layout, guesses=guesses, score=score)


def _text_rows(sheet: Sheet, upto: int) -> list[list[str]]:
    """The first ``upto`` rows of a sheet as stripped text (of a CSV file: its preview)."""
    if sheet.rows is not None:
        return [[(cell_text(c) or "").strip() for c in r] for r in sheet.rows[:upto]]
    return [[(c or "").strip() for c in r] for r in sheet.preview[:upto]]


def layout_from_mapping(sheet: Sheet, mapping: Mapping) -> Layout:
    """The table's layout as the mapping gives it (``header_row``/``header_rows``, ``header:
    none``, ``hxl_row``, ``skip_rows``, ``data_start_row``; 1-based), not guessed. Unset keys
    follow from the others: the header is the first row after ``skip_rows``, the HXL row is
    found next to the header when not given, the data start below the last of them. Without a
    header row columns are named ``column 1``, ``column 2``… (map them by position)."""
    skip = mapping.skip_rows or 0
    hxl_given = mapping.hxl_row if isinstance(mapping.hxl_row, int) else None
    header_rows: list[int] = []
    if mapping.header_rows:
        header_rows = [mapping.header_rows[0] - 1, mapping.header_rows[1] - 1]
    elif mapping.header_row:
        header_rows = [mapping.header_row - 1]
    elif mapping.has_header:
        # the HXL row given without the header: the header is the row above it (or, when the
        # tags are in the first row after the skipped ones, the row below)
        top = skip if hxl_given is None else hxl_given - 2 if hxl_given - 2 >= skip else hxl_given
        header_rows = [top]
    last_fixed = max(header_rows + [hxl_given - 1 if hxl_given else -1, skip - 1])
    first_data = mapping.data_start_row - 1 if mapping.data_start_row else last_fixed + 1
    # the HXL row next to the header (below it, else above), or the first row of a headerless
    # table, unless the mapping says `hxl_row: none`
    at = mapping.path
    rows = _text_rows(sheet, max(first_data + 2, last_fixed + 2, SCAN_ROWS))
    hxl: int | None = hxl_given - 1 if hxl_given else None
    if mapping.hxl_row is None:
        near = ([header_rows[-1] + 1, header_rows[0] - 1] if header_rows else [skip])
        hxl = next((i for i in near if skip <= i < len(rows) and looks_like_hxl_row(rows[i])),
                   None)
        if hxl is not None and not mapping.data_start_row:
            first_data = max(first_data, hxl + 1)
    for key, i in [("header_row", r) for r in header_rows] + [("hxl_row", hxl)]:
        if i is not None and i >= len(rows):
            raise MappingError(
                f"{key}: row {i + 1} is below the first {SCAN_ROWS} rows, where idpkit looks for "
                "the header of a CSV file" if sheet.rows is None and len(rows) >= SCAN_ROWS else
                f"{key}: row {i + 1} is beyond the end of sheet {sheet.name!r} ({len(rows)} "
                "rows)", location=at)
    scan = rows[min(header_rows + [first_data] + ([hxl] if hxl is not None else [])):
                first_data + SCAN_ROWS]
    positions = [int(k) for k in mapping.columns if isinstance(k, int) or str(k).isdigit()]
    ncols = max([max((j + 1 for j, c in enumerate(r) if c), default=0) for r in scan]
                + positions + [1])
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    if len(header_rows) == 2:
        headers = _join_header_rows(rows[header_rows[0]], rows[header_rows[1]], ncols)
    elif header_rows:
        headers = [re.sub(r"\s+", " ", rows[header_rows[0]][j]).strip() or
                   (rows[hxl][j] if hxl is not None else "") or f"column {j + 1}"
                   for j in range(ncols)]
    else:  # no header row: columns are known by position only
        headers = [f"column {j + 1}" for j in range(ncols)]
    tags = [parse_tag(rows[hxl][j]) if hxl is not None and rows[hxl][j] else None
            for j in range(ncols)]
    guesses = _group_from_sheet_name(guess_roles(headers, tags), sheet.name)
    n_rows = (len(sheet.rows) - first_data) if sheet.rows is not None else 1000
    where = [f"header rows {header_rows[0] + 1} and {header_rows[1] + 1}" if len(header_rows) == 2
             else f"header row {header_rows[0] + 1}" if header_rows else "no header row"]
    if hxl is not None:
        where.append(f"HXL row {hxl + 1}")
    where.append(f"data from row {first_data + 1}")
    layout = Layout(sheet.name, header_rows[-1] if header_rows else None, hxl, first_data,
                    headers, tags, guesses, _score(guesses, hxl, n_rows),
                    [f"table layout from the mapping: {', '.join(where)}"], tuple(header_rows),
                    from_mapping=True)
    return _with_mapping(layout, mapping) if mapping.columns else layout


def _detect(sheet: Sheet) -> Layout | None:
    rows = [[(c or "").strip() for c in r] for r in sheet.preview[:SCAN_ROWS]]
    if not rows:
        return None
    ncols = max((max((j + 1 for j, c in enumerate(r) if c), default=0) for r in rows), default=0)
    if ncols < 2:
        return None
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    hxl = next((i for i, r in enumerate(rows) if looks_like_hxl_row(r)), None)
    header: int | None
    if hxl is not None:
        above = rows[hxl - 1] if hxl > 0 else []
        header = hxl - 1 if sum(1 for c in above if c and not c.startswith("#")) >= 2 else None
        data_start = hxl + 1
        # an HXL row above the header (seen in the wild): header directly below it
        if header is None and hxl + 1 < len(rows):
            below = rows[hxl + 1]
            texts = [c for c in below if c]
            if len(texts) >= 2 and sum(1 for c in texts if not _is_number(c)) / len(texts) > 0.9 \
                    and hxl + 2 < len(rows) and any(_is_number(c) for c in rows[hxl + 2] if c):
                header, data_start = hxl + 1, hxl + 2
    else:
        filled = [sum(1 for c in r if c) for r in rows]
        most = max(filled)
        header = None
        for i, r in enumerate(rows):
            texts = [c for c in r if c]
            if filled[i] >= max(2, 0.6 * most) and \
                    sum(1 for c in texts if not _is_number(c)) / len(texts) >= 0.7:
                header = i
                break
        if header is None:
            return None
        data_start = header + 1
    headers = []
    for j in range(ncols):
        h = re.sub(r"\s+", " ", rows[header][j]).strip() if header is not None else ""
        if not h and hxl is not None and rows[hxl][j]:
            h = rows[hxl][j].strip()
        headers.append(h or f"column {j + 1}")
    tags = [parse_tag(rows[hxl][j]) if hxl is not None and rows[hxl][j] else None
            for j in range(ncols)]
    guesses = _group_from_sheet_name(guess_roles(headers, tags), sheet.name)
    n_value = sum(1 for g in guesses if g.role == "value")
    notes: list[str] = []
    if hxl is None and header is not None:
        # a header over two rows ("IDPs" merged over "Households | Individuals"): taken when the
        # two rows together name more counts than one row alone
        for top in (header - 1, header):
            two = _two_row_headers(rows, top, ncols)
            if two is None:
                continue
            g2 = _group_from_sheet_name(guess_roles(two, [None] * ncols), sheet.name)
            n2 = sum(1 for g in g2 if g.role == "value")
            if n2 > n_value:
                headers, guesses, n_value, data_start = two, g2, n2, top + 2
                header = top + 1
                notes = [f"header over two rows ({top + 1} and {top + 2}): names joined, e.g. "
                         f"{next(h for h, g in zip(two, g2) if g.role == 'value')!r}"]
                break
    n_rows = (len(sheet.rows) - data_start) if sheet.rows is not None else 1000
    header_rows = (() if header is None else (header - 1, header) if notes else (header,))
    return Layout(sheet.name, header, hxl, data_start, headers, tags, guesses,
                  _score(guesses, hxl, n_rows), notes, header_rows)


def _two_row_headers(rows: list[list[str]], top: int, ncols: int) -> list[str] | None:
    """Column names from header rows ``top`` and ``top + 1``, or None when they do not look like
    one header. Why: spreadsheets group columns under a merged cell ("IDPs" over "Households" and
    "Individuals"); the file keeps the merged text in its first cell only, so it is carried right
    over the cells below it. A column with nothing below keeps the top name ("State")."""
    if top < 0 or top + 2 >= len(rows):
        return None
    upper, lower, data = rows[top], rows[top + 1], rows[top + 2]
    up, low = [c for c in upper if c], [c for c in lower if c]
    if len(up) < 2 or len(low) < 2 or any(_is_number(c) for c in up + low) or \
            not any(_is_number(c) for c in data if c):
        return None
    return _join_header_rows(upper, lower, ncols)


def _join_header_rows(upper: list[str], lower: list[str], ncols: int) -> list[str]:
    """One name per column from two header rows, the upper row's merged text carried right."""
    out, carried = [], ""
    for j in range(ncols):
        u, w = upper[j], lower[j]
        if u:
            carried = u
        elif not w:
            carried = ""  # the merged span ended
        name = " ".join(x for x in ((u or carried) if w else u, w) if x)
        out.append(re.sub(r"\s+", " ", name).strip() or f"column {j + 1}")
    return out


def _group_from_sheet_name(guesses: list[ColumnAssignment], sheet_name: str) -> list[ColumnAssignment]:
    """Counts whose header names no population group take the group the sheet is named after.

    Why: workbooks split one table into an "IDPs" and a "Returnees" sheet whose columns are both
    just "Individuals" and "Households"; read with the default group, the returnees would be
    counted as IDPs a second time.
    """
    group = group_word(fold(sheet_name))
    if group is None:
        return guesses
    out = []
    for g in guesses:
        if g.role == "value" and g.value is not None and g.basis == "header" and \
                group_word(fold(g.header)) is None:
            g = replace(g, value=replace(g.value, population_group=group))
        out.append(g)
    return out


def is_repeat_layout(layout: Layout) -> bool:
    """A Kobo/ODK repeat-group sheet: its rows point at a parent (``_parent_index``,
    ``PARENT_KEY``)."""
    return any(g.role in ("kobo_parent_index", "kobo_parent_key") for g in layout.guesses)


def candidate_layouts(source: SourceFile, mapping: Mapping | None = None
                      ) -> tuple[list[Layout], list[str]]:
    """Every sheet that holds recognisable counts, best first, with notes on Kobo repeat sheets
    (not imported by default: see :mod:`idpkit.ingest.kobo`). With a mapping that says where the
    table is, every sheet is read that way; sheets it does not fit are left out, and when it fits
    none, the first sheet's reason is raised (a MappingError naming the key)."""
    layouts, misfits = [], []
    for s in source.sheets:
        try:
            lay = detect_layout(s, mapping)
        except MappingError as exc:
            misfits.append(exc)
            continue
        if lay is not None:
            layouts.append(lay)
    if misfits and not layouts:
        raise misfits[0]
    repeats = [lay for lay in layouts if is_repeat_layout(lay)]
    notes = [f"sheet {lay.sheet!r} is a Kobo repeat group (rows linked to a submission by "
             "_parent_index or PARENT_KEY): a breakdown of the main sheet's rows, so not imported (never added "
             f"to the totals); import it alone with --sheet {lay.sheet!r} to store its rows as "
             "origin-split observations" for lay in repeats]
    layouts = [lay for lay in layouts if not is_repeat_layout(lay)]
    layouts.sort(key=lambda lay: lay.score, reverse=True)
    return layouts, notes


_PERIOD_HEADER = re.compile(
    r"(?i)\b(round|tour|ronda|rodada|r)\s*\d{1,3}\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|"
    r"dec)[a-z]*[\s\-_/]*(\d{2}|\d{4})\b|\b(19|20)\d{2}[\-/](0?[1-9]|1[0-2])\b")


# a cell that is a date or a timestamp (a value under a header, not a header)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?|"
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?")


def _period_columns(rows: list[list[str]]) -> set[int]:
    """Columns that may hold period headers: not Kobo/ODK meta columns (``start``, ``end``,
    ``today``, ``_submission_time``…, named in any row) and not columns whose cells are mostly
    dates or timestamps. Why: a Kobo export's ``start``/``end``/``today`` values look like months
    ("2022-06-15T10:02:11"), and read as headers they made a plain export look pivoted by period."""
    ncols = max((len(r) for r in rows), default=0)
    keep = set()
    for j in range(ncols):
        cells = [r[j].strip() for r in rows if j < len(r) and r[j] and r[j].strip()]
        if any(kobo_meta_role(c) is not None for c in cells):
            continue
        if cells and sum(1 for c in cells if _TIMESTAMP.fullmatch(c)) / len(cells) >= 0.5:
            continue
        keep.add(j)
    return keep


def _pivot_hint(source: SourceFile) -> str:
    """When no sheet has counts: a header row naming several rounds or months ("Round 35 IDPs",
    "Round 36 IDPs") is a table pivoted by period, which idpkit does not read; say so. Kobo meta
    columns and columns of dates are never period headers (:func:`_period_columns`)."""
    for sheet in source.sheets:
        rows = sheet.preview[:SCAN_ROWS]
        columns = _period_columns(rows)
        for row in rows:
            hits = [c.strip() for j, c in enumerate(row) if j in columns and c and
                    _PERIOD_HEADER.search(c) and not _is_number(c) and
                    not _TIMESTAMP.fullmatch(c.strip())]
            if len(hits) >= 2:
                shown = ", ".join(repr(h) for h in hits[:3])
                return (f". Columns {shown} look like one count per round or month (a table "
                        f"pivoted by period, sheet {sheet.name!r}): idpkit reads one round per row "
                        "— unpivot it to one row per area and round, with a round or date column")
    return ""


def choose_layout(source: SourceFile, sheet_name: str | None = None,
                  mapping: Mapping | None = None) -> Layout:
    """The best data sheet (or the one asked for), with notes on the sheets passed over. A
    mapping that says where the table is gives the layout (:func:`layout_from_mapping`); its
    columns count when sheets are compared.

    A file that is not displacement figures (a 3W/4W/5W report, people in need, survey microdata)
    is refused with the command that imports it (:mod:`idpkit.ingest.kinds`), unless the mapping
    names count columns."""
    refuse = not mapping_names_counts(mapping)
    if sheet_name is not None:
        match = [s for s in source.sheets if s.name == sheet_name]
        if not match:
            names = ", ".join(repr(s.name) for s in source.sheets)
            raise NoDataFoundError(f"no sheet named {sheet_name!r} (sheets: {names})",
                                   location=str(source.path))
        layout = detect_layout(match[0], mapping, require_counts=False)
        if refuse:
            refuse_other_kind(replace(source, sheets=match), layout)
        if layout is not None and layout.score < 0:
            raise NoDataFoundError(f"sheet {sheet_name!r} has no data rows below row "
                                   f"{layout.data_start}", location=str(source.path))
        if layout is None or layout.n_values == 0:
            raise NoDataFoundError(f"sheet {sheet_name!r} has no recognisable count columns"
                                   + ("; name them under 'columns:' in the mapping" if mapping
                                      else ""), location=str(source.path))
        return layout
    layouts, repeat_notes = candidate_layouts(source, mapping)
    if refuse:
        refuse_other_kind(source, layouts[0] if layouts else None)
    if not layouts:
        raise NoDataFoundError(
            "no sheet with recognisable displacement counts (HXL tags such as #affected+idps+ind, "
            "or headers such as 'IDP individuals'); "
            + ("name the count columns under 'columns:' in the mapping" if mapping is not None
               else "give a mapping with --mapping (idpkit inspect FILE --write-mapping MAP.yml "
                    "writes one to start from)")
            + _pivot_hint(source), location=str(source.path))
    best = layouts[0]
    best.notes.extend(repeat_notes)
    others = [s.name for s in source.sheets if s.name != best.sheet]
    if others:
        best.notes.append(f"data sheet {best.sheet!r}; other sheets not imported: "
                          + ", ".join(repr(o) for o in others))
    return best
