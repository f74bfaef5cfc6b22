"""A small YAML mapping that overrides any guess idpkit makes about a file (docs/mapping.md).

```yaml
sheet: Baseline Assessment Dataset      # optional; a list for several sheets of one table
header_row: 3                           # or header_rows: [3, 4], or header: none, or skip_rows: 2
hxl_row: 4                              # or none
date: 2024-01-31                        # the whole file's reporting date (like --date)
country: NGA                            # the file's country when it names none (like --country)
columns:
  "LGA Pcode": adm2_pcode               # a role
  "Ward": adm3_name
  "Internal code": ignore
  "Estimated Number of IDP":            # a count, described
    population_group: idps
    unit: individuals
    cause: conflict                      # optional: metric, hazard, cause_detail, sex, age_group
```
Columns are named by header text, by HXL tag (``"#affected+idps+ind"``) or by position (``3``,
1-based). Every key is optional; a mapping that gives the header, HXL or data rows makes the
table's layout (:func:`idpkit.ingest.detect.layout_from_mapping`) instead of it being guessed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace as dc_replace
from datetime import date as Date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator,
                      model_validator)

from idpkit.errors import MappingError
from idpkit.ingest.columns import ADMIN_LEVELS, SIMPLE_ROLES, ColumnAssignment, ValueSpec
from idpkit.model.vocabulary import (ASSESSMENT_TYPES, CAUSES, HAZARDS, METRICS,
                                     POPULATION_GROUPS, SEXES, UNITS)

AREA_ROLES = tuple(f"{p}adm{lv}_{k}" for p in ("", "origin_") for lv in ADMIN_LEVELS
                   for k in ("pcode", "name"))
ROLES = SIMPLE_ROLES + AREA_ROLES
"""Every role a column can be given by name; a count is ``value`` or a description (ValueColumn)."""

AGE_GROUP = re.compile(r"all|\d{1,3}-\d{1,3}|\d{1,3}\+")

# What each key allows: the second half of a mapping error ("… (allowed: …)").
ALLOWED = {
    "sheet": "a sheet name, or a list of sheet names of one table",
    "header": "none (the file has no header row)",
    "header_row": "the 1-based row number of the header, or 0 for no header row",
    "header_rows": "two 1-based row numbers, e.g. [3, 4], for a header over two rows",
    "hxl_row": "the 1-based row number of the HXL tags, or none",
    "skip_rows": "the number of rows above the table (0 or more)",
    "data_start_row": "the 1-based row number of the first data row",
    "date": "a date YYYY-MM-DD",
    "country": "an ISO 3166 alpha-3 code such as NGA",
    "round": "text, e.g. 38",
    "operation": "text, e.g. 'Nigeria North-East'",
    "kind": ", ".join(ASSESSMENT_TYPES),
    "columns": "header text, HXL tag or 1-based position -> a role or a count description",
    "population_group": ", ".join(POPULATION_GROUPS),
    "unit": ", ".join(UNITS),
    "metric": ", ".join(METRICS),
    "cause": ", ".join(CAUSES),
    "hazard": ", ".join(HAZARDS),
    "cause_detail": "free text, e.g. insurgency",
    "sex": ", ".join(SEXES),
    "age_group": "all, a range such as 0-17, or a lower bound such as 60+",
}


def _one_of(values: tuple[str, ...]):
    def check(v: str | None) -> str | None:
        if v is not None and v not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return v
    return check


class ValueColumn(BaseModel):
    """What a count column counts. ``cause`` unset: the row's cause column, if any."""

    model_config = ConfigDict(extra="forbid")
    population_group: str = "idps"
    unit: str = "individuals"
    metric: str = "present_stock"
    cause: str | None = None
    hazard: str | None = None
    cause_detail: str | None = None
    sex: str = "all"
    age_group: str = "all"

    _group = field_validator("population_group")(_one_of(POPULATION_GROUPS))
    _unit = field_validator("unit")(_one_of(UNITS))
    _metric = field_validator("metric")(_one_of(METRICS))
    _cause = field_validator("cause")(_one_of(CAUSES))
    _hazard = field_validator("hazard")(_one_of(HAZARDS))
    _sex = field_validator("sex")(_one_of(SEXES))

    @field_validator("age_group")
    @classmethod
    def _age(cls, v: str) -> str:
        if not AGE_GROUP.fullmatch(v):
            raise ValueError("must be all, a range such as 0-17, or a lower bound such as 60+")
        return v

    def spec(self) -> ValueSpec:
        return ValueSpec(self.population_group, self.unit, self.metric, self.cause, self.hazard,
                         self.cause_detail, self.sex, self.age_group)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sheet: str | list[str] | None = None
    # where the table is (1-based rows, as a spreadsheet shows them); unset: detected
    header: Literal["none"] | None = None
    header_row: int | None = None
    header_rows: list[int] | None = None
    hxl_row: int | Literal["none"] | None = None
    skip_rows: int | None = None
    data_start_row: int | None = None
    # constants of the whole file; an option given on the command line wins
    date: Date | None = None
    country: str | None = None
    round: str | None = None
    operation: str | None = None
    kind: str | None = None
    columns: dict[str | int, str | ValueColumn] = {}
    _path: str | None = PrivateAttr(default=None)

    @field_validator("header", mode="before")
    @classmethod
    def _no_header(cls, v: Any) -> Any:
        # YAML reads `header: no` / `header: false` as False: the same as `header: none`
        if v is False or (isinstance(v, str) and v.strip().lower() in ("none", "no", "false")):
            return "none"
        return v

    @field_validator("hxl_row", mode="before")
    @classmethod
    def _no_hxl(cls, v: Any) -> Any:
        if v is False or (isinstance(v, str) and v.strip().lower() in ("none", "no", "false")):
            return "none"
        return v

    @field_validator("round", "operation", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @field_validator("country")
    @classmethod
    def _iso3(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z]{3}", v.strip()):
            raise ValueError("must be an ISO 3166 alpha-3 code such as NGA")
        return v.strip().upper() if v is not None else None

    _kind = field_validator("kind")(_one_of(ASSESSMENT_TYPES))

    @field_validator("header_row", "skip_rows")
    @classmethod
    def _not_negative(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError("must be 0 or more")
        return v

    @field_validator("hxl_row", "data_start_row")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 1:
            raise ValueError("must be a row number, 1 or more")
        return v

    @field_validator("header_rows")
    @classmethod
    def _two_rows(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (len(v) != 2 or v[0] < 1 or v[1] <= v[0]):
            raise ValueError("must be two row numbers, the upper first, e.g. [3, 4]")
        return v

    @field_validator("columns", mode="before")
    @classmethod
    def _value_shorthand(cls, v: Any) -> Any:
        # `"IDPs": value` is a count with the default description (idps, individuals, stock)
        if isinstance(v, dict):
            return {k: ({} if role == "value" else role) for k, role in v.items()}
        return v

    @field_validator("columns")
    @classmethod
    def _roles(cls, v: dict[str | int, Any]) -> dict[str | int, Any]:
        for k, role in v.items():
            if isinstance(role, str) and role not in ROLES:
                near = difflib.get_close_matches(role, ROLES, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"column {k!r}: unknown role {role!r}{hint} (roles: "
                                 f"{', '.join(ROLES)}, or a count description)")
        return v

    @model_validator(mode="after")
    def _rows_agree(self) -> Mapping:
        none = self.header == "none" or self.header_row == 0
        if none and self.header_rows:
            raise ValueError("header_rows: not with header: none (a file with no header row)")
        if self.header_row and self.header_rows:
            raise ValueError("header_rows: give header_row or header_rows, not both")
        if self.header == "none" and self.header_row:
            raise ValueError("header: none says there is no header row, but header_row is "
                             f"{self.header_row}")
        top = self.header_rows[0] if self.header_rows else self.header_row or None
        if self.skip_rows is not None and top and top != self.skip_rows + 1:
            raise ValueError(f"skip_rows: {self.skip_rows} rows skipped puts the header on row "
                             f"{self.skip_rows + 1}, not {top}; give one of them")
        last = max([self.header_rows[-1] if self.header_rows else self.header_row or 0,
                    self.hxl_row if isinstance(self.hxl_row, int) else 0])
        if self.data_start_row is not None and self.data_start_row <= last:
            raise ValueError(f"data_start_row: must be below the header and HXL rows (row "
                             f"{last})")
        if self.skip_rows is not None and self.data_start_row is not None and \
                self.data_start_row <= self.skip_rows:
            raise ValueError(f"data_start_row: must be below the {self.skip_rows} skipped rows")
        return self

    # ------------------------------------------------------------------ reading
    @classmethod
    def load(cls, path: Path) -> Mapping:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"cannot read mapping: {' '.join(str(exc).split())}",
                               location=str(path)) from None
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise MappingError("a mapping is YAML keys such as 'sheet:', 'header_row:' and "
                               f"'columns:', not a {type(data).__name__}", location=str(path))
        try:
            mapping = cls.model_validate(data)
        except ValidationError as exc:
            raise MappingError(_explain(exc.errors()), location=str(path)) from None
        mapping._path = str(path)
        return mapping

    # ------------------------------------------------------------------ what it says
    @property
    def sheets(self) -> list[str]:
        """The sheets the mapping names (several: parts of one table, like repeated --sheet)."""
        return [self.sheet] if isinstance(self.sheet, str) else list(self.sheet or [])

    @property
    def gives_layout(self) -> bool:
        """The mapping says where the table is: the layout is built from it, not detected."""
        return any(v is not None for v in (self.header, self.header_row, self.header_rows,
                                           self.hxl_row, self.skip_rows, self.data_start_row))

    @property
    def path(self) -> str | None:
        """The file the mapping was read from (errors name it)."""
        return self._path

    @property
    def has_header(self) -> bool:
        return not (self.header == "none" or self.header_row == 0)

    def fill_options(self, options: Any) -> Any:
        """``options`` (IngestOptions) with the mapping's constants where the command line gave
        none: date, country, round, operation, kind."""
        given = {"reporting_date": self.date, "country": self.country, "round": self.round,
                 "operation": self.operation, "kind": self.kind}
        fill = {k: v for k, v in given.items() if v is not None and getattr(options, k) is None}
        return dc_replace(options, **fill) if fill else options

    def overrides(self, layout: Any) -> dict[int, ColumnAssignment]:
        out: dict[int, ColumnAssignment] = {}
        for key, role in self.columns.items():
            idx = self._find(key, layout)
            tag = layout.tags[idx].raw if idx < len(layout.tags) and layout.tags[idx] else None
            if isinstance(role, ValueColumn):
                out[idx] = ColumnAssignment(idx, layout.headers[idx], tag, "value", role.spec(),
                                            "mapping", 100)
            else:
                out[idx] = ColumnAssignment(idx, layout.headers[idx], tag, role, None, "mapping",
                                            100)
        return out

    def _find(self, key: str | int, layout: Any) -> int:
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            i = int(key) - 1
            if 0 <= i < layout.ncols:
                return i
        for i, h in enumerate(layout.headers):
            if h.strip().lower() == str(key).strip().lower():
                return i
        for i, t in enumerate(layout.tags):
            if t is not None and (t.raw.strip().lower() == str(key).strip().lower()
                                  or str(t) == str(key).strip().lower()):
                return i
        what = (f"position {key} (the sheet has {layout.ncols} columns)"
                if isinstance(key, int) or str(key).isdigit() else f"column {key!r}")
        raise MappingError(f"mapping names {what}, which is not in sheet {layout.sheet!r} "
                           f"(columns: {', '.join(layout.headers[:12])}…)", location=self.path)


_BRANCHES = {"str", "int", "list[str]", "literal['none']", "ValueColumn"}


def _explain(errors: list[dict[str, Any]]) -> str:
    """One line for Pydantic's errors: the key, what is wrong, and what the key allows."""
    def path(e: dict[str, Any]) -> list[str]:  # the loc without a union's branch names
        loc = [str(x) for x in e["loc"]]
        return loc[:1] + [x for x in loc[1:] if x not in _BRANCHES]

    # a column's description is more telling than "not a role name" (the union's other branch)
    error = next((e for e in errors if "ValueColumn" in e["loc"] and
                  e["loc"][-1] != "ValueColumn"), errors[0])
    loc, kind = path(error), error["type"]
    msg = str(error["msg"]).removeprefix("Value error, ")
    where = ".".join(loc)
    if not where:  # a rule across keys: the message names them
        return msg
    if kind == "extra_forbidden":
        known = list(ValueColumn.model_fields if loc[0] == "columns" else Mapping.model_fields)
        near = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"{where}: unknown key{hint} (keys: {', '.join(known)})"
    if loc[0] == "columns" and len(loc) == 2:
        return (f"{where}: must be a role (such as adm1_pcode or ignore) or a count description "
                "(such as {population_group: idps, unit: individuals})")
    if msg.startswith(("must ", "column ")):
        return f"{where}: {msg}"
    return f"{where}: {msg} (allowed: {ALLOWED.get(loc[-1], ALLOWED.get(loc[0], ''))})"
