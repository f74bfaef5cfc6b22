"""Multi-sector needs data: import, severity per household or location, area phases and people in
need, stored for the API, profiles and the dashboard.

Two kinds of source:

* ``households`` — an MSNA-style household survey with its sampling design. It is imported by the
  survey importer of :mod:`idpkit.solutions.store` (same readers, same design checks naming file,
  row and column, same ``surveys`` row), so the people-in-need totals get design-based standard
  errors from the survey engine (:func:`idpkit.solutions.estimate.estimate`).
* ``locations`` — key-informant indicators per location (village, neighbourhood, site): one row
  per location and group with the number of people it stands for (``size``). No sampling design:
  no CIs.

Every group is scored the same way, the host community included: needs are compared across groups
in one area, which is the point of an area-based view.

The spec file (YAML):

.. code-block:: yaml

    needs:
      id: msna_2025
      title: Multi-sector needs assessment 2025
      kind: households          # or locations
      reference_date: 2025-06-30
      size: hh_size             # people per household (or per location); omit to count households
      area: pcode               # locations only (households: design.area)
      group: pop_group          # locations only (households: design.group / groups)
    design:                     # households only: as in a solutions survey spec
      weights: weight
      strata: stratum
      psu: cluster
      group: pop_group
      area: pcode
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import yaml

from idpkit.areas.findings import Finding
from idpkit.areas.importing import GROUP_WORDS, arrow_of, file_hash
from idpkit.areas.levels import ancestors
from idpkit.areas.rules import (
    INTERSECTORAL,
    TIE_TOLERANCE,
    RulesError,
    SeverityRules,
    with_codes,
    with_severity,
)
from idpkit.areas.tables import AREA_TABLES, NEED_PIN, NEED_SEVERITY
from idpkit.errors import AlreadyImportedError, IdpkitError
from idpkit.solutions.design import DesignError
from idpkit.solutions.store import (
    AREA_COLUMN,
    GROUP_COLUMN,
    SurveySpec,
    import_survey,
    slug,
)
from idpkit.warehouse.sqltext import literal, quote
from idpkit.warehouse.warehouse import Warehouse

PHASES = (2, 3, 4, 5)


class NeedsImportError(IdpkitError):
    """The needs file cannot be imported; ``findings`` lists every reason (file, row, column)."""

    code = "needs-not-imported"

    def __init__(self, message: str, findings: list, *, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.findings = findings


@dataclass
class NeedsSpec:
    source_id: str | None
    title: str | None
    kind: str
    reference_date: date | None
    size: str | None
    area: str | None
    group: str | None
    raw: dict = field(default_factory=dict)

    @classmethod
    def from_yaml(cls, path: str | Path) -> NeedsSpec:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DesignError(f"cannot read the needs spec: {exc}", location=str(path)) from exc
        return cls.from_dict(data, location=str(path))

    @classmethod
    def from_dict(cls, data: object, *, location: str | None = None) -> NeedsSpec:
        if not isinstance(data, dict) or not isinstance(data.get("needs", {}), dict):
            raise DesignError("the spec must be a mapping with a 'needs' section", location=location)
        n = data.get("needs") or {}
        kind = n.get("kind", "households")
        if kind not in ("households", "locations"):
            raise DesignError(f"needs.kind must be households or locations, not {kind!r}",
                              location=location)
        if kind == "households" and not isinstance(data.get("design"), dict):
            raise DesignError("a household survey needs its sampling 'design'", location=location)
        if kind == "locations" and not (n.get("area") and n.get("group")):
            raise DesignError("key-informant locations need needs.area and needs.group columns",
                              location=location)
        ref = n.get("reference_date")
        try:
            ref = ref if isinstance(ref, date) or ref is None else date.fromisoformat(str(ref))
        except ValueError as exc:
            raise DesignError(f"needs.reference_date: {exc}", location=location) from exc
        return cls(n.get("id"), n.get("title"), kind, ref, n.get("size"), n.get("area"),
                   n.get("group"), data)


@dataclass
class NeedsSource:
    source_id: str
    kind: str
    table: ir.Table
    weight: str | None
    size: str | None
    unit: str
    rules: SeverityRules
    survey_id: str | None
    reference_date: date | None


@dataclass
class NeedsImport:
    source_id: str
    kind: str
    records: int
    warnings: list = field(default_factory=list)


def _lookup(columns: dict[str, str]) -> dict[str, str]:
    """Original header (and its lower case) -> stored column name."""
    out = {c: c for c in columns}
    for clean, orig in columns.items():
        out.setdefault(orig, clean)
        out.setdefault(orig.lower(), clean)
    return out


def import_needs(wh: Warehouse, path: str | Path, spec: NeedsSpec, *,
                 rules: SeverityRules | None = None, sheet: str | None = None,
                 replace: bool = False) -> NeedsImport:
    """Check and store a needs file; nothing is written when a check fails."""
    wh.ensure_tables(AREA_TABLES)
    path = Path(path)
    rules = rules or SeverityRules.load()
    sid = slug(spec.source_id or path.stem)
    src = wh.table("needs_sources")
    exists = int(src.filter(src.source_id == sid).count().execute())
    if exists and not replace:
        raise IdpkitError(f"needs source {sid!r} already exists; use --replace to replace it",
                          location=str(path))
    digest = file_hash(path)
    prior = src.filter((src.file_hash == digest) & (src.source_id != sid)).source_id.execute()
    if len(prior):
        raise AlreadyImportedError(f"this file was already imported as needs source "
                                   f"{prior.iloc[0]!r}", location=str(path))
    if spec.kind == "households":
        return _import_households(wh, path, spec, rules, sid, digest, sheet, exists)
    return _import_locations(wh, path, spec, rules, sid, digest, sheet, exists)


def _source_row(sid: str, spec: NeedsSpec, kind: str, table_name: str, survey_id: str | None,
                path: Path, digest: str, weight: str | None, size: str | None,
                rules: SeverityRules, n: int) -> str:
    row = {"source_id": sid, "title": spec.title, "kind": kind, "table_name": table_name,
           "survey_id": survey_id, "file_name": path.name, "file_hash": digest,
           "weight_column": weight, "size_column": size,
           "unit": "individuals" if size else "households", "rules": rules.to_text(),
           "reference_date": spec.reference_date, "records": n,
           "imported_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
           "analysed_at": None}
    return (f"INSERT INTO needs_sources ({', '.join(quote(c) for c in row)}) VALUES "
            f"({', '.join(literal(v) for v in row.values())})")


def _import_households(wh: Warehouse, path: Path, spec: NeedsSpec, rules: SeverityRules,
                       sid: str, digest: str, sheet: str | None, exists: int) -> NeedsImport:
    sspec = SurveySpec.from_dict({"survey": {"id": sid, "title": spec.title,
                                             "reference_date": spec.reference_date},
                                  "design": spec.raw["design"]}, location=str(path))
    if not sspec.design.weights:
        raise DesignError("needs surveys must give their weights (design.weights)",
                          location=str(path))
    if not sspec.design.group:
        raise DesignError("needs surveys must name the population-group column (design.group)",
                          location=str(path))
    if not sspec.design.area:
        raise DesignError("needs surveys must name the area column (design.area)",
                          location=str(path))
    res = import_survey(wh, path, sspec, survey_id=sid, sheet=sheet, replace=True)
    s = wh.table("surveys")
    r = s.filter(s.survey_id == res.survey_id).select("design", "column_names").execute().iloc[0]
    lookup = _lookup(json.loads(r.column_names))
    design = json.loads(r.design)
    size = lookup.get(spec.size, lookup.get((spec.size or "").lower())) if spec.size else None
    resolved = rules.resolved(lookup)
    table = wh.table(res.table_name)
    problems = [c for c in [*resolved.columns(), *([size] if spec.size else [])]
                if c is None or c not in table.columns]
    statements = [f"DELETE FROM needs_sources WHERE source_id = {literal(sid)}"]
    if problems:  # undo the survey import: the needs source is all or nothing
        wh.execute_atomically([f'DROP TABLE IF EXISTS "{res.table_name}"',
                               f"DELETE FROM surveys WHERE survey_id = {literal(res.survey_id)}"])
        raise RulesError(f"the file has no column(s) {', '.join(map(str, problems))} named by "
                         "the severity rules or the spec; nothing was imported",
                         location=str(path))
    bad_sizes = size_findings(table, size, path.name, spec.size) if size else []
    if bad_sizes:  # as the survey importer does with weights: the whole file, or nothing
        wh.execute_atomically([f'DROP TABLE IF EXISTS "{res.table_name}"',
                               f"DELETE FROM surveys WHERE survey_id = {literal(res.survey_id)}"])
        raise NeedsImportError(
            "household sizes missing or not numbers; nothing was imported (a household left "
            "out changes what every other weight means: fill in its size, or drop 'size' from "
            "the spec to count households)", bad_sizes, location=str(path))
    statements.append(_source_row(sid, spec, "households", res.table_name, res.survey_id, path,
                                  digest, design["weights"], size, resolved, res.households))
    wh.execute_atomically(statements)
    return NeedsImport(sid, "households", res.households, res.warnings)


NUMBER = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
"""A decimal number as text (what both backends' CAST to a float accepts)."""


def size_findings(t: ir.Table, size: str, file: str, header: str | None = None,
                  limit: int = 20) -> list[Finding]:
    """Rows of a household survey whose household size is missing, not a number or negative.

    Why refuse rather than skip: a household without a size would fall out of the population and
    the people in need while still counted in ``records``, and leaving a household out of a
    weighted sample changes what every other weight means (the survey importer's rule, see
    :mod:`idpkit.solutions.checks`). One query per reason; the first ``limit`` rows are named
    and the rest counted."""
    col = t[size]
    header = header or size
    if col.type().is_numeric():
        x = col
    else:  # a regular expression, not TRY_CAST: Ibis compiles that to a plain CAST on PostgreSQL
        text = col.cast("string").strip()
        x = ibis.ifelse(text.re_search(NUMBER), text.cast("float64"), ibis.null("float64"))
    reasons = [(col.isnull(), "non-numeric-count", "the household size is missing"),
               (col.notnull() & x.isnull(), "non-numeric-count",
                "the household size is not a number"),
               (x < 0, "negative-count", "the household size is negative")]
    out: list[Finding] = []
    for cond, code, message in reasons:
        bad = t.filter(cond)
        n = int(bad.count().execute())
        if not n:
            continue
        sample = bad.order_by("_row").select(row="_row", value=col.cast("string")).limit(
            limit).execute()
        out += [Finding(code, message, file=file, row=int(r.row), column=header,
                        value=None if pd.isna(r.value) else str(r.value))
                for r in sample.itertuples()]
        if n > len(sample):
            out.append(Finding(code, f"{message} ({n - len(sample)} more rows)", file=file,
                               column=header))
    return out


def _import_locations(wh: Warehouse, path: Path, spec: NeedsSpec, rules: SeverityRules,
                      sid: str, digest: str, sheet: str | None, exists: int) -> NeedsImport:
    from idpkit.solutions.reading import read_survey

    data = read_survey(path, sheet=sheet)
    lookup = _lookup(data.columns)
    df = data.households.to_pandas()
    name = path.name

    def col(c: str | None) -> str | None:
        return lookup.get(c, lookup.get(c.lower())) if c else None

    area, group, size = col(spec.area), col(spec.group), col(spec.size)
    resolved = rules.resolved(lookup)
    findings: list[Finding] = []
    for want, got in ((spec.area, area), (spec.group, group), (spec.size, size),
                      *((c, c if c in df else None) for c in resolved.columns())):
        if want and (got is None or got not in df):
            findings.append(Finding("missing-value", f"the file has no column {want!r}",
                                    file=name, column=want))
    if findings:
        raise NeedsImportError("columns missing; nothing was imported", findings,
                               location=str(path))
    rows = df["_row"].to_numpy()

    def flag(mask: object, code: str, column: str, message: str) -> None:
        mask = pd.Series(mask).astype("boolean").fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(mask)[:200]:
            v = df[column].iloc[i]
            findings.append(Finding(code, message, file=name, row=int(rows[i]),
                                    column=data.columns.get(column, column),
                                    value=None if pd.isna(v) else str(v)))

    pc = df[area].astype("string").str.strip().str.upper()
    a = wh.table("areas")
    known = set(a.filter(a.pcode.isin(sorted(set(pc.dropna())))).pcode.execute())
    flag(pc.isna().to_numpy(), "missing-value", area, "the location has no P-code")
    flag((pc.notna() & ~pc.isin(known)).to_numpy(), "unknown-pcode", area,
         "the P-code is not in the gazetteer")
    g = df[group].astype("string").str.strip().str.lower().str.replace(r"[_\s]+", " ", regex=True)
    gv = g.map(lambda v: GROUP_WORDS.get(v) if isinstance(v, str) else None)
    flag(gv.isna().to_numpy(), "unknown-group", group, "not a population group")
    if size:
        people = pd.to_numeric(df[size], errors="coerce")
        flag(people.isna().to_numpy(), "non-numeric-count", size,
             "the number of people is missing or not a number")
        flag((people < 0).to_numpy(), "negative-count", size, "people cannot be negative")
    if findings:
        raise NeedsImportError(f"{len(findings)} problem(s); nothing was imported", findings,
                               location=str(path))
    df[AREA_COLUMN] = pc.astype(object)
    df[GROUP_COLUMN] = gv.astype(object)
    table_name = f"needs_{sid}"
    stage = wh.backend.new_stage_name()
    import pyarrow as pa

    wh.backend.load_arrow(stage, pa.Table.from_pandas(df, preserve_index=False))
    try:
        statements = [f'DROP TABLE IF EXISTS "{table_name}"',
                      f"DELETE FROM needs_sources WHERE source_id = {literal(sid)}",
                      f'CREATE TABLE "{table_name}" AS SELECT * FROM "{stage}"',
                      _source_row(sid, spec, "locations", table_name, None, path, digest, None,
                                  size, resolved, len(df))]
        wh.execute_atomically(statements)
    finally:
        wh.backend.drop_stages([stage])
    return NeedsImport(sid, "locations", len(df))


def list_sources(wh: Warehouse) -> pd.DataFrame:
    wh.ensure_tables(AREA_TABLES)
    s = wh.table("needs_sources")
    return s.select("source_id", "title", "kind", "unit", "records", "reference_date",
                    "imported_at").order_by("source_id").execute()


def load_source(wh: Warehouse, source_id: str | None = None,
                rules: SeverityRules | None = None) -> NeedsSource:
    """A stored needs source (the latest imported when ``source_id`` is None); ``rules`` replace
    the ones stored with it (their columns are resolved against the stored table)."""
    wh.ensure_tables(AREA_TABLES)
    s = wh.table("needs_sources")
    rows = (s.filter(s.source_id == slug(source_id)) if source_id else s).order_by(
        ibis.desc("imported_at")).limit(1).execute()
    if rows.empty:
        known = ", ".join(list_sources(wh).source_id) or "none imported yet"
        raise IdpkitError(f"no needs source {source_id!r} (sources: {known})" if source_id else
                          "no needs data imported yet: run `idpkit areas needs import`")
    r = rows.iloc[0]
    table = wh.table(r.table_name)
    stored = SeverityRules.from_text(r.rules)
    if rules is not None and r.survey_id:
        sv = wh.table("surveys")
        cols = json.loads(sv.filter(sv.survey_id == r.survey_id).column_names.execute().iloc[0])
        rules = rules.resolved(_lookup(cols))
    ref = r.reference_date
    return NeedsSource(r.source_id, r.kind, table, r.weight_column or None,
                       r.size_column or None, r.unit, rules or stored,
                       r.survey_id or None, None if ref is None or pd.isna(ref) else ref)


# ---------------------------------------------------------------------- scoring and aggregation
def scored(t: ir.Table, rules: SeverityRules, *, weight: str | None, size: str | None,
           area: str = AREA_COLUMN, group: str = GROUP_COLUMN) -> ir.Table:
    """Every row with ``sev_<sector>``, ``sev_intersectoral``, ``_w`` (sampling weight, 1 when
    unweighted) and ``_pop`` (people it stands for: weight × size)."""
    w = t[weight].cast("float64") if weight else ibis.literal(1.0)
    n = t[size].cast("float64") if size else ibis.literal(1.0)
    return with_severity(t.mutate(_w=w, _pop=w * n), rules)


def sectors_of(rules: SeverityRules) -> list[str]:
    return [*rules.sectors, INTERSECTORAL]


def coded(t: ir.Table, rules: SeverityRules, *, weight: str | None, size: str | None
          ) -> ir.Table:
    """Like :func:`scored` with the internal codes ``_sev_<sector>`` (0-5, 0 = missing) that
    :func:`area_aggregates` reads."""
    w = t[weight].cast("float64") if weight else ibis.literal(1.0)
    n = t[size].cast("float64") if size else ibis.literal(1.0)
    keep = [c for c in dict.fromkeys([AREA_COLUMN, GROUP_COLUMN, *rules.columns()])
            if c in t.columns]
    # only the columns the rules read travel through the projections
    return with_codes(t.select(*keep, _w=w, _pop=w * n), rules)


def area_aggregates_sql(wh: Warehouse, coded_table: ir.Table, rules: SeverityRules) -> str:
    """One row per area and group (``coded_table`` from :func:`coded`): per sector, the
    population assessed (``__pop``), households assessed (``__n``) and the population at each
    phase 2-5 or worse (``__ge<p>``), plus the area's ``_admin_level`` (one GROUP BY).

    Why SQL text around the compiled scoring: the 42 conditional sums are one flat, portable
    SELECT, and letting Ibis rewrite them over the nested scoring expression cost more time than
    DuckDB needs to run the query (0.2-0.3 s of 1.4 s at 2M households). The scoring itself stays
    one Ibis expression (:func:`coded`), shared with the design-based CIs. Shares and area phases
    are arithmetic on the small result (:func:`with_phases`)."""
    inner = wh.backend.sql(coded_table)
    area, group, pop = quote(AREA_COLUMN), quote(GROUP_COLUMN), quote("_pop")
    sums = []
    for sec in sectors_of(rules):
        v = quote(f"_sev_{sec}")  # 0-5, 0 = missing
        # SUM(CASE ...) measured faster than SUM ... FILTER (WHERE ...) on DuckDB 1.5
        sums.append(f"SUM(CASE WHEN {v} > 0 THEN {pop} ELSE 0.0 END) AS {quote(sec + '__pop')}")
        sums.append(f"SUM(CASE WHEN {v} > 0 THEN 1 ELSE 0 END) AS {quote(sec + '__n')}")
        sums += [f"SUM(CASE WHEN {v} >= {p} THEN {pop} ELSE 0.0 END) AS {quote(f'{sec}__ge{p}')}"
                 for p in PHASES]
    return (f"SELECT g.*, lv.admin_level AS {quote('_admin_level')} FROM ("
            f"SELECT c.{area} AS {area}, c.{group} AS {group}, {', '.join(sums)} "
            f"FROM ({inner}) AS c GROUP BY c.{area}, c.{group}) AS g "
            f"LEFT JOIN (SELECT pcode, MAX(admin_level) AS admin_level FROM areas GROUP BY pcode)"
            f" AS lv ON lv.pcode = g.{area}")


def with_phases(wide: pd.DataFrame, rules: SeverityRules) -> pd.DataFrame:
    """The aggregates with each sector's shares (``__share<p>``: population at phase p or worse
    / population assessed, NaN when none) and area phase (``__phase``: the worst phase reached by
    the rule's threshold share, 1 when none is, NA when no record scored the sector)."""
    thr = rules.area_rule.threshold - TIE_TOLERANCE
    out = {}
    for sec in sectors_of(rules):
        pop = wide[f"{sec}__pop"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = {p: np.where(pop == 0, np.nan,
                                  wide[f"{sec}__ge{p}"].to_numpy(dtype=float) / pop)
                      for p in PHASES}
        phase = np.select([shares[p] >= thr for p in (5, 4, 3, 2)], [5, 4, 3, 2], 1)
        none = wide[f"{sec}__n"].to_numpy(dtype=float) == 0
        codes = pd.array(phase, dtype="Int64")
        codes[none] = pd.NA
        out[f"{sec}__phase"] = codes
        for p in PHASES:
            out[f"{sec}__share{p}"] = shares[p]
    return pd.concat([wide.reset_index(drop=True), pd.DataFrame(out)], axis=1)


def with_level(wh: Warehouse, t: ir.Table, level: int | None, column: str = AREA_COLUMN
               ) -> ir.Table:
    """``t`` with its area column replaced by the area's ancestor at ``level`` (rows whose area
    does not reach that level are left out); unchanged for ``level=None``."""
    if level is None:
        return t
    anc = ancestors(wh, level)
    j = t.inner_join(anc, t[column] == anc.pcode)
    return j.mutate(**{column: j.ancestor_pcode}).drop("pcode", "ancestor_pcode")


def long_results(wide: pd.DataFrame, rules: SeverityRules, source_id: str, unit: str,
                 level_of: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The wide per-area aggregates reshaped (a small frame: areas × groups) into the
    ``need_severity`` and ``need_pin`` tables."""
    k = rules.phase_in_need
    sev, pin = [], []
    areas = wide[AREA_COLUMN].to_numpy(dtype=object)
    groups = wide[GROUP_COLUMN].to_numpy(dtype=object)
    levels = pd.Series(areas, dtype=object).map(level_of).to_numpy()

    def base(sec: str) -> dict:
        return {AREA_COLUMN: areas, GROUP_COLUMN: groups, "sector": sec, "source_id": source_id,
                "admin_level": levels}

    rule = f">= {rules.area_rule.threshold:g} of the population"
    for sec in sectors_of(rules):
        population = wide[f"{sec}__pop"].to_numpy(dtype=float)
        records = wide[f"{sec}__n"].to_numpy(dtype="int64")
        sev.append(pd.DataFrame({
            **base(sec), "phase": wide[f"{sec}__phase"].astype("Int64").array,
            **{f"share_phase_{p}": wide[f"{sec}__share{p}"].to_numpy(dtype=float)
               for p in PHASES},
            "population": population, "records": records, "rule": rule}))
        pin.append(pd.DataFrame({
            **base(sec), "unit": unit,
            "people_in_need": np.where(records > 0,
                                       wide[f"{sec}__ge{k}"].to_numpy(dtype=float), np.nan),
            "population": population}))
    order = [AREA_COLUMN, GROUP_COLUMN, "sector"]
    severity = pd.concat(sev, ignore_index=True).sort_values(order, kind="stable")
    people = pd.concat(pin, ignore_index=True).sort_values(order, kind="stable")
    return severity.reset_index(drop=True), people.reset_index(drop=True)


@dataclass
class NeedsResults:
    source_id: str
    severity: pd.DataFrame
    pin: pd.DataFrame
    warnings: list = field(default_factory=list)  # NeedsFinding: plausibility (needs_checks)


def compute(wh: Warehouse, source: NeedsSource, *, level: int | None = None,
            confidence_intervals: bool = True) -> NeedsResults:
    """Area phases and people in need of a source (at its own areas, or rolled up to ``level``);
    design-based SE and CI of people in need for a weighted survey."""
    t = with_level(wh, source.table, level)
    wide = wh.backend.fetch_df(area_aggregates_sql(
        wh, coded(t, source.rules, weight=source.weight, size=source.size), source.rules))
    levels = wide.dropna(subset=["_admin_level"])
    severity, pin = long_results(with_phases(wide, source.rules), source.rules, source.source_id,
                                 source.unit, dict(zip(levels[AREA_COLUMN],
                                                       levels["_admin_level"].astype(int))))
    for c in ("se", "ci_low", "ci_high"):
        pin[c] = np.nan
    if confidence_intervals and source.kind == "households" and source.survey_id and len(pin):
        s = scored(t, source.rules, weight=source.weight, size=source.size)
        pin = _with_cis(wh, source, s, pin)
    from idpkit.areas.needs_checks import (
        exceeds_stock,
        sector_exceeds_intersectoral,
        stock_of_areas,
    )

    warnings = unsized_records(source)
    warnings += sector_exceeds_intersectoral(pin, source.rules)
    warnings += exceeds_stock(pin, stock_of_areas(wh, pin, source.reference_date), source.unit)
    return NeedsResults(source.source_id, severity, pin, warnings)


def unsized_records(source: NeedsSource) -> list[Finding]:
    """A warning when stored records have no size (a source imported before the import refused
    them): they count in ``records`` but not in population or people in need, so say so."""
    if not source.size:
        return []
    n = int(source.table.filter(source.table[source.size].isnull()).count().execute())
    if not n:
        return []
    return [Finding("non-numeric-count", f"{n} record(s) of needs source {source.source_id!r} "
                    "have no size: they are left out of population and people in need; "
                    "re-import the file with their sizes filled in", severity="warning",
                    column=source.size)]


def _with_cis(wh: Warehouse, source: NeedsSource, s: ir.Table, pin: pd.DataFrame
              ) -> pd.DataFrame:
    """SE and CI of each people-in-need total from the survey engine (Taylor linearisation over
    the survey's own design: strata, clusters, population sizes), floored at 0."""
    from idpkit.solutions.design import SurveyDesign
    from idpkit.solutions.estimate import Indicator, estimate

    sv = wh.table("surveys")
    design = SurveyDesign.model_validate_json(
        sv.filter(sv.survey_id == source.survey_id).design.execute().iloc[0])
    k = source.rules.phase_in_need
    size = s[source.size].cast("float64") if source.size else ibis.literal(1.0)
    cols = {f"pin_{sec}": ibis.ifelse(s[f"sev_{sec}"].isnull(), ibis.null("float64"),
                                      ibis.ifelse(s[f"sev_{sec}"] >= k, size, 0.0))
            for sec in sectors_of(source.rules)}
    keep = [c for c in s.columns if not c.startswith(("sev_", "_w", "_pop"))]
    t = s.select(*keep, **cols)
    inds = [Indicator(f"pin_{sec}", "total", f"pin_{sec}") for sec in sectors_of(source.rules)]
    est = estimate(wh, t, design, inds, [(AREA_COLUMN, GROUP_COLUMN)],
                   design_effects=False).estimates
    est["sector"] = est.indicator.str[4:]
    est = est[[AREA_COLUMN, GROUP_COLUMN, "sector", "se", "ci_low", "ci_high"]]
    out = pin.drop(columns=["se", "ci_low", "ci_high"]).merge(
        est, on=[AREA_COLUMN, GROUP_COLUMN, "sector"], how="left")
    none = out.people_in_need.isna()
    out.loc[none, ["se", "ci_low", "ci_high"]] = np.nan
    # a count of people cannot be negative: the symmetric (normal) interval around a small total
    # with a large SE is cut at 0 (-1,920 people is no bound anyone can use)
    out["ci_low"] = out.ci_low.clip(lower=0.0)
    out["ci_high"] = out.ci_high.clip(lower=0.0)
    return out


def store_results(wh: Warehouse, res: NeedsResults) -> dict[str, int]:
    """Replace the source's rows in ``need_severity`` and ``need_pin`` (one transaction)."""
    wh.ensure_tables(AREA_TABLES)
    stages, statements = [], []
    try:
        for name, schema, df in (("need_severity", NEED_SEVERITY, res.severity),
                                 ("need_pin", NEED_PIN, res.pin)):
            stage = wh.backend.new_stage_name()
            wh.backend.load_arrow(stage, arrow_of(df, schema))
            stages.append(stage)
            cols = ", ".join(quote(c) for c in schema.names)
            statements += [(f"DELETE FROM {quote(name)} WHERE source_id = "
                           f"{literal(res.source_id)}"),
                           f"INSERT INTO {quote(name)} ({cols}) SELECT {cols} FROM {quote(stage)}"]
        now = datetime.now(UTC).replace(tzinfo=None)
        statements.append(f"UPDATE needs_sources SET analysed_at = {literal(now)} WHERE "
                          f"source_id = {literal(res.source_id)}")
        wh.execute_atomically(statements)
    finally:
        wh.backend.drop_stages(stages)
    return {"need_severity": len(res.severity), "need_pin": len(res.pin)}


def analyse(wh: Warehouse, source_id: str | None = None, *, rules: SeverityRules | None = None,
            level: int | None = None) -> NeedsResults:
    """Compute and store a source's area phases and people in need."""
    res = compute(wh, load_source(wh, source_id, rules), level=level)
    store_results(wh, res)
    return res
