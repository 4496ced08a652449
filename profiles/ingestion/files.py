"""Import CSV or JSON Lines files into the customer store, streaming, in batches.

Shared by the `import_data` command and the admin's import page. A file is read a batch at a
time (never whole into memory); each batch goes through the same bulk service as the API, and
every rejected line is reported with its line number.

CSV: a header row of field names; an empty cell means "not given" (the field is left as it is);
`attributes.<name>` columns fill the profile's custom traits. JSON Lines: one JSON object a line.

Whatever a line holds, it is that line that is rejected, never the file: bytes that are not UTF-8
(open the file with `open_text`, which decodes with surrogateescape so that they reach the line
they are on), a cell longer than the CSV reader takes, a JSON line nested too deeply or holding an
integer of thousands of digits. Cells that our own CSV export protected against spreadsheet
formulas (a leading `'` before `=`, `+`, `-`, `@`) are read back without that quote.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from config.csv_safety import unescape_cell
from config.input_safety import JSONInputError
from config.input_safety import loads as json_loads
from profiles.ingestion.specs import KEY_FIELD, SPECS
from profiles.ingestion.upsert import BulkResult, entity_bulk_upsert
from profiles.services import CONSENT_FIELDS, consent_events_record

IMPORTERS: dict[str, Callable[..., BulkResult]] = {
    **{key: partial(entity_bulk_upsert, entity=key) for key in SPECS},
    "consents": consent_events_record,
}
FORMATS = ("csv", "jsonl")


# What surrogateescape decoding makes of a byte that is not UTF-8: U+DC80..U+DCFF.
_UNDECODED = re.compile("[\udc80-\udcff]")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (bad header, unknown kind): nothing was imported."""


def open_text(binary: IO[bytes]) -> io.TextIOWrapper:
    """A file's bytes as text lines for import_stream: UTF-8 (a leading BOM dropped), with any byte
    that is not UTF-8 kept as a marker, so that the line holding it is rejected and no other."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def undecodable(text: str) -> str | None:
    """Where the first byte that is not UTF-8 is in `text` (as open_text decoded it), or None."""
    if text.isascii() or (found := _UNDECODED.search(text)) is None:
        return None
    offset = len(text[: found.start()].encode("utf-8", "surrogateescape")) + 1
    return f"is not UTF-8 text: byte 0x{ord(found.group()) - 0xDC00:02X} at byte {offset}"


def known_columns(kind: str) -> set[str]:
    if kind == "consents":
        return set(CONSENT_FIELDS)
    return {KEY_FIELD, *SPECS[kind].fields}


def key_columns(kind: str) -> tuple[str, ...]:
    """Columns every row of a kind needs: without them in the header, no row can be imported."""
    if kind == "consents":
        return ("profile", "channel", "status", "occurred_at")
    return (KEY_FIELD,)


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    updated: int = 0
    ignored: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, part: "ImportReport") -> None:
        """Add the counts and rejected lines of a part (a batch) of the same file."""
        self.lines += part.lines
        self.created += part.created
        self.updated += part.updated
        self.ignored += part.ignored
        self.errors.extend(part.errors)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        text = f"{self.lines} records: {self.created} created, {self.updated} updated, {self.rejected} rejected"
        return text + (f", {self.ignored} older than the current state" if self.ignored else "")


@dataclass
class BadLine:
    """A line that holds no readable record (bad JSON, too many cells): rejected with this reason."""

    message: str


@dataclass(frozen=True)
class CsvLayout:
    """A CSV file's checked header, and how a row of cells becomes a record."""

    header: list[str]
    columns: list[tuple[str, str | None]]  # (column, custom trait name for `attributes.<name>`)

    @classmethod
    def read(cls, lines: Iterable[str], kind: str) -> tuple["CsvLayout", Iterator[tuple[int, list[str] | BadLine]]]:
        """Read and check the header; returns the layout and the rows as (line number, cells), or
        (line number, BadLine) for a row the CSV reader refused; blank lines skipped. Raises
        ImportFileError before any row is read. `lines` is a text stream opened with newline=""
        (or its lines)."""
        reader = csv.reader(lines)
        try:
            header = next((row for row in reader if any(cell.strip() for cell in row)), [])
        except csv.Error as exc:
            raise ImportFileError(f"The header row (line {reader.line_num}) cannot be read: {exc}.") from None
        if not header:
            raise ImportFileError("The file is empty: expected a header row of field names.")
        if problem := undecodable(",".join(header)):
            raise ImportFileError(f"The header row (line {reader.line_num}) {problem}: save the file as UTF-8.")
        header = [column.strip() for column in header]
        known = known_columns(kind)
        unknown = [c for c in header if c not in known and not (kind == "profiles" and c.startswith("attributes."))]
        if unknown:
            raise ImportFileError(
                f"Unknown column(s) for {kind}: {', '.join(map(repr, unknown))}. Known: {', '.join(sorted(known))}."
            )
        duplicates = sorted({c for c in header if header.count(c) > 1})
        if duplicates:
            raise ImportFileError(f"Column(s) named twice: {', '.join(map(repr, duplicates))}.")
        missing = [c for c in key_columns(kind) if c not in header]
        if missing:
            raise ImportFileError(
                f"The header has no {', '.join(map(repr, missing))} column: every {kind} row needs "
                f"{'it' if len(missing) == 1 else 'them'}. Columns found: {', '.join(map(repr, header))}."
            )
        columns = [(c, c.removeprefix("attributes.") if c.startswith("attributes.") else None) for c in header]

        def rows() -> Iterator[tuple[int, list[str] | BadLine]]:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # the reader goes on with the next line
                    yield reader.line_num, BadLine(_csv_error(exc))
                    continue
                if cells:
                    yield reader.line_num, cells

        return cls(header, columns), rows()

    def bad_line(self, cells: list[str]) -> BadLine | None:
        if len(cells) > len(self.header):
            return BadLine(f"has {len(cells)} cells; the header has {len(self.header)}")
        for (column, _), cell in zip(self.columns, cells):  # noqa: B905 - a short row is fine
            if problem := undecodable(cell):
                return BadLine(f"column {column!r} {problem} of the cell: save the file as UTF-8")
        return None

    def record(self, cells: list[str]) -> dict[str, Any]:
        """The record of a row that is not a bad line: its non-empty cells (a short row's missing
        cells are not given either). A row of empty cells makes an empty record."""
        record: dict[str, Any] = {}
        for (column, trait), value in zip(self.columns, cells):  # noqa: B905 - a short row is fine
            if value == "":
                continue
            if value[0] == "'":
                value = unescape_cell(value)
            if trait is None:
                record[column] = value
            else:
                record.setdefault("attributes", {})[trait] = value
        return record


