"""The register: personal data in a protected store, pseudonymised units in the warehouse.

Why two stores: figures, exports, the API and the dashboard read the warehouse; none of them may
see a name, a phone or a document number. Personal fields therefore never enter the warehouse:
they live in the *protected store* — a separate DuckDB file (``<warehouse>.register.duckdb`` or
``IDPKIT_REGISTER_DB``) or a separate PostgreSQL database that only protection officers can reach.
The warehouse gets ``register_units``: one row per registered person with keyed pseudonyms
(:mod:`idpkit.linkage.protect`), cluster pseudonyms after deduplication, area, site, sex, age group,
organisation and registration date — enough to count unique IDPs per area and site.

Protected tables: ``reg_people`` (the register as written, with its registration events, phone
regions and normalised columns), ``reg_pairs`` (scored candidate pairs of the last run),
``reg_clusters`` (each record's person and household cluster and the link that joined it),
``reg_model``, ``reg_decisions`` (a clerk's match / non-match decisions, respected on every run)
and ``reg_audit`` (who did what, when, why). Reading a file into the register's columns (mapping,
aliases, dates) is :mod:`idpkit.linkage.register_table`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa

from idpkit.errors import IdpkitError
from idpkit.linkage.dedup import prepare
from idpkit.linkage.events import registration_events
from idpkit.linkage.protect import pseudonym_key, pseudonymise
from idpkit.linkage.register_mapping import RegisterMapping
from idpkit.linkage.register_table import read_register
from idpkit.validate.issues import Issue
from idpkit.warehouse.warehouse import Warehouse, connect

S, I, F, D, T = dt.string, dt.int64, dt.float64, dt.date, dt.timestamp
REGISTER_COLUMNS = ["record_id", "household_ref", "registration_event", "organisation",
                    "registration_date", "site_id", "area_pcode", "relationship", "first_name",
                    "father_name", "grandfather_name", "family_name", "full_name", "sex",
                    "date_of_birth", "dob_estimated", "year_of_birth", "age", "phone",
                    "phone_region", "id_number", "address", "locality", "postcode"]
"""The register's columns in ``reg_people`` (the shared contract of issue 19)."""
REQUIRED = ["record_id"]
IDENTIFYING = ["first_name", "father_name", "grandfather_name", "family_name", "full_name",
               "date_of_birth", "phone", "id_number"]
"""A register needs at least one of these: without them no two records can be told apart."""

HEADER_ALIASES: dict[str, str] = {
    # how registration exports (proGres-like lists, Kobo forms, partner spreadsheets) name them
    "individual_id": "record_id", "person_id": "record_id", "id": "record_id",
    "registration_id": "record_id", "beneficiary_id": "record_id", "record": "record_id",
    "household_id": "household_ref", "hh_id": "household_ref", "household": "household_ref",
    "household_number": "household_ref", "case_number": "household_ref",
    "family_id": "household_ref", "menage": "household_ref", "id_menage": "household_ref",
    "first_name": "first_name", "given_name": "first_name", "firstname": "first_name",
    "prenom": "first_name", "name": "first_name",
    "father_name": "father_name", "fathers_name": "father_name", "second_name": "father_name",
    "middle_name": "father_name", "nom_du_pere": "father_name",
    "grandfather_name": "grandfather_name", "grandfathers_name": "grandfather_name",
    "third_name": "grandfather_name", "grand_father_name": "grandfather_name",
    "family_name": "family_name", "last_name": "family_name", "surname": "family_name",
    "lastname": "family_name", "nom": "family_name", "nom_de_famille": "family_name",
    "full_name": "full_name", "fullname": "full_name", "beneficiary_name": "full_name",
    "name_of_beneficiary": "full_name", "nom_complet": "full_name",
    "gender": "sex", "sexe": "sex",
    "dob": "date_of_birth", "birth_date": "date_of_birth", "date_de_naissance": "date_of_birth",
    "dob_estimated": "dob_estimated", "age_years": "age",
    "year_of_birth": "year_of_birth", "birth_year": "year_of_birth", "yob": "year_of_birth",
    "annee_de_naissance": "year_of_birth",
    "phone_number": "phone", "mobile": "phone", "telephone": "phone", "tel": "phone",
    "mobile_number": "phone", "contact_number": "phone",
    "national_id": "id_number", "id_number": "id_number", "document_number": "id_number",
    "id_card_number": "id_number", "numero_piece": "id_number",
    "relationship_to_head": "relationship", "relation_to_head": "relationship",
    "lien": "relationship",
    "admin2_pcode": "area_pcode", "adm2_pcode": "area_pcode", "pcode": "area_pcode",
    "p_code": "area_pcode", "location_pcode": "area_pcode",
    "site": "site_id", "site_code": "site_id", "camp_id": "site_id",
    "partner": "organisation", "organization": "organisation", "agency": "organisation",
    "date_of_registration": "registration_date", "registered_on": "registration_date",
    "address": "address", "street_address": "address", "adresse": "address",
    "village": "locality", "locality": "locality", "town": "locality", "city": "locality",
    "quartier": "locality", "neighbourhood": "locality", "neighborhood": "locality",
    "postcode": "postcode", "postal_code": "postcode", "zip": "postcode", "zip_code": "postcode",
}
"""Header variants -> register columns (after lower-casing and joining words with ``_``)."""


