"""Declarative severity rules (YAML) and the SQL they become.

Why declarative: the thresholds are decided by sector coordinators and change between response
plans; analysts must be able to read, review and version them without reading code. Why each rule
is a ``CASE`` expression: a household's severity in every sector is then one projection over the
survey table, run by the warehouse on millions of rows (see ``benchmarks/areas.py``).

Rules (see ``default_rules.yaml``, shipped with the package):

* an indicator gives a phase 1-5, or nothing when its value is missing;
* a sector's severity is the highest phase its indicators give (missing when all are missing);
* the inter-sectoral score is the highest sector severity (``max``), or the mean of the ``top``
  most severe sectors rounded half up (``mean_top``), over the sectors with a value;
* the area phase of a sector (and of the inter-sectoral score) for a group is the highest phase
  ``p`` such that the households at ``p`` or worse hold at least ``area_rule.threshold`` of the
  group's population assessed in that sector (ties count: a share equal to the threshold reaches
  it); a group with no assessed household has no phase;
* people in need are the people of households at ``phase_in_need`` or worse.
"""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path
from typing import Literal

import ibis
import ibis.expr.types as ir
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from idpkit.errors import IdpkitError

INTERSECTORAL = "intersectoral"
TIE_TOLERANCE = 1e-9
"""Shares within this of the threshold count as reaching it (floating-point sums of weights)."""


class _TextBooleansLoader(yaml.SafeLoader):
    """YAML as PyYAML reads it, except that ``yes``/``no``/``on``/``off``/``true``/``false``
    (any case) stay the text the user wrote.

    Why: YAML 1.1 reads ``values: {yes: 3, no: 1}`` as boolean keys, which then never equal a
    Kobo answer ``yes`` and every household silently falls to phase 1. No field of the rules is a
    boolean, so nothing is lost by reading them as text."""


_TextBooleansLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

TRUE_WORDS = frozenset({"true", "yes", "on", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "n", "0"})
"""Keys of a ``values`` rule matching ``True``/``False`` in a boolean column (any case)."""


class RulesError(IdpkitError):
    """The severity rules file is invalid, or names columns the data does not have."""

    code = "invalid-severity-rules"


class IndicatorRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    below: dict[int, float] | None = None
    at_least: dict[int, float] | None = None
    values: dict[str | int | float, int] | None = None
    otherwise: int = 1

    @model_validator(mode="before")
    @classmethod
    def _boolean_keys_as_text(cls, data: object) -> object:
        """A ``True``/``False`` key (rules given as a Python dict, or YAML read elsewhere) is the
        text ``true``/``false``: matched against answers as words, like every text key."""
        if isinstance(data, dict) and isinstance(data.get("values"), dict):
            data = {**data, "values": {(str(k).lower() if isinstance(k, bool) else k): v
                                       for k, v in data["values"].items()}}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> IndicatorRule:
        forms = [f for f in ("below", "at_least", "values") if getattr(self, f)]
        if len(forms) != 1:
            raise ValueError(f"{self.column}: give exactly one of below, at_least, values")
        phases = list(self.values.values()) if self.values else list(
            (self.below or self.at_least or {}).keys())
        if any(p not in range(1, 6) for p in [*phases, self.otherwise]):
            raise ValueError(f"{self.column}: phases must be 1-5")
        cuts = self.below or self.at_least
        if cuts:
            ordered = [cuts[p] for p in sorted(cuts)]
            ok = all(a > b for a, b in itertools.pairwise(ordered)) if self.below else \
                all(a < b for a, b in itertools.pairwise(ordered))
            if not ok:
                raise ValueError(f"{self.column}: cuts must get stricter as the phase rises "
                                 f"({'decreasing' if self.below else 'increasing'})")
        return self


