"""Rules of the architecture that import-linter cannot see, read from the sources with ``ast``.

import-linter (``make lint``, ``[tool.importlinter]`` in pyproject.toml) checks which package
may import which. These tests check the rest:

* No module imports a private name (a leading underscore, not a dunder) from another module
  of the project, or reaches one through a module alias (``module._name``). A name another
  module needs is public, with a docstring, or the code moves to where it belongs. This holds
  for the tests and the benchmarks too: what they exercise is public.
* Every import inside a function in ``wizard/`` and ``screens/`` says why it is deferred,
  in a comment on its line or just above it (start-up time, an optional dependency, a
  process that must not load it). Circles are broken by moving code, never by hiding an
  import in a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("wizard", "screens", "tests")
"""Top-level packages whose modules' private names are theirs alone."""
SOURCES = (*PROJECT, "bench")
"""Where the importing modules are looked for."""


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str, root: Path) -> bool:
    where = root.joinpath(*dotted.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _in_project(module: str) -> bool:
    return module.split(".")[0] in PROJECT


def _imported_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def private_uses(path: Path, root: Path = ROOT) -> Iterator[str]:
    """Each private name of another project module that ``path`` imports or reaches.

    Args:
        path: A Python source file under ``root``.
        root: The project's root directory.

    Yields:
        ``file:line: what`` for every offence.
    """
    module = _module_of(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(root)
    # Local names bound to a project module (``from wizard.x import y as z``: z -> wizard.x.y).
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _imported_from(node, module, path.name == "__init__.py")
            if not _in_project(source):
                continue
            for alias in node.names:
                if _private(alias.name):
                    yield f"{where}:{node.lineno}: imports {alias.name} from {source}"
                elif _is_module(f"{source}.{alias.name}", root):
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not _in_project(alias.name):
                    continue
                hidden = [p for p in alias.name.split(".") if _private(p)]
                if hidden:
                    yield f"{where}:{node.lineno}: imports the private module {alias.name}"
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        parts = _dotted(node.value)
        if not parts or parts[0] not in aliases:
            continue
        target = ".".join([aliases[parts[0]], *parts[1:]])
        if _is_module(target, root) and target != module:
            yield f"{where}:{node.lineno}: reaches {target}.{node.attr}"


def _sources() -> list[Path]:
    return sorted(p for top in SOURCES for p in (ROOT / top).rglob("*.py"))


def test_no_private_name_crosses_a_module_boundary() -> None:
    files = _sources()
    assert ROOT / "wizard" / "engine.py" in files and ROOT / "tests" / "conftest.py" in files
    offences = [offence for path in files for offence in private_uses(path)]
    assert offences == [], "\n".join(offences)


@pytest.mark.parametrize(
    ("source", "offence"),
    [
        ("from wizard.model.names import _BUCKET_CHARS\n", "imports _BUCKET_CHARS"),
        ("from wizard.sandbox import delivery as d\nd._camel(1)\n", "reaches "),
        ("import wizard.model.names\nwizard.model.names._BUCKET_CHARS\n", "reaches "),
        ("import wizard.model.names as n\nn._BUCKET_CHARS\n", "reaches "),
        ("def f():\n    from screens.common import errors\n    errors._x\n", "reaches "),
        ("from .names import _BUCKET_CHARS\n", "imports _BUCKET_CHARS from wizard.model.names"),
    ],
)
def test_private_uses_finds(tmp_path: Path, source: str, offence: str) -> None:
    root = _fake_project(tmp_path)
    probe = root / "wizard" / "model" / "probe.py"
    probe.write_text(source)
    found = list(private_uses(probe, root))
    assert len(found) == 1 and offence in found[0], found


@pytest.mark.parametrize(
    "source",
    [
        "from wizard.model.names import __all__\n",
        "from wizard.model import names\nnames.check_tags\n",
        "from wizard.model.names import Thing\nThing._private\n",  # a class, not a module
        "import json\njson._default_encoder\n",  # not the project's
        "from . import names\nnames.__doc__\n",
    ],
)
def test_private_uses_allows(tmp_path: Path, source: str) -> None:
    root = _fake_project(tmp_path)
    probe = root / "wizard" / "model" / "probe.py"
    probe.write_text(source)
    assert list(private_uses(probe, root)) == []


def _fake_project(tmp_path: Path) -> Path:
    for package in ("wizard", "wizard/model", "wizard/sandbox", "screens", "screens/common"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    for module in (
        "wizard/model/names.py",
        "wizard/sandbox/delivery.py",
        "screens/common/errors.py",
    ):
        (tmp_path / module).write_text("")
    return tmp_path


# ------------------------------------------------------------------ deferred imports


def unexplained_deferred_imports(path: Path, root: Path = ROOT) -> Iterator[str]:
    """Imports inside functions with no comment on their line or just above them.

    Going up from the import over blank lines and the other imports of the same group, the
    first line met must be a comment.

    Args:
        path: A Python source file under ``root``.
        root: The project's root directory.

    Yields:
        ``file:line: module`` for every unexplained deferred import.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    deferred: list[ast.Import | ast.ImportFrom] = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred.extend(
                node for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom)
            )
    import_lines = {
        line for node in deferred for line in range(node.lineno, (node.end_lineno or 0) + 1)
    }
    for node in sorted(set(deferred), key=lambda n: n.lineno):
        own = lines[node.lineno - 1 : node.end_lineno]
        if any("#" in line for line in own):
            continue
        number = node.lineno - 1
        while number >= 1 and (number in import_lines or not lines[number - 1].strip()):
            number -= 1
        if number >= 1 and lines[number - 1].strip().startswith("#"):
            continue
        name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        yield f"{path.relative_to(root)}:{node.lineno}: {'.' * getattr(node, 'level', 0)}{name}"


@pytest.mark.parametrize(
    ("package", "sample"),
    [("wizard", "aws/worker.py"), ("screens", "tui/app.py")],
)
def test_every_deferred_import_says_why(package: str, sample: str) -> None:
    """The core and the front ends alike: each failure is ``file:line: module``."""
    files = sorted((ROOT / package).rglob("*.py"))
    assert ROOT / package / sample in files
    found = [offence for path in files for offence in unexplained_deferred_imports(path)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("source", "explained"),
    [
        ("def f():\n    import json\n", False),
        ("def f():\n    import json  # start-up time\n", True),
        ("def f():\n    # start-up time\n    import json\n", True),
        ("def f():\n    # why\n    import json\n\n    from os import path\n", True),
        ("def f():\n    x = 1\n    import json\n", False),
        ("def f():\n    from os import (\n        path,\n    )\n", False),
        ("def f():\n    from os import (  # why\n        path,\n    )\n", True),
        ("import json\n", True),  # module level: not deferred
    ],
)
def test_deferred_import_check(tmp_path: Path, source: str, explained: bool) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert (list(unexplained_deferred_imports(probe, tmp_path)) == []) is explained