def _slug(c: object) -> str:
    """"Prénom " -> "prenom", "Phone Number" -> "phone_number"."""
    import re
    import unicodedata

    t = unicodedata.normalize("NFKD", str(c)).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "_", t.strip().lower()).strip("_")


def alias_fields(headers: list[str], taken: set[str] | None = None) -> dict[str, str]:
    """Header -> register column for headers the aliases recognise: exact names first, then known
    variants; a variant never overrides a column the file (or a mapping, ``taken``) already
    names exactly."""
    taken = set(taken or ())
    slugs = {c: _slug(c) for c in headers}
    exact = {c: s for c, s in slugs.items() if s in REGISTER_COLUMNS and s not in taken}
    out: dict[str, str] = {}
    for col, s in exact.items():
        if s not in taken:
            out[col] = s
            taken.add(s)
    for col, s in slugs.items():
        target = HEADER_ALIASES.get(s)
        if col not in out and target and target not in taken:
            out[col] = target
            taken.add(target)
    return out


PROTECTED_TABLES: dict[str, ibis.Schema] = {
    "reg_decisions": ibis.schema({"record_l": S, "record_r": S, "decision": S, "clerk": S,
                                  "reason": S, "decided_at": T}),
    "reg_audit": ibis.schema({"at": T, "actor": S, "action": S, "detail": S}),
}
UNITS = ibis.schema({"person_key": S, "household_key": S, "person_cluster": S,
                     "household_cluster": S, "area_pcode": S, "site_id": S, "sex": S,
                     "age_group": S, "organisation": S, "registration_date": D})


class RegisterError(IdpkitError):
    code = "register-error"


def protected_target(warehouse_target: str | None) -> str:
    """Where personal data live: ``IDPKIT_REGISTER_DB``, else beside a DuckDB warehouse."""
    env = os.environ.get("IDPKIT_REGISTER_DB")
    if env:
        return env
    from idpkit.warehouse.warehouse import default_target

    target = warehouse_target or default_target()
    if "://" in target:
        raise RegisterError("a PostgreSQL warehouse needs IDPKIT_REGISTER_DB: personal data must "
                            "live in a separate database")
    p = Path(target)
    return str(p.with_name(p.stem + ".register.duckdb"))


def open_protected(warehouse_target: str | None) -> Warehouse:
    """The protected store, readable by its owner only.

    Why: a DuckDB file is created with the process's umask (usually 0644), so any local user could
    read names and phones from it. It is created under umask 077 and set to 0600 on every open
    (an existing store made before this gets fixed too). DuckDB's ``.wal`` beside it lives only
    while the store is open and is set to 0600 when present at open; a WAL DuckDB creates later in
    the same session follows the process's umask until the store is closed (checkpointed)."""
    target = protected_target(warehouse_target)
    local = "://" not in target
    old = os.umask(0o077) if local else None
    try:
        wh = connect(target)
        wh.ensure_tables(PROTECTED_TABLES)
    finally:
        if old is not None:
            os.umask(old)
    if local:
        for path in (Path(target), Path(target + ".wal")):
            if path.exists():
                path.chmod(0o600)
    return wh


@dataclass
class RegisterImport:
    records: int
    quarantined: int
    issues: list[Issue]


def _age_group(age: pd.Series) -> pd.Series:
    bins = [-1, 4, 11, 17, 59, 200]
    labels = ["0-4", "5-11", "12-17", "18-59", "60+"]
    return pd.cut(pd.to_numeric(age, errors="coerce"), bins=bins, labels=labels).astype("object")


