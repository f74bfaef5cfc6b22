"""What a *round* of a source is, decided once for every part that reads observations.

Why here: the summary (warehouse) and the figures both need "the latest round of a file", and a
round is not a date. Field teams collect one round over days or weeks and date each row, so the
latest reporting date alone picks only the rows of the last day of collection.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from idpkit.warehouse.warehouse import Warehouse

ONE_ROUND_SPAN_DAYS = 62
"""A file without round codes whose reporting dates span at most this many days is one round."""


def with_round_key(wh: Warehouse, o: ir.Table) -> ir.Table:
    """Add ``round_key``: the round code; for a file without codes spanning at most
    :data:`ONE_ROUND_SPAN_DAYS`, the file's latest date (so two copies of one publication share
    it); otherwise the row's own reporting date."""
    allo = wh.table("observations")
    nocode = allo.filter(allo["round"].isnull() & allo.reporting_date.notnull())
    span = nocode.group_by(_sd="dataset_id").aggregate(_d0=nocode.reporting_date.min(),
                                                        _d1=nocode.reporting_date.max())
    o = o.left_join(span, o.dataset_id == span._sd)
    one = o._d1 <= o._d0 + ibis.interval(days=ONE_ROUND_SPAN_DAYS)
    key = ibis.ifelse(one, o._d1.cast("string"), o.reporting_date.cast("string"))
    return o.mutate(round_key=o["round"].fill_null(key)).drop("_sd", "_d0", "_d1")
