"""Site risk: living conditions in camps, collective centres and informal settlements against
Sphere minimums, a risk tier per site with its reasons, trends between rounds, and a flagged list.

Why these checks: crowding (covered space, site space) and sanitation (water, latrines,
handwashing) are what made COVID-19 so dangerous in IDP sites; distance to care and isolation
capacity decide what happens when an outbreak starts. Thresholds, points and tier cuts are
configurable (``site_risk.yaml`` shipped with the package).

Measurements are imported per site and round (``site_conditions``) with the project's row checks;
the risk is computed in SQL (Ibis) over every round at once, so trends are a window function.
Reasons are stable codes (``covered_space``, ``water`` …), comma-separated, plus the measured value
of every check in its own column; a check whose inputs are missing is listed in ``missing``, never
counted as met or breached.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from idpkit.areas.importing import (
    Checked,
    StoredFile,
    file_hash,
    read_rows,
    refuse_reimport,
    store,
)
from idpkit.areas.tables import AREA_TABLES, SITE_CONDITIONS
from idpkit.errors import IdpkitError
from idpkit.warehouse.warehouse import Warehouse

SYNONYMS = {
    "site_id": ["ssid", "site_code", "site"], "round": ["round_number"],
    "assessment_date": ["date", "survey_date", "reporting_date"],
    "area_pcode": ["pcode", "admin_pcode", "location_pcode"],
    "individuals": ["people", "population", "total_individuals", "persons"],
    "covered_area_m2": ["covered_area", "shelter_area_m2"], "site_area_m2": ["site_area"],
    "water_litres_per_day": ["water_litres", "water_supply_l_day", "water_l_per_day"],
    "latrines": ["functional_latrines", "toilets"],
    "handwashing_stations": ["handwashing", "handwashing_points"],
    "health_facility_km": ["distance_health_km", "health_distance_km"],
    "isolation_spaces": ["isolation_capacity", "isolation_beds"],
}
MEASURES = ("covered_area_m2", "site_area_m2", "water_litres_per_day", "latrines",
            "handwashing_stations", "health_facility_km", "isolation_spaces")
TIER_ORDER = {"low": 1, "medium": 2, "high": 3}


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    points: int = Field(1, ge=0)
    label: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Check:
        if (self.min is None) == (self.max is None):
            raise ValueError("give min or max")
        return self


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: dict[str, Check]
    tiers: dict[str, int]
    flag_worsening: bool = True

    @model_validator(mode="after")
    def _known(self) -> RiskConfig:
        unknown = set(self.checks) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown check(s) {sorted(unknown)}; use {sorted(METRICS)}")
        if set(self.tiers) != {"low", "medium", "high"}:
            raise ValueError("tiers must be low, medium and high")
        if not self.tiers["low"] <= self.tiers["medium"] <= self.tiers["high"]:
            raise ValueError("tier cuts must rise from low to high")
        return self

    @classmethod
    def load(cls, path: str | Path | None = None) -> RiskConfig:
        where = str(path) if path else "site_risk.yaml"
        try:
            text = Path(path).read_text(encoding="utf-8") if path else \
                resources.files("idpkit.areas").joinpath("site_risk.yaml").read_text("utf-8")
            return cls.model_validate(yaml.safe_load(text))
        except (OSError, yaml.YAMLError) as exc:
            raise IdpkitError(f"cannot read the site-risk thresholds: {exc}",
                              location=where) from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            raise IdpkitError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}",
                              location=where) from exc


def _metrics(t: ir.Table) -> dict[str, ir.FloatingValue]:
    people = t.individuals.nullif(0.0)
    lat = t.latrines
    return {
        "covered_space": t.covered_area_m2 / people,
        "site_space": t.site_area_m2 / people,
        "water": t.water_litres_per_day / people,
        # no latrine at all: infinitely many people per latrine (breaches any maximum)
        "latrines": ibis.ifelse(lat == 0, ibis.literal(1e18), t.individuals / lat.nullif(0.0)),
        "handwashing": t.handwashing_stations / lat.nullif(0.0),
        "health_distance": t.health_facility_km,
        "isolation": t.isolation_spaces * 1000.0 / people,
    }


METRICS = ("covered_space", "site_space", "water", "latrines", "handwashing", "health_distance",
           "isolation")


def import_sites(wh: Warehouse, path: str | Path) -> StoredFile:
    """Check and store one file of site measurements (rows with errors are quarantined)."""
    wh.ensure_tables(AREA_TABLES)
    f = read_rows(path, SYNONYMS)
    digest = file_hash(f.path)
    refuse_reimport(wh, f.path, digest)
    c = Checked(f)
    site = c.text("site_id", required=True)
    c.text("round")
    day = c.day("assessment_date", required=True)
    people = c.number("individuals", required=True)
    for m in MEASURES:
        c.number(m)
    given = c.text("area_pcode").notna()
    pc = c.pcode(wh, required=False)
    known = set()
    if "sites" in wh.con.list_tables():
        s = wh.table("sites")
        known = set(s.filter(s.site_id.isin(sorted({x for x in site if x}))).site_id.execute())
    c.flag(site.notna() & ~site.isin(known), "unknown-site", "site_id",
           "the site is not in the sites table")
    c.duplicates()
    ok = ~c.rejected
    accepted = pd.DataFrame({
        "source_row": f.rows[ok], "site_id": site[ok].to_numpy(),
        "round": c.values["round"][ok].to_numpy(), "assessment_date": day[ok].to_numpy(),
        "area_pcode": pc.where(given)[ok].to_numpy(), "individuals": people[ok].to_numpy(),
        **{m: c.values[m][ok].to_numpy() for m in MEASURES}})
    return store(wh, c, "site_conditions", SITE_CONDITIONS, accepted, kind="site_conditions",
                 digest=digest, reporting_date=max((d for d in day if d), default=None))


def risk_expr(wh: Warehouse, cfg: RiskConfig | None = None) -> ir.Table:
    """Every site and round: measured values, breached checks (``reasons``), checks that could
    not be assessed (``missing``), points, tier, the previous round's tier, trend and flag."""
    cfg = cfg or RiskConfig.load()
    wh.ensure_tables(AREA_TABLES)
    t = wh.table("site_conditions")
    if "sites" in wh.con.list_tables():
        s = wh.table("sites").select(s_id="site_id", s_name="site_name", s_type="site_type",
                                     s_area="area_pcode")
        t = t.left_join(s, t.site_id == s.s_id)
    else:
        t = t.mutate(s_name=ibis.null("string"), s_type=ibis.null("string"),
                     s_area=ibis.null("string"))
    metrics = _metrics(t)
    cols: dict[str, ir.Value] = {}
    reasons, missing, points = [], [], []
    for name, chk in cfg.checks.items():
        v = metrics[name]
        breach = v < chk.min if chk.min is not None else v > chk.max
        cols[name] = ibis.ifelse(v >= 1e17, ibis.null("float64"), v)
        reasons.append(ibis.ifelse(breach.fill_null(False), ibis.literal(name), ibis.null("string")))
        missing.append(ibis.ifelse(v.isnull(), ibis.literal(name), ibis.null("string")))
        points.append(ibis.ifelse(breach.fill_null(False), chk.points, 0))
    pts = sum(points) if points else ibis.literal(0)
    tier = ibis.cases((t.individuals.isnull() | (t.individuals <= 0), ibis.literal("unknown")),
                      (pts >= cfg.tiers["high"], ibis.literal("high")),
                      (pts >= cfg.tiers["medium"], ibis.literal("medium")),
                      else_=ibis.literal("low"))
    base = t.select(
        "site_id", site_name=t.s_name, site_type=t.s_type,
        area_pcode=t.area_pcode.fill_null(t.s_area), round="round",
        assessment_date="assessment_date", individuals="individuals", **cols,
        reasons=_join(reasons), missing=_join(missing), points=pts, tier=tier)
    order = {"low": 1, "medium": 2, "high": 3}
    rank = base.tier.cases(*order.items(), else_=0)
    base = base.mutate(_tier_rank=rank)
    w = ibis.window(group_by=base.site_id, order_by=[base.assessment_date, base["round"]])
    base = base.mutate(previous_tier=base.tier.lag().over(w),
                       previous_points=base.points.lag().over(w),
                       _prev_rank=base._tier_rank.lag().over(w),
                       _latest=ibis.row_number().over(
                           ibis.window(group_by=base.site_id,
                                       order_by=[ibis.desc(base.assessment_date),
                                                 ibis.desc(base["round"])])) == 0)
    trend = ibis.cases((base.previous_tier.isnull(), ibis.literal("new")),
                       (base._tier_rank > base._prev_rank, ibis.literal("worse")),
                       (base._tier_rank < base._prev_rank, ibis.literal("better")),
                       (base.points > base.previous_points, ibis.literal("worse")),
                       (base.points < base.previous_points, ibis.literal("better")),
                       else_=ibis.literal("same"))
    flagged = (base.tier == "high")
    if cfg.flag_worsening:
        flagged = flagged | ((base._tier_rank > base._prev_rank) & (base._tier_rank >= 2)
                             ).fill_null(False)
    return base.mutate(trend=trend, flagged=flagged, latest=base._latest).drop(
        "_tier_rank", "_prev_rank", "_latest")


