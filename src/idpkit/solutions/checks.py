"""Does the design fit the data? Findings (not exceptions), each naming file, row, column, value.

Why survey errors stop the import instead of quarantining rows: a household dropped from a sample
changes what every other weight means, so estimates from a survey with silently removed rows are
wrong. The import either takes the whole file as the design says, or nothing, with every reason
listed (up to :data:`MAX_ROWS_PER_CODE` rows per reason, and how many more).

All checks are Ibis queries over the staged table, so a census-size file is checked in the
database, not in Python.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from idpkit.solutions.design import GROUPS, SurveyDesign
from idpkit.validate.issues import Issue

MAX_ROWS_PER_CODE = 20

GROUP_SYNONYMS: dict[str, str] = {
    "idp": "idps", "idps": "idps", "internally displaced": "idps",
    "internally displaced person": "idps", "displaced": "idps",
    "returnee": "returnees", "returnees": "returnees", "returned": "returnees",
    "non displaced": "non_displaced", "non_displaced": "non_displaced",
    "nondisplaced": "non_displaced", "non-displaced": "non_displaced", "resident": "non_displaced",
    "residents": "non_displaced", "never displaced": "non_displaced",
    "host": "host_community", "host community": "host_community",
    "host_community": "host_community",
    "refugee": "refugees", "refugees": "refugees", "migrant": "migrants", "migrants": "migrants",
}
"""Group labels survey teams commonly use, lower-cased, mapped to idpkit's vocabulary."""


def group_expression(t: ir.Table, design: SurveyDesign) -> ir.StringValue:
    """The design's group column in idpkit's vocabulary (NULL where not recognised)."""
    col = t[design.group].cast("string").strip()
    if design.groups:
        mapping = {str(v).strip().lower(): g for g, vals in design.groups.items() for v in vals}
        mapping.update({g: g for g in design.groups})
    else:
        mapping = dict(GROUP_SYNONYMS)
    key = col.lower()
    return key.cases(*mapping.items(), else_=ibis.null("string"))


def _rows(t: ir.Table, cond: ir.BooleanValue, column: str, code: str, message: str,
          file: str, sheet: str | None) -> list[Issue]:
    bad = t.filter(cond)
    n = int(bad.count().execute())
    if not n:
        return []
    sample = bad.order_by("_row").select(row="_row", value=t[column]).limit(
        MAX_ROWS_PER_CODE).execute()
    out = [Issue(code, message, file=file, sheet=sheet, row=int(r.row), column=column,
                 value=_text(r.value))
           for r in sample.itertuples()]
    if n > len(out):
        out.append(Issue(code, f"{message} ({n - len(out)} more rows)", file=file, sheet=sheet,
                         column=column))
    return out


def _text(v: object) -> str | None:
    """A cell as the user typed it (the same on every backend): ``-3``, not ``-3.0``."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def check_design(t: ir.Table, design: SurveyDesign, *, file: str, sheet: str | None = None,
                 known_pcodes: ir.Table | None = None) -> list[Issue]:
    """Every finding about the design on table ``t`` (which has a ``_row`` column)."""
    issues: list[Issue] = []
    missing = [c for c in design.columns() if c not in t.columns]
    for c in missing:
        issues.append(Issue("survey-missing-column", f"the design names column {c!r}, which the "
                            f"file does not have", file=file, sheet=sheet, column=c))
    if missing:
        return issues
    if design.weights:
        w = t[design.weights]
        issues += _rows(t, w.isnull(), design.weights, "survey-missing-weight",
                        "the sampling weight is missing", file, sheet)
        if w.type().is_numeric():
            issues += _rows(t, w <= 0, design.weights, "survey-non-positive-weight",
                            "the sampling weight is not a positive number", file, sheet)
        else:
            issues += _rows(t, w.notnull(), design.weights, "survey-non-positive-weight",
                            "the weight column holds text, not numbers", file, sheet)
    for col, what in ((design.strata, "stratum"), (design.psu, "PSU"), (design.ssu, "SSU"),
                      *((c, f"population size (stage {i + 1})") for i, c in enumerate(design.fpc))):
        if col:
            issues += _rows(t, t[col].isnull(), col, "survey-missing-design-value",
                            f"the {what} is missing", file, sheet)
    if issues:
        return issues
    issues += _structure(t, design, file, sheet)
    if design.group:
        g = group_expression(t, design)
        issues += _rows(t, t[design.group].notnull() & g.isnull(), design.group,
                        "survey-unknown-group",
                        "not a population group; map it under 'groups' in the design "
                        f"({', '.join(GROUPS)})", file, sheet)
    if design.area and known_pcodes is not None:
        a = t[design.area].cast("string").strip()
        known = known_pcodes.select(pcode=known_pcodes.pcode)
        issues += _rows(t, a.notnull() & ~a.isin(known.pcode), design.area,
                        "survey-unknown-pcode", "the area P-code is not in the gazetteer", file,
                        sheet)
    return issues


def _structure(t: ir.Table, design: SurveyDesign, file: str, sheet: str | None) -> list[Issue]:
    """PSUs nested in strata, lonely PSUs, population sizes constant and not below the sample."""
    issues: list[Issue] = []
    h = t[design.strata].cast("string") if design.strata else ibis.literal("1")
    if design.psu:
        p = t[design.psu].cast("string")
        tt = t.mutate(_h=h, _p=p)
        if not design.nest and design.strata:
            spread = tt.group_by(key=tt._p).aggregate(k=tt._h.nunique(), first=tt._row.min())
            spread = spread.filter(spread.k > 1).order_by("first").limit(
                MAX_ROWS_PER_CODE).execute()
            for r in spread.itertuples():
                issues.append(Issue(
                    "survey-psu-in-several-strata",
                    f"PSU {r.key!r} appears in {r.k} strata; if PSU numbers restart in each "
                    "stratum, set 'nest: true' in the design", file=file, sheet=sheet,
                    row=int(r.first), column=design.psu, value=str(r.key)))
            if issues:
                return issues
        per = tt.group_by(key=tt._h).aggregate(n=tt._p.nunique(), first=tt._row.min())
        lonely = per.filter(per.n < 2).order_by("first").execute()
        sev = "error" if design.lonely_psu == "fail" else "warning"
        for r in lonely.head(MAX_ROWS_PER_CODE).itertuples():
            how = ("set lonely_psu (remove, certainty, adjust, average) in the design"
                   if sev == "error" else f"handled as lonely_psu: {design.lonely_psu}")
            issues.append(Issue("survey-lonely-psu", f"stratum {r.key!r} has a single PSU: {how}",
                                severity=sev, file=file, sheet=sheet, row=int(r.first),
                                column=design.strata or design.psu, value=str(r.key)))
    if design.fpc:
        tt = t.mutate(_h=h, _p=t[design.psu].cast("string") if design.psu else t._row)
        f = tt[design.fpc[0]].cast("float64")
        per = tt.group_by(key=tt._h).aggregate(lo=f.min(), hi=f.max(), n=tt._p.nunique(),
                                          first=tt._row.min())
        bad = per.filter((per.lo != per.hi) | ((per.lo > 1) & (per.lo < per.n))).order_by(
            "first").limit(MAX_ROWS_PER_CODE).execute()
        for r in bad.itertuples():
            why = ("differs between rows of the stratum" if r.lo != r.hi else
                   f"is smaller than the {r.n} units sampled")
            issues.append(Issue("survey-fpc-inconsistent",
                                f"the population size of stratum {r.key!r} {why}", file=file,
                                sheet=sheet, row=int(r.first), column=design.fpc[0],
                                value=str(r.lo)))
    return issues
