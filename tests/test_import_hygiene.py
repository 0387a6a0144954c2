"""The core never loads a front end or an AWS SDK client; the adapters never load a front end.

The core is every package of ``wizard`` but its two adapters: ``wizard.aws`` (boto3 and
botocore, never moto) and ``wizard.sandbox`` (the emulator: moto, and boto3 to seed it). Two
independent checks: importing every module of each group in a fresh interpreter and looking
at ``sys.modules`` (catches indirect imports), and reading every source file's import
statements with ``ast`` (catches imports hidden in functions that the first check does not
run). Reading botocore's bundled *data* is allowed, so ``botocore`` itself may be loaded,
but not ``botocore.client`` or ``botocore.session``. import-linter (``make lint``) checks the
same rules on the import graph.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
WIZARD = ROOT / "wizard"
FRONT_ENDS = ("textual", "questionary", "rich")
SDK = ("boto3", "botocore.client", "botocore.session", "moto")
CORE_BANNED = FRONT_ENDS + SDK
AWS_BANNED = (*FRONT_ENDS, "moto")
SANDBOX_BANNED = FRONT_ENDS
ADAPTERS = ("aws", "sandbox")
"""The packages of wizard/ that may talk to boto3 (aws/) and moto (sandbox/)."""

_PROBE = """
import importlib, json, pkgutil, sys
import wizard
group = sys.argv[1]
selected, failed = [], {}

def visit(path, prefix, top):
    # iter_modules, not walk_packages: walk_packages would import the other groups' packages.
    for info in pkgutil.iter_modules(path, prefix):
        package = info.name.split(".")[1]
        if top and (package if package in ("aws", "sandbox") else "core") != group:
            continue
        selected.append(info.name)
        module = None
        try:
            module = importlib.import_module(info.name)
        except ModuleNotFoundError as exc:
            failed[info.name] = f"{type(exc).__name__}: {exc} [{exc.name}]"
        except Exception as exc:
            failed[info.name] = f"{type(exc).__name__}: {exc}"
        if info.ispkg and module is not None:
            visit(module.__path__, info.name + ".", False)

