"""How the API answers: formats, the rendering of a table, and the error shape.

Why a module of its own: the routers (:mod:`.area_view`, :mod:`.forecasts`, uploads) render tables
and raise errors exactly as :func:`idpkit.api.app.create_app` does; they used to import these from
``api/app.py``, which imports the routers — a circle. Now ``app`` and the routers import from here.
CSV and HXL are written by the one writer of the project (:func:`idpkit.figures.output.to_csv`).
"""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from typing import Annotated, Any

import pandas as pd
from fastapi.responses import JSONResponse
from pydantic import AfterValidator


class Format(str, Enum):
    json = "json"
    csv = "csv"
    hxl = "hxl"
    geojson = "geojson"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, location: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.location = status, code, message, location


#: The calendar the figures can compute on: pandas' nanosecond timestamps hold 1677-09-21 to
#: 2262-04-11; whole years inside that, so month ends and period bounds stay representable.
EARLIEST_DATE, LATEST_DATE = date(1678, 1, 1), date(2261, 12, 31)


def _within_calendar(d: date) -> date:
    if not EARLIEST_DATE <= d <= LATEST_DATE:
        raise ValueError(f"dates must lie between {EARLIEST_DATE.isoformat()} and "
                         f"{LATEST_DATE.isoformat()}")
    return d


#: A date query parameter: ISO, and within the calendar the figures compute on (a 422, not a 500).
ApiDate = Annotated[date, AfterValidator(_within_calendar)]


def error_response(status: int, code: str, message: str, location: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "location": location}},
                        status_code=status)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))


def render(df: pd.DataFrame, fmt: Format, *, hxl_tags: dict[str, str] | None = None,
            meta: dict[str, Any] | None = None) -> tuple[bytes, str]:
    if fmt == Format.csv or fmt == Format.hxl:
        from idpkit.figures.output import to_csv  # the one CSV/HXL writer (CLI, API, release)

        text = to_csv(df, hxl=fmt == Format.hxl, tags=hxl_tags)
        return text.encode("utf-8"), "text/csv; charset=utf-8"
    body = {"data": records(df), **(meta or {})}
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