def _join(parts: list[ir.StringValue]) -> ir.StringValue:
    """Comma-joined non-null codes, NULL when none (CONCAT_WS skips NULLs on both backends)."""
    if not parts:
        return ibis.null("string")
    return ibis.literal(",").join(parts).nullif("")


def site_risk(wh: Warehouse, cfg: RiskConfig | None = None, *, latest: bool = True,
              flagged_only: bool = False, area: str | None = None) -> pd.DataFrame:
    """The risk table (latest round per site by default), worst first: by tier (high, medium,
    low, unknown), then points, most first (the order ``idpkit areas sites risk --help``
    states)."""
    r = risk_expr(wh, cfg)
    if latest:
        r = r.filter(r.latest)
    if flagged_only:
        r = r.filter(r.flagged)
    if area:
        r = r.filter(r.area_pcode.startswith(area))
    df = r.execute()
    df["_o"] = df.tier.map({"high": 0, "medium": 1, "low": 2}).fillna(3)
    return df.sort_values(["_o", "points", "site_id", "assessment_date"],
                          ascending=[True, False, True, True]).drop(columns="_o").reset_index(
        drop=True)


def reason_text(codes: str | None, cfg: RiskConfig | None = None) -> str:
    """Human-readable reasons for a terminal or page (the codes stay the data)."""
    cfg = cfg or RiskConfig.load()
    if not codes:
        return ""
    out = []
    for c in codes.split(","):
        chk = cfg.checks.get(c)
        if chk is None:
            out.append(c)
            continue
        bound = f"< {chk.min:g}" if chk.min is not None else f"> {chk.max:g}"
        out.append(f"{chk.label or c} {bound}")
    return "; ".join(out)
