"""Households to individuals (issue 3, part 4).

Why: some sources count households only; a table of individuals must not drop them, but a converted
number is an estimate and must say so. For each source row that reports households of a population
group but no individuals, a *derived* individuals row is added: households × household size,
rounded half up. The household size is the source's own where it gives one — individuals ÷
households over the rows of the same source, round and admin 1 that report both — else the most
specific configured size (:class:`HouseholdSizeRule`: per area, source and year, e.g. from the
country's census or the household survey), else the one default size; with none, nothing is
converted. The reported households stay.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir

from idpkit.errors import IdpkitError


class HouseholdSizesError(IdpkitError):
    code = "household-sizes-invalid"


@dataclass(frozen=True)
class HouseholdSizeRule:
    """People per household to use where a source gives no size of its own. Empty fields match
    everything; where several rules match a row, the one with the finest area wins, then one
    naming the source, then one naming the year. ``source`` is matched against the file's
    source organisation and its assessment type; ``year`` against the year of the round's date.
    ``level`` is the area's admin level (filled from the gazetteer, see :func:`resolve_levels`)."""

    size: float
    pcode: str | None = None
    source: str | None = None
    year: int | None = None
    level: int | None = None


SIZE_COLUMNS = ("pcode", "source", "year", "size")


def read_household_sizes(path: str | Path) -> tuple[HouseholdSizeRule, ...]:
    """Rules from a CSV with a ``size`` column and any of ``pcode``, ``source``, ``year``.

    Every problem is named by file, row and column: a size that is not a number between 1 and 50,
    a year that is not a year, an unknown column, two rules for the same area, source and year."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HouseholdSizesError(f"cannot read the household sizes: {exc}",
                                  location=str(path)) from exc
    try:
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
    except csv.Error as exc:  # NUL bytes, broken quoting
        raise HouseholdSizesError(f"not a readable CSV: {exc}", location=str(path)) from exc
    # the header line itself, so that a file with a header and no rows is "no rules"
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if "size" not in header:
        raise HouseholdSizesError("the household sizes need a 'size' column (and any of pcode, "
                                  "source, year)", location=str(path))
    unknown = [h for h in header if h and h not in SIZE_COLUMNS]  # "" : a trailing comma
    if unknown:
        raise HouseholdSizesError(f"unknown column(s) {', '.join(unknown)}; use "
                                  f"{', '.join(SIZE_COLUMNS)}", location=str(path))
    out: list[HouseholdSizeRule] = []
    seen: dict[tuple, int] = {}
    for n, raw in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}

        def where(col: str, n: int = n) -> str:
            return f"{path}, row {n}, column {col}"

        try:
            size = float(row["size"].replace(",", "."))
        except ValueError:
            raise HouseholdSizesError(f"size {row['size']!r} is not a number",
                                      location=where("size")) from None
        if not 1 <= size <= 50:
            raise HouseholdSizesError(f"size {size:g} is not a number of people per household "
                                      "(1-50)", location=where("size"))
        year = None
        if row.get("year"):
            try:
                year = int(row["year"])
            except ValueError:
                raise HouseholdSizesError(f"year {row['year']!r} is not a year",
                                          location=where("year")) from None
            if not 1900 <= year <= 2200:
                raise HouseholdSizesError(f"year {year} is not a plausible year",
                                          location=where("year"))
        rule = HouseholdSizeRule(size, row.get("pcode", "").upper() or None,
                                 row.get("source") or None, year)
        key = (rule.pcode, rule.source, rule.year)
        if key in seen:
            raise HouseholdSizesError(f"a second size for the same area, source and year (first on "
                                      f"row {seen[key]})", location=where("size"))
        seen[key] = n
        out.append(rule)
    return tuple(out)


def resolve_levels(wh, rules: tuple[HouseholdSizeRule, ...]) -> tuple[HouseholdSizeRule, ...]:
    """``rules`` with each P-code's admin level from the gazetteer (an ISO3 code is level 0);
    a P-code the gazetteer does not know is an error, not a rule that silently never matches."""
    codes = sorted({r.pcode for r in rules if r.pcode})
    if not codes:
        return rules
    a = wh.table("areas")
    known = a.filter(a.pcode.isin(codes)).group_by("pcode").aggregate(
        level=a.admin_level.max()).execute()
    level = dict(zip(known.pcode, known.level.astype(int)))
    out = []
    for r in rules:
        lv = None
        if r.pcode:
            lv = level.get(r.pcode, 0 if len(r.pcode) == 3 and r.pcode.isalpha() else None)
            if lv is None:
                raise HouseholdSizesError(f"household sizes: P-code {r.pcode!r} is not in the "
                                          "gazetteer")
        out.append(HouseholdSizeRule(r.size, r.pcode, r.source, r.year, lv))
    return tuple(out)


def _configured_size(t: ir.Table, rules: tuple[HouseholdSizeRule, ...]) -> ir.FloatingValue:
    """The most specific rule's size for each row of ``t`` (NULL where none matches): one CASE,
    its branches ordered finest area first, then source, then year."""
    def area_col(level: int) -> ir.StringValue:
        return t.iso3 if level == 0 else t[f"adm{level}_pcode"]

    ordered = sorted(rules, key=lambda r: (-(r.level if r.pcode else -1), r.source is None,
                                           r.year is None))
    branches = []
    for r in ordered:
        cond = ibis.literal(True)
        if r.pcode:
            cond = cond & (area_col(int(r.level or 0)) == r.pcode)
        if r.source:
            cond = cond & ((t.source_organisation == r.source) | (t.assessment_type == r.source))
        if r.year:
            cond = cond & (t.source_date.year() == r.year)
        branches.append((cond, ibis.literal(float(r.size))))
    return ibis.cases(*branches, else_=ibis.null("float64"))


def add_derived_individuals(o: ir.Table, default_size: float | None,
                            rules: tuple[HouseholdSizeRule, ...] = ()) -> ir.Table:
    """``o``: source rows (see :func:`idpkit.figures.stock.source_rows`) with a ``derived`` column
    added (``False`` on reported rows). ``rules`` need their levels (:func:`resolve_levels`)."""
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
    if rules:  # the source's own size first, then the most specific configured one
        hh = hh.mutate(_size=hh._size.fill_null(_configured_size(hh, rules)))
    size = hh._size if default_size is None else hh._size.fill_null(float(default_size))
    hh = hh.filter(size.notnull())
    size = hh._size if default_size is None else hh._size.fill_null(float(default_size))
    ind = hh.mutate(unit=ibis.literal("individuals"), value=(hh.value * size + 0.5).floor()
                    .cast("float64"), derived=ibis.literal(True))
    return o.union(ind.select(*o.columns))
