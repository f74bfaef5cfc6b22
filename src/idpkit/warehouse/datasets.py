"""Imported datasets as a user manages them: list, show, remove, and the audit of those changes.

Removing is generated as SQL (:func:`removal_statements`) and run by the warehouse in one
transaction, so an import can put the same statements in front of its own inserts
(``Warehouse.atomic_insert(inserts, before=...)``) and replace a dataset atomically.

What removal deletes: every row whose ``dataset_id`` is a removed dataset, in every table of the
warehouse that has that column (found in the database's catalogue, so the tables other parts add,
such as the area view's activities and needs, are covered without being listed here), except the
audit trail itself. The ``sites`` table records a site once, attributed to the dataset that first
reported it: such a site is kept, and attributed to the earliest remaining dataset, when rows of a
remaining dataset still refer to its ``site_id``; otherwise it goes with its dataset.
"""

from __future__ import annotations

import difflib
import getpass
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from idpkit.errors import IdpkitError
from idpkit.warehouse.sqltext import literal, quote
from idpkit.warehouse.warehouse import Warehouse

LIST_COLUMNS = ["dataset_id", "file_name", "sheet", "assessment_type", "operation", "round",
                "reporting_date", "iso3", "rows_read", "rows_accepted", "rows_quarantined",
                "observations", "warnings", "imported_at"]
TOTAL_COLUMNS = ["reporting_date", "reported_level", "population_group", "unit", "metric",
                 "value"]
AUDIT_TABLE = "dataset_audit"
AUDIT_ACTIONS = ("import", "remove", "replace")
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class UnknownDatasetError(IdpkitError):
    """A dataset id that the warehouse does not hold."""

    code = "unknown-dataset"


@dataclass
class DatasetDetails:
    """Everything :func:`show_dataset` knows about one dataset."""

    dataset: dict[str, object]  # its datasets row, but column_mapping (parsed below)
    column_mapping: dict[str, object] | None  # column header -> role, as imported
    issues: pd.DataFrame  # code, severity, count
    quarantined_rows: int
    totals: pd.DataFrame  # TOTAL_COLUMNS: sums of sex = age_group = 'all' rows
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # its dataset_audit rows

    @property
    def dataset_id(self) -> str:
        return str(self.dataset["dataset_id"])

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (dates as ISO text, missing as None)."""
        return {"dataset": {k: plain(v) for k, v in self.dataset.items()},
                "column_mapping": self.column_mapping,
                "issues": records(self.issues),
                "quarantined_rows": self.quarantined_rows,
                "totals": records(self.totals),
                "history": records(self.history)}


def plain(v: object) -> object:
    """A value as JSON holds it: numbers, text, ISO dates, None for missing."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp | datetime):
        return None if pd.isna(v) else v.isoformat(sep=" ")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: plain(v) for k, v in r.items()} for r in df.to_dict("records")]


def _execute(expr) -> pd.DataFrame:
    """Run an Ibis table expression; date columns as dates (pandas makes them midnight times)."""
    df = expr.execute()
    for name, dtype in expr.schema().items():
        if dtype.is_date() and name in df:
            df[name] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in df[name]]
    return df


# ---------------------------------------------------------------------------------------- reading
def list_datasets(wh: Warehouse) -> pd.DataFrame:
    """One row per dataset (:data:`LIST_COLUMNS`), newest import first."""
    d = wh.table("datasets")
    return _execute(d.select(*LIST_COLUMNS).order_by([d.imported_at.desc(), d.dataset_id.desc()]))


def require_datasets(wh: Warehouse, dataset_ids: Iterable[str]) -> list[str]:
    """The ids, each once, in order; :class:`UnknownDatasetError` naming the closest existing ids
    when one is not in the warehouse."""
    ids = list(dict.fromkeys(str(i) for i in dataset_ids))
    d = wh.table("datasets")
    known = d.order_by([d.imported_at.desc(), d.dataset_id.desc()]).dataset_id.execute().tolist()
    held = set(known)
    missing = [i for i in ids if i not in held]
    if missing:
        raise UnknownDatasetError(_unknown_message(missing[0], known))
    return ids


