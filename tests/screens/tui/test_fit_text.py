"""Text and tables that fit: paths break after a separator, names lose their middle, columns
narrow in the right order. Pure functions, no app."""

from __future__ import annotations

import itertools

import pytest
from rich.console import Console

from screens.tui.widgets.fit_table import Fit, fit_widths
from screens.tui.widgets.wrap import (
    ELLIPSIS,
    Breakable,
    Elided,
    Shortened,
    elide_middle,
    wrap_offsets,
)

pytestmark = [pytest.mark.tui]

LOG_PATH = "s3://aws-cloudtrail-logs-acme/AWSLogs/123456789012/CloudTrail/us-east-1/YYYY/MM/DD/"


def lines(text: str, width: int) -> list[str]:
    offsets = [0, *wrap_offsets(text, width), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(offsets)]


def test_prose_wraps_at_spaces_as_textual_does() -> None:
    text = "Log files are always encrypted at rest, with keys S3 owns."
    assert lines(text, 20) == [
        "Log files are ",
        "always encrypted at ",
        "rest, with keys S3 ",
        "owns.",
    ]
    assert wrap_offsets(text, len(text)) == []


def test_a_path_longer_than_the_line_breaks_after_a_slash() -> None:
    got = lines(LOG_PATH, 40)
    assert "".join(got) == LOG_PATH
    assert all(len(line) <= 40 for line in got)
    assert all(line.endswith("/") for line in got)  # never inside a folder's name
    assert got[0] == "s3://aws-cloudtrail-logs-acme/AWSLogs/"


def test_a_long_word_starts_a_new_line_and_the_text_goes_on_after_it() -> None:
    text = "adds AWSLogs/<account>/CloudTrail/<region>/ after it"
    assert lines(text, 20) == ["adds ", "AWSLogs/<account>/", "CloudTrail/<region>/ ", "after it"]


def test_a_list_breaks_after_a_comma_and_a_name_after_a_dash() -> None:
    settings = "BlockPublicAcls=true,IgnorePublicAcls=true,RestrictPublicBuckets=true"
    assert lines(settings, 45) == ["BlockPublicAcls=true,IgnorePublicAcls=true,", settings[43:]]
    name = "demo-legacy-trail-logs-123456789012"
    assert lines(name, 20) == ["demo-legacy-trail-", "logs-123456789012"]


def test_a_word_without_separators_is_folded_at_the_width() -> None:
    assert lines("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@pytest.mark.parametrize("width", [9, 12, 20, 35])
def test_elide_middle_keeps_both_ends_in_the_width(width: int) -> None:
    name = "demo-legacy-trail-logs-123456789012"
    shown = elide_middle(name, width)
    assert len(shown) == min(width, len(name))
    if width < len(name):
        head, tail = shown.split(ELLIPSIS)
        assert name.startswith(head)
        assert name.endswith(tail)
        assert len(tail) >= len(head)  # the end tells similar names apart
    else:
        assert shown == name


def test_elided_cell_renders_at_its_width_and_keeps_its_value() -> None:
    cell = Elided("123456789012_CloudTrail_us-west-2_20260101T1200Z_abc.json.gz")
    console = Console(width=20, file=None, record=True)
    console.print(cell)
    shown = console.export_text().strip()
    assert len(shown) == 20
    assert ELLIPSIS in shown
    assert str(cell) == cell.text  # what a test or a copy reads is the whole value


def test_breakable_gives_the_whole_text_unbroken() -> None:
    text = Breakable(LOG_PATH)
    assert str(text) == LOG_PATH
    assert text.at(40).plain.replace("\n", "") == LOG_PATH
    assert text.at(200).plain == LOG_PATH  # fits: Textual wraps it, nothing inserted


def test_fit_widths_narrows_wrapping_columns_first_then_eliding_ones() -> None:
    # Bucket (elide), Region (keep), Policy (wrap): 35 + 9 + 28 = 72.
    natural = [35, 9, 28]
    minimum = [9, 9, 12]
    fits: list[Fit] = ["elide", "keep", "wrap"]
    assert fit_widths(natural, minimum, fits, 80) == natural
    assert fit_widths(natural, minimum, fits, 60) == [35, 9, 16]
    assert fit_widths(natural, minimum, fits, 50) == [29, 9, 12]
    # Nothing below the minimums, whatever the width.
    assert fit_widths(natural, minimum, fits, 10) == [9, 9, 12]


def test_fit_widths_narrows_the_widest_of_a_kind_first() -> None:
    assert fit_widths([30, 20, 5], [12, 12, 5], ["wrap", "wrap", "keep"], 45) == [20, 20, 5]


def test_fit_widths_narrows_elide_last_columns_only_after_the_others() -> None:
    natural = [20, 17, 24, 40]  # time, action (elide-last); caller, error (elide)
    fits: list[Fit] = ["elide-last", "elide-last", "elide", "elide"]
    minimum = [9, 9, 9, 9]
    assert fit_widths(natural, minimum, fits, 70) == [20, 17, 16, 17]
    assert fit_widths(natural, minimum, fits, 40) == [11, 11, 9, 9]


def test_shortened_shows_the_whole_value_or_its_short_form() -> None:
    cell = Shortened("2025-01-02T10:01:00Z", "10:01:00Z")
    for width, shown in ((30, "2025-01-02T10:01:00Z"), (12, "10:01:00Z"), (6, "10…00Z")):
        console = Console(width=width, file=None, record=True)
        console.print(cell)
        assert console.export_text().strip() == shown
    assert str(cell) == "2025-01-02T10:01:00Z"