visit(wizard.__path__, "wizard.", True)
print(json.dumps({"selected": selected, "failed": failed, "loaded": sorted(sys.modules)}))
"""


def _banned(module: str, banned: tuple[str, ...]) -> bool:
    return any(module == b or module.startswith(b + ".") for b in banned)


def _group_of(path: Path) -> str:
    """core, aws or sandbox: the group of a source file under wizard/."""
    first = path.relative_to(WIZARD).parts[0]
    return first if first in ADAPTERS else "core"


def _modules_of(group: str) -> set[str]:
    """Every module of the group, from the files (packages by their ``__init__``)."""
    modules = set()
    for path in WIZARD.rglob("*.py"):
        if path.parent == WIZARD and path.name == "__init__.py":
            continue  # wizard itself: every group imports it
        if _group_of(path) == group:
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def _probe(script: str, argument: str, **env_vars: str) -> dict[str, Any]:
    """Run a probe script in a fresh interpreter (the project importable); its JSON report."""
    env = {**os.environ, **env_vars}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script, argument],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _import_all(which: str) -> dict[str, object]:
    return _probe(_PROBE, which)


def _check_runtime(which: str, banned: tuple[str, ...]) -> None:
    report = _import_all(which)
    selected = report["selected"]
    assert isinstance(selected, list) and selected, f"no {which} modules found"
    # Every module of the group was imported, a package added later included.
    assert set(selected) == _modules_of(which)
    loaded = report["loaded"]
    assert isinstance(loaded, list)
    offenders = sorted(m for m in loaded if _banned(m, banned))
    assert not offenders, f"importing the {which} modules loaded {offenders}"
    failed = report["failed"]
    assert isinstance(failed, dict)
    # Any import error fails, a missing wizard module included: a module that cannot be
    # imported is one whose imports this check could not see.
    assert not failed, f"modules that fail to import: {failed}"


def test_core_modules_load_no_front_end_and_no_sdk_client() -> None:
    assert {"wizard.plan.selectors", "wizard.model.names", "wizard.engine"} <= _modules_of("core")
    _check_runtime("core", CORE_BANNED)


def test_aws_modules_load_no_front_end_and_no_emulator() -> None:
    _check_runtime("aws", AWS_BANNED)


def test_sandbox_modules_load_no_front_end() -> None:
    assert "wizard.sandbox.rules" in _modules_of("sandbox")
    _check_runtime("sandbox", SANDBOX_BANNED)


# ------------------------------------------------------------------- static check


def _imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import statement and every literal importlib call."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from botocore import client` loads botocore.client.
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value)))
    return found


def _offending_imports(files: list[Path], banned: tuple[str, ...], root: Path = ROOT) -> list[str]:
    offences = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imported_names(tree):
            if _banned(module, banned):
                offences.append(f"{path.relative_to(root)}:{line}: imports {module}")
    return sorted(set(offences))


def _files_of(group: str) -> list[Path]:
    return sorted(p for p in WIZARD.rglob("*.py") if _group_of(p) == group)


def test_core_sources_import_no_front_end_and_no_sdk_client() -> None:
    files = _files_of("core")
    assert WIZARD / "model" / "names.py" in files and WIZARD / "policy" / "policies.py" in files
    assert WIZARD / "run" / "apply.py" in files
    assert _offending_imports(files, CORE_BANNED) == []


def test_aws_sources_import_no_front_end_and_no_emulator() -> None:
    files = _files_of("aws")
    assert WIZARD / "aws" / "clients.py" in files
    assert _offending_imports(files, AWS_BANNED) == []


def test_sandbox_sources_import_no_front_end() -> None:
    files = _files_of("sandbox")
    assert WIZARD / "sandbox" / "server.py" in files
    assert _offending_imports(files, SANDBOX_BANNED) == []


@pytest.mark.parametrize(
    ("source", "offence"),
    [
        ("import boto3\n", "imports boto3"),
        ("from boto3.session import Session\n", "imports boto3.session"),
        ("from botocore import session\n", "imports botocore.session"),
        ("import botocore.client as c\n", "imports botocore.client"),
        ("def f():\n    from textual.app import App\n", "imports textual.app"),
        ("import rich.console\n", "imports rich.console"),
        ("import questionary\n", "imports questionary"),
        ("from moto import mock_aws\n", "imports moto"),
        ("import importlib\nimportlib.import_module('boto3')\n", "imports boto3"),
    ],
)
def test_static_check_finds_offences(tmp_path: Path, source: str, offence: str) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    offences = _offending_imports([probe], CORE_BANNED, tmp_path)
    assert f"probe.py:{source.count(chr(10))}: {offence}" in offences, offences


@pytest.mark.parametrize(
    "source",
    [
        "import botocore\n",
        "from importlib import resources\n",
        "import richtext\n",
        "from wizard.model.regions import partitions\n",
        "from . import aws\n",
    ],
)
def test_static_check_allows(source: str) -> None:
    modules = [m for _line, m in _imported_names(ast.parse(source)) if _banned(m, CORE_BANNED)]
    assert modules == []


# ------------------------------------------------------------------- the command line

SCREENS = ROOT / "screens"
LAZY = ("textual", "textual_serve", "aiohttp", "questionary", "screens.tui", "screens.plain")
"""What the command line loads only for the command that needs it: the full-screen wizard,
the plain prompts, the web server (``serve``)."""
WEB_SERVER = "screens.cli.serving.server"
"""The command-line module that imports textual-serve and aiohttp (``serve`` only)."""
CLASS_PAGES = "screens.cli.serving.classroom_web"
"""The class's pages, on the same aiohttp server (``serve --class`` only)."""

_CLI_PROBE = """
import importlib, json, pkgutil, sys
import screens.cli, screens.common
deferred = sys.argv[1]
selected = []
for package in (screens.cli, screens.common):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.endswith(".__main__") or info.name in deferred.split(","):
            continue
        importlib.import_module(info.name)
        selected.append(info.name)
from screens.cli.parser import build_parser
build_parser()  # every command's arguments too
print(json.dumps({"selected": selected, "loaded": sorted(sys.modules)}))
"""