def _csv_error(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"has a cell longer than {csv.field_size_limit():,} characters, the most a CSV cell may hold"
    return f"cannot be read as CSV ({exc})"


def _csv_records(stream: IO[str], kind: str) -> Iterator[tuple[int, Any]]:
    layout, rows = CsvLayout.read(stream, kind)
    for line, cells in rows:
        if isinstance(cells, BadLine):
            yield line, cells
        elif bad := layout.bad_line(cells):
            yield line, bad
        elif record := layout.record(cells):
            yield line, record


def jsonl_records(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        if problem := undecodable(line):
            yield number, BadLine(f"{problem}: save the file as UTF-8")
            continue
        try:
            yield number, json_loads(line)
        except JSONInputError as exc:
            yield number, BadLine(str(exc))


def import_stream(*, kind: str, stream: IO[str], fmt: str, batch_size: int = 1000, jobs: int = 1) -> ImportReport:
    """Import every record of a text stream; returns counts and the rejected lines.

    `jobs` > 1 spreads the records over that many worker processes by key (PostgreSQL only, see
    `profiles.ingestion.parallel`); elsewhere, or inside a transaction, the import runs in this
    process whatever `jobs` says. The outcome is the same either way."""
    if kind not in IMPORTERS:
        raise ImportFileError(f"Unknown kind {kind!r}; choose one of: {', '.join(IMPORTERS)}.")
    if fmt not in FORMATS:
        raise ImportFileError(f"Unknown format {fmt!r}; choose csv or jsonl.")
    if jobs > 1:
        from profiles.ingestion import parallel

        if (jobs := parallel.usable_jobs(jobs)) > 1:
            return parallel.import_stream(kind=kind, stream=stream, fmt=fmt, batch_size=batch_size, jobs=jobs)
    records = _csv_records(stream, kind) if fmt == "csv" else jsonl_records(stream)
    report = ImportReport()
    batch: list[tuple[int, Any]] = []
    for line, record in records:
        report.lines += 1
        if isinstance(record, BadLine):
            report.errors.append(bad_line_error(line, record))
            continue
        batch.append((line, record))
        if len(batch) >= batch_size:
            report.add(import_batch(kind, batch))
            batch = []
    if batch:
        report.add(import_batch(kind, batch))
    report.errors.sort(key=lambda error: error["line"])
    return report


def import_batch(kind: str, batch: list[tuple[int, Any]]) -> ImportReport:
    """Apply one batch of (line number, record) through the bulk service, in one transaction."""
    result = IMPORTERS[kind](records=[record for _, record in batch])
    part = ImportReport(created=result.created, updated=result.updated, ignored=getattr(result, "ignored", 0))
    for error in result.errors:
        line, _ = batch[error["index"]]
        part.errors.append({"line": line, "external_id": error["external_id"], "errors": error["errors"]})
    return part


def bad_line_error(line: int, bad: BadLine) -> dict[str, Any]:
    return {"line": line, "external_id": None, "errors": {"non_field_errors": [bad.message]}}


def format_error(error: dict[str, Any]) -> str:
    """`line 12 (cust-9): email: 'x' is not a valid email address`"""
    reasons = "; ".join(
        ", ".join(messages) if name == "non_field_errors" else f"{name}: {', '.join(messages)}"
        for name, messages in error["errors"].items()
    )
    who = f" ({error['external_id']})" if error.get("external_id") else ""
    return f"line {error['line']}{who}: {reasons}"
