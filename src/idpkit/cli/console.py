"""The CLI's one console, its shared state and the helpers every command module uses.

Why a module of its own: every sub-command module (figures, register, areas, forecast, …) needs
the console, the warehouse opener and the progress display. They used to live in ``cli/app.py``,
which imports those modules to register their commands, so each module imported ``app`` back —
a circle that made import order matter. Now ``app`` and the command modules import from here,
and imports run one way. All terminal output goes through :data:`console` (standard output: the
results) and :data:`err` (standard error: progress, messages, errors); library logs go to the log
file (:mod:`idpkit.logs`), never around them.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from idpkit.errors import IdpkitError

console = Console(stderr=False, highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one-line errors, never wrapped


STATE = {"debug": False}


def print_unexpected(exc: BaseException, *, command: str, file: Path | None = None) -> None:
    """The CLI's boundary for a bug: with ``--debug`` re-raise ``exc`` (the traceback is for
    developers), else write a crash report and print ``Error: FILE: idpkit could not read this file
    (internal error: T). A crash report … was written to PATH …``. An
    :class:`~idpkit.errors.IdpkitError` is re-raised too (it is not a bug: :func:`main` shows it).

    A command that reads a file calls it and exits 2::

        except Exception as exc:
            print_unexpected(exc, command="inspect", file=path)
            raise typer.Exit(2)
    """
    from idpkit.crashreport import report_unexpected

    if STATE["debug"] or isinstance(exc, IdpkitError):
        raise exc
    line = report_unexpected(exc, command=command, file=file)
    err.print(f"[red]Error:[/red] {escape(line.removeprefix('Error: '))}")


def self_command() -> str:
    """How the user can run idpkit again, as they ran it: ``idpkit`` when that name on PATH is
    this program, else its path (``.venv/bin/idpkit`` after ``make demo``, where the bare name is
    "command not found")."""
    import shutil

    exe = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if exe is None or exe.name != "idpkit":
        return f"{sys.executable} -m idpkit.cli"
    found = shutil.which("idpkit")
    if found and Path(found).resolve() == exe.resolve():
        return "idpkit"
    try:
        return str(exe.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


CREATING_COMMANDS = {"ingest", "demo", "import", "load"}
"""Commands that may create a new DuckDB warehouse (they put data into it); every other command
refuses a path where no warehouse exists, unless ``idpkit --create`` is given."""


def creating_command() -> bool:
    """Whether the running command adds data (the last word of its command path)."""
    try:  # Typer (0.29+) runs commands in its own copy of click, with its own context stack
        from typer._click.globals import get_current_context
    except ImportError:  # older Typer: click's
        from click import get_current_context

    ctx = get_current_context(silent=True)
    return bool(STATE.get("create")) or ctx is None or \
        ctx.command_path.split()[-1] in CREATING_COMMANDS


def open_warehouse(db: str | None, *, create: bool | None = None):
    """The warehouse of ``--db`` (or ``$IDPKIT_DB`` / ``./idpkit.duckdb``). A DuckDB path with no
    file is an error for commands that only read: a mistyped ``--db`` used to create an empty
    warehouse and answer "nothing here" with exit 0."""
    from idpkit.errors import WarehouseError
    from idpkit.warehouse import connect
    from idpkit.warehouse.warehouse import default_target

    target = db or default_target()
    if create is None:
        create = creating_command()
    if ":" not in target.split("/")[0] and not Path(target).exists() and not create:
        raise WarehouseError(
            f"no warehouse at {target}: check --db (or $IDPKIT_DB). `idpkit ingest FILE --db "
            f"{target}` creates one with data; `idpkit --create …` creates an empty one.")
    return connect(target)


@contextlib.contextmanager
def dry_run_warehouse(db: str | None, *, throwaway: bool = False) -> Iterator[Any]:
    """The warehouse a dry run reads (``validate``, ``inspect``): the one ``--db`` names (its
    areas and earlier rounds), else the default one if it exists (unless ``throwaway``); where
    none exists yet, a throwaway DuckDB file with the embedded gazetteer — what an import into a
    new warehouse would meet. A dry run never writes, and never leaves a new warehouse behind."""
    from idpkit.warehouse.warehouse import default_target

    target = db if db is not None else None if throwaway else default_target()
    if target is not None and (":" in target.split("/")[0] or Path(target).exists()):
        with open_warehouse(target, create=False) as wh:
            yield wh
        return
    with tempfile.TemporaryDirectory(prefix="idpkit-dry-run-") as tmp, \
            open_warehouse(str(Path(tmp) / "dry-run.duckdb"), create=True) as wh:
        yield wh


def progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--date") from None


def parse_country(text: str | None) -> str | None:
    if not text:
        return None
    if not (len(text.strip()) == 3 and text.strip().isalpha() and text.strip().isascii()):
        raise typer.BadParameter(f"{text!r} is not an ISO3 country code (e.g. NGA)",
                                 param_hint="--country")
    return text.strip().upper()