def _check(df: pd.DataFrame, file: str, rows: pd.Series) -> tuple[pd.DataFrame, list[Issue]]:
    """Row checks: missing record id, nothing to match by, duplicate record ids. Rows with errors
    are quarantined (kept out of the register, listed). ``rows``: each row's number in the file."""
    issues: list[Issue] = []
    miss = df.record_id.isna()
    for r in df.index[miss][:50]:
        issues.append(Issue("register-missing-field", "record_id is empty", file=file,
                            row=int(rows[r]), column="record_id"))
    bad = miss.copy()
    ident = [c for c in IDENTIFYING if c in df.columns]
    nothing = df[ident].isna().all(axis=1) & ~miss
    for r in df.index[nothing][:50]:
        issues.append(Issue("register-missing-field", "no name, date of birth, phone or "
                            "document number", file=file, row=int(rows[r]), column=ident[0]))
    bad |= nothing
    dup = df.record_id.duplicated(keep="first") & df.record_id.notna()
    for r in df.index[dup][:50]:
        issues.append(Issue("register-duplicate-id", "record id already used in this file",
                            file=file, row=int(rows[r]), column="record_id",
                            value=str(df.record_id[r])))
    bad |= dup
    return df[~bad], issues


def import_register(wh: Warehouse, path: str | Path, *, phone_region: str | None = None,
                    warehouse_target: str | None = None,
                    mapping: RegisterMapping | None = None) -> RegisterImport:
    """Add a registration export to the protected store (atomically) and its pseudonymised
    units to the warehouse. Records already in the register (same record id) are refused.

    ``mapping`` says which column is which (else the header aliases guess); ``phone_region``
    (``--phone-region``) replaces the mapping's default region, not its per-organisation or
    per-area regions, which are more specific."""
    path = Path(path)
    table = read_register(path, mapping)
    df, issues = table.frame, list(table.issues)
    if phone_region:
        phone_region = phone_region.strip().upper()
    df["phone_region"] = phone_regions(df, mapping, phone_region)
    # a file's own event column wins where filled (the organisation knows its rounds)
    df["registration_event"] = df["registration_event"].where(
        df["registration_event"].notna(),
        registration_events(df, by=mapping.event if mapping else None))
    ok, row_issues = _check(df, path.name, table.rows)
    issues += row_issues
    key = pseudonym_key()
    prot = open_protected(warehouse_target)
    try:
        existing = set()
        if "reg_people" in prot.con.list_tables():
            t = prot.table("reg_people")
            existing = set(t.filter(t.record_id.isin(ok.record_id.tolist())).record_id.execute())
        if existing:
            raise RegisterError(f"{len(existing)} record(s) already in the register (e.g. "
                                f"{sorted(existing)[0]!r}); nothing was imported",
                                location=str(path))
        ok = ok.reset_index(drop=True)
        model_cols = prepare_by_region(ok)
        people = ok[REGISTER_COLUMNS].astype("object")
        # the model's columns hold the normalised forms (M/F, E.164, cleaned ID)
        people = people.rename(columns={c: f"{c}_as_written" for c in AS_WRITTEN})
        extra = model_cols.drop(columns=[c for c in ("unique_id", "area_pcode", "household_key")
                                         if c in model_cols.columns])
        extra = extra.drop(columns=[c for c in extra.columns if c in people.columns])
        people = pd.concat([people, extra], axis=1)
        people["person_key"] = pseudonymise(people.record_id, key, prefix="p")
        # per household id (rounds of one family stay one household key); no id: the record
        people["household_key"] = pseudonymise(
            people.household_ref.fillna(people.registration_event), key, prefix="h")
        people["source_file"] = path.name
        _append(prot, "reg_people", people)
        _audit(prot, "import", f"{len(people)} records from {path.name}")
        units = pd.DataFrame({
            "person_key": people.person_key, "household_key": people.household_key,
            "person_cluster": None, "household_cluster": None,
            "area_pcode": people.area_pcode, "site_id": people.site_id,
            "sex": sex_codes(people.sex_as_written), "age_group": _age_group(people.age),
            "organisation": people.organisation,
            "registration_date": pd.to_datetime(people.registration_date,
                                                errors="coerce").dt.date})
        wh.ensure_tables({"register_units": UNITS})
        try:
            _append(wh, "register_units", units, schema=UNITS)
        except BaseException:  # two stores cannot share a transaction: undo the first write
            ids = ", ".join("'" + str(r).replace("'", "''") + "'" for r in people.record_id)
            prot.execute_atomically([f"DELETE FROM reg_people WHERE record_id IN ({ids})"])
            raise
    finally:
        prot.close()
    return RegisterImport(len(ok), len(df) - len(ok), issues)


