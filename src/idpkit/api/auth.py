"""API tokens and roles. Tokens are random secrets shown once; only their SHA-256 is stored.

Roles (what each may read):

``public``      rounded and suppressed figures, areas, dataset summaries (no token needed);
``analyst``     unrounded figures, validation findings, survey results;
``protection``  registration units (pseudonymised) — personal fields stay in the protected store;
``admin``       everything, and uploads.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from idpkit.warehouse.warehouse import Warehouse

ROLES = ("public", "analyst", "protection", "admin")
GRANTS: dict[str, set[str]] = {
    "public": {"public"},
    "analyst": {"public", "analyst"},
    "protection": {"public", "protection"},
    "admin": {"public", "analyst", "protection", "admin"},
}
TOKENS = ibis.schema({"token_hash": dt.string, "name": dt.string, "role": dt.string,
                      "created_at": dt.timestamp, "revoked": dt.boolean})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(wh: Warehouse, name: str, role: str) -> str:
    """A new token for ``role``; the secret is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    wh.ensure_tables({"api_tokens": TOKENS})
    token = "idp_" + secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    esc = name.replace("'", "''")
    wh.execute_atomically([
        f"INSERT INTO api_tokens (token_hash, name, role, created_at, revoked) VALUES "
        f"('{_hash(token)}', '{esc}', '{role}', TIMESTAMP '{now.isoformat(sep=' ')}', FALSE)"])
    return token


def role_of(wh: Warehouse, token: str | None) -> str | None:
    """The role of a presented token (``public`` without one); None for an unknown token."""
    if not token:
        return "public"
    if "api_tokens" not in wh.con.list_tables():
        return None
    t = wh.table("api_tokens")
    rows = t.filter((t.token_hash == _hash(token)) & ~t.revoked).select("role").execute()
    return str(rows.role.iloc[0]) if len(rows) else None


def list_tokens(wh: Warehouse) -> pd.DataFrame:
    if "api_tokens" not in wh.con.list_tables():
        return pd.DataFrame(columns=["name", "role", "created_at", "revoked"])
    return wh.table("api_tokens").select("name", "role", "created_at", "revoked").execute()


def revoke(wh: Warehouse, name: str) -> int:
    if "api_tokens" not in wh.con.list_tables():
        return 0
    t = wh.table("api_tokens")
    n = int(t.filter((t.name == name) & ~t.revoked).count().execute())
    esc = name.replace("'", "''")
    wh.execute_atomically([f"UPDATE api_tokens SET revoked = TRUE WHERE name = '{esc}'"])
    return n
