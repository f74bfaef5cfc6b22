"""A survey's sampling design, as its analysts write it down (a YAML file beside the data).

Why a separate spec: the same microdata give different standard errors under different designs,
and the design is knowledge about how the survey was *drawn*, not something the data can tell. The
spec mirrors R's ``svydesign`` so that a statistician can check it against their own R code:

.. code-block:: yaml

    weights: hh_weight          # sampling weight column (or derived from fpc when omitted)
    strata: stratum             # optional
    psu: cluster                # stage-1 cluster (enumeration area); omit for element sampling
    ssu: household              # optional stage-2 unit (two-stage designs)
    fpc: [n_clusters, n_hh]     # population sizes (or sampling fractions <= 1) per stage
    nest: true                  # PSU ids repeat across strata (1, 2, ... within each)
    lonely_psu: adjust          # fail | remove | certainty | adjust | average (R's options)
    group: displacement_status  # population-group column
    groups: {idps: [1, "IDP"], non_displaced: [3, "host"]}   # raw values -> vocabulary
    area: pcode                 # area column (P-codes)
"""

from __future__ import annotations

from typing import Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from idpkit.errors import IdpkitError

LonelyPsu = Literal["fail", "remove", "certainty", "adjust", "average"]

GROUPS = ("idps", "returnees", "non_displaced", "host_community", "refugees", "migrants")
"""Population groups of a durable-solutions survey. ``non_displaced`` is IRIS' default comparison
group (residents who were never displaced); ``host_community`` is a selectable alternative."""


class DesignError(IdpkitError):
    """The design spec is invalid, or does not fit the data."""

    code = "invalid-survey-design"


class SurveyDesign(BaseModel):
    """How the survey was sampled, and which columns say who and where a household is."""

    model_config = ConfigDict(extra="forbid")

    weights: str | None = None
    strata: str | None = None
    psu: str | None = None
    ssu: str | None = None
    fpc: list[str] = Field(default_factory=list)
    nest: bool = False
    lonely_psu: LonelyPsu = "fail"
    group: str | None = None
    groups: dict[str, list[str | int | float]] | None = None
    area: str | None = None

    @field_validator("fpc", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        if v is None:
            return []
        return [v] if isinstance(v, str) else v

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, v: dict[str, list] | None) -> dict[str, list] | None:
        if v:
            unknown = sorted(set(v) - set(GROUPS))
            if unknown:
                raise ValueError(f"unknown population group(s) {unknown}; use {list(GROUPS)}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> SurveyDesign:
        if self.ssu and not self.psu:
            raise ValueError("ssu needs psu: a second stage is drawn inside first-stage clusters")
        if len(self.fpc) > self.stages:
            raise ValueError(f"fpc gives {len(self.fpc)} stages but the design has {self.stages}")
        if not self.weights and not self.fpc:
            raise ValueError("give weights, or fpc as population sizes to derive them from")
        return self

    @property
    def stages(self) -> int:
        return 2 if self.ssu else 1

    def columns(self) -> list[str]:
        """Every column the design reads (the data must have them)."""
        cols = [self.weights, self.strata, self.psu, self.ssu, *self.fpc, self.group, self.area]
        return [c for c in dict.fromkeys(cols) if c]

    @classmethod
    def from_dict(cls, data: dict, *, location: str | None = None) -> SurveyDesign:
        if not isinstance(data, dict):
            raise DesignError("the design must be a mapping of keys to columns", location=location)
        data = {k: v for k, v in data.items() if k not in ("data", "indicators", "survey")}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "design"
            raise DesignError(f"{where}: {first['msg']}", location=location) from exc
