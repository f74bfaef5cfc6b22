"""A small YAML mapping that overrides any guess about a file's columns.

```yaml
sheet: Baseline Assessment Dataset      # optional
columns:
  "LGA Pcode": adm2_pcode               # a role
  "Ward": adm3_name
  "Internal code": ignore
  "Estimated Number of IDP":            # a count, described
    population_group: idps
    unit: individuals
    cause: conflict                      # optional: metric, hazard, sex, age_group
```
Columns are named by header text, by HXL tag (``"#affected+idps+ind"``) or by position (``3``, 1-based).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from idpkit.errors import MappingError
from idpkit.ingest.columns import ADMIN_LEVELS, SIMPLE_ROLES, ColumnAssignment, ValueSpec
from idpkit.model.vocabulary import CAUSES, METRICS, POPULATION_GROUPS, UNITS

AREA_ROLES = tuple(f"{p}adm{lv}_{k}" for p in ("", "origin_") for lv in ADMIN_LEVELS
                   for k in ("pcode", "name"))
ROLES = SIMPLE_ROLES + AREA_ROLES


class ValueColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    population_group: str = "idps"
    unit: str = "individuals"
    metric: str = "present_stock"
    cause: str | None = None
    hazard: str | None = None
    sex: str = "all"
    age_group: str = "all"

    @field_validator("population_group")
    @classmethod
    def _group(cls, v: str) -> str:
        if v not in POPULATION_GROUPS:
            raise ValueError(f"must be one of {', '.join(POPULATION_GROUPS)}")
        return v

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        if v not in UNITS:
            raise ValueError(f"must be one of {', '.join(UNITS)}")
        return v

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError(f"must be one of {', '.join(METRICS)}")
        return v

    @field_validator("cause")
    @classmethod
    def _cause(cls, v: str | None) -> str | None:
        if v is not None and v not in CAUSES:
            raise ValueError(f"must be one of {', '.join(CAUSES)}")
        return v


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sheet: str | None = None
    columns: dict[str | int, str | ValueColumn] = {}

    @field_validator("columns")
    @classmethod
    def _roles(cls, v: dict[str | int, Any]) -> dict[str | int, Any]:
        for k, role in v.items():
            if isinstance(role, str) and role not in ROLES and role != "value":
                raise ValueError(f"column {k!r}: unknown role {role!r} (roles: {', '.join(ROLES)})")
        return v

    @classmethod
    def load(cls, path: Path) -> Mapping:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"cannot read mapping: {exc}", location=str(path)) from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise MappingError(f"{where}: {first['msg']}", location=str(path)) from None

    def overrides(self, layout: Any) -> dict[int, ColumnAssignment]:
        out: dict[int, ColumnAssignment] = {}
        for key, role in self.columns.items():
            idx = self._find(key, layout)
            if isinstance(role, ValueColumn):
                spec = ValueSpec(role.population_group, role.unit, role.metric, role.cause,
                                 role.hazard, None, role.sex, role.age_group)
                out[idx] = ColumnAssignment(idx, layout.headers[idx], None, "value", spec,
                                            "mapping", 100)
            else:
                out[idx] = ColumnAssignment(idx, layout.headers[idx], None, role, None, "mapping", 100)
        return out

    @staticmethod
    def _find(key: str | int, layout: Any) -> int:
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
        raise MappingError(f"mapping names column {key!r}, which is not in sheet {layout.sheet!r} "
                           f"(columns: {', '.join(layout.headers[:12])}…)")
