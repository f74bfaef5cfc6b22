"""Ibis expressions that turn a staged sheet (all text) into checked, typed, long-format rows.

Everything here builds expressions; only :mod:`idpkit.ingest.pipeline` runs them. The same
expressions run on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from idpkit.ingest.profile import PLACEHOLDERS
from idpkit.model.formula_cells import PLAIN_NUMBER, TRIGGER

NULL_STR = ibis.null("string")
_COUNT_OK = r"^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$"
_THOUSANDS = r"^[-+]?[0-9]{1,3}([,.][0-9]{3})+$"


_PLACEHOLDER_TEXT = "|" + "|".join(sorted(p for p in PLACEHOLDERS if "|" not in p)) + "|"


def is_placeholder(s: ir.StringValue) -> ir.BooleanValue:
    """Whether trimmed text is a placeholder. One substring search in a constant, not an IN list:
    engines turn long IN lists into joins, which cost a pass over the rows each."""
    return (s.length() <= 16) & ~s.contains("|") & \
        ibis.literal(_PLACEHOLDER_TEXT).contains(ibis.literal("|") + s.lower() + ibis.literal("|"))


def clean_text(col: ir.StringValue) -> ir.StringValue:
    """Trimmed text; placeholders ("n/a", "-", "Not available"…) become missing."""
    s = col.strip()
    return ibis.cases((s.isnull() | is_placeholder(s), NULL_STR), else_=s)


def parse_count(col: ir.StringValue, *, try_cast: bool = False, _slow: bool = False
                ) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """Text -> number, and whether the cell held something that is not a number.

    Accepts thousands separators (``1,234``, ``1.234``, ``1 234``) and decimal commas; regex-guarded
    so no backend ever raises on a bad cell. Plain numbers — nearly all cells — take a shortcut
    (TRY_CAST where the backend has it, DuckDB; one anchored pattern elsewhere) and only the rest
    go through the regexes. The shortcuts give the same answers as the full rules (a Hypothesis
    test holds them to it): before, '1.234' was 1.234 on DuckDB and 1234 on PostgreSQL.
    """
    if try_cast:
        fast = col.try_cast("float64")
        # not with a '.' either: '1.234' is a thousands separator in a count (TRY_CAST says 1.234)
        good = (fast.notnull() & ~fast.isnan() & ~fast.isinf() & ~col.contains("_")
                & ~col.contains("."))
        slow_value, slow_bad = parse_count(col, _slow=True)
        return (ibis.cases((good, fast), else_=slow_value),
                ibis.cases((good, ibis.literal(False)), else_=slow_bad))
    if not _slow:
        # Elsewhere (PostgreSQL) a whole number — nearly all cells — is recognised without a
        # pattern (digits only: nothing is left once they are deleted) and cast; only the rest go
        # through the chain of cleaning patterns (the working table of a 100k-row DTM-shaped file
        # on PostgreSQL: 4.6 s -> 1.7 s; an anchored pattern instead of translate() is 2x slower).
        whole = (col.length() <= 15) & (col.translate("0123456789", "") == "") & (col != "")
        slow_value, slow_bad = parse_count(col, _slow=True)
        return (ibis.cases((whole, col.cast("float64")), else_=slow_value),
                ibis.cases((whole, ibis.literal(False)), else_=slow_bad))
    s = clean_text(col)
    compact = s.re_replace("[\\s\u00a0\u202f']", "")
    normal = ibis.cases((compact.re_search(_THOUSANDS), compact.re_replace(r"[,.]", "")),
                        else_=compact.replace(",", "."))
    ok = normal.re_search(_COUNT_OK)
    value = ibis.cases((ok, normal.cast("float64")), else_=ibis.null("float64"))
    bad = s.notnull() & ~ok.fill_null(False)
    return value, bad


def concat(parts: list[ir.StringValue], sep: str = "") -> ir.StringValue:
    """Texts (never NULL) joined by ``sep`` as a shallow expression: CONCAT_WS over chunks of
    at most 50. Why: ``a + b + c…`` nests one level per part — a 1,000-column sheet exceeded
    Python's recursion limit and DuckDB's expression depth — and PostgreSQL functions take at
    most 100 arguments."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    while len(parts) > 50:
        parts = [ibis.literal(sep).join(parts[i:i + 50]) if len(parts[i:i + 50]) > 1
                 else parts[i] for i in range(0, len(parts), 50)]
    return ibis.literal(sep).join(parts)


def _balanced(items: list, op):
    """``op`` folded over ``items`` as a balanced tree: depth log2(n), not n (see :func:`concat`)."""
    items = list(items)
    while len(items) > 1:
        items = [op(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]
    return items[0]


def any_of(conds: list[ir.BooleanValue]) -> ir.BooleanValue:
    return _balanced(conds, lambda a, b: a | b) if conds else ibis.literal(False)


def all_of(conds: list[ir.BooleanValue]) -> ir.BooleanValue:
    return _balanced(conds, lambda a, b: a & b) if conds else ibis.literal(True)


def sum_of(values: list[ir.NumericValue]) -> ir.NumericValue:
    return _balanced(values, lambda a, b: a + b)


def key_text(col: ir.StringValue | None) -> ir.StringValue:
    """Join key for nullable text: missing, blank and placeholders are the same key."""
    if col is None:
        return ibis.literal("")
    return clean_text(col).fill_null("")


KEY_SEP = "\u241f"  # a character that does not occur in exports, joining cells into one key


def row_key(cols: list[ir.StringValue], *, clean: bool = False) -> ir.StringValue:
    """Several text cells as one join/partition key (one hash instead of many)."""
    parts = [key_text(c) if clean else c.fill_null("\u2400") for c in cols]  # \u2400: NULL_KEY
    return concat(parts, KEY_SEP)


def parse_decimal(col: ir.StringValue) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """Text -> decimal number (coordinates): no thousands separators, decimal comma accepted."""
    s = clean_text(col)
    normal = s.replace(",", ".")
    ok = normal.re_search(_COUNT_OK)
    value = ibis.cases((ok, normal.cast("float64")), else_=ibis.null("float64"))
    return value, s.notnull() & ~ok.fill_null(False)


def formula_like(col: ir.StringValue) -> ir.BooleanValue:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+cmd``, ``@SUM``,
    ``-2+3+cmd|…``): the one rule every tabular output neutralises
    (:mod:`idpkit.model.formula_cells`), so what the import flags is what a release would quote.
    The anchored trigger test first: nearly every cell fails it at once, and only the rest are
    tested for being a plain number."""
    trigger = col.re_search(TRIGGER).fill_null(False)
    return ibis.cases((trigger, ~col.re_search(PLAIN_NUMBER).fill_null(False)), else_=False)


def sql_json_object(t: ir.Table, cols: list[tuple[str, str]]) -> ir.StringValue:
    """A JSON object text ``{"header": "cell", …}`` built portably (no JSON functions needed)."""

    def esc(v: ir.StringValue) -> ir.StringValue:
        return v.replace("\\", "\\\\").replace('"', '\\"').re_replace(r"[\n\r\t]", " ")

    parts: list[ir.StringValue] = []
    for i, (header, name) in enumerate(cols):
        key = header.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
        prefix = ("{" if i == 0 else ",") + f'"{key}":'
        parts.append(ibis.literal(prefix) + ibis.cases(
            (t[name].isnull(), ibis.literal("null")),
            else_=ibis.literal('"') + esc(t[name]) + ibis.literal('"')))
    if not parts:
        return ibis.literal("{}")
    return concat([*parts, ibis.literal("}")])
