"""Plain Django: the project reaches no private part of Django or of any library.

`make lint` bans the modules outright (ruff's banned-api: `django.db.models.sql` and the like);
this test catches the rest by reading every module of the project: no import of a private
module or name of another package, and no use of another package's underscore attribute.
Underscore names the project defines itself are its own business, and Django documents a few
of its own as public API (`Model._meta`, `_default_manager`, `_base_manager`, `_state`), as
Python does a named tuple's `_replace()`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = {"api", "clinic", "scheduling", "appointments", "visits", "billing", "demo"}
PROJECT_PACKAGES = {*APPS, "bench", "scripts"}
# Documented underscore attributes: Django's Model _meta API, managers and instance state,
# and a named tuple's methods (underscored only to stay clear of its field names).
DOCUMENTED = {"_meta", "_default_manager", "_base_manager", "_state", "_replace", "_asdict"}


def _modules(root: Path) -> list[Path]:
    files = []
    for top in PROJECT_PACKAGES:
        for path in (root / top).rglob("*.py"):
            parts = set(path.relative_to(root).parts)
            if "tests" in parts or "migrations" in parts:
                continue
            files.append(path)
    return files


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_names(trees: list[ast.AST]) -> set[str]:
    """Every underscore name the project itself defines (functions, classes, attributes it
    assigns, arguments)."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
    return {name for name in names if _is_private(name)}


def _findings(root: Path = ROOT) -> list[str]:
    parsed = {path: ast.parse(path.read_text(), str(path)) for path in _modules(root)}
    own = _own_names(list(parsed.values()))
    found = []
    for path, tree in parsed.items():
        where = path.relative_to(root)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top = node.module.split(".")[0]
                if top in PROJECT_PACKAGES:
                    continue
                if any(_is_private(part) for part in node.module.split(".")):
                    found.append(f"{where}:{node.lineno} imports private module {node.module}")
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{where}:{node.lineno} imports {node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if any(_is_private(part) for part in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno} imports private module {alias.name}")
            elif (
                isinstance(node, ast.Attribute)
                and _is_private(node.attr)
                and node.attr not in own
                and node.attr not in DOCUMENTED
            ):
                found.append(f"{where}:{node.lineno} uses another package's .{node.attr}")
    return found


def test_no_private_internals_of_django_or_libraries() -> None:
    assert _findings() == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    # The check itself must be able to fail: a module reaching into internals is reported.
    package = tmp_path / "billing"
    package.mkdir()
    (package / "bad.py").write_text(
        "from django.db.models.sql.compiler import SQLInsertCompiler\n"
        "from rest_framework.request import _hasattr\n"
        "def f(request, field):\n"
        "    return request._request, field._get_default\n"
    )
    found = _findings(tmp_path)
    assert any("_hasattr" in line for line in found)
    assert any("._request" in line for line in found)
    assert any("._get_default" in line for line in found)
