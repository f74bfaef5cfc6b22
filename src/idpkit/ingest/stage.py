"""Stage 3, *stage*: every data row of the table, as text, in a staging table of the warehouse.

Columns are ``c0``, ``c1``… (the unified table's columns; a sheet that lacks one gets NULLs) and
``_row``, the row number a user sees (several sheets: ``k * ROW_BASE + row``, see
:data:`idpkit.ingest.sheets.ROW_BASE`). CSV files are read by the engine itself where it can
(DuckDB), else streamed in Arrow batches; workbooks are already in memory.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from idpkit.errors import IdpkitError
from idpkit.ingest.context import ImportContext
from idpkit.ingest.plan import ImportPlan
from idpkit.ingest.readers import csv_batches, csv_select_sql, grid_to_arrow
from idpkit.ingest.sheets import ROW_BASE


def stage_rows(ctx: ImportContext, plan: ImportPlan) -> ir.Table:
    layout = plan.layout
    name = ctx.new_stage()
    sheet = next(s for s in ctx.source.sheets if s.name == layout.sheet)
    if sheet.rows is not None:
        tables = []
        for k, part in enumerate(plan.parts):
            sh = next(s for s in ctx.source.sheets if s.name == part.layout.sheet)
            t = grid_to_arrow(sh.rows, part.layout.data_start, part.layout.ncols)
            cols = {"_row": pc.add(t["_row"], k * ROW_BASE) if k else t["_row"]}
            for i in range(layout.ncols):
                j = part.columns[i] if i < len(part.columns) else None
                cols[f"c{i}"] = t[f"c{j}"] if j is not None else pa.nulls(t.num_rows, pa.string())
            tables.append(pa.table(cols))
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        ctx.wh.backend.load_arrow(name, table)
        ctx.wh.backend.analyze(name)
        return ctx.wh.table(name)
    cols = [f"c{j}" for j in range(layout.ncols)]
    native = csv_select_sql(ctx.source.utf8_path, delimiter=ctx.source.delimiter or ",",
                            skip_rows=layout.data_start, ncols=layout.ncols, row_numbers=False)
    try:
        if ctx.wh.backend.stage_csv(name, native, first_row=layout.data_start + 1, columns=cols):
            return ctx.wh.table(name)
        ctx.wh.backend.load_arrow(name, csv_batches(
            ctx.source.utf8_path, delimiter=ctx.source.delimiter or ",",
            skip_rows=layout.data_start, ncols=layout.ncols))
    except IdpkitError:
        raise
    except Exception as exc:  # the CSV parser's own message names the line
        msg = str(exc).splitlines()[0][:300]
        raise IdpkitError(f"cannot parse CSV: {msg}", location=str(ctx.path)) from None
    t = ctx.wh.table(name)
    # blank rows are not data rows (the CSV reader gives NULL for empty cells)
    return ctx.materialize(t.filter(ibis.coalesce(
        *[t[c].strip().nullif("") for c in cols]).notnull()))
