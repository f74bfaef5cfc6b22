"""The register: personal data in a protected store, pseudonymised units in the warehouse.

Why two stores: figures, exports, the API and the dashboard read the warehouse; none of them may
see a name, a phone or a document number. Personal fields therefore never enter the warehouse:
they live in the *protected store* — a separate DuckDB file (``<warehouse>.register.duckdb`` or
``IDPKIT_REGISTER_DB``) or a separate PostgreSQL database that only protection officers can reach.
The warehouse gets ``register_units``: one row per registered person with keyed pseudonyms
(:mod:`idpkit.linkage.protect`), cluster pseudonyms after deduplication, area, site, sex, age group,
organisation and registration date — enough to count unique IDPs per area and site.

Protected tables: ``reg_people`` (the register, with normalised columns for matching),
``reg_pairs`` (scored candidate pairs of the last run), ``reg_decisions`` (a clerk's match /
non-match decisions, respected on every run) and ``reg_audit`` (who did what, when, why).
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
from idpkit.linkage.protect import pseudonym_key, pseudonymise
from idpkit.validate.issues import Issue
from idpkit.warehouse.warehouse import Warehouse, connect

S, I, F, D, T = dt.string, dt.int64, dt.float64, dt.date, dt.timestamp
REGISTER_COLUMNS = ["record_id", "household_ref", "organisation", "registration_date", "site_id",
                    "area_pcode", "relationship", "first_name", "father_name", "family_name",
                    "sex", "date_of_birth", "age", "phone", "id_number"]
REQUIRED = ["record_id", "household_ref"]

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
    "family_name": "family_name", "last_name": "family_name", "surname": "family_name",
    "lastname": "family_name", "nom": "family_name", "nom_de_famille": "family_name",
    "gender": "sex", "sexe": "sex",
    "dob": "date_of_birth", "birth_date": "date_of_birth", "date_de_naissance": "date_of_birth",
    "dob_estimated": "dob_estimated", "age_years": "age",
    "phone_number": "phone", "mobile": "phone", "telephone": "phone", "tel": "phone",
    "mobile_number": "phone", "contact_number": "phone",
    "national_id": "id_number", "id_number": "id_number", "document_number": "id_number",
    "id_card_number": "id_number", "numero_piece": "id_number",
    "relationship_to_head": "relationship", "relation_to_head": "relationship", "lien": "relationship",
    "admin2_pcode": "area_pcode", "adm2_pcode": "area_pcode", "pcode": "area_pcode",
    "p_code": "area_pcode", "location_pcode": "area_pcode",
    "site": "site_id", "site_code": "site_id", "camp_id": "site_id",
    "partner": "organisation", "organization": "organisation", "agency": "organisation",
    "date_of_registration": "registration_date", "registered_on": "registration_date",
}
"""Header variants -> register columns (after lower-casing and joining words with ``_``)."""


def _standard_headers(df: pd.DataFrame) -> pd.DataFrame:
    """Rename headers to the register's columns: exact names first, then known variants; a
    variant never overrides a column the file already names exactly."""
    import re
    import unicodedata

    def slug(c: object) -> str:  # "Prénom " -> "prenom", "Phone Number" -> "phone_number"
        t = unicodedata.normalize("NFKD", str(c)).encode("ascii", "ignore").decode()
        return re.sub(r"[^0-9a-z]+", "_", t.strip().lower()).strip("_")

    slugs = {c: slug(c) for c in df.columns}
    taken = {s for s in slugs.values() if s in REGISTER_COLUMNS or s == "dob_estimated"}
    rename = {}
    for col, slug in slugs.items():
        target = slug if slug in REGISTER_COLUMNS or slug == "dob_estimated" else \
            HEADER_ALIASES.get(slug)
        if target and (target == slug or target not in taken):
            rename[col] = target
            taken.add(target)
    return df.rename(columns=rename)

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
    wh = connect(protected_target(warehouse_target))
    wh.ensure_tables(PROTECTED_TABLES)
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


def _check(df: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Issue]]:
    """Row checks: missing record id or household, no name at all, duplicate record ids.
    Rows with errors are quarantined (kept out of the register, listed)."""
    issues: list[Issue] = []
    bad = pd.Series(False, index=df.index)
    for col in REQUIRED:
        miss = df[col].isna() | (df[col].astype("string").str.strip() == "")
        for r in df.index[miss][:50]:
            issues.append(Issue("register-missing-field",
                                f"{col} is empty", file=file, row=int(r) + 2, column=col))
        bad |= miss
    no_name = df[["first_name", "family_name"]].isna().all(axis=1)
    for r in df.index[no_name][:50]:
        issues.append(Issue("register-missing-field", "no first or family name", file=file,
                            row=int(r) + 2, column="first_name"))
    bad |= no_name
    dup = df.record_id.duplicated(keep="first") & df.record_id.notna()
    for r in df.index[dup][:50]:
        issues.append(Issue("register-duplicate-id", "record id already used in this file",
                            file=file, row=int(r) + 2, column="record_id",
                            value=str(df.record_id[r])))
    bad |= dup
    return df[~bad], issues


def import_register(wh: Warehouse, path: str | Path, *, phone_region: str | None = None,
                    warehouse_target: str | None = None) -> RegisterImport:
    """Add a registration export to the protected store (atomically) and its pseudonymised
    units to the warehouse. Records already in the register (same record id) are refused."""
    path = Path(path)
    try:
        df = pd.read_excel(path, dtype=str) if path.suffix.lower() in (".xlsx", ".xls") else \
            pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # pandas raises many types for broken files
        raise RegisterError(f"cannot read the register: {exc}", location=str(path)) from exc
    df = _standard_headers(df)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise RegisterError(f"missing column(s) {', '.join(missing)} (headers read: "
                            f"{', '.join(map(str, df.columns[:12]))})", location=str(path))
    for c in REGISTER_COLUMNS:
        if c not in df.columns:
            df[c] = None
    ok, issues = _check(df, path.name)
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
        model_cols = prepare(ok.reset_index(drop=True), phone_region=phone_region)
        people = ok[REGISTER_COLUMNS].reset_index(drop=True).astype("object")
        # the model's columns hold the normalised forms (M/F, E.164, cleaned ID)
        people = people.rename(columns={c: f"{c}_as_written" for c in ("sex", "phone",
                                                                        "id_number")})
        people = pd.concat([people, model_cols.drop(columns=["unique_id", "area_pcode",
                                                             "household_key"])], axis=1)
        people["person_key"] = pseudonymise(people.record_id, key, prefix="p")
        people["household_key"] = pseudonymise(people.household_ref, key, prefix="h")
        people["source_file"] = path.name
        _append(prot, "reg_people", people)
        _audit(prot, "import", f"{len(people)} records from {path.name}")
        units = pd.DataFrame({
            "person_key": people.person_key, "household_key": people.household_key,
            "person_cluster": None, "household_cluster": None,
            "area_pcode": people.area_pcode, "site_id": people.site_id,
            "sex": model_cols.sex, "age_group": _age_group(people.age),
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
