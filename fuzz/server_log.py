"""The 5xx answers of a fuzz run, read from the server's log and grouped.

Django logs each one as "Internal Server Error: <path>" followed by the traceback; gunicorn's
workers write to the same log. A group is one exception (its quoted values and numbers blanked)
raised at one place in the project's own code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# django.request logs "<reason phrase>: <path>" for each 4xx and 5xx answer.
REQUEST_LOG_LINE = re.compile(r"^[A-Z][A-Za-z' -]*: /")


@dataclass
class ServerError:
    """One kind of 5xx: the exception (values blanked), where in our code it was raised, how often."""

    exception: str
    where: str
    paths: set[str]
    count: int
    traceback: str


def server_errors(log_path: Path) -> list[ServerError]:
    """The 5xx answers in the server log (Django logs "Internal Server Error: <path>" and the
    traceback), grouped by exception and the innermost frame of the project's own code."""
    found: dict[tuple[str, str], ServerError] = {}
    for path, lines in _error_records(log_path.read_text(errors="replace").splitlines()):
        last_chain = lines[max(i for i, line in enumerate(lines) if line.startswith("Traceback")) :]
        last_frame = max((i for i, line in enumerate(last_chain) if line.startswith('  File "')), default=0)
        exception = next((line for line in last_chain[last_frame + 1 :] if not line.startswith(" ")), "?")
        own = [
            line.strip() for line in last_chain if line.strip().startswith(f'File "{ROOT}/') and "/.venv/" not in line
        ]
        where = own[-1].replace(f"{ROOT}/", "") if own else "(library code only)"
        key = (re.sub(r"(\"[^\"]*\"|'[^']*'|\d+)", "…", exception), where)
        error = found.setdefault(key, ServerError(key[0], where, set(), 0, "\n".join(last_chain)))
        error.paths.add(path)
        error.count += 1
    return sorted(found.values(), key=lambda e: -e.count)


def _error_records(lines: list[str]) -> Iterator[tuple[str, list[str]]]:
    path, record = None, []
    for line in [*lines, "End: /"]:
        if REQUEST_LOG_LINE.match(line) or line.startswith("["):  # django.request, or gunicorn's [time] lines
            if path and any(x.startswith("Traceback") for x in record):
                yield path, record
            path, record = None, []
            if line.startswith("Internal Server Error: "):
                path = line.removeprefix("Internal Server Error: ")
        elif path:
            record.append(line)


def report_server_errors(errors: list[ServerError]) -> None:
    if not errors:
        print("\n== the server logged no 5xx")
        return
    print(f"\n== the server logged {sum(e.count for e in errors)} 5xx, {len(errors)} distinct:")
    for number, error in enumerate(errors, 1):
        print(
            f"\n-- {number}. {error.count}x {error.exception}\n   at {error.where}\n   on {', '.join(sorted(error.paths))}"
        )
    print("\n== the last traceback of each, in the same order:")
    for number, error in enumerate(errors, 1):
        print(f"\n-- {number}.\n{error.traceback}")
