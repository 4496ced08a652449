"""Import CSV or JSON Lines files into the customer store, streaming, in batches.

Shared by the `import_data` command and the admin's import page. A file is read a batch at a
time (never whole into memory); each batch goes through the same bulk service as the API, and
every rejected line is reported with its line number.

CSV: a header row of field names; an empty cell means "not given" (the field is left as it is);
`attributes.<name>` columns fill the profile's custom traits. JSON Lines: one JSON object a line.
"""

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from profiles.ingestion.specs import KEY_FIELD, SPECS
from profiles.ingestion.upsert import BulkResult, entity_bulk_upsert
from profiles.services import CONSENT_FIELDS, consent_events_record

IMPORTERS: dict[str, Callable[..., BulkResult]] = {
    **{key: partial(entity_bulk_upsert, entity=key) for key in SPECS},
    "consents": consent_events_record,
}
FORMATS = ("csv", "jsonl")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (bad header, unknown kind): nothing was imported."""


def known_columns(kind: str) -> set[str]:
    if kind == "consents":
        return set(CONSENT_FIELDS)
    return {KEY_FIELD, *SPECS[kind].fields}


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    updated: int = 0
    ignored: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        text = f"{self.lines} records: {self.created} created, {self.updated} updated, {self.rejected} rejected"
        return text + (f", {self.ignored} older than the current state" if self.ignored else "")


@dataclass
class _BadLine:
    message: str


def _csv_records(stream: IO[str], kind: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    if not header:
        raise ImportFileError("The file is empty: expected a header row of field names.")
    known = known_columns(kind)
    unknown = [c for c in header if c not in known and not (kind == "profiles" and c.startswith("attributes."))]
    if unknown:
        raise ImportFileError(
            f"Unknown column(s) for {kind}: {', '.join(map(repr, unknown))}. Known: {', '.join(sorted(known))}."
        )
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise ImportFileError(f"Column(s) named twice: {', '.join(map(repr, duplicates))}.")
    for row in reader:
        if None in row:
            yield reader.line_num, _BadLine(f"has {len(header) + len(row[None])} cells; the header has {len(header)}")
            continue
        record: dict[str, Any] = {}
        for column, value in row.items():
            if value is None or value == "":
                continue
            if column.startswith("attributes."):
                record.setdefault("attributes", {})[column.removeprefix("attributes.")] = value
            else:
                record[column] = value
        if record:
            yield reader.line_num, record


def _jsonl_records(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _BadLine(f"is not valid JSON ({exc.msg} at column {exc.colno})")


def import_stream(*, kind: str, stream: IO[str], fmt: str, batch_size: int = 1000) -> ImportReport:
    """Import every record of a text stream; returns counts and the rejected lines."""
    if kind not in IMPORTERS:
        raise ImportFileError(f"Unknown kind {kind!r}; choose one of: {', '.join(IMPORTERS)}.")
    if fmt not in FORMATS:
        raise ImportFileError(f"Unknown format {fmt!r}; choose csv or jsonl.")
    records = _csv_records(stream, kind) if fmt == "csv" else _jsonl_records(stream)
    report = ImportReport()
    batch: list[tuple[int, Any]] = []

    def flush():
        result = IMPORTERS[kind](records=[record for _, record in batch])
        report.created += result.created
        report.updated += result.updated
        report.ignored += getattr(result, "ignored", 0)
        for error in result.errors:
            line, _ = batch[error["index"]]
            report.errors.append({"line": line, "external_id": error["external_id"], "errors": error["errors"]})
        batch.clear()

    for line, record in records:
        report.lines += 1
        if isinstance(record, _BadLine):
            report.errors.append({"line": line, "external_id": None, "errors": {"non_field_errors": [record.message]}})
            continue
        batch.append((line, record))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    report.errors.sort(key=lambda error: error["line"])
    return report


def format_error(error: dict[str, Any]) -> str:
    """`line 12 (cust-9): email: 'x' is not a valid email address`"""
    reasons = "; ".join(
        ", ".join(messages) if name == "non_field_errors" else f"{name}: {', '.join(messages)}"
        for name, messages in error["errors"].items()
    )
    who = f" ({error['external_id']})" if error.get("external_id") else ""
    return f"line {error['line']}{who}: {reasons}"
