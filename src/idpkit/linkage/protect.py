"""Pseudonymisation: keyed hashes of register keys, with the key kept outside the warehouse.

Why keyed (HMAC-SHA256) and not a plain hash: a plain hash of a registration number or a phone can
be reversed by hashing every possible value; a keyed hash cannot without the key. The key lives in
``IDPKIT_PSEUDONYM_KEY`` (hex or text) or in a key file given by ``IDPKIT_PSEUDONYM_KEY_FILE``
(default ``~/.config/idpkit/pseudonym.key``, created with mode 0600 on first use). It is never
written to any table, so a copy of the warehouse alone cannot link pseudonyms back to people.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from idpkit.errors import IdpkitError

KEY_ENV = "IDPKIT_PSEUDONYM_KEY"
KEY_FILE_ENV = "IDPKIT_PSEUDONYM_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/idpkit/pseudonym.key")


class KeyError_(IdpkitError):
    code = "pseudonym-key"


def pseudonym_key(*, create: bool = True) -> bytes:
    """The pseudonymisation key: from the environment, else the key file (created if asked)."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            return bytes.fromhex(env)
        except ValueError:
            return env.encode("utf-8")
    path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    if not create:
        raise KeyError_(f"no pseudonymisation key: set {KEY_ENV} or create {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def pseudonymise(values: pd.Series, key: bytes, *, prefix: str = "p") -> pd.Series:
    """Keyed hash of each value (16 hex characters: unique enough for a register of millions,
    short enough to read); missing values stay missing."""
    distinct = values.dropna().unique()
    mapping = {v: prefix + hmac.new(key, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:16]
               for v in distinct}
    return values.map(mapping)
