"""MkDocs hook: the parts of the documentation that come from the code, made at build time.

Nothing generated is committed, so nothing can drift: every build (``make docs``, ``make
docs-build`` inside ``make test``) asks the code again.

A page asks for a generated part with a marker line of its own::

    <!-- generated: step trail -->            the step's help text and questions (wizard/guide.py)
    <!-- generated: screenshot test_trail -->  a snapshot test's SVG, its docstring as caption
    <!-- generated: answers-reference -->     every answers-file field, from the JSON Schema
    <!-- generated: commands -->              every command and option, from the CLI's parser
    <!-- generated: data-resource-types -->   every data event resource type AWS documents
    <!-- generated: network-event-sources --> every network activity event source AWS documents

and two pages are made whole: ``performance/benchmarks.md`` (bench/README.md, as it is) and
the snapshots' SVG files under ``screenshots/``. A marker this hook does not know, a snapshot
that does not exist or a field without a docstring stops the build with a message, so a
broken page is never published. The hook also refuses a page that would load a script or a
style sheet from another host: the site must work offline.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import html
import importlib
import inspect
import json
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from wizard import guide
from wizard.model import answers as answer_models
from wizard.model.answers_file import answers_schema

SCREENSHOTS = "screenshots"
"""Site folder of the snapshot SVGs."""

BENCHMARKS_PAGE = "performance/benchmarks.md"
"""Site path of bench/README.md."""

ANSWERS_PAGE = "reference/answers-file.md"
"""The page with the answers-file reference (the step tables link into it)."""

MARKER = re.compile(r"^<!--\s*generated\b(?P<body>.*?)-->[ \t]*$", re.MULTILINE)
"""A marker line (matched loosely, so a misspelt one is reported instead of left as a comment)."""

MARKER_BODY = re.compile(r"^: (?P<kind>[a-z-]+)(?: (?P<arg>\S+))? $")
"""What a well-formed marker says: ``: kind`` or ``: kind arg``."""

HELP_WIDTH = "80"
"""Terminal width for argparse's usage lines, so the output does not depend on the terminal."""

EXTERNAL_SOURCE = re.compile(
    r"<(?:script|img|iframe|audio|video|source)\b[^>]*\ssrc=\"(?:https?:)?//", re.IGNORECASE
)
"""An element that would make the browser fetch its content from another host."""

LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
LINK_REL = re.compile(r"\srel=\"([^\"]*)\"", re.IGNORECASE)
LINK_HREF = re.compile(r"\shref=\"((?:https?:)?//[^\"]*)\"", re.IGNORECASE)
FETCHING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "icon"}
"""``<link>`` relations a browser fetches (``canonical``, which ``mkdocs serve`` adds, only names
the page's address)."""


def external_resource(html_text: str) -> str | None:
    """The first tag of a page that would load something from another host, if any."""
    found = EXTERNAL_SOURCE.search(html_text)
    if found:
        return found.group(0)
    for tag in LINK_TAG.findall(html_text):
        rel = LINK_REL.search(tag)
        rels = set(rel.group(1).lower().split()) if rel else set()
        if rels & FETCHING_RELS and LINK_HREF.search(tag):
            return str(tag)
    return None


