"""Every command's --help reads cleanly at 80 columns (issue 21 item 6): no type labels to decode
(`<bool>`), no reST markup (double backticks), no line wider than the terminal, no option name or
word cut off with "…", and every option with fixed values names them in its help."""

from __future__ import annotations

import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from idpkit.cli.app import app

CUT = re.compile(r"\w…(\s|│|$)")  # Rich's truncation: a word ending in "…" (ours have a space)


def _commands(cmd, path=()):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(get_command(app)))


def test_the_walk_finds_the_command_tree():
    paths = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "ingest", "figures stock", "dedup clusters", "forecast run"} <= paths
    assert len(paths) > 50


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "idpkit")
def test_help_at_80_columns(path):
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert res.exit_code == 0, res.output
    for line in res.output.splitlines():
        assert len(line) <= 80, line
        assert "<bool>" not in line and "<str>" not in line, line
        assert "``" not in line, line
        assert not CUT.search(line), line


def test_every_option_with_fixed_values_lists_them_in_its_help():
    for path, cmd in COMMANDS:
        for p in cmd.params:
            d = getattr(p, "type_descriptor", None)
            if d is None or not d.is_choice:
                continue
            values = [str(getattr(c, "value", c)) for c in d.choices]
            missing = [v for v in values if v not in (p.help or "")]
            assert not missing, (" ".join(path), p.opts, missing)


def test_a_profile_refuses_csv_instead_of_printing_a_table(tmp_path):
    res = CliRunner().invoke(app, ["--create", "areas", "profile", "ZZ01", "--format", "csv",
                                   "--db", str(tmp_path / "w.duckdb")])
    words = " ".join(res.output.replace("│", " ").split())
    assert res.exit_code == 2 and "use --format json" in words, res.output