def test_command_line_modules_load_no_front_end() -> None:
    """Every module of screens.cli and screens.common, and the complete parser, import
    neither Textual nor questionary nor the web server: the commands start fast."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", _CLI_PROBE, f"{WEB_SERVER},{CLASS_PAGES}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    selected = report["selected"]
    for module in (
        "screens.cli.main",
        "screens.cli.commands.plan",
        "screens.cli.commands.serve",
        "screens.cli.serving.session",
        "screens.common.connection",
    ):
        assert module in selected
    offenders = sorted(m for m in report["loaded"] if _banned(m, (*LAZY, WEB_SERVER, CLASS_PAGES)))
    assert offenders == []


def _module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of the imports that run when the module is imported: not those in
    functions, nor those only type checkers read (``if TYPE_CHECKING:``)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend(_imported_names(child))
            visit(child)

    visit(tree)
    return sorted(set(found))


def _python_files(*parts: str) -> list[Path]:
    return sorted(SCREENS.joinpath(*parts).rglob("*.py"))


def test_the_command_line_defers_front_ends_and_says_why() -> None:
    """screens.cli imports the front ends and the web server only inside functions, each
    such import under a comment that says why."""
    files = _python_files("cli")
    assert SCREENS / "cli" / "main.py" in files
    offences = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        web = path.name in ("server.py", "classroom_web.py")
        allowed = ("textual_serve", "aiohttp") if web else ()
        for line, module in _module_level_imports(tree):
            if _banned(module, (*LAZY, WEB_SERVER, CLASS_PAGES)) and not _banned(module, allowed):
                offences.append(f"{path.relative_to(ROOT)}:{line}: imports {module} at once")
        lines = source.splitlines()
        for line, module in _imported_names(tree):
            if _banned(module, (*LAZY, WEB_SERVER, CLASS_PAGES)) and not _banned(module, allowed):
                above = line - 2
                while above >= 0 and lines[above].lstrip().startswith(("from ", "import ")):
                    above -= 1
                if above < 0 or not lines[above].lstrip().startswith("#"):
                    offences.append(f"{path.relative_to(ROOT)}:{line}: no comment says why")
    assert offences == []


def test_front_ends_never_import_the_command_line() -> None:
    """screens.common imports no front end; screens.tui and screens.plain import no
    screens.cli: the command line is the top of screens, common the bottom."""
    rules = {
        "common": ("screens.cli", "screens.tui", "screens.plain", "textual", "questionary"),
        "tui": ("screens.cli", "screens.plain", "questionary"),
        "plain": ("screens.cli", "screens.tui", "textual"),
    }
    offences = []
    for package, banned in rules.items():
        files = _python_files(package)
        assert files
        offences += _offending_imports(files, banned)
    assert offences == []


def test_the_deferral_check_sees_module_level_imports() -> None:
    tree = ast.parse(
        "import os\n"
        "from textual.app import App\n"
        "if TYPE_CHECKING:\n    import questionary\n"
        "def f():\n    import screens.tui.app\n"
        "class C:\n    import rich\n    def g(self):\n        import screens.plain\n"
    )
    assert _module_level_imports(tree) == [
        (1, "os"),
        (2, "textual.app"),
        (2, "textual.app.App"),
        (8, "rich"),
    ]


_FIRST_FRAME_PROBE = """
import json, os, sys
from textual.app import App
from screens.common.backend import Backend
from screens.tui.app import make_app

display = App._display


def first_frame(app, screen, renderable):
    # The first update Textual writes out (those made while start-up is batched are
    # dropped): everything before the first frame has run by now.
    if renderable is None or app._batch_count:
        return display(app, screen, renderable)
    report = {
        "loaded": sorted(sys.modules),
        "workers": [worker.name for worker in app.workers],
        "screen": type(screen).__name__,
    }
    sys.stdout.write(json.dumps(report))
    sys.stdout.flush()
    os._exit(0)  # before the work that follows the first frame (the connection) starts


App._display = first_frame
make_app(Backend(sandbox=sys.argv[1] == "sandbox")).run(headless=True, size=(120, 40))
"""

AFTER_FIRST_FRAME = (*SDK, "botocore", "pydantic", "yaml", "cryptography")
"""What the full-screen wizard loads only once its first frame is drawn: the AWS SDK and the
emulator (connecting, in a thread), the answers' and the labs' models."""


@pytest.mark.parametrize("mode", ["aws", "sandbox"])
def test_the_first_frame_comes_before_the_sdk_and_any_thread(mode: str, tmp_path: Path) -> None:
    """Up to the wizard's first frame nothing runs beside it: no worker thread has started
    (connecting, the lab's reading) and neither the AWS SDK, the emulator nor the models
    are loaded (issue 16: the first frame within 1.2 times a bare Textual app's)."""
    report = _probe(
        _FIRST_FRAME_PROBE,
        mode,
        XDG_STATE_HOME=str(tmp_path),  # a first run, help shown; no shared sandbox
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    assert report["screen"] == "WelcomeScreen"
    assert report["workers"] == []
    assert "screens.tui.steps.welcome" in report["loaded"]
    assert sorted(m for m in report["loaded"] if _banned(m, AFTER_FIRST_FRAME)) == []
