"""Stage 2, *detect*: which sheet(s), where the table starts, and what each column holds.

Works on a sample of the rows (the first 3,000 of the data sheet; every row of the other sheets of
a workbook, to tell parts of one table from summaries). The result, an :class:`ImportPlan`, is
every decision the later stages act on — and what ``idpkit inspect`` shows.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field

from idpkit.errors import NoDataFoundError
from idpkit.ingest.columns import ColumnPlan
from idpkit.ingest.context import ImportContext
from idpkit.ingest.detect import Layout, candidate_layouts, choose_layout
from idpkit.ingest.kobo import prepare_repeat_sheet
from idpkit.ingest.profile import resolve_columns
from idpkit.ingest.readers import cell_text
from idpkit.ingest.sheets import SheetPart, order_and_describe, select_parts, unify
from idpkit.validate.issues import Issue
from idpkit.warehouse.areas import Gazetteer

SAMPLE_ROWS = 3000


@dataclass
class ImportPlan:
    """The detect stage's decisions: the (unified) table layout, each column's role, the sheets
    imported as parts of one table, and notes for the user."""

    layout: Layout
    columns: ColumnPlan
    parts: list[SheetPart]
    gazetteer: Gazetteer
    seed_areas: bool  # the warehouse has no areas yet: the embedded list is loaded at commit
    repeat_sheet: bool = False  # a Kobo repeat group imported alone (an origin breakdown)
    notes: list[str] = field(default_factory=list)

    @property
    def sheet_names(self) -> list[str]:
        return [p.layout.sheet for p in self.parts]

    @property
    def sheet_label(self) -> str:
        """The sheet(s) imported, as stored in ``datasets.sheet``."""
        return "; ".join(self.sheet_names)


def data_rows(ctx: ImportContext, layout: Layout) -> list[list[object]]:
    """Every data row of a workbook sheet, cells as read (workbooks are in memory already)."""
    sheet = next(s for s in ctx.source.sheets if s.name == layout.sheet)
    return sheet.rows[layout.data_start:] if sheet.rows is not None else []


def sample_rows(ctx: ImportContext, layout: Layout) -> list[list[str | None]]:
    """The first rows of a sheet's table as text (what column roles are checked against)."""
    sheet = next(s for s in ctx.source.sheets if s.name == layout.sheet)
    if sheet.rows is not None:
        rows = sheet.rows[layout.data_start:layout.data_start + SAMPLE_ROWS]
        return [[cell_text(c) for c in r] for r in rows]
    out: list[list[str | None]] = []
    csv.field_size_limit(1 << 30)  # long free-text cells exist; never a bare csv.Error
    with open(ctx.source.utf8_path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=ctx.source.delimiter or ",")
        for row in itertools.islice(reader, layout.data_start, layout.data_start + SAMPLE_ROWS):
            out.append([c.strip() or None for c in row])
    return out


def plan_import(ctx: ImportContext) -> ImportPlan:
    opt, wh = ctx.options, ctx.wh
    asked = [opt.sheet] if isinstance(opt.sheet, str) else list(opt.sheet or [])
    if not asked and opt.mapping is not None:  # the mapping's `sheet:`, like --sheet
        asked = opt.mapping.sheets
    repeat_notes = prepare_repeat_sheet(ctx.source, asked[0]) if len(asked) == 1 else []
    repeat_sheet = bool(repeat_notes) and "joined to its submission" in repeat_notes[0]
    if repeat_sheet and not opt.kind:
        repeat_notes.append("assessment type 'other' (an origin breakdown): figures keep "
                            "using the main sheet's totals; give --kind to change it")
    sheet_asked = asked[0] if asked else None
    layout = choose_layout(ctx.source, sheet_asked, opt.mapping)
    notes = list(ctx.source.notes) + repeat_notes
    seed_areas = wh.table("areas").count().execute() == 0
    gaz = Gazetteer.from_embedded() if seed_areas else Gazetteer.from_warehouse(wh)
    overrides = opt.mapping.overrides(layout) if opt.mapping else {}
    main_sample = sample_rows(ctx, layout)
    columns, col_issues = resolve_columns(layout, main_sample, gaz, ctx.file_name, overrides)
    ctx.issues.extend(col_issues)
    parts = [SheetPart(layout, columns, list(range(layout.ncols)))]
    gather = len(asked) > 1 or not asked
    if columns.values() and gather and ctx.source.kind in ("xlsx", "zip", "folder"):
        layout, columns, parts, sheet_notes = _gather_parts(ctx, layout, columns, gaz, asked)
        notes += sheet_notes
    else:
        notes += layout.notes
    if not columns.values():
        why = "; ".join(i.message for i in col_issues if i.code == "tag-contradicts-values")
        raise NoDataFoundError(
            f"sheet {layout.sheet!r} has no count column holding numbers"
            + (f" ({why})" if why else "") + "; give a mapping with --mapping",
            location=str(ctx.path))
    notes += columns.notes
    plan = ImportPlan(layout, columns, parts, gaz, seed_areas, repeat_sheet, notes)
    ctx.sheet_names = plan.sheet_names
    record_decisions(ctx, plan, asked=bool(asked))
    return plan


