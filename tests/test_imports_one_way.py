"""Imports run one way (issue 21, item 7): ``cli/app.py`` registers the command modules and the
command modules never import it back (their console, warehouse opener and progress come from
``cli/console.py``); ``api/app.py`` builds the app and its routers never import it back (formats,
rendering and errors come from ``api/render.py``). Checked on the source, so a circle cannot come
back unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "idpkit"


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize(("package", "hub"), [("cli", "idpkit.cli.app"),
                                              ("api", "idpkit.api.app")])
def test_no_module_imports_its_hub_back(package, hub):
    back = [p.name for p in sorted((SRC / package).glob("*.py"))
            if p.name not in ("app.py", "__main__.py") and hub in _imported(p)]
    assert not back, f"{back} import {hub}: take the helper from its own module instead"
