import io
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles.ingestion.files import FORMATS, IMPORTERS, ImportFileError, format_error, import_stream, open_text
from profiles.ingestion.parallel import default_jobs


class _ProgressReader(io.BufferedIOBase):
    """The file as read through it moves the progress bar (the text layer calls read1)."""

    def __init__(self, raw, progress):
        self._raw, self._progress = raw, progress

    def readable(self):
        return True

    def read(self, size=-1):
        return self._advance(self._raw.read(size))

    def read1(self, size=-1):
        return self._advance(self._raw.read1(size))

    def _advance(self, data):
        self._progress.update(len(data))
        return data


class Command(BaseCommand):
    help = (
        "Import profiles, an entity or consent events from a CSV or JSON Lines file (streamed, in "
        "batches). Rejected lines are listed with their line numbers; the exit status is 1 when any "
        "line was rejected. Use '-' to read standard input. On PostgreSQL the records are spread over "
        "--jobs worker processes by key, so every record of one key is applied in file order, as by "
        "one process."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(IMPORTERS), help="What the file holds.")
        parser.add_argument("path", help="A .csv or .jsonl file, or '-' for standard input.")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file's extension.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Records per transaction (default 1000).")
        parser.add_argument("--max-errors-shown", type=int, default=100, help="Rejected lines to print (default 100).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")
        parser.add_argument(
            "--jobs",
            type=int,
            default=default_jobs(),
            help="Worker processes, each with its own database connection (default: the number of CPUs). "
            "PostgreSQL only: on SQLite the import always runs in one process.",
        )

    def handle(self, *args, kind, path, format, batch_size, max_errors_shown, no_progress, jobs, **options):
        fmt = format or Path(path).suffix.lstrip(".").lower()
        if fmt == "ndjson":
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise CommandError(f"Cannot tell the format of {path!r}: pass --format csv or --format jsonl.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if jobs < 1:
            raise CommandError("--jobs must be at least 1.")
        if path == "-":
            raw, total = sys.stdin.buffer, None
        else:
            try:
                raw, total = open(path, "rb"), os.path.getsize(path)  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(f"Cannot open {path}: {exc.strerror}.") from None
        show = not no_progress and self.stderr.isatty()
        progress = tqdm(
            total=total,
            desc=f"Importing {kind}",
            disable=not show,
            file=sys.stderr,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
        )
        try:
            with progress:
                stream = open_text(_ProgressReader(raw, progress))
                report = import_stream(kind=kind, stream=stream, fmt=fmt, batch_size=batch_size, jobs=jobs)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if raw is not sys.stdin.buffer:
                raw.close()
        for error in report.errors[:max_errors_shown]:
            self.stderr.write(format_error(error))
        if report.rejected > max_errors_shown:
            self.stderr.write(f"... and {report.rejected - max_errors_shown} more rejected lines.")
        self.stdout.write(report.summary())
        if report.rejected:
            sys.exit(1)