AS_WRITTEN = ("sex", "phone", "id_number")
"""Register columns stored as written under ``<name>_as_written``: ``reg_people``'s own
``sex``, ``phone`` and ``id_number`` hold the normalised forms the model compares."""


def sex_codes(values: pd.Series) -> pd.Series:
    """M or F from what clerks write (M, male, F, femme …); anything else empty."""
    s = values.astype("string").str.strip().str.upper().str[:1]
    return s.where(s.isin(["M", "F"])).astype("object")


def as_registered(people: pd.DataFrame) -> pd.DataFrame:
    """``reg_people`` rows back as the register's columns (the as-written forms under their
    own names), for :func:`idpkit.linkage.dedup.prepare` at every run."""
    out = people.drop(columns=[c for c in AS_WRITTEN if c in people.columns])
    out = out.rename(columns={f"{c}_as_written": c for c in AS_WRITTEN})
    return out[[c for c in REGISTER_COLUMNS if c in out.columns]]


def prepare_by_region(records: pd.DataFrame) -> pd.DataFrame:
    """:func:`~idpkit.linkage.dedup.prepare` with each record's own ``phone_region`` as the
    default region of its local numbers: one call per distinct region (a register has a few),
    rows back in their order. Same result whether ``prepare`` reads the column itself or not."""
    region = records["phone_region"] if "phone_region" in records else \
        pd.Series(None, index=records.index, dtype=object)
    key = region.astype("string").fillna("")
    if key.nunique() <= 1:
        return prepare(records.reset_index(drop=True),
                       phone_region=(key.iloc[0] or None) if len(key) else None)
    parts = []
    for r, part in records.groupby(key.values, sort=False):
        p = prepare(part.reset_index(drop=True), phone_region=r or None)
        parts.append(p.set_axis(part.index))
    return pd.concat(parts).loc[records.index].reset_index(drop=True)


def phone_regions(df: pd.DataFrame, mapping: RegisterMapping | None,
                  default: str | None) -> pd.Series:
    """Each record's default phone region: a ``phone_region`` column of the file where filled,
    else the mapping's region for its organisation/area/site, else ``default`` (the
    ``--phone-region`` option) or the mapping's ``phone_region``."""
    out = df["phone_region"].astype("string").str.strip().str.upper()
    out = out.where(out.str.fullmatch(r"[A-Z]{2}").fillna(False))
    if mapping and mapping.phone_regions and mapping.phone_regions.by in df.columns:
        by = df[mapping.phone_regions.by].astype("string").str.strip()
        out = out.fillna(by.map(mapping.phone_regions.values).astype("string"))
    fallback = default or (mapping.phone_region if mapping else None)
    if fallback:
        out = out.fillna(fallback)
    return out.astype("object").where(out.notna(), None)


def _append(wh: Warehouse, table: str, df: pd.DataFrame, *,
            schema: ibis.Schema | None = None) -> None:
    """Append rows in one transaction (creating the table from the frame on first use)."""
    if schema is not None:
        arrow = pa.Table.from_pandas(df[list(schema.names)], schema=schema.to_pyarrow(),
                                     preserve_index=False)
    else:
        arrow = pa.Table.from_pandas(df.astype({c: "string" for c in df.columns
                                                if df[c].dtype == object}),
                                     preserve_index=False)
    stage = wh.backend.new_stage_name()
    wh.backend.load_arrow(stage, arrow)
    try:
        if table not in wh.con.list_tables():
            wh.execute_atomically([f'CREATE TABLE "{table}" AS SELECT * FROM "{stage}"'])
        else:
            cols = ", ".join(f'"{c}"' for c in arrow.column_names)
            wh.execute_atomically([f'INSERT INTO "{table}" ({cols}) SELECT {cols} '
                                   f'FROM "{stage}"'])
    finally:
        wh.backend.drop_stages([stage])


def _audit(prot: Warehouse, action: str, detail: str, actor: str | None = None) -> None:
    row = pd.DataFrame([{"at": datetime.now(timezone.utc).replace(tzinfo=None),
                         "actor": actor or os.environ.get("USER", "unknown"),
                         "action": action, "detail": detail}])
    _append(prot, "reg_audit", row, schema=PROTECTED_TABLES["reg_audit"])
