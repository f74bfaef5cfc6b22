"""Workbooks that split one table over several sheets: which sheets are parts of it.

Real workbooks put one sheet per state, per round or per population group ("IDPs", "Returnees")
beside summary sheets (a pivot of totals per admin 1, a "Total" sheet) and methodology notes.
Importing only the best sheet loses data; importing every sheet with counts double counts.

The rule (safe first: when in doubt a sheet is *not* imported, and the notes say why). Starting
from the best-scoring sheet, each other sheet with recognisable counts, best score first, is a
**part** of the same table when, after its columns were checked against their values:

1. it places rows at exactly the same admin levels (the same ``adm{n}_pcode`` / ``adm{n}_name``
   roles) — a sheet at a coarser level (totals per admin 1 beside admin 2 rows) is a summary;
2. it has a reporting-date column if and only if the best sheet has one (one table, one way of
   dating rows);
3. either it counts exactly the same things (same population groups, units, metrics, causes,
   sex and age) *and* its places (finest area, date, site) are new — a sheet whose places are
   mostly (half or more) already in an accepted part repeats them: a "Total" or pivot sheet —
   or it counts only things no accepted part counts (per-group sheets: an "IDPs" and a
   "Returnees" sheet at the same places). A sheet that counts some of the same things and some
   others is ambiguous and passed over.

Parts are mapped onto the best sheet's columns by role, so their column order, title rows and
header wording may differ. Each observation keeps its own sheet and row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import ibis
import ibis.expr.types as ir

from idpkit.ingest.columns import SHARED_ROLES, ColumnAssignment, ColumnPlan
from idpkit.ingest.detect import Layout

ROW_BASE = 10_000_000
"""Rows of several sheets share one staged table: internal row ``k * ROW_BASE + r`` is row ``r``
(as Excel shows it) of the ``k``-th sheet imported. XLSX sheets have at most 1,048,576 rows."""

_AREA = re.compile(r"adm\d_(pcode|name)")


@dataclass
class SheetPart:
    """A sheet imported as part of the table: ``columns[i]`` is the sheet's column holding the
    unified table's column ``i`` (None: the sheet has no such column)."""

    layout: Layout
    plan: ColumnPlan
    columns: list[int | None]


def _area_roles(plan: ColumnPlan) -> frozenset[str]:
    return frozenset(c.role for c in plan.columns if _AREA.fullmatch(c.role))


def _value_keys(plan: ColumnPlan) -> frozenset[tuple]:
    return frozenset(c.value.key() for c in plan.values())


def _text(v: object) -> str | None:
    return v if v is None or isinstance(v, str) else str(v)


def place_keys(plan: ColumnPlan, rows: Iterable[Sequence[object]],
               cell: Callable[[object], str | None] = _text) -> set[tuple]:
    """Distinct (finest area, date, site) of a sheet's rows: what its rows are about. Every row,
    not a sample: a sheet may start with new places and repeat old ones further down. ``cell``
    turns a raw cell into text (only the few cells used here are converted)."""
    cols = []
    for level in (4, 3, 2, 1):
        c = plan.first(f"adm{level}_pcode") or plan.first(f"adm{level}_name")
        if c is not None:
            cols.append(c.index)
            break
    for role in ("reporting_date", "site_id", "site_name"):
        c = plan.first(role)
        if c is not None:
            cols.append(c.index)
    out = set()
    for r in rows:
        key = tuple(((cell(r[j]) or "").strip().upper() if j < len(r) and r[j] is not None
                     else "") for j in cols)
        if any(key):
            out.add(key)
    return out


def select_parts(main: Layout, main_plan: ColumnPlan, main_rows: Iterable[Sequence[object]],
                 others: list[tuple[Layout, ColumnPlan, Iterable[Sequence[object]]]],
                 cell: Callable[[object], str | None] = _text,
                 ) -> tuple[list[tuple[Layout, ColumnPlan]], dict[str, str]]:
    """The sheets of ``others`` that are parts of ``main``'s table (see the module docstring),
    and, for every sheet passed over, why (sheet name -> note). Rows are each sheet's data rows
    (all of them), cells converted to text by ``cell``."""
    parts: list[tuple[Layout, ColumnPlan]] = []
    notes: dict[str, str] = {}
    areas = _area_roles(main_plan)
    has_date = main_plan.first("reporting_date") is not None
    taken: dict[frozenset, set[tuple]] = {_value_keys(main_plan): place_keys(main_plan, main_rows,
                                                                            cell)}
    counted = set(_value_keys(main_plan))
    for lay, plan, rows in others:
        why = None
        keys = _value_keys(plan)
        if _area_roles(plan) != areas:
            mine = sorted(_area_roles(plan)) or ["none"]
            why = f"areas given as {', '.join(mine)}, not as in {main.sheet!r} (a summary?)"
        elif (plan.first("reporting_date") is not None) != has_date:
            why = f"dated differently from {main.sheet!r}"
        elif keys in taken:
            places = place_keys(plan, rows, cell)
            seen = taken[keys]
            if not places:
                why = "no places"
            elif len(places & seen) * 2 >= len(places):
                why = "its rows repeat places of sheets already imported (a total or pivot)"
            else:
                seen |= places
        elif keys & counted:
            why = f"counts partly the same as {main.sheet!r} and partly other things"
        else:
            taken[keys] = place_keys(plan, rows, cell)
            counted |= keys
        if why is None:
            parts.append((lay, plan))
        else:
            notes[lay.sheet] = f"sheet {lay.sheet!r} not imported: {why}"
    return parts, notes