def _unknown_message(given: str, known: Sequence[str]) -> str:
    if not known:
        return f"no dataset {given!r}: the warehouse holds no datasets"
    close = difflib.get_close_matches(given, known, n=3, cutoff=0.5)
    some = f"closest: {', '.join(close)}" if close else f"newest: {', '.join(known[:3])}"
    return f"no dataset {given!r}; {some} (idpkit datasets list shows them all)"


def show_dataset(wh: Warehouse, dataset_id: str) -> DatasetDetails:
    """The dataset's row, column mapping, issue counts, quarantined rows, stored totals and audit.

    Totals add only ``sex = 'all'`` and ``age_group = 'all'`` rows (disjoint parts by cause), per
    reporting date and per ``reported_level``: the DTM API repeats the same people at admin 0, 1
    and 2, and a file of several rounds counts stocks of several dates, so neither is added up.
    """
    (dataset_id,) = require_datasets(wh, [dataset_id])
    d = wh.table("datasets")
    row = _execute(d.filter(d.dataset_id == dataset_id)).iloc[0].to_dict()
    raw_mapping = row.pop("column_mapping", None)
    try:
        mapping = json.loads(raw_mapping or "null")
    except ValueError:
        mapping = {"(unreadable)": raw_mapping}

    i = wh.table("issues")
    i = i.filter(i.dataset_id == dataset_id)
    issues = i.group_by(["code", "severity"]).aggregate(count=i.count()).execute()
    issues = issues.assign(_rank=issues.severity.map(_SEVERITY_ORDER).fillna(9)) \
        .sort_values(["_rank", "code"]).drop(columns="_rank").reset_index(drop=True)

    q = wh.table("quarantine")
    quarantined = int(q.filter(q.dataset_id == dataset_id).count().execute())

    o = wh.table("observations")
    o = o.filter((o.dataset_id == dataset_id) & (o.sex == "all") & (o.age_group == "all"))
    keys = TOTAL_COLUMNS[:-1]
    totals = _execute(o.group_by(keys).aggregate(value=o.value.sum()).order_by(keys))

    a = wh.table(AUDIT_TABLE)
    history = a.filter((a.dataset_id == dataset_id) | (a.replaced_by == dataset_id)) \
        .order_by("audited_at").execute()
    return DatasetDetails(row, mapping, issues, quarantined, totals[TOTAL_COLUMNS], history)


# ---------------------------------------------------------------------------------------- removal
def _tables_with(wh: Warehouse, columns: Sequence[str]) -> dict[str, set[str]]:
    """Base tables of the warehouse (not views, not this connection's TEMP stages) holding any of
    ``columns``: table -> those of ``columns`` it has. Read from ``information_schema``, which
    DuckDB and PostgreSQL both keep, in one query."""
    wanted = ", ".join(literal(c) for c in columns)
    df = wh.backend.fetch_df(
        "SELECT c.table_name, c.column_name FROM information_schema.columns AS c "
        "JOIN information_schema.tables AS t ON t.table_catalog = c.table_catalog "
        "AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE t.table_type = 'BASE TABLE' AND t.table_catalog = current_database() "
        f"AND t.table_schema = current_schema() AND c.column_name IN ({wanted})")
    out: dict[str, set[str]] = {}
    for table, column in zip(df.iloc[:, 0], df.iloc[:, 1], strict=True):
        out.setdefault(str(table), set()).add(str(column))
    return out


def removal_statements(wh: Warehouse, dataset_ids: Iterable[str]) -> list[str]:
    """The SQL that removes these datasets from the warehouse, to run in one transaction.

    Portable (DuckDB and PostgreSQL), identifiers quoted, ids as escaped literals. In order:
    sites first recorded by a removed dataset that rows of a remaining dataset still refer to are
    attributed to the earliest of those datasets (by ``imported_at``); then every table with a
    ``dataset_id`` column (but ``dataset_audit``) loses the removed datasets' rows, ``datasets``
    last. The ids are not checked here (see :func:`require_datasets`).
    """
    ids = list(dict.fromkeys(str(i) for i in dataset_ids))
    if not ids:
        return []
    in_ids = "(" + ", ".join(literal(i) for i in ids) + ")"
    found = _tables_with(wh, ["dataset_id", "site_id"])
    owned = sorted(t for t, cols in found.items() if "dataset_id" in cols and t != AUDIT_TABLE)
    referring = [t for t in owned if t != "sites" and found[t] >= {"dataset_id", "site_id"}]
    statements = []
    if "sites" in owned and "datasets" in owned and referring:
        statements.append(_reattribute_sites(in_ids, referring))
    for t in sorted(owned, key=lambda t: t == "datasets"):  # the datasets rows last
        statements.append(f"DELETE FROM {quote(t)} WHERE {quote('dataset_id')} IN {in_ids}")
    return statements


