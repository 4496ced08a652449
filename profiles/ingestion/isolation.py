"""When the database refuses a batch, write what it accepts and name what it refused.

Validation is meant to catch everything the database would refuse, so this is the second line:
a batch whose write fails with a database error is split in halves, each written in its own
savepoint, down to the single items the database refuses. The valid items around a bad one are
written; the bad one is reported. A batch with one bad item in n costs about 2·log2(n) writes more.
"""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


def write_isolating(
    items: list[Item], write: Callable[[list[Item]], Result]
) -> tuple[list[Result], list[tuple[Item, str]]]:
    """Call `write(items)` in a savepoint; on a database error, bisect. Returns the results of the
    writes that succeeded and the items refused, each with a message for the caller."""
    results: list[Result] = []
    refused: list[tuple[Item, str]] = []
    pending = [items]
    while pending:
        part = pending.pop()
        if not part:
            continue
        try:
            with transaction.atomic():
                results.append(write(part))
        except DatabaseError as exc:
            if len(part) == 1:
                logger.warning("The database refused a record that passed validation: %s", exc)
                refused.append((part[0], database_message(exc)))
            else:
                middle = len(part) // 2
                pending += [part[middle:], part[:middle]]
    return results, refused


def database_message(exc: DatabaseError) -> str:
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return f"the database refused this record ({first_line})"