_CONFIDENCE = {"hxl": "high", "mapping": "high", "values": "high", "header": "medium"}


def record_decisions(ctx: ImportContext, plan: ImportPlan, asked: bool) -> None:
    """The detect stage's decisions, with their evidence, for ``idpkit inspect``."""
    lay = plan.layout
    n_val = len(plan.columns.values())
    n_area = sum(1 for c in plan.columns.columns if c.role.startswith(("adm", "country")))
    why = ("asked for (--sheet or the mapping)" if asked else
           f"the best of {len(ctx.source.sheets)} sheet(s): {n_val} count column(s), "
           f"{n_area} area column(s)")
    ctx.decide("detect", "sheet", " + ".join(repr(n) for n in plan.sheet_names), why)
    rows = []
    if len(lay.header_rows) > 1:
        rows.append("header rows " + " and ".join(str(r + 1) for r in lay.header_rows))
    elif lay.header_row is not None:
        rows.append(f"header row {lay.header_row + 1}")
    else:
        rows.append("no header row")
    if lay.hxl_row is not None:
        rows.append(f"HXL row {lay.hxl_row + 1}")
    rows.append(f"data from row {lay.data_start + 1}")
    ctx.decide("detect", "rows", ", ".join(rows),
               "the mapping" if lay.from_mapping else
               "; ".join(n for n in lay.notes if n.startswith("header over")) or
               "the first row whose cells are mostly text above rows of numbers",
               "high" if lay.from_mapping or lay.hxl_row is not None else "medium")
    for c in plan.columns.columns:
        if c.role == "ignore":
            continue
        evidence = {"hxl": f"HXL tag {c.tag.strip() if c.tag else ''}",
                    "mapping": "the mapping", "values": "the values under it",
                    "header": "header words"}.get(c.basis, c.basis)
        ctx.decide("detect", f"column {c.index + 1} {c.header!r}", c.describe(), evidence,
                   _CONFIDENCE.get(c.basis, "medium"))


def _gather_parts(ctx: ImportContext, layout: Layout, columns: ColumnPlan, gaz: Gazetteer,
                  asked: list[str]) -> tuple[Layout, ColumnPlan, list[SheetPart], list[str]]:
    """The other sheets of the same table (:mod:`idpkit.ingest.sheets`), or the sheets asked for."""
    if asked:
        cands = [choose_layout(ctx.source, name, ctx.options.mapping) for name in asked[1:]]
    else:
        cands = [lay for lay in candidate_layouts(ctx.source, ctx.options.mapping)[0]
                 if lay.sheet != layout.sheet]
    others = []
    col_issues: dict[str, list[Issue]] = {}
    for lay in cands:
        ov = ctx.options.mapping.overrides(lay) if ctx.options.mapping else {}
        p, iss = resolve_columns(lay, sample_rows(ctx, lay), gaz, ctx.file_name, ov)
        if p.values():
            others.append((lay, p, data_rows(ctx, lay)))
            col_issues[lay.sheet] = iss
    chosen, passed_over = select_parts(layout, columns, data_rows(ctx, layout), others,
                                       cell=cell_text)
    notes = list(passed_over.values())
    if asked and len(chosen) < len(asked) - 1:
        names = {lay.sheet for lay, _ in chosen}
        bad = [n for n in asked[1:] if n not in names]
        raise NoDataFoundError(f"sheet(s) {', '.join(map(repr, bad))} are not parts of the "
                               f"table in sheet {layout.sheet!r}: "
                               + "; ".join(notes or ["no recognisable counts"]),
                               location=str(ctx.path))
    for lay, _ in chosen:
        ctx.issues.extend(col_issues[lay.sheet])
    unified, uplan, parts = unify(layout, columns, chosen)
    workbook = [s.name for s in ctx.source.sheets]
    return unified, uplan, parts, order_and_describe(parts, workbook, passed_over, layout.notes)