class Sector(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = None
    indicators: list[IndicatorRule] = Field(min_length=1)


class Intersectoral(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["max", "mean_top"] = "max"
    top: int = Field(3, ge=1)


class AreaRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.25, gt=0, le=1)


class SeverityRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    phase_in_need: int = Field(3, ge=2, le=5)
    intersectoral: Intersectoral = Intersectoral()
    area_rule: AreaRule = AreaRule()
    sectors: dict[str, Sector] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> SeverityRules:
        if INTERSECTORAL in self.sectors:
            raise ValueError(f"{INTERSECTORAL!r} is reserved for the inter-sectoral score")
        return self

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> SeverityRules:
        """The rules in ``path``, or the shipped defaults."""
        if path is None:
            text = resources.files("idpkit.areas").joinpath("default_rules.yaml").read_text(
                encoding="utf-8")
            return cls.from_text(text, location="default_rules.yaml")
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(f"cannot read the rules: {exc}", location=str(path)) from exc
        return cls.from_text(text, location=str(path))

    @classmethod
    def from_text(cls, text: str, *, location: str | None = None) -> SeverityRules:
        try:
            data = yaml.load(text, Loader=_TextBooleansLoader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as exc:
            raise RulesError(f"not YAML: {exc}", location=location) from exc
        return cls.from_dict(data, location=location)

    @classmethod
    def from_dict(cls, data: object, *, location: str | None = None) -> SeverityRules:
        if not isinstance(data, dict):
            raise RulesError("the rules must be a mapping", location=location)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "rules"
            raise RulesError(f"{where}: {first['msg']}", location=location) from exc

    def to_text(self) -> str:
        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False)

    def columns(self) -> list[str]:
        return list(dict.fromkeys(i.column for s in self.sectors.values() for i in s.indicators))

    def resolved(self, lookup: dict[str, str]) -> SeverityRules:
        """The same rules with columns renamed (original header -> stored column name)."""
        out = self.model_copy(deep=True)
        for s in out.sectors.values():
            for i in s.indicators:
                i.column = lookup.get(i.column, lookup.get(i.column.lower(), i.column))
        return out


# ---------------------------------------------------------------------- SQL (Ibis) expressions
# Per row, a phase is an integer 0-5 where 0 means "missing": every step (indicator, sector,
# inter-sectoral score, aggregation) is then one flat expression over non-null integers, with no
# COALESCE or NULL wrappers, which is what makes scoring millions of households cheap. Only the
# public columns (``sev_*``) turn 0 back into NULL.

def indicator_code(t: ir.Table, rule: IndicatorRule) -> ir.IntegerValue:
    """Phase 1-5 the indicator gives for each row, 0 when its value is missing."""
    col = t[rule.column]
    zero = ibis.literal(0, "int64")

    def lit(p: int) -> ir.IntegerValue:
        return ibis.literal(p, "int64")

    if rule.values:
        if col.type().is_boolean():  # yes/no read as booleans by a reader: match the words
            branches = [(col == (str(k).strip().lower() in TRUE_WORDS), lit(p))
                        for k, p in rule.values.items()
                        if str(k).strip().lower() in TRUE_WORDS | FALSE_WORDS]
            branches.append((col.notnull(), lit(rule.otherwise)))
            return ibis.cases(*branches, else_=zero)
        if col.type().is_numeric():
            x = col.cast("float64")
            branches = []
            for k, p in rule.values.items():
                try:
                    branches.append((x == float(k), lit(p)))
                except (TypeError, ValueError):
                    continue  # a text category never equals a number
            branches.append((x.notnull(), lit(rule.otherwise)))
            return ibis.cases(*branches, else_=zero)
        # Fast path first: a cell that already is one of the (clean) keys is matched as it is;
        # only other cells are trimmed and lower-cased (databases evaluate a CASE's operand once
        # per WHEN, and cleaning text is the costly part).
        raw = col.cast("string")
        keys = [(str(k).strip().lower(), lit(p)) for k, p in rule.values.items()]
        fallback = ibis.ifelse(raw.isnull(), zero, lit(rule.otherwise))
        cleaned = raw.strip().lower().cases(*keys, else_=fallback)
        return raw.cases(*keys, else_=cleaned)
    if not col.type().is_numeric():
        raise RulesError(f"indicator {rule.column!r} holds text; use 'values' for categories")
    x = col.cast("float64") if not col.type().is_floating() else col
    cuts = rule.below or rule.at_least or {}
    branches = [((x < cuts[p]) if rule.below else (x >= cuts[p]), lit(p))
                for p in sorted(cuts, reverse=True)]  # the worst phase first
    branches.append((x.notnull(), lit(1)))
    return ibis.cases(*branches, else_=zero)


def indicator_phase(t: ir.Table, rule: IndicatorRule) -> ir.IntegerValue:
    """Phase 1-5 the indicator gives for each row; NULL when the value is missing."""
    return indicator_code(t, rule).nullif(0)


def _greatest(values: list[ir.IntegerValue]) -> ir.IntegerValue:
    return values[0] if len(values) == 1 else ibis.greatest(*values)


def with_codes(t: ir.Table, rules: SeverityRules) -> ir.Table:
    """``t`` with ``_sev_<sector>`` and ``_sev_intersectoral`` as codes 0-5 (0 = missing), in
    two projections (sectors, then the inter-sectoral score reading the sector columns) so no
    expression is repeated inside another."""
    missing = [c for c in rules.columns() if c not in t.columns]
    if missing:
        raise RulesError(f"the data has no column(s) {', '.join(missing)} named by the rules")
    # each indicator's CASE is used once, inside its sector's GREATEST: no repetition
    s = t.mutate(**{f"_sev_{name}": _greatest([indicator_code(t, i) for i in sector.indicators])
                    for name, sector in rules.sectors.items()})
    return s.mutate(**{f"_sev_{INTERSECTORAL}": intersectoral_code(
        [s[f"_sev_{name}"] for name in rules.sectors], rules.intersectoral)})


def with_severity(t: ir.Table, rules: SeverityRules) -> ir.Table:
    """``t`` with the public ``sev_<sector>`` and ``sev_intersectoral`` (1-5, NULL = missing)."""
    s = with_codes(t, rules)
    cols = [*rules.sectors, INTERSECTORAL]
    return s.mutate(**{f"sev_{c}": s[f"_sev_{c}"].nullif(0) for c in cols}).drop(
        *[f"_sev_{c}" for c in cols])


def intersectoral_code(sectors: list[ir.IntegerValue], how: Intersectoral) -> ir.IntegerValue:
    """``max``, or the mean of the ``top`` most severe sectors rounded half up (0 = no sector).

    The top-n sum is computed without sorting columns: for phases 1-5, the sum of the ``n`` highest
    values is ``Σ_p min(n, c_p)`` with ``c_p`` the number of sectors at phase ``p`` or worse; the
    rounded mean is ``(2·sum + k) // (2·k)`` in integers (``k`` sectors averaged)."""
    if how.method == "max":
        return _greatest(sectors)
    n = how.top
    # booleans become 0/1 through int32 (PostgreSQL casts boolean to integer, not to bigint)
    counts = [sum((s >= p).cast("int32") for s in sectors) for p in range(1, 6)]
    top_sum = sum(ibis.least(c, n) for c in counts)
    k = ibis.least(counts[0], n)
    return ibis.ifelse(k == 0, 0, (2 * top_sum + k) // (2 * k).nullif(0)).cast("int64")


def intersectoral_score(sectors: list[ir.IntegerValue], how: Intersectoral) -> ir.IntegerValue:
    """:func:`intersectoral_code` over public sector columns (NULL = missing)."""
    return intersectoral_code([s.fill_null(0) for s in sectors], how).nullif(0)
