"""Durable-solutions indicators and the IRIS criteria they measure.

IRIS (International Recommendations on IDP Statistics, 2020) measures progress on five of the IASC
Framework's eight criteria, split into ten sub-criteria. Each indicator in a survey's spec names its
sub-criterion (hence its criterion) and which direction is better, so that a gap can be read as
"IDPs worse off" or "better off" without guessing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from idpkit.solutions.estimate import Indicator

CRITERIA: dict[str, str] = {
    "safety_security": "Long-term safety, security and freedom of movement",
    "standard_of_living": "Adequate standard of living",
    "livelihoods_employment": "Access to livelihoods and employment",
    "housing_land_property": "Restoration of housing, land and property",
    "documentation": "Access to documentation",
}

SUB_CRITERIA: dict[str, str] = {
    "victims_of_violence": "safety_security",
    "freedom_of_movement": "safety_security",
    "food_security": "standard_of_living",
    "shelter_housing": "standard_of_living",
    "medical_services": "standard_of_living",
    "education": "standard_of_living",
    "employment_livelihoods": "livelihoods_employment",
    "economic_security": "livelihoods_employment",
    "property_restitution": "housing_land_property",
    "documentation": "documentation",
}
"""IRIS' ten sub-criteria -> their criterion."""


class IndicatorSpec(BaseModel):
    """One indicator as written in a survey spec (YAML)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    variable: str
    statistic: Literal["mean", "proportion", "total", "ratio"] = "mean"
    level: str | None = None
    denominator: str | None = None
    sub_criterion: str | None = None
    criterion: str | None = None
    better: Literal["higher", "lower"] = "higher"
    label: str | None = None
    benchmark: float | None = None  # exit measure: the household passes at or beyond this value

    @field_validator("sub_criterion")
    @classmethod
    def _known_sub(cls, v: str | None) -> str | None:
        if v is not None and v not in SUB_CRITERIA:
            raise ValueError(f"unknown IRIS sub-criterion {v!r}; use one of {list(SUB_CRITERIA)}")
        return v

    @model_validator(mode="after")
    def _criterion(self) -> IndicatorSpec:
        if self.sub_criterion and not self.criterion:
            self.criterion = SUB_CRITERIA[self.sub_criterion]
        if self.criterion is not None and self.criterion not in CRITERIA:
            raise ValueError(f"unknown IRIS criterion {self.criterion!r}; use one of "
                             f"{list(CRITERIA)}")
        if self.statistic == "ratio" and not self.denominator:
            raise ValueError("a ratio needs a denominator")
        return self

    def engine(self) -> Indicator:
        return Indicator(self.name, self.statistic, self.variable, self.denominator, self.level)