def _reattribute_sites(in_ids: str, referring: Sequence[str]) -> str:
    """UPDATE giving each site of a removed dataset to the earliest remaining dataset whose rows
    (in any of the ``referring`` tables) name its ``site_id``; sites nobody else names are left
    to the DELETE that follows. Set-based (one pass over each referring table, not one per
    site): an UPDATE … FROM, which DuckDB and PostgreSQL both run."""
    ds, sid, sites = quote("dataset_id"), quote("site_id"), quote("sites")
    theirs = f"SELECT {sid} FROM {sites} WHERE {ds} IN {in_ids}"
    refs = " UNION ".join(f"SELECT {ds}, {sid} FROM {quote(t)} WHERE {sid} IN ({theirs}) "
                          f"AND {ds} NOT IN {in_ids}" for t in referring)
    ranked = (f"SELECT r.{sid}, d.{ds} AS heir, row_number() OVER (PARTITION BY r.{sid} "
              f"ORDER BY d.{quote('imported_at')}, d.{ds}) AS rn "
              f"FROM ({refs}) AS r JOIN {quote('datasets')} AS d ON d.{ds} = r.{ds}")
    return (f"UPDATE {sites} SET {ds} = h.heir FROM ({ranked}) AS h "
            f"WHERE h.rn = 1 AND {sites}.{sid} = h.{sid} AND {sites}.{ds} IN {in_ids}")


def audit_statement(action: str, dataset_id: str, *, replaced_by: str | None = None,
                    file_name: str | None = None, file_hash: str | None = None,
                    note: str | None = None, at: datetime | None = None) -> str:
    """An INSERT of one ``dataset_audit`` row (UTC time, the OS user, this idpkit's version), for
    the caller to run in the transaction that makes the change it records."""
    from idpkit import __version__

    if action not in AUDIT_ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(AUDIT_ACTIONS)}, not {action!r}")
    row = {"audited_at": (at or datetime.now(UTC)).replace(tzinfo=None, microsecond=0),
           "action": action, "dataset_id": dataset_id, "replaced_by": replaced_by,
           "file_name": file_name, "file_hash": file_hash, "os_user": _os_user(),
           "idpkit_version": __version__, "note": note}
    return (f"INSERT INTO {quote(AUDIT_TABLE)} ({', '.join(quote(c) for c in row)}) "
            f"VALUES ({', '.join(literal(v) for v in row.values())})")


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container without passwd entry
        return None


def remove_datasets(wh: Warehouse, dataset_ids: Iterable[str], note: str | None = None
                    ) -> pd.DataFrame:
    """Remove the datasets and record each removal in ``dataset_audit``, all in one transaction.

    Returns the removed datasets' rows as :func:`list_datasets` showed them. An unknown id raises
    :class:`UnknownDatasetError` and nothing changes.
    """
    ids = require_datasets(wh, dataset_ids)
    if not ids:
        return list_datasets(wh).iloc[0:0]
    d = wh.table("datasets")
    gone = d.filter(d.dataset_id.isin(ids)).select(*LIST_COLUMNS, "file_hash").execute()
    audits = [audit_statement("remove", r.dataset_id, file_name=r.file_name,
                              file_hash=r.file_hash, note=note) for r in gone.itertuples()]
    wh.execute_atomically(removal_statements(wh, ids) + audits)
    return gone[LIST_COLUMNS].set_index("dataset_id").loc[ids].reset_index()
