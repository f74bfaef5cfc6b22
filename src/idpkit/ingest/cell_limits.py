"""Refuse files whose cells are far longer than any real value: a 10 MB site name or a 20 MB
P-code is junk or an attack, never data.

Why a refusal and not a finding per row: the raw cells of a quarantined row are stored, and a
long P-code is matched against the gazetteer before the row checks run (that cost 36 s and 2 GB
for one 20 MB cell). One aggregate over the staged rows (the longest cell of each column)
finds such cells before anything else reads them; only then is the first offending row looked
up, so the message names the row and column. The limits are generous and configurable
(:class:`idpkit.ingest.context.IngestOptions`): text cells 10,000 characters, codes (P-codes,
site and country codes) 100.
"""

from __future__ import annotations

import ibis.expr.types as ir

from idpkit.errors import HostileFileError
from idpkit.ingest.context import ImportContext
from idpkit.ingest.plan import ImportPlan
from idpkit.ingest.sheets import ROW_BASE

#: Roles whose values are codes (short by nature), besides ``adm{n}_pcode``/``origin_adm{n}_pcode``.
CODE_ROLES = frozenset({"site_id", "country_code", "internal_code"})


def is_code_role(role: str) -> bool:
    return role in CODE_ROLES or role.endswith("_pcode")


def column_limits(plan: ImportPlan, max_text: int, max_code: int) -> dict[int, tuple[str, int]]:
    """Column index -> (header as the user sees it, longest allowed cell)."""
    roles = {c.index: c for c in plan.columns.columns}
    out: dict[int, tuple[str, int]] = {}
    for j in range(plan.layout.ncols):
        c = roles.get(j)
        header = (c.header if c is not None and c.header else f"column {j + 1}")
        out[j] = (header, max_code if c is not None and is_code_role(c.role) else max_text)
    return out


def refuse_overlong_cells(ctx: ImportContext, plan: ImportPlan, raw: ir.Table) -> None:
    """Raise :class:`HostileFileError` naming the first row and column whose cell is longer than
    its column's limit; return quietly otherwise (one aggregate query)."""
    opt = ctx.options
    limits = column_limits(plan, opt.max_text_chars, opt.max_code_chars)
    if not limits:
        return
    longest = raw.aggregate(**{f"m{j}": raw[f"c{j}"].length().max() for j in limits}).execute()
    if longest.empty:
        return
    over = [j for j in limits if (v := longest[f"m{j}"].iloc[0]) is not None
            and v == v and int(v) > limits[j][1]]
    if not over:
        return
    j = over[0]
    header, limit = limits[j]
    hit = raw.filter(raw[f"c{j}"].length() > limit).select(
        "_row", n=raw[f"c{j}"].length()).order_by("_row").limit(1).execute()
    row, n = int(hit["_row"].iloc[0]), int(hit["n"].iloc[0])
    what = "codes such as P-codes and ids" if limit == opt.max_code_chars and \
        opt.max_code_chars != opt.max_text_chars else "text cells"
    sheet = plan.parts[row // ROW_BASE].layout.sheet if row // ROW_BASE < len(plan.parts) else None
    where = f"sheet '{sheet}', " if sheet and len(plan.parts) > 1 else ""
    raise HostileFileError(
        f"{where}row {row % ROW_BASE}, column '{header}': a cell of {n:,} characters; "
        f"{what} are limited to {limit:,} characters (nothing imported)",
        location=ctx.file_name)
