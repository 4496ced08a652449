"""Import one file with several worker processes (PostgreSQL), with the outcome of one process.

This process reads the file (so a progress bar over the stream follows the import) and deals the
records out by key: every record of a key (`external_id`; a consent event's `profile`) goes to
the same worker, in file order, and each worker applies its records in batches through the same
bulk service as a single-process import, one transaction per batch, on its own database
connection. So the records of one key are applied one after the other in file order, exactly as
one process would apply them, and the counts come out the same; records of different keys never
touch the same row, so the order between workers does not matter. Rejected lines come back with
their line numbers.

Workers are forked, so they need a platform that can fork and a database other processes can
see: `usable_jobs()` falls back to one process on SQLite and inside a transaction (whose
uncommitted rows a worker could not see).
"""

import csv
import gc
import io
import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.db import connection, connections

from profiles.ingestion.files import BadLine, CsvLayout, ImportReport, bad_line_error, import_batch, jsonl_records
from profiles.ingestion.specs import KEY_FIELD

_PARTITION_FIELD = {"consents": "profile"}  # the field that keys a kind's records (default: external_id)
_QUEUED_BATCHES = 2  # batches waiting per worker: enough to keep it busy, few enough for the progress bar
_POLL_SECONDS = 1.0


class ImportWorkerError(RuntimeError):
    """A worker failed (the batches applied until then stay applied, as with one process)."""


def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def usable_jobs(jobs: int) -> int:
    """How many processes an import may use here (1 unless PostgreSQL, outside a transaction)."""
    if (
        jobs <= 1
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return 1
    return jobs


def _partition_key(value: Any) -> str:
    """The key as the bulk service will read it (validation.text: stripped, numbers as text), so
    that values naming the same key reach the same worker. Anything else is rejected anyway."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value).strip()
    return ""


def import_stream(*, kind: str, stream: IO[str], fmt: str, batch_size: int, jobs: int) -> ImportReport:
    """Like files.import_stream (which calls this when `jobs` > 1 is usable)."""
    report = ImportReport()
    field = _PARTITION_FIELD.get(kind, KEY_FIELD)
    if fmt == "csv":
        items, to_records = _csv_items(stream, kind, field, report)  # a bad header stops it here
    else:
        items, to_records = _jsonl_items(stream, field, report), _as_is

    context = multiprocessing.get_context("fork")
    connections.close_all()  # a forked worker must not share this process's connection
    inboxes = [context.Queue(maxsize=_QUEUED_BATCHES) for _ in range(jobs)]
    outbox = context.Queue()
    workers = [
        context.Process(target=_work, args=(i, kind, inbox, outbox, to_records), daemon=True, name=f"import-{i}")
        for i, inbox in enumerate(inboxes)
    ]
    for worker in workers:
        worker.start()
    running = set(range(jobs))

    def collect(block: bool) -> None:
        """Take the workers' answers: a batch's report, a worker's end (its number), or a failure."""
        while running:
            try:
                message = outbox.get(timeout=_POLL_SECONDS) if block else outbox.get_nowait()
            except queue.Empty:
                if dead := [i for i in running if not workers[i].is_alive()]:
                    raise ImportWorkerError(f"import worker {dead[0]} stopped without finishing") from None
                if block:
                    continue
                return
            if isinstance(message, ImportReport):
                report.add(message)
            elif isinstance(message, int):
                running.discard(message)
            else:
                raise ImportWorkerError(f"An import worker failed:\n{message}")

    def send(worker: int, batch: Any) -> None:
        while True:
            try:
                inboxes[worker].put(batch, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                collect(block=False)

    try:
        lines: list[list[int]] = [[] for _ in range(jobs)]
        payloads: list[list[Any]] = [[] for _ in range(jobs)]
        for line, key, payload in items:
            worker = hash(key) % jobs
            lines[worker].append(line)
            payloads[worker].append(payload)
            if len(lines[worker]) >= batch_size:
                send(worker, (lines[worker], payloads[worker]))
                lines[worker], payloads[worker] = [], []
                collect(block=False)
        for worker in range(jobs):
            if lines[worker]:
                send(worker, (lines[worker], payloads[worker]))
            send(worker, None)
        collect(block=True)
    finally:
        for worker in workers:
            if running and worker.is_alive():  # stopped early: the others' work is abandoned
                worker.terminate()
            worker.join()
        for inbox in inboxes:
            if running:
                inbox.cancel_join_thread()  # batches no worker will read
            inbox.close()
        outbox.close()
    report.errors.sort(key=lambda error: error["line"])
    return report


def _csv_items(
    stream: IO[str], kind: str, field: str, report: ImportReport
) -> tuple[Iterator[tuple[int, str, str]], Callable[[list[Any]], list[Any]]]:
    """(line, key, the row's own text) for each row that holds a record, and how a worker turns
    those texts into records. Bad lines go straight to the report. This process only splits the
    file into rows; the workers parse the rows' text again (cheaper than sending the cells)."""
    text: list[str] = []

    def lines() -> Iterator[str]:
        for line in stream:
            text.append(line)
            yield line

    layout, rows = CsvLayout.read(lines(), kind)
    index = layout.header.index(field) if field in layout.header else len(layout.header)

    def items() -> Iterator[tuple[int, str, str]]:
        text.clear()  # the header
        for line, cells in rows:
            row_text = "".join(text)  # csv.reader reads no further than the row it returns
            text.clear()
            if isinstance(cells, BadLine):  # a row the reader refused (a cell over its limit)
                report.lines += 1
                report.errors.append(bad_line_error(line, cells))
            elif bad := layout.bad_line(cells):
                report.lines += 1
                report.errors.append(bad_line_error(line, bad))
            elif any(cells):  # a row of empty cells holds no record (as files._csv_records)
                report.lines += 1
                yield line, cells[index].strip() if index < len(cells) else "", row_text

    def to_records(texts: list[str]) -> list[dict[str, Any]]:
        rows = [cells for cells in csv.reader(io.StringIO("".join(texts), newline="")) if cells]
        if len(rows) != len(texts):  # pragma: no cover - would be a bug in the splitting above
            raise RuntimeError(f"{len(texts)} rows were sent and {len(rows)} read back")
        return [layout.record(cells) for cells in rows]

    return items(), to_records


def _jsonl_items(stream: IO[str], field: str, report: ImportReport) -> Iterator[tuple[int, str, Any]]:
    for line, record in jsonl_records(stream):
        report.lines += 1
        if isinstance(record, BadLine):
            report.errors.append(bad_line_error(line, record))
        else:
            yield line, _partition_key(record.get(field)) if isinstance(record, dict) else "", record


def _as_is(records: list[Any]) -> list[Any]:
    return records


def _work(number: int, kind: str, inbox: Any, outbox: Any, to_records: Callable[[list[Any]], list[Any]]) -> None:
    """A worker: apply each batch it is sent until it is sent None, then send its number."""
    gc.freeze()  # what it inherited from the parent stays put: collections only walk its own objects
    try:
        while (batch := inbox.get()) is not None:
            lines, payloads = batch
            outbox.put(import_batch(kind, list(zip(lines, to_records(payloads), strict=True))))
        outbox.put(number)
    except BaseException:  # reported to the parent, which stops the import
        outbox.put(f"worker {number}: {traceback.format_exc()}")
    finally:
        connections.close_all()
