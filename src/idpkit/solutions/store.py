"""Surveys in the warehouse: one table of microdata per survey, one row per survey in ``surveys``.

Why one wide table per survey (``survey_<id>``): surveys have their own questionnaires, and the
estimation engine reads many indicator columns in one pass; a long format would multiply the rows
by the number of questions. The ``surveys`` row keeps the design and indicators as imported (JSON),
the file's hash and the original column headers, so an estimate can always be traced to its file.

Imports are atomic: the microdata table and the ``surveys`` row are written in one transaction,
after every design check passed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import ibis.expr.types as ir
import yaml
from pydantic import ValidationError

from idpkit import __version__
from idpkit.errors import AlreadyImportedError, IdpkitError
from idpkit.solutions.checks import check_design, group_expression
from idpkit.solutions.design import DesignError, SurveyDesign
from idpkit.solutions.indicators import IndicatorSpec, from_library
from idpkit.solutions.reading import read_survey
from idpkit.validate.issues import Issue
from idpkit.warehouse.sqltext import literal
from idpkit.warehouse.warehouse import Warehouse

GROUP_COLUMN = "population_group"
AREA_COLUMN = "area_pcode"


class SurveyImportError(IdpkitError):
    """The survey does not fit its design; ``issues`` lists every reason (file, row, column)."""

    code = "survey-not-imported"

    def __init__(self, message: str, issues: list[Issue], *, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.issues = issues


@dataclass
class SurveySpec:
    """A survey spec file: identity, design and indicators."""

    survey_id: str | None
    title: str | None
    reference_date: date | None
    design: SurveyDesign
    indicators: list[IndicatorSpec] = field(default_factory=list)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SurveySpec:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DesignError(f"cannot read the survey spec: {exc}", location=str(path)) from exc
        return cls.from_dict(data, location=str(path))

    @classmethod
    def from_dict(cls, data: dict, *, location: str | None = None) -> SurveySpec:
        if not isinstance(data, dict):
            raise DesignError("the spec must be a mapping", location=location)
        meta = data.get("survey") or {}
        design = SurveyDesign.from_dict(data.get("design", data), location=location)
        inds = []
        for i, item in enumerate(data.get("indicators") or []):
            try:
                if isinstance(item, dict) and "use" in item:
                    inds.append(from_library(item))
                else:
                    inds.append(IndicatorSpec.model_validate(item))
            except ValueError as exc:
                if not isinstance(exc, ValidationError):
                    raise DesignError(f"indicators[{i}]: {exc}", location=location) from exc
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise DesignError(f"indicators[{i}] {where}: {first['msg']}",
                                  location=location) from exc
        ref = meta.get("reference_date")
        return cls(meta.get("id"), meta.get("title"),
                   ref if isinstance(ref, date) or ref is None else date.fromisoformat(str(ref)),
                   design, inds)


@dataclass
class StoredSurvey:
    survey_id: str
    table: ir.Table
    design: SurveyDesign
    indicators: list[IndicatorSpec]
    title: str | None = None
    reference_date: date | None = None
    households: int = 0


@dataclass
class SurveyImport:
    survey_id: str
    table_name: str
    households: int
    members: int
    warnings: list[Issue]


def slug(text: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    return s or "survey"


def _resolve(design: SurveyDesign, columns: dict[str, str], indicators: list[IndicatorSpec],
             location: str) -> tuple[SurveyDesign, list[IndicatorSpec]]:
    """Design and indicator columns may name the original headers or the cleaned names."""
    lookup = {c: c for c in columns}
    lookup.update({orig: clean for clean, orig in columns.items()})
    lookup.update({orig.lower(): clean for clean, orig in columns.items()})

    def one(name: str | None) -> str | None:
        if name is None:
            return None
        return lookup.get(name) or lookup.get(name.lower()) or name  # unknown: reported by checks

    upd = {k: one(getattr(design, k)) for k in ("weights", "strata", "psu", "ssu", "group", "area")}
    upd["fpc"] = [one(c) for c in design.fpc]
    inds = [i.model_copy(update={"variable": one(i.variable), "denominator": one(i.denominator)})
            for i in indicators]
    missing = [i.variable for i in inds if i.variable not in columns] + \
        [i.denominator for i in inds if i.denominator and i.denominator not in columns]
    if missing:
        raise DesignError(f"indicator column(s) not in the file: {', '.join(missing)}",
                          location=location)
    return design.model_copy(update=upd), inds


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_survey(wh: Warehouse, path: str | Path, spec: SurveySpec, *,
                  survey_id: str | None = None, sheet: str | None = None,
                  replace: bool = False) -> SurveyImport:
    """Read, check and store one survey. Raises :class:`SurveyImportError` with every finding
    when the design does not fit; nothing is written then."""
    path = Path(path)
    sid = slug(survey_id or spec.survey_id or path.stem)
    table_name = f"survey_{sid}"
    surveys = wh.table("surveys")
    digest = _sha256(path)
    prior = surveys.filter((surveys.file_hash == digest) & (surveys.survey_id != sid)).select(
        "survey_id").limit(1).execute()
    if len(prior):
        raise AlreadyImportedError(f"this file was already imported as survey "
                                   f"{prior.survey_id[0]!r}", location=str(path))
    exists = int(surveys.filter(surveys.survey_id == sid).count().execute())
    if exists and not replace:
        raise IdpkitError(f"survey {sid!r} already exists; use --replace to replace it",
                          location=str(path))
    data = read_survey(path, sheet=sheet or None)
    design, indicators = _resolve(spec.design, data.columns, spec.indicators, str(path))
    stages: list[str] = []
    try:
        stage = wh.backend.new_stage_name()
        wh.backend.load_arrow(stage, data.households)
        stages.append(stage)
        t = wh.table(stage)
        known = wh.table("areas") if design.area else None
        if known is not None and int(known.count().execute()) == 0:
            known = None
        issues = check_design(t, design, file=path.name, sheet=data.sheet, known_pcodes=known)
        for i in issues:  # name columns as the file's header does
            i.column = data.columns.get(i.column, i.column) if i.column else i.column
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            raise SurveyImportError(
                f"the survey does not fit its design: {len(errors)} problem(s); nothing was "
                "imported", issues, location=str(path))
        extra = {}
        if design.group:
            extra[GROUP_COLUMN] = group_expression(t, design)
        if design.area:
            extra[AREA_COLUMN] = t[design.area].cast("string").strip()
        stored = t.mutate(**extra) if extra else t
        stored_design = design.model_copy(update={
            "group": GROUP_COLUMN if design.group else None, "groups": None,
            "area": AREA_COLUMN if design.area else None})
        n = int(t.count().execute())
        statements = []
        if exists:
            statements += [f'DROP TABLE IF EXISTS "{table_name}"',
                           f'DROP TABLE IF EXISTS "{table_name}_members"',
                           f"DELETE FROM surveys WHERE survey_id = {literal(sid)}"]
        statements.append(f'CREATE TABLE "{table_name}" AS {wh.backend.sql(stored)}')
        n_members = 0
        members_table = None
        if data.members is not None:
            mstage = wh.backend.new_stage_name()
            wh.backend.load_arrow(mstage, data.members)
            stages.append(mstage)
            members_table = f"{table_name}_members"
            statements.append(f'CREATE TABLE "{members_table}" AS SELECT * FROM "{mstage}"')
            n_members = data.members.num_rows
        row = {
            "survey_id": sid, "title": spec.title, "table_name": table_name,
            "members_table": members_table, "file_name": path.name, "file_hash": digest,
            "file_bytes": path.stat().st_size, "sheet": data.sheet,
            "design": stored_design.model_dump_json(),
            "indicators": json.dumps([i.model_dump() for i in indicators]),
            "column_names": json.dumps(data.columns, ensure_ascii=False),
            "households": n, "members": n_members, "reference_date": spec.reference_date,
            "imported_at": datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0),
            "idpkit_version": __version__,
        }
        cols = ", ".join(f'"{c}"' for c in row)
        statements.append(f"INSERT INTO surveys ({cols}) VALUES "
                          f"({', '.join(literal(v) for v in row.values())})")
        wh.execute_atomically(statements)
    finally:
        wh.backend.drop_stages(stages)
    return SurveyImport(sid, table_name, n, n_members,
                        [i for i in issues if i.severity != "error"])


def list_surveys(wh: Warehouse):  # -> pandas.DataFrame
    s = wh.table("surveys")
    return s.select("survey_id", "title", "file_name", "households", "members",
                    "reference_date", "imported_at").order_by("survey_id").execute()


def load_survey(wh: Warehouse, survey_id: str) -> StoredSurvey:
    s = wh.table("surveys")
    rows = s.filter(s.survey_id == slug(survey_id)).execute()
    if rows.empty:
        known = ", ".join(list_surveys(wh).survey_id) or "none imported yet"
        raise IdpkitError(f"no survey {survey_id!r} (surveys: {known})")
    r = rows.iloc[0]
    design = SurveyDesign.model_validate_json(r.design)
    inds = [IndicatorSpec.model_validate(i) for i in json.loads(r.indicators or "[]")]
    ref = r.reference_date
    return StoredSurvey(r.survey_id, wh.table(r.table_name), design, inds, r.title,
                        None if ref is None or ref != ref else ref, int(r.households))

