"""The README and the documentation site stay short, true to the code, and buildable.

`make docs-build` (part of `make test`) builds the site with ``mkdocs build --strict``, which
fails on a broken link or anchor. These tests check what the build cannot: the README's size
and first lines, that its links point at files that exist, that the paths the pages name
exist, and that the generated parts (docs/hooks/generate.py) cover every command, field and
step and refuse what they cannot make.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from mkdocs.exceptions import PluginError

from wizard import guide


def _root() -> Path:
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").is_file())


ROOT = _root()
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_LIMIT = 15 * 1024
"""The issue's ceiling for the README: 15 KB."""

TWO_COMMANDS = """\
# cloudtrail-wizard

```sh
make demo   # set up, then launch the wizard on the embedded sandbox (no AWS account needed)
make test   # set up, then lint, type-check and run the whole test suite
```
"""


def _load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_hook_generate", DOCS / "hooks" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("**/*.md") if "hooks" not in p.parts)


# ----------------------------------------------------------------------------- README


def test_readme_is_at_most_15_kb_and_starts_with_the_two_commands() -> None:
    data = README.read_bytes()
    assert len(data) <= README_LIMIT, (
        f"README.md is {len(data)} bytes, over {README_LIMIT}: move the detail into docs/"
    )
    assert data.decode().startswith(TWO_COMMANDS)


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_links_point_at_files_that_exist() -> None:
    """Relative links and the screenshot: a moved page or snapshot breaks them silently."""
    targets = [t for t in _LINK.findall(README.read_text()) if "://" not in t]
    assert any(t.endswith(".svg") for t in targets), "the README shows a screenshot of the TUI"
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def _table(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_the_exit_codes_are_the_same_in_the_readme_and_the_docs() -> None:
    header = "| code | meaning |"
    readme = _table(README.read_text(), header)
    docs = _table((DOCS / "admin" / "automation.md").read_text(), header)
    assert len(readme) == 6
    assert readme == docs


# ------------------------------------------------------------------------- the pages


_PATH = re.compile(r"`((?:wizard|screens|tests|bench|examples|docs)/[\w./-]*)`")


def test_paths_named_in_the_docs_exist() -> None:
    """The architecture's "where to find" table and every other `path/` a page names."""
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in _pages()
        for path in _PATH.findall(page.read_text())
        if not (ROOT / path).exists()
    ]
    assert not missing, "pages name paths that do not exist:\n" + "\n".join(missing)


def _diagram_layers() -> dict[str, list[set[str]]]:
    """The layers the architecture page draws, top first, per package (its column)."""
    text = (DOCS / "architecture.md").read_text()
    block = text.split("## Layers", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    header = lines[0]
    starts = [match.start() for match in re.finditer(r"\S+/", header)]
    columns: dict[str, list[set[str]]] = {}
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else None
        package = header[start:end].strip().rstrip("/")
        layers: list[set[str]] = []
        for line in lines[1:]:
            cells = line[start:end].strip().strip("│").split("│")
            names = {
                found.group(1)
                for found in (re.match(r"\s*(\w+)(?:/|\.py)\s", cell + " ") for cell in cells)
                if found
            }
            if names:
                layers.append(names)
        columns[package] = layers
    return columns


def _contract_layers() -> dict[str, list[set[str]]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config.get("tool", {}).get("importlinter", {}).get("contracts", [])
    return {
        container: [set(re.split(r"\s*[|:]\s*", layer.strip())) for layer in contract["layers"]]
        for contract in contracts
        if contract.get("type") == "layers"
        for container in contract.get("containers", [])
    }


def test_the_layer_diagram_is_the_import_linter_contracts() -> None:
    drawn = _diagram_layers()
    contracts = _contract_layers()
    assert set(drawn) == {"wizard", "screens"}
    for package, layers in drawn.items():
        assert package in contracts, f"no import-linter layers contract for {package}"
        assert layers == contracts[package], (
            f"docs/architecture.md draws {package}'s layers as {layers}, pyproject.toml's "
            f"contract says {contracts[package]}: redraw the diagram"
        )


def _nav_files(entries: object) -> list[str]:
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [f for entry in entries for f in _nav_files(entry)]
    if isinstance(entries, dict):
        return [f for value in entries.values() for f in _nav_files(value)]
    return []


def test_every_step_has_a_page_in_the_nav_with_its_generated_parts() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_files(config["nav"])
    for step in guide.STEPS:
        page = f"wizard/{step.id}.md"
        assert page in nav, f"{page} is not in mkdocs.yml's nav"
        text = (DOCS / page).read_text()
        assert f"<!-- generated: step {step.id} -->" in text.splitlines()
        assert "<!-- generated: screenshot " in text, f"{page} shows no screenshot"
    on_disk = {p.relative_to(DOCS).as_posix() for p in _pages()}
    assert not on_disk - set(nav), "pages missing from the nav"


# ------------------------------------------------------------------ generated parts


def test_the_command_reference_lists_every_command_and_option() -> None:
    parser = hook.build_parser()
    text = hook.commands_reference(parser)
    names = hook.command_names(parser)
    assert {"plan", "apply", "serve", "status", "validate", "recover"} <= set(names)
    for name in names:
        assert f"### `{name}`" in text
        assert f"usage: cloudtrail-wizard {name}" in text
    assert "`--dry-run`" in text
    assert "`--i-understand-the-risk`" in text


def test_the_answers_reference_lists_every_field_of_the_schema() -> None:
    text = hook.answers_reference()
    fields = hook.answers_fields()
    assert {"trail.name", "bucket.access_logs.prefix", "events.data[].read_write"} <= fields
    for field in fields:
        assert f"| `{field}` |" in text
    assert "| `trail.name` | string | **required** |" in text
    assert '| `encryption.type` | one of `sse-s3`, `sse-kms` | `"sse-kms"` |' in text


def test_every_question_fills_a_field_of_the_answers_file() -> None:
    for step in guide.STEPS:
        for question in step.questions:
            assert hook.answers_field(question.key) in hook.answers_fields()


def test_a_step_table_shows_the_guides_questions_and_defaults() -> None:
    text = hook.step_markdown("trail", "wizard/trail.md")
    assert "The help panel (F1) of the Trail step" in text
    assert "[`trail.name`](../reference/answers-file.md#trail)" in text
    assert "| `management-events` |" in text
    # '<account>' would be swallowed as an HTML tag; the help text shows it.
    assert "AWSLogs/&lt;account&gt;/" in hook.step_markdown("storage", "wizard/storage.md")


def test_a_screenshot_marker_becomes_the_snapshot_with_its_tests_docstring() -> None:
    text = hook.expand_markers("<!-- generated: screenshot test_trail -->", "wizard/trail.md", ROOT)
    assert "](../screenshots/test_trail.svg)" in text
    assert "<figcaption>Trail: name, home region us-east-1" in text


@pytest.mark.parametrize(
    ("marker", "complaint"),
    [
        ("<!-- generated: screenshot test_no_such_snapshot -->", "no snapshot"),
        ("<!-- generated: step no-such-step -->", "no-such-step"),
        ("<!-- generated: everything -->", "unknown marker"),
        ("<!-- generated step trail -->", "write it as"),
    ],
)
def test_a_marker_that_cannot_be_made_stops_the_build(marker: str, complaint: str) -> None:
    with pytest.raises(PluginError, match=complaint):
        hook.expand_markers(f"# Page\n\n{marker}\n", "wizard/trail.md", ROOT)


class _File:
    src_uri = "index.md"


class _Page:
    file = _File()


@pytest.mark.parametrize(
    "tag",
    [
        '<link rel="stylesheet" href="https://fonts.example/css">',
        '<link href="//fonts.example/css" rel="preconnect">',
        '<script src="https://cdn.example/mermaid.js"></script>',
        '<img src="http://images.example/logo.png">',
    ],
)
def test_a_page_that_loads_from_another_host_stops_the_build(tag: str) -> None:
    with pytest.raises(PluginError, match="another host"):
        hook.on_post_page(f"<html><head>{tag}</head></html>", page=_Page(), config=None)


def test_local_resources_and_links_to_other_sites_are_fine() -> None:
    """`mkdocs serve` adds a canonical link: it names the page, the browser fetches nothing."""
    page = (
        '<html><head><link rel="stylesheet" href="../assets/main.css">'
        '<link rel="canonical" href="http://127.0.0.1:8001/">'
        '<script src="../assets/bundle.js"></script></head>'
        '<body><a href="https://docs.aws.amazon.com/">AWS</a></body></html>'
    )
    assert hook.on_post_page(page, page=_Page(), config=None) == page
