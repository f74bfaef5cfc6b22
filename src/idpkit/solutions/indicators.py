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

IRIS_CODES: dict[str, str] = {
    "1.1": "victims_of_violence", "1.2": "freedom_of_movement", "2.1": "food_security",
    "2.2": "shelter_housing", "2.3": "medical_services", "2.4": "education",
    "3.1": "employment_livelihoods", "3.2": "economic_security", "4.1": "property_restitution",
    "5.1": "documentation",
}
"""IRIS' numbering of the sub-criteria."""

IASC_CRITERIA: dict[int, str] = {
    1: "Long-term safety, security and freedom of movement",
    2: "Adequate standard of living",
    3: "Access to livelihoods and employment",
    4: "Restoration of housing, land and property",
    5: "Access to documentation",
    6: "Family reunification",
    7: "Participation in public affairs",
    8: "Access to effective remedies and justice",
}
"""The IASC Framework's eight criteria (IRIS measures 1-5)."""


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
    iasc: int | None = None  # IASC criterion 1-8
    iris: str | None = None  # IRIS sub-criterion code, 1.1-5.1
    question: str | None = None
    library_id: str | None = None  # the standard indicator it comes from

    @field_validator("sub_criterion")
    @classmethod
    def _known_sub(cls, v: str | None) -> str | None:
        if v is not None and v not in SUB_CRITERIA:
            raise ValueError(f"unknown IRIS sub-criterion {v!r}; use one of {list(SUB_CRITERIA)}")
        return v

    @model_validator(mode="after")
    def _criterion(self) -> IndicatorSpec:
        if self.iris is not None:
            if self.iris not in IRIS_CODES:
                raise ValueError(f"unknown IRIS sub-criterion code {self.iris!r}; use one of "
                                 f"{list(IRIS_CODES)}")
            self.sub_criterion = self.sub_criterion or IRIS_CODES[self.iris]
        if self.sub_criterion and not self.iris:
            self.iris = {v: k for k, v in IRIS_CODES.items()}[self.sub_criterion]
        if self.iasc is None and self.iris:
            self.iasc = int(self.iris[0])
        if self.iasc is not None and self.iasc not in IASC_CRITERIA:
            raise ValueError(f"IASC criterion must be 1-8, not {self.iasc}")
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


def library() -> dict[str, dict]:
    """idpkit's standard indicators (``solutions/library/indicators.yaml``), by id."""
    from importlib.resources import files

    import yaml

    text = files("idpkit.solutions").joinpath("library/indicators.yaml").read_text("utf-8")
    return {item["id"]: item for item in yaml.safe_load(text)}


def from_library(item: dict) -> IndicatorSpec:
    """A spec entry ``{use: ID, variable: COLUMN, ...}``: the library's definition with the
    survey's own columns (and any field overridden)."""
    lib = library()
    ref = item["use"]
    if ref not in lib:
        raise ValueError(f"no standard indicator {ref!r}; the library has {', '.join(lib)}")
    base = {k: v for k, v in lib[ref].items() if k not in ("id", "demo")}
    base["name"] = ref
    base["library_id"] = ref
    over = {k: v for k, v in item.items() if k != "use"}
    if "variable" not in over:
        raise ValueError(f"{ref}: give the survey's column for it as 'variable'")
    return IndicatorSpec.model_validate({**base, **over})
