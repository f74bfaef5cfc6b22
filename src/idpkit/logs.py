"""Where library logs go when idpkit runs as a command: a log file, and the terminal only when
asked (``idpkit --verbose …``).

Why: Splink reports every training step (170-255 lines per ``dedup run``), and a registration
officer needs the one-line result and a progress bar, not EM iterations. The lines are still
useful when a run looks wrong, so they are kept in a file rather than dropped:
``$IDPKIT_LOG`` if set, else ``idpkit.log`` in the user's cache folder
(``$XDG_CACHE_HOME/idpkit`` or ``~/.cache/idpkit``; ``%LOCALAPPDATA%\\idpkit`` on Windows),
rotated at 5 MB (three old files kept). The folder is private (0700) and the file 0600, like the
pseudonymisation key: log lines name the register's columns, never their values, but they
describe protected work.

Splink installs its own terminal handler only when no handler is configured anywhere above its
logger; the handlers set here on the root logger are therefore enough to keep it off the
terminal. The library itself never configures logging: only the CLI calls :func:`setup`.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_ENV = "IDPKIT_LOG"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_idpkit_handler"


def log_path() -> Path:
    """The log file (see the module docstring)."""
    env = os.environ.get(LOG_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "idpkit" / "idpkit.log"


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A log file that never interrupts work: a line that cannot be written (disk full, the
    folder removed) is dropped rather than printed to stderr with a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass


def _file_handler(path: Path) -> logging.Handler | None:
    """A rotating, private log file; None when it cannot be written (a read-only home must not
    stop a command: the logs are a convenience)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            path.touch(mode=0o600)
        handler = _QuietFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8",
                                    delay=True)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def setup(*, verbose: bool = False) -> Path | None:
    """Send every library's logs (INFO and above) to the log file, and to stderr too when
    ``verbose``. Idempotent: a second call replaces the handlers of the first. Returns the log
    file, or None when it could not be opened."""
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(h)
        h.close()
    path = log_path()
    handlers: list[logging.Handler] = []
    file = _file_handler(path)
    if file is not None:
        handlers.append(file)
    if verbose:
        term = logging.StreamHandler()  # stderr, read when each line is written
        term.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        handlers.append(term)
    if not handlers:  # no file and not verbose: a sink, so Splink adds no terminal handler
        handlers.append(logging.NullHandler())
    for h in handlers:
        setattr(h, _MARK, True)
        root.addHandler(h)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    splink = logging.getLogger("splink")
    for h in list(splink.handlers):  # a handler Splink added before setup (same process)
        if getattr(h, "_splink_default_handler", False):
            splink.removeHandler(h)
            h.close()
    splink.propagate = True
    return path if file is not None else None
