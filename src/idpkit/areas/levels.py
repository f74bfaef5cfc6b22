"""Rolling areas up the gazetteer: each P-code with its ancestor at a coarser level.

The mapping is built from the gazetteer (areas only, tens of thousands at most; data rows are never
looped over) and stored once per connection as a TEMP table, so needs, activities and sites are
joined to it inside the warehouse, on any backend, and raw SQL over such joins (the survey engine)
can read it too.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.warehouse.areas import Gazetteer
from idpkit.warehouse.warehouse import Warehouse


def ancestor_frame(wh: Warehouse, level: int) -> pd.DataFrame:
    """``pcode`` -> ``ancestor_pcode`` for every area at ``level`` or finer whose parent chain
    reaches ``level``."""
    gaz = Gazetteer.from_warehouse(wh)
    pairs = [(p, gaz.ancestor(p, level)) for p, a in gaz.by_pcode.items() if a.level >= level]
    return pd.DataFrame([x for x in pairs if x[1]], columns=["pcode", "ancestor_pcode"],
                        dtype="object")


def ancestors(wh: Warehouse, level: int) -> ir.Table:
    """The mapping of :func:`ancestor_frame` as a warehouse table (TEMP, cached per connection)."""
    cache = wh.__dict__.setdefault("_ancestor_tables", {})
    n = int(wh.table("areas").count().execute())
    key = (level, n)
    if key not in cache:
        df = ancestor_frame(wh, level)
        if df.empty:
            df = pd.DataFrame({"pcode": pd.Series([], dtype="object"),
                               "ancestor_pcode": pd.Series([], dtype="object")})
        mem = ibis.memtable(df, schema=ibis.schema({"pcode": "string",
                                                    "ancestor_pcode": "string"}))
        cache[key] = wh.materialize(mem)
    return cache[key]


def descendants(wh: Warehouse, pcode: str) -> list[str]:
    """The area and every area below it in the gazetteer (no P-code prefix assumption)."""
    gaz = Gazetteer.from_warehouse(wh)
    out, todo = [], [pcode]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c.pcode for c in gaz.children.get(p, [])]
    return out
