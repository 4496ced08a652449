"""Values in rules, parsed for the field's type: text, choices, numbers, dates and date-times."""

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from audiences import dimensions as dims


def parse_value(type_: str, choices: tuple[str, ...], value: Any) -> Any:
    """Parse one value of a field type, or raise ValueError."""
    if type_ in (dims.STRING, dims.CHOICE):
        if not isinstance(value, str) or value == "":
            raise ValueError("must be a non-empty string (to match no value, use is_null)")
        if type_ == dims.CHOICE and value not in choices:
            raise ValueError(f'"{value}" is not one of: {", ".join(choices)}')
        return value
    if type_ == dims.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if type_ == dims.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if type_ == dims.DECIMAL:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f'"{value}" is not a number') from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        return number
    if type_ == dims.DATE:
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if type_ == dims.DATETIME:
        if isinstance(value, str) and len(value) == 10:
            try:
                return dt.date.fromisoformat(value)  # a whole day, in the site's time zone
            except ValueError:
                pass
        try:
            parsed = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError("must be a date-time (ISO 8601) or a date (YYYY-MM-DD)") from None
        return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    raise ValueError(f"unsupported type {type_}")  # pragma: no cover


def comparable(value: Any, end: bool = False) -> Any:
    """Dates and date-times compare on one scale (a date stands for its whole day)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        day = value + dt.timedelta(days=1) if end else value
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return value
