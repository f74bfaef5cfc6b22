"""Accepted totals per dataset, admin 1, population group and unit (``idpkit summary``).

Rules that keep these totals honest on real exports:
* only totals are added (``sex = 'all'`` and ``age_group = 'all'``; cause parts are disjoint);
* a file that repeats the same people at admin 0, 1 and 2 (the DTM API) is summed at the finest
  level reported for each admin-1 area; rows reported at admin 1 or finer whose area is unknown
  (unplaced) are kept, with no admin 1;
* a file holding several rounds shows the latest round of each operation: stocks of different
  rounds are never added together (flows, counts of movements over a period, are all added). A
  round is its round code, or for a file without codes the rule of
  :func:`idpkit.warehouse.rounds.with_round_key` (dates within a few weeks are one round);
* the stock metric is used when the dataset has one (otherwise its flows).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from idpkit.warehouse.rounds import with_round_key
from idpkit.warehouse.warehouse import Warehouse

SUMMARY_COLUMNS = ["dataset", "adm1_pcode", "adm1_name", "population_group", "unit", "value"]


def summary_expr(wh: Warehouse, dataset: str | None = None) -> ir.Table:
    o = wh.table("observations")
    if dataset is not None:
        o = o.filter(o.dataset_id == dataset)
    o = o.filter((o.sex == "all") & (o.age_group == "all"))
    # the stock metric when the dataset has one
    has_stock = o.group_by("dataset_id").aggregate(
        stock=(o.metric == "present_stock").any())
    o = o.inner_join(has_stock, "dataset_id")
    o = o.filter(ibis.ifelse(o.stock, o.metric == "present_stock", True))
    # latest round of each operation within a dataset: a round, not a date (one round is
    # collected over days and each row dated; the latest date alone is the last day's rows)
    o = with_round_key(wh, o.mutate(_op=o.operation.fill_null("")))
    rounds = o.filter(o.round_key.notnull()).group_by(["dataset_id", "_op", "round_key"]).aggregate(
        _rdate=o.reporting_date.max())
    rounds = rounds.mutate(_rn=ibis.row_number().over(
        group_by=[rounds.dataset_id, rounds._op],
        order_by=[rounds._rdate.desc(), rounds.round_key.length().desc(), rounds.round_key.desc()]))
    latest = rounds.filter(rounds._rn == 0).select("dataset_id", "_op", _last="round_key")
    o = o.left_join(latest, ["dataset_id", "_op"]).drop("dataset_id_right", "_op_right")
    # (flows are counts over the file's whole period: all of them are added)
    o = o.filter(o.round_key.isnull() | (o.round_key == o._last) | ~o.stock)
    # finest reported level per admin-1 area
    o = o.mutate(_a1=o.adm1_pcode.fill_null(""))
    finest = o.group_by(["dataset_id", "_op", "_a1"]).aggregate(_lvl=o.reported_level.max())
    o = o.inner_join(finest, ["dataset_id", "_op", "_a1"])
    o = o.filter(o.reported_level.fill_null(-1) == o._lvl.fill_null(-1))
    # admin-0 rows only where a dataset/operation has nothing finer; rows reported at a finer
    # level whose area is unknown (unplaced: "Residence location unknown") always count, under
    # no admin 1
    finer = o.filter(o._a1 != "").select("dataset_id", "_op").distinct().mutate(_has=True)
    o = o.left_join(finer, ["dataset_id", "_op"]).drop("dataset_id_right", "_op_right")
    o = o.filter((o._a1 != "") | o._has.isnull() | (o.reported_level.fill_null(0) >= 1))
    g = o.group_by(["dataset_id", "adm1_pcode", "population_group", "unit"]).aggregate(
        value=o.value.sum())
    areas = wh.table("areas").select(a_pcode="pcode", adm1_name="name")
    g = g.left_join(areas, g.adm1_pcode == areas.a_pcode)
    return g.select(dataset=g.dataset_id, adm1_pcode=g.adm1_pcode, adm1_name=g.adm1_name,
                    population_group=g.population_group, unit=g.unit, value=g.value).order_by(
        ["dataset", "adm1_pcode", "population_group", "unit"])
