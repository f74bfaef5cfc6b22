"""One root for every exception idpkit raises on purpose.

Findings *about data* are not exceptions (see :mod:`idpkit.validate.issues`); these are for when a job
cannot go on: a file that cannot be read at all, a warehouse that cannot be reached. Each edge (CLI, API)
catches :class:`IdpkitError` and shows ``Error: …`` without a traceback.
"""

from __future__ import annotations


class IdpkitError(Exception):
    """Root of idpkit's errors. ``code`` is stable and kebab-case, like issue codes."""

    code = "idpkit-error"

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class UnreadableFileError(IdpkitError):
    """The file cannot be read as any supported format (empty, binary, truncated, wrong encoding)."""

    code = "unreadable-file"


class HostileFileError(IdpkitError):
    """The file looks built to harm the reader (zip bomb, path tricks, oversized parts)."""

    code = "hostile-file"


class NoDataFoundError(IdpkitError):
    """No sheet or header with recognisable displacement columns was found."""

    code = "no-data-found"


class NotDisplacementFiguresError(NoDataFoundError):
    """The file holds numbers about people of another kind (a who-does-what-where report, people
    in need, household-survey microdata); the message names the command that imports it."""

    code = "not-displacement-figures"


class MappingError(IdpkitError):
    """A user-supplied mapping file is invalid or names columns that do not exist."""

    code = "invalid-mapping"


class WarehouseError(IdpkitError):
    """The warehouse cannot be opened or written."""

    code = "warehouse-error"


class AlreadyImportedError(IdpkitError):
    """The same file content was imported before; importing again would double count."""

    code = "already-imported"


class ImplausibleImportError(IdpkitError):
    """The import as a whole is implausible (one rule quarantining most rows, no area placed, no
    date or country, counts from weak evidence): stopped before writing; the message says what
    was seen and what fixes it (``--accept-as-is`` stores it anyway)."""

    code = "implausible-import"
