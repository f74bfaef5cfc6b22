"""One call from warehouse and driver files to a panel ready to backtest (CLI, demo, tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from idpkit.forecast import drivers as drv
from idpkit.forecast.series import Panel, build_panel
from idpkit.warehouse.warehouse import Warehouse


def load_panel(wh: Warehouse, target: str = "arrivals", level: int = 2, *,
               conflict: Path | None = None, indicators: Sequence[Path] = (),
               neighbours: bool = True, origins: bool = True, steps: str = "month",
               operation: str | None = None) -> Panel:
    """The panel of ``target`` at ``level`` with the drivers asked for."""
    p = build_panel(wh, target, level, steps=steps, operation=operation)
    extra = {}
    if conflict is not None:
        areas = wh.table("areas").select("pcode", "name", "admin_level", "parent_pcode").execute()
        extra.update(drv.conflict_drivers(p, drv.read_conflict_events(conflict), areas))
    for f in indicators:
        extra.update(drv.indicator_drivers(p, drv.read_indicators(f)))
    if neighbours and p.keys["parent_pcode"].notna().any():
        extra.update(drv.sibling_driver(p))
    if origins:
        extra.update(drv.origin_driver(p, drv.od_months(wh, level)))
    return p.with_drivers(extra)