def unify(main: Layout, main_plan: ColumnPlan, parts: list[tuple[Layout, ColumnPlan]]
          ) -> tuple[Layout, ColumnPlan, list[SheetPart]]:
    """One column space for the main sheet and its parts: the main sheet's columns, then any count
    the parts have and it lacks (per-group sheets). Returns the unified layout and plan, and every
    sheet (main first) with the mapping of its columns."""
    headers = list(main.headers)
    tags = list(main.tags)
    columns = [replace(c) for c in main_plan.columns]
    by_role: dict[object, int] = {}
    for c in columns:
        if c.role == "value" and c.value is not None:
            by_role[("value", c.value.key())] = c.index
        elif c.role not in SHARED_ROLES:
            by_role[c.role] = c.index
    sheets = [SheetPart(main, main_plan, list(range(main.ncols)))]
    for lay, plan in parts:
        for c in plan.columns:
            if c.role == "value" and c.value is not None and ("value", c.value.key()) not in by_role:
                i = len(headers)
                headers.append(c.header)
                tags.append(None)
                columns.append(ColumnAssignment(i, c.header, c.tag, "value", c.value, c.basis,
                                                c.priority))
                by_role[("value", c.value.key())] = i
    for lay, plan in parts:
        mapping: list[int | None] = [None] * len(headers)
        for c in plan.columns:
            k = ("value", c.value.key()) if c.role == "value" and c.value is not None else c.role
            if k in by_role and c.role not in SHARED_ROLES:
                mapping[by_role[k]] = c.index
        sheets.append(SheetPart(lay, plan, mapping))
    sheets[0].columns += [None] * (len(headers) - main.ncols)
    unified = replace(main, headers=headers, tags=tags, guesses=columns,
                      sheet=main.sheet, notes=list(main.notes))
    return unified, ColumnPlan(columns, list(main_plan.notes)), sheets


def order_and_describe(parts: list[SheetPart], workbook: list[str], passed_over: dict[str, str],
                       main_notes: list[str]) -> list[str]:
    """Put ``parts`` in workbook order (in place: rows are numbered in that order, so "an earlier
    row" means what a reader expects) and write the import notes about every sheet."""
    position = {name: i for i, name in enumerate(workbook)}
    parts.sort(key=lambda p: position[p.layout.sheet])
    imported = [p.layout.sheet for p in parts]
    out = ["data sheets " + ", ".join(map(repr, imported)) + " imported as one table (same "
           "columns and areas; each row keeps its sheet)" if len(imported) > 1
           else f"data sheet {imported[0]!r}"]
    out += passed_over.values()
    left = [n for n in workbook if n not in imported and n not in passed_over
            and not any(x.startswith(f"sheet {n!r} is a Kobo repeat") for x in main_notes)]
    if left:
        out.append("other sheets not imported (no recognisable counts): "
                   + ", ".join(map(repr, left)))
    return out + [n for n in main_notes if not n.startswith("data sheet ")]


def sheet_of_row(row: ir.IntegerValue, sheets: list[str]) -> ir.StringValue:
    """The sheet of an internal row number (see :data:`ROW_BASE`)."""
    if len(sheets) == 1:
        return ibis.literal(sheets[0], "string")
    k = (row // ROW_BASE).cast("int64")
    return ibis.cases(*[(k == i, ibis.literal(n)) for i, n in enumerate(sheets)],
                      else_=ibis.null("string"))


def user_row(row: ir.IntegerValue, sheets: list[str]) -> ir.IntegerValue:
    """The row number a user sees in its sheet."""
    return row if len(sheets) == 1 else (row % ROW_BASE).cast("int64")
