"""Origin-destination matrices by admin level (``idpkit figures od``): where people come from and
where they go, from flow-monitoring records and origin fields (issue 3, part 2).

Origins are stored at the finest level a file gives (``origin_pcode``); they are lifted to the
requested level through the gazetteer's parent chain, so P-code schemes that are not prefixes of one
another work too. Movements whose origin could not be placed stay in the matrix with an empty origin,
so the matrix always adds up to the flows; ``unmatched_origin_names`` tells how many there were.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from idpkit.figures.flows import FLOW_OF_METRIC
from idpkit.figures.stock import area_column, primary_cause
from idpkit.warehouse.warehouse import Warehouse


def ancestors(wh: Warehouse, level: int) -> ir.Table:
    """``pcode -> anc`` where ``anc`` is the area's ancestor (or itself) at ``level``."""
    a = wh.table("areas").select("pcode", "admin_level", "parent_pcode", "iso3")
    if level == 0:
        return a.select("pcode", anc=a.iso3)
    t = a
    cand = ibis.ifelse(t.admin_level == level, t.pcode, ibis.null("string"))
    cur = t.parent_pcode
    for i in range(1, 4):
        p = wh.table("areas").select(**{f"_p{i}": "pcode", f"_l{i}": "admin_level",
                                        f"_pp{i}": "parent_pcode"})
        t = t.left_join(p, cur == p[f"_p{i}"])
        cand = ibis.coalesce(cand, ibis.ifelse(t[f"_l{i}"] == level, t[f"_p{i}"],
                                               ibis.null("string")))
        cur = t[f"_pp{i}"]
    return t.select("pcode", anc=cand)


def od_expr(wh: Warehouse, d0: date, d1: date, level: int = 2) -> ir.Table:
    if d1 <= d0:
        raise ValueError("the period must end after it starts (--to after --from)")
    o = wh.table("observations")
    o = o.filter(o.metric.isin(list(FLOW_OF_METRIC)) & (o.sex == "all") & (o.age_group == "all")
                 & (o.unit == "individuals") & o.value.notnull()
                 & (o.reporting_date > ibis.literal(d0)) & (o.reporting_date <= ibis.literal(d1))
                 & (o.reported_level.fill_null(0) >= level))
    o = o.mutate(cause=primary_cause(o), flow=o.metric.cases(*FLOW_OF_METRIC.items()),
                 dest=o[area_column(level)])
    anc = ancestors(wh, level)
    o = o.left_join(anc, o.origin_pcode == anc.pcode)
    o = o.mutate(origin=o.anc)
    g = o.group_by(["origin", "dest", "flow", "cause"]).aggregate(
        value=o.value.sum(),
        unmatched_origin_names=(o.origin_pcode.isnull() & o.origin_name.notnull()).sum())
    names = wh.table("areas").filter(lambda a: a.admin_level == level)
    on = names.select(_o="pcode", origin_name="name")
    dn = names.select(_d="pcode", dest_name="name")
    g = g.left_join(on, g.origin == on._o).drop("_o")
    g = g.left_join(dn, g.dest == dn._d).drop("_d")
    return g.mutate(from_date=ibis.literal(d0), to_date=ibis.literal(d1))


def od_frame(wh: Warehouse, d0: date, d1: date, level: int = 2):  # -> pandas.DataFrame
    n = level
    df = od_expr(wh, d0, d1, level).execute()
    df = df.rename(columns={"origin": f"origin_adm{n}_pcode", "origin_name": f"origin_adm{n}_name",
                            "dest": f"adm{n}_pcode", "dest_name": f"adm{n}_name"})
    cols = [f"origin_adm{n}_pcode", f"origin_adm{n}_name", f"adm{n}_pcode", f"adm{n}_name",
            "flow", "cause", "from_date", "to_date", "value", "unmatched_origin_names"]
    return df.sort_values(cols[:1] + cols[2:3] + ["flow", "cause"]).reset_index(drop=True)[cols]