# ------------------------------------------------------------------------------ hooks


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """Add the snapshot SVGs and the benchmarks page to the site."""
    root = repository_root(config)
    for svg in sorted(snapshot_files(root).values()):
        files.append(File.generated(config, f"{SCREENSHOTS}/{svg.name}", abs_src_path=str(svg)))
    bench = root / "bench" / "README.md"
    files.append(File.generated(config, BENCHMARKS_PAGE, content=bench.read_text()))
    return files


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace every marker line of the page by what it asks for."""
    root = repository_root(config)
    return expand_markers(markdown, page.file.src_uri, root)


def on_post_page(output: str, *, page: Page, config: MkDocsConfig) -> str:
    """Refuse a page that would load anything from another host."""
    found = external_resource(output)
    if found:
        raise PluginError(
            f"{page.file.src_uri}: the page loads a resource from another host "
            f"({found}); the site must work offline. Remove it, or ship the file in docs/."
        )
    return output


# --------------------------------------------------------------------------- markers


def repository_root(config: MkDocsConfig) -> Path:
    """The folder of mkdocs.yml: the repository root."""
    return Path(config.config_file_path).resolve().parent


def expand_markers(markdown: str, src_uri: str, root: Path) -> str:
    """The page's Markdown with each marker line replaced.

    Args:
        markdown: the page's source.
        src_uri: the page's path under docs/ (links are made relative to it).
        root: the repository root.

    Returns:
        The Markdown to render.

    Raises:
        PluginError: a marker is unknown or what it names does not exist.
    """

    def replace(match: re.Match[str]) -> str:
        body = MARKER_BODY.match(match.group("body"))
        try:
            if body is None:
                raise ValueError("write it as '<!-- generated: KIND [ARGUMENT] -->'")
            return render_marker(body.group("kind"), body.group("arg"), src_uri, root)
        except (KeyError, LookupError, ValueError) as exc:
            raise PluginError(f"{src_uri}: {match.group(0)}: {exc}") from None

    return MARKER.sub(replace, markdown)


def render_marker(kind: str, arg: str | None, src_uri: str, root: Path) -> str:
    """What one marker stands for."""
    if kind == "step" and arg:
        return step_markdown(arg, src_uri)
    if kind == "screenshot" and arg:
        return screenshot_markdown(arg, src_uri, root)
    if kind == "answers-reference" and not arg:
        return answers_reference()
    if kind == "commands" and not arg:
        return commands_reference()
    if kind == "data-resource-types" and not arg:
        return data_resource_types()
    if kind == "network-event-sources" and not arg:
        return network_event_sources()
    raise ValueError(
        "unknown marker: use 'step ID', 'screenshot NAME', 'answers-reference', 'commands', "
        "'data-resource-types' or 'network-event-sources'"
    )


def data_resource_types() -> str:
    """The data event resource types, from wizard/model/event_types.py (the guide's table)."""
    # Deferred like the other generators: the catalogue is read when a page asks for it.
    from wizard.model.event_types import (
        CATALOGUE_CHECKED,
        DATA_RESOURCE_TYPES,
        DATA_TYPE_ALIASES,
    )

    short = {v: k for k, v in DATA_TYPE_ALIASES.items()}
    lines = [
        f"As the CloudTrail User Guide listed them on {CATALOGUE_CHECKED}. Basic event "
        "selectors take only the first three; every other type needs advanced ones.",
        "",
        "| `resources.type` | In the answers file | Console name | What is recorded |",
        "| --- | --- | --- | --- |",
    ]
    for t in DATA_RESOURCE_TYPES:
        lines.append(
            f"| {code(t.type)} | {code(short.get(t.type, t.type))} | {cell(t.label)} "
            f"| {cell(t.description)} |"
        )
    return "\n".join(lines) + "\n"


def network_event_sources() -> str:
    """The network activity event sources, from wizard/model/event_types.py."""
    # Deferred like the other generators: the catalogue is read when a page asks for it.
    from wizard.model.event_types import CATALOGUE_CHECKED, NETWORK_EVENT_SOURCES

    sources = ", ".join(code(s) for s in NETWORK_EVENT_SOURCES)
    return (
        f"The `eventSource` values AWS listed for network activity events on "
        f"{CATALOGUE_CHECKED}: {sources}.\n"
    )


def relative(target: str, src_uri: str) -> str:
    """A link from the page at ``src_uri`` to the site file ``target`` (both under docs/)."""
    return posixpath.relpath(target, posixpath.dirname(src_uri) or ".")


def cell(text: str) -> str:
    """Text for a Markdown table cell: pipes escaped, lines joined."""
    return " ".join(text.split()).replace("|", "\\|")


_MARKDOWN_SPECIALS = re.compile(r"([\\*_\[\]])")


def prose(text: str) -> str:
    """Plain text as Markdown: characters Markdown would act on are escaped, code spans kept.

    ``<account>`` would be an HTML tag and ``logs*`` the start of emphasis; text between
    backticks is code already and stays as it is.
    """
    parts = text.split("`")
    for index in range(0, len(parts), 2):  # even pieces are outside code spans
        escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", parts[index])
        parts[index] = escaped.replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def code(text: str) -> str:
    """An inline code span that survives a table cell."""
    return "`" + text.replace("|", "\\|") + "`"


# ----------------------------------------------------------------------- screenshots


def snapshot_files(root: Path) -> dict[str, Path]:
    """Every snapshot SVG under tests/, by name (without ``.svg``).

    Raises:
        PluginError: two snapshots share a name (a marker could not tell them apart).
    """
    found: dict[str, Path] = {}
    for svg in sorted((root / "tests").glob("**/__snapshots__/**/*.svg")):
        if svg.stem in found:
            raise PluginError(
                f"two snapshots are named {svg.stem}: {found[svg.stem]} and {svg}; rename one "
                "test so a screenshot marker names exactly one"
            )
        found[svg.stem] = svg
    return found


def snapshot_caption(svg: Path) -> str:
    """The docstring of the snapshot test that made ``svg``.

    pytest-textual-snapshot keeps ``<tests dir>/__snapshots__/<test module>/<test>.svg``.

    Raises:
        LookupError: the test, or its docstring, is not where the snapshot says.
    """
    snapshots = next(p for p in svg.parents if p.name == "__snapshots__")
    module = snapshots.parent / f"{svg.parent.name}.py"
    if not module.is_file():
        raise LookupError(f"the test module {module} of {svg.name} is missing")
    tree = ast.parse(module.read_text(), filename=str(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == svg.stem:
            docstring = ast.get_docstring(node)
            if not docstring:
                raise LookupError(f"{module}: {svg.stem} has no docstring to use as caption")
            return " ".join(docstring.split())
    raise LookupError(f"{module} has no test {svg.stem}")


def screenshot_markdown(name: str, src_uri: str, root: Path) -> str:
    """A figure: the snapshot ``name`` with its test's docstring as caption."""
    snapshots = snapshot_files(root)
    if name not in snapshots:
        raise LookupError(
            f"no snapshot {name}.svg under tests/**/__snapshots__/ (known: "
            f"{', '.join(sorted(snapshots))})"
        )
    caption = snapshot_caption(snapshots[name])
    alt = re.sub(r"[\[\]]", "", caption)
    link = relative(f"{SCREENSHOTS}/{name}.svg", src_uri)
    return (
        '<figure class="screenshot" markdown="span">\n'
        f"  ![{alt}]({link}){{ loading=lazy }}\n"
        f"  <figcaption>{html.escape(caption)}</figcaption>\n"
        "</figure>"
    )


# ------------------------------------------------------------------------ wizard steps


def _default_draft() -> guide.Draft:
    """The answers a person who accepts every default gives, step by step."""
    draft: guide.Draft = {}
    for step in guide.STEPS:
        for question in step.questions:
            if question.when(draft):
                guide.put(draft, question.key, question.default(draft))
    return draft


def _shown_value(question: guide.Question, value: Any) -> str:
    """A question's value as the wizard shows it."""
    labels = {repr(choice.value): choice.label for choice in question.choices}
    if question.kind == "confirm":
        return "yes" if value else "no"
    if question.kind == "select":
        return labels.get(repr(value), str(value))
    if question.kind == "checkbox":
        chosen = [labels.get(repr(item), str(item)) for item in value or []]
        return ", ".join(chosen) if chosen else "none"
    if question.kind == "selectors":
        return ", ".join(guide.describe_item(item) for item in value or []) or "none"
    return code(str(value)) if value not in (None, "") else "empty"


DRAFT_FIELDS = {
    "events.presets": "events.data",
    "bucket.access_logging": "bucket.access_logs",
    "bucket.access_log_bucket": "bucket.access_logs.bucket",
    "bucket.access_log_prefix": "bucket.access_logs.prefix",
    "bucket.retention_transition_days": "bucket.retention.transition_days",
    "bucket.retention_storage_class": "bucket.retention.storage_class",
    "bucket.retention_expire_days": "bucket.retention.expire_days",
    "bucket.retention_noncurrent_days": "bucket.retention.noncurrent_expire_days",
    "bucket.object_lock": "bucket.retention.object_lock.mode",
    "bucket.object_lock_days": "bucket.retention.object_lock.days",
}
"""Questions whose answer the guide turns into another field (``answers_data``): off/new/
existing becomes ``bucket.access_logs`` (null, ``create: true``, ``create: false``); picked
presets become ``events.data`` (and ``events.network``) items."""


def answers_field(question_key: str) -> str:
    """The answers-file field a question fills.

    Raises:
        LookupError: the field is not in the answers file's schema.
    """
    field = DRAFT_FIELDS.get(question_key, question_key)
    if field not in answers_fields():
        raise LookupError(
            f"the question {question_key} fills {field}, which the answers schema does not "
            "have: add it to DRAFT_FIELDS in docs/hooks/generate.py"
        )
    return field


def step_markdown(step_id: str, src_uri: str) -> str:
    """A step's help panel text and a table of its questions, from wizard/guide.py.

    Raises:
        KeyError: there is no step ``step_id``.
    """
    step = guide.step(step_id)
    lines = [f'!!! info "The help panel (F1) of the {step.title} step"', ""]
    for paragraph in step.help.strip().split("\n\n"):
        lines += ["    " + prose(" ".join(paragraph.split())), ""]
    if not step.questions:
        return "\n".join(lines).rstrip() + "\n"
    draft = _default_draft()
    answers = relative(ANSWERS_PAGE, src_uri)
    lines += [
        "| Question | Answers-file field | Default | Choices |",
        "| --- | --- | --- | --- |",
    ]
    for question in step.questions:
        asked = question.when(draft)
        default = guide.get(draft, question.key) if asked else question.default(draft)
        text = prose(question.prompt)
        if question.help:
            text += " <br>" + prose(question.help)
        if not asked:
            text += " <br>*Asked only for some earlier answers.*"
        dotted = answers_field(question.key)
        field = f"[{code(dotted)}]({answers}#{dotted.partition('.')[0]})"
        choices = "; ".join(
            prose(choice.label) + (f" ({prose(choice.hint)})" if choice.hint else "")
            for choice in question.choices
        )
        if question.kind == "confirm":
            choices = "yes or no"
        lines.append(
            f"| {cell(text)} | {field} | {cell(_shown_value(question, default))} "
            f"| {cell(choices) or 'typed in'} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ answers file


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """Each annotated attribute of ``cls`` with the docstring right below it, in order."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    found: dict[str, str] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text = ""
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                text = " ".join(after.value.value.split())
            found[node.target.id] = text
    return found


def _type_text(node: dict[str, Any], defs: dict[str, Any]) -> str:
    """A schema node's type in words."""
    if "$ref" in node:
        return "mapping (below)"
    if "anyOf" in node:
        return " or ".join(_type_text(option, defs) for option in node["anyOf"])
    if "const" in node:
        return code(json.dumps(node["const"]))
    if "enum" in node:
        return "one of " + ", ".join(code(str(value)) for value in node["enum"])
    kind = node.get("type")
    if kind == "array":
        return "list of " + _type_text(node.get("items", {}), defs)
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            return "mapping of string to " + _type_text(values, defs)
        return "mapping"
    if kind is None:
        raise ValueError(f"a schema node without a type: {json.dumps(node)}")
    return str(kind)


def _default_text(node: dict[str, Any], required: bool, parent: str) -> str:
    """A field's default; ``parent`` is the mapping it is in (a section or a nested one)."""
    if required:
        return "**required**" if "." not in parent else f"**required** in {code(parent)}"
    if "default" in node:
        return code(json.dumps(node["default"]))
    kind = node.get("type")
    if kind == "array":
        return code("[]")
    if kind == "object":
        return code("{}")
    if "$ref" in node:
        return "its fields' defaults"
    raise ValueError(f"optional field without a default: {json.dumps(node)}")


def _ref_target(node: dict[str, Any]) -> str | None:
    """The definition a node refers to (directly, in anyOf, or as list items)."""
    candidates = [node, *node.get("anyOf", []), node.get("items", {})]
    for candidate in candidates:
        ref = candidate.get("$ref") if isinstance(candidate, dict) else None
        if isinstance(ref, str):
            return ref.rsplit("/", 1)[-1]
    return None


def _answers_words(text: str) -> str:
    """A model docstring in the answers file's words: Python's None is YAML's and JSON's null."""
    return re.sub(r"\bNone\b", "null", text)


def _field_rows(
    definition: str, path: str, defs: dict[str, Any]
) -> Iterator[tuple[str, str, str, str]]:
    """(field, type, default, meaning) for every field of a definition, nested ones after."""
    schema = defs[definition]
    cls = getattr(answer_models, definition)
    docs = _attribute_docstrings(cls)
    properties: dict[str, Any] = schema["properties"]
    missing = set(properties) - {name for name, text in docs.items() if text}
    if missing:
        raise ValueError(
            f"{cls.__module__}.{definition}: no docstring under "
            f"{', '.join(sorted(missing))}; each answers field needs one (it is the reference)"
        )
    required = set(schema.get("required", []))
    for name in [n for n in docs if n in properties]:
        node = properties[name]
        dotted = f"{path}.{name}"
        default = _default_text(node, name in required, path)
        yield dotted, _type_text(node, defs), default, _answers_words(docs[name])
        target = _ref_target(node)
        if target is not None:
            inner = f"{dotted}[]" if node.get("type") == "array" else dotted
            yield from _field_rows(target, inner, defs)


def _answers_rows() -> Iterator[tuple[str, str, list[tuple[str, str, str, str]]]]:
    """(section, introduction, rows) for every section of the answers file, in the model's order."""
    schema = json.loads(answers_schema())
    defs: dict[str, Any] = schema["$defs"]
    top = _attribute_docstrings(answer_models.Answers)
    required = set(schema.get("required", []))
    for section in [name for name in top if name in schema["properties"]]:
        target = _ref_target(schema["properties"][section])
        if target is None:
            raise ValueError(f"answers section {section} is not a mapping")
        state = "required" if section in required else "optional"
        description = defs[target].get("description", "")
        title = top[section].rstrip(".")
        intro = f"{prose(description)} {state.capitalize()}."
        if title.lower() != description.rstrip(".").lower():
            intro = f"{prose(title)}: {intro[:1].lower()}{intro[1:]}"
        yield section, intro, list(_field_rows(target, section, defs))


def answers_fields() -> set[str]:
    """Every dotted field of the answers file (``bucket.access_logs.prefix``)."""
    return {row[0] for _section, _intro, rows in _answers_rows() for row in rows}


def answers_reference() -> str:
    """A section per answers-file section: every field, its type, default and meaning.

    Types, defaults and what is required come from ``answers_schema()`` (what
    ``cloudtrail-wizard schema`` prints); the meanings are the fields' docstrings in
    wizard/model/answers.py.
    """
    lines: list[str] = []
    for section, intro, rows in _answers_rows():
        lines += [
            f"### `{section}`",
            "",
            intro,
            "",
            "| Field | Type | Default | Meaning |",
            "| --- | --- | --- | --- |",
        ]
        for dotted, kind, default, meaning in rows:
            lines.append(f"| {code(dotted)} | {cell(kind)} | {default} | {cell(prose(meaning))} |")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- commands


def build_parser() -> argparse.ArgumentParser:
    """The CLI's parser, wherever the CLI keeps it."""
    for module_name in ("screens.cli.parser", "screens.cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        factory: Callable[[], argparse.ArgumentParser] | None = getattr(
            module, "build_parser", None
        )
        if factory is not None:
            return factory()
    raise LookupError("no build_parser() in screens.cli.parser or screens.cli")


@contextlib.contextmanager
def _columns(width: str) -> Iterator[None]:
    """argparse wraps its usage to $COLUMNS: fix it while the reference is made."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, summary, parser) of every command, in the order ``--help`` lists them."""
    # argparse has no public way to list sub-commands: its own help reads these attributes.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help or "" for a in action._choices_actions}
            return [(name, summaries.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _option_row(action: argparse.Action, prog: str) -> str:
    """One argument as a table row: its spelling, then what it means."""
    if action.option_strings:
        name = ", ".join(action.option_strings)
        if action.nargs != 0:
            choices = "{" + ",".join(map(str, action.choices)) + "}" if action.choices else None
            name += f" {action.metavar or choices or action.dest.upper()}"
    else:
        name = str(action.metavar or action.dest)
        if action.nargs in ("+", "*"):
            name += " ..."
    text = action.help or ""
    if "%(" in text:
        text = text % {**vars(action), "prog": prog}
    if action.choices and action.option_strings and action.metavar:
        text += " (one of " + ", ".join(map(str, action.choices)) + ")"
    show_default = (
        action.option_strings
        and action.nargs != 0
        and action.default not in (None, argparse.SUPPRESS, [], "")
        and "default" not in text
    )
    if show_default:
        text += f" (default: {action.default})"
    return f"| {code(name)} | {cell(prose(text))} |"


UNTITLED_GROUPS = ("positional arguments", "options", "optional arguments")
"""argparse's own groups: listed together, without a title."""


def _option_tables(parser: argparse.ArgumentParser) -> list[str]:
    """The arguments as tables: argparse's own groups in one, then each titled group."""
    tables: list[tuple[str | None, str | None, list[str]]] = [(None, None, [])]
    # As above: argparse's help formatter reads the groups from these attributes.
    for group in parser._action_groups:
        rows = [
            _option_row(action, parser.prog)
            for action in group._group_actions
            if action.help != argparse.SUPPRESS
            and not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
        ]
        if group.title in UNTITLED_GROUPS:
            tables[0][2].extend(rows)
        elif rows:
            tables.append((group.title, group.description, rows))
    lines: list[str] = []
    for title, description, rows in tables:
        if not rows:
            continue
        if title:
            lines += [f"*{prose(title)}*", ""]
        if description:
            lines += [prose(description), ""]
        lines += ["| Argument | Meaning |", "| --- | --- |", *rows, ""]
    return lines


def _command_section(heading: str, summary: str, parser: argparse.ArgumentParser) -> list[str]:
    """A command's heading, description, usage and options."""
    lines = [f"### {heading}", ""]
    description = parser.description or summary
    if description:
        lines += [prose(" ".join(description.split())), ""]
    lines += ["```text", parser.format_usage().strip(), "```", ""]
    lines += _option_tables(parser)
    if parser.epilog:
        lines += [prose(" ".join(parser.epilog.split())), ""]
    return lines


def commands_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """Every command with its usage and options, read from the CLI's own parser."""
    with _columns(HELP_WIDTH):
        parser = parser or build_parser()
        commands = _subcommands(parser)
        lines = ["| Command | What it does |", "| --- | --- |"]
        lines += [
            f"| [{code(name)}](#{name}) | {cell(prose(summary))} |"
            for name, summary, _sub in commands
        ]
        lines += [""]
        lines += _command_section("Without a command: the wizard", "", parser)
        for name, summary, sub in commands:
            lines += _command_section(f"`{name}`", summary, sub)
    return "\n".join(lines)


def command_names(parser: argparse.ArgumentParser | None = None) -> Sequence[str]:
    """The names of every command (for the tests)."""
    return [name for name, _summary, _sub in _subcommands(parser or build_parser())]
