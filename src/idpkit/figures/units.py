"""Households to individuals (issue 3, part 4).

Why: some sources count households only; a table of individuals must not drop them, but a converted
number is an estimate and must say so. For each source row that reports households of a population
group but no individuals, a *derived* individuals row is added: households × household size,
rounded half up. The household size is the source's own where it gives one — individuals ÷
households over the rows of the same source, round and admin 1 that report both — and the
configured size otherwise; with neither, nothing is converted. The reported households stay.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def add_derived_individuals(o: ir.Table, default_size: float | None) -> ir.Table:
    """``o``: source rows (see :func:`idpkit.figures.stock.source_rows`) with a ``derived`` column
    added (``False`` on reported rows)."""
    o = o.mutate(derived=ibis.literal(False))
    row = ["reference_date", "source", "dataset_id", "source_row", "population_group"]
    units = o.group_by(row).aggregate(
        _ind=o.value.sum(where=o.unit == "individuals"), _hh=o.value.sum(where=o.unit == "households"),
        _has_ind=(o.unit == "individuals").any(), _has_hh=(o.unit == "households").any(),
        _a1=o.adm1_pcode.max(), _round=o.round_key.max())
    both = units.filter(units._has_ind & units._has_hh & (units._hh > 0))
    own = both.group_by(["source", "_round", "_a1", "population_group"]).aggregate(
        _size=both._ind.sum() / both._hh.sum())
    need = units.filter(units._has_hh & ~units._has_ind).select(*row, "_a1", "_round")
    hh = o.filter(o.unit == "households")
    hh = hh.inner_join(need, row).drop(*[c + "_right" for c in row if c + "_right" in
                                          hh.inner_join(need, row).columns])
    hh = hh.left_join(own, ["source", "_round", "_a1", "population_group"])
    hh = hh.drop(*[c for c in hh.columns if c.endswith("_right")])
    size = hh._size if default_size is None else hh._size.fill_null(float(default_size))
    hh = hh.filter(size.notnull())
    size = hh._size if default_size is None else hh._size.fill_null(float(default_size))
    ind = hh.mutate(unit=ibis.literal("individuals"), value=(hh.value * size + 0.5).floor()
                    .cast("float64"), derived=ibis.literal(True))
    return o.union(ind.select(*o.columns))
