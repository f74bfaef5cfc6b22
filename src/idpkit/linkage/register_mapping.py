"""A YAML mapping for ``idpkit register import``: which column of a registration export is which
register field, how its dates are written, which phone region its local numbers belong to and
which columns form a registration event (docs/registration.md).

```yaml
sheet: Registrations            # XLSX only; default the first sheet
header_row: 1                   # 1-based, as a spreadsheet shows it; an HXL row below it is found
columns:                        # register field -> the file's column
  record_id: "Individual ID"    #   by header text
  first_name: 3                 #   by 1-based position
  family_name: "#beneficiary+name+last"   # by HXL tag (the file needs an HXL row)
  address: [street_number, address_1, address_2]   # several columns joined with spaces
date_formats: ["%Y%m%d", "%d/%m/%Y"]       # tried in order, for every date column
phone_region: SO                # the default region of local phone numbers
phone_regions: {by: organisation, values: {NGO-A: SO, NGO-B: NG}}   # per organisation or area
event: [household_ref, registration_date]  # the columns that form one registration event
ignore: [enumerator, comments]  # columns left out on purpose (not reported as unmapped)
```

Why field -> column (the reverse of ``ingest``'s mapping): a register has a fixed list of fields
and one field may need several columns (an address in three cells), which only this direction
can say. Why a mapping at all: header aliases guess; a registration officer who knows the file
should be able to say it once and have every later export of that partner read the same way.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from idpkit.errors import MappingError

REGISTER_FIELDS = ("record_id", "household_ref", "registration_event", "organisation",
                   "registration_date", "site_id", "area_pcode", "relationship", "first_name",
                   "father_name", "grandfather_name", "family_name", "full_name", "sex",
                   "date_of_birth", "dob_estimated", "year_of_birth", "age", "phone",
                   "phone_region", "id_number", "address", "locality", "postcode")
"""Every field a register column can be mapped to (the shared contract of issue 19)."""

DATE_FIELDS = ("date_of_birth", "registration_date")
REGION_BY = ("organisation", "area_pcode", "site_id")
ISO2 = re.compile(r"[A-Z]{2}")

ColumnRef = str | int
"""A file column: header text, an HXL tag (``#…``) or a 1-based position."""


def _iso2(v: str) -> str:
    v = str(v).strip().upper()
    if not ISO2.fullmatch(v):
        raise ValueError("must be an ISO 3166 alpha-2 country code such as SO")
    return v


class PhoneRegions(BaseModel):
    """Per-record default regions: the value of one column (organisation, area or site) decides."""

    model_config = ConfigDict(extra="forbid")
    by: Literal["organisation", "area_pcode", "site_id"]
    values: dict[str, str]

    @field_validator("values")
    @classmethod
    def _codes(cls, v: dict[str, str]) -> dict[str, str]:
        return {str(k).strip(): _iso2(c) for k, c in v.items()}


class RegisterMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sheet: str | None = None
    header_row: int = 1
    columns: dict[str, ColumnRef | list[ColumnRef]] = {}
    date_formats: list[str] = []
    phone_region: str | None = None
    phone_regions: PhoneRegions | None = None
    event: list[str] | None = None
    ignore: list[ColumnRef] = []
    path: str | None = None

    @field_validator("header_row")
    @classmethod
    def _row(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be a 1-based row number (1 or more)")
        return v

    @field_validator("columns")
    @classmethod
    def _fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        for field, ref in v.items():
            if field not in REGISTER_FIELDS:
                near = difflib.get_close_matches(field, REGISTER_FIELDS, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"{field!r} is not a register field{hint} (fields: "
                                 f"{', '.join(REGISTER_FIELDS)})")
            refs = ref if isinstance(ref, list) else [ref]
            if not refs or any(isinstance(r, int) and r < 1 for r in refs):
                raise ValueError(f"{field}: a header, an HXL tag or a 1-based position")
        return v

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        for f in v:
            if "%" not in f:
                raise ValueError(f"{f!r} is not a strftime format such as %d/%m/%Y")
        return v

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return None if v is None else _iso2(v)

    @field_validator("event")
    @classmethod
    def _event(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("name at least the household column, e.g. [household_ref]")
            bad = [c for c in v if c not in REGISTER_FIELDS]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a register field")
        return v

    @classmethod
    def load(cls, path: str | Path) -> RegisterMapping:
        """Read and check a mapping; any problem is one line naming the file and the key."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise MappingError(f"cannot read mapping: {' '.join(str(exc).split())}",
                               location=str(path)) from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise MappingError("a register mapping is YAML keys such as 'columns:' and "
                               f"'date_formats:', not a {type(data).__name__}",
                               location=str(path))
        data.pop("path", None)
        try:
            return cls(**{str(k): v for k, v in data.items()}, path=str(path))
        except ValidationError as exc:
            raise MappingError(_explain(exc), location=str(path)) from None


def _explain(exc: ValidationError) -> str:
    """One line for the first error: the key path, then what is wrong."""
    e = exc.errors()[0]
    loc = [str(x) for x in e["loc"] if str(x) not in ("str", "int", "list[union[str,int]]")]
    where = ".".join(loc) or "mapping"
    if e["type"] == "extra_forbidden":
        known = list(RegisterMapping.model_fields) if len(loc) == 1 else \
            list(PhoneRegions.model_fields)
        known = [k for k in known if k != "path"]
        near = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"{where}: unknown key{hint} (keys: {', '.join(known)})"
    msg = str(e["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}"
