"""Values in rules, parsed for the field's type: text, choices, numbers, dates and date-times.

A value must also fit the column it is compared with, so that a rule that validates evaluates on
every database: text without NUL or unpaired surrogates (and, compared whole, no longer than the
column), an integer in the column's range, a decimal within its digits and decimal places, a
date-time whose UTC value lies in years 1 to 9999 with an offset PostgreSQL takes. Each refusal is
a ValueError whose message the parser prefixes with the value's path.
"""

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.utils import timezone

from audiences import dimensions as dims
from config.input_safety import text_problem

# A sum or an average has no column: it is compared with a number of at most this many digits
# (Python's default decimal precision, which the SQLite adapter's rounding also uses).
AGGREGATE_DIGITS = 28
# PostgreSQL refuses a UTC offset beyond 15:59:59 ("time zone displacement out of range").
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59, seconds=59)
_INT64 = (-(2**63), 2**63 - 1)
_UTC_MIN = dt.datetime.min.replace(tzinfo=dt.UTC)


def quoted(value: Any, limit: int = 60) -> str:
    """A client's value inside a message: quoted, cut at `limit` characters, with characters that
    cannot be shown (NUL, unpaired surrogates, controls) escaped, so any message can be sent."""
    text = str(value)
    cut = len(text) > limit
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[:limit])
    return f'"{text}{"…" if cut else ""}"'


def parse_value(
    type_: str, value: Any, *, choices: tuple[str, ...] = (), column: dims.Column | None = None, whole: bool = True
) -> Any:
    """Parse one value of a field type, or raise ValueError. `column` is what it is compared
    with (None: an aggregate of no column, or a count); `whole` says the value is compared with
    the whole text (eq, ne, in, not_in), so that it must fit the column's length."""
    if type_ in (dims.STRING, dims.CHOICE):
        return _text(type_, value, choices, column if whole else None)
    if type_ == dims.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if type_ == dims.INTEGER:
        return _integer(value, column)
    if type_ == dims.DECIMAL:
        return _decimal(value, column)
    if type_ == dims.DATE:
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if type_ == dims.DATETIME:
        return _datetime(value)
    if type_ == dims.LIST:
        return _list_item(value)
    raise ValueError(f"unsupported type {type_}")  # pragma: no cover


def _text(type_: str, value: Any, choices: tuple[str, ...], column: dims.Column | None) -> str:
    if not isinstance(value, str) or value == "":
        raise ValueError("must be a non-empty string (to match no value, use is_null)")
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    if type_ == dims.CHOICE and value not in choices:
        raise ValueError(f"{quoted(value)} is not one of: {', '.join(choices)}")
    if column is not None and column.max_length is not None and len(value) > column.max_length:
        raise ValueError(f"is {len(value):,} characters long; the field holds at most {column.max_length}")
    return value


def _list_item(value: Any) -> str | int | float:
    """What a list trait's `contains` looks for: a text or a number, compared as JSON values
    ("42" is not 42)."""
    if isinstance(value, str):
        return _text(dims.STRING, value, (), None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a text or a number: an item the list holds")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"must be an integer from {_INT64[0]} to {_INT64[1]}")
    return value


def integer_range(column: dims.Column | None) -> tuple[int, int]:
    """The integers the column holds on this database (a count: a bigint)."""
    internal_type = (column or dims.COUNT_COLUMN).internal_type
    try:
        low, high = connection.ops.integer_field_range(internal_type)
    except KeyError:  # not an integer column (an integer compared with a decimal one, say)
        low, high = None, None
    return (_INT64[0] if low is None else low, _INT64[1] if high is None else high)


def _integer(value: Any, column: dims.Column | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    low, high = integer_range(column)
    if not low <= value <= high:
        raise ValueError(f"must be an integer from {low} to {high}")
    return value


def _digits(number: Decimal) -> tuple[int, int]:
    """(digits before the decimal point, decimal places) of a finite number, without trailing
    zeros after the point: 120.50 -> (3, 1), 1E+3 -> (4, 0), 0.05 -> (0, 2)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    length = len(digits)
    while exponent < 0 and length > 1 and digits[length - 1] == 0:
        length, exponent = length - 1, exponent + 1
    if digits == (0,) or length == 1 and digits[0] == 0:
        return 1, 0
    return max(length + exponent, 0), max(-exponent, 0)


def _decimal(value: Any, column: dims.Column | None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number")
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{quoted(value)} is not a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    whole, places = _digits(number)
    if column is None or column.max_digits is None:
        if whole + places > AGGREGATE_DIGITS:
            raise ValueError(f"has {whole + places:,} digits; compare with a number of at most {AGGREGATE_DIGITS}")
        return number
    decimal_places = column.decimal_places or 0
    if whole > column.max_digits - decimal_places:
        raise ValueError(
            f"has {whole:,} digits before the decimal point; the field holds at most {column.max_digits - decimal_places}"
        )
    if places > decimal_places:
        raise ValueError(f"has {places:,} decimal places; the field holds at most {decimal_places}")
    return number


def _datetime(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)  # a whole day, in the site's time zone
        except ValueError:
            pass
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError("must be a date-time (ISO 8601) or a date (YYYY-MM-DD)") from None
    aware = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    offset = aware.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(f"has a UTC offset of {_offset(offset)}; offsets may be at most ±15:59")
    try:
        aware.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("falls outside the years 1 to 9999 in UTC") from None
    return aware


def _offset(offset: dt.timedelta) -> str:
    sign, seconds = ("-", -offset) if offset < dt.timedelta(0) else ("+", offset)
    hours, rest = divmod(int(seconds.total_seconds()), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


# -- days on the time line --------------------------------------------------------------------


def is_day(value: Any) -> bool:
    """A date (standing for a whole day), not a date-time."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def day_start(day: dt.date) -> dt.datetime:
    """The site-time midnight that starts `day`, in UTC. Year 1 may start before the first
    instant a date-time can hold: then that first instant (nothing is earlier)."""
    try:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min)).astimezone(dt.UTC)
    except OverflowError:
        return _UTC_MIN


def day_end(day: dt.date) -> dt.datetime | None:
    """The midnight after `day`, in UTC; None when there is none (after 9999-12-31)."""
    if day == dt.date.max:
        return None
    following = day + dt.timedelta(days=1)
    try:
        return timezone.make_aware(dt.datetime.combine(following, dt.time.min)).astimezone(dt.UTC)
    except OverflowError:
        return None


def in_order(low: Any, high: Any) -> bool:
    """`low` is not above `high`; a date stands for its whole day (from its start to its end)."""
    if not (isinstance(low, dt.datetime) or isinstance(high, dt.datetime)):
        return low <= high
    start = day_start(low) if is_day(low) else low
    if not is_day(high):
        return start <= high
    end = day_end(high)  # exclusive: the next midnight is no longer the high day
    return end is None or start < end


def shift_date(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, kept within years 1 to 9999."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def shift_datetime(moment: dt.datetime, days: int) -> dt.datetime | None:
    """`moment` moved by `days` (in UTC); the first instant below year 1, None past year 9999."""
    try:
        return moment.astimezone(dt.UTC) + dt.timedelta(days=days)
    except OverflowError:
        return None if days > 0 else _UTC_MIN
