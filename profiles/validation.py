"""Parsers for incoming values, shared by the API serializers, bulk upserts and file imports.

Each parser takes the raw value (JSON value or CSV string) and returns the stored value, or raises
`ValueError` with a message a person can act on. Strings are stripped; an empty string means
"no value" for optional text fields.

Every parser knows its column's limits, so that whatever passes validation is also accepted by
the database, on PostgreSQL as on SQLite: text holds no NUL and no unpaired surrogate, integers
fit their column's range, decimals its precision, date-times stay within what Python can read back
(years 1 to 9999 in any time zone) and their offsets within what PostgreSQL accepts.
"""

import datetime as dt
import math
import zoneinfo
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

from config.input_safety import JSONInputError, json_problem, text_problem
from config.input_safety import loads as json_loads

_email_validator = EmailValidator()
_TIMEZONES = frozenset(zoneinfo.available_timezones())
# ISO 3166-1 alpha-2 codes known to phonenumbers (every country with a numbering plan), plus the
# few assigned codes without one.
_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
# The column ranges of the most restrictive backend we support (PostgreSQL), on every backend, so
# that a record valid on SQLite is valid on PostgreSQL too.
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
# PostgreSQL accepts UTC offsets up to 15:59; Python up to 23:59.
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)
# Date-times are stored in UTC and shown in any time zone: a day's margin at both ends of Python's
# range keeps every conversion readable.
EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)


def text(value, *, max_length: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("must be a string")
    if type(value) is not str:
        if isinstance(value, float | Decimal) and not math.isfinite(value):
            raise ValueError("must be a string")
        try:
            value = str(value)
        except ValueError:  # an int past sys.get_int_max_str_digits()
            raise ValueError(f"must be at most {max_length} characters") from None
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters (got a number of {len(value)})")
    elif problem := text_problem(value):
        raise ValueError(problem)
    value = value.strip()
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters (got {len(value)})")
    return value


def email(value) -> str:
    value = text(value, max_length=254)
    if not value:
        return ""
    try:
        _email_validator(value)
    except ValidationError:
        raise ValueError(f"{value!r} is not a valid email address") from None
    return value.lower()


def phone(value, *, region: str | None = None) -> str:
    """A phone number in E.164; national formats need a region (the record's country)."""
    value = text(value, max_length=40)
    if not value:
        return ""
    region = (region or settings.PHONE_DEFAULT_REGION or "").upper() or None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        if region is None and not value.startswith("+"):
            raise ValueError(f"{value!r} needs an international prefix (+) or a country") from None
        raise ValueError(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country(value) -> str:
    value = text(value, max_length=2).upper()
    if value and value not in _COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


def time_zone(value) -> str:
    value = text(value, max_length=64)
    if value and value not in _TIMEZONES:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Lisbon)")
    return value


def currency(value) -> str:
    value = text(value, max_length=3).upper()
    if value and (len(value) != 3 or not value.isalpha()):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


def choice(value, *, choices: tuple[str, ...]) -> str:
    value = text(value, max_length=100)
    if value not in choices:
        raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
    return value


def date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date (YYYY-MM-DD)")
    if problem := text_problem(value):
        raise ValueError(problem)
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a date (YYYY-MM-DD, years 1 to 9999)") from None


def datetime(value) -> dt.datetime | None:
    """ISO 8601; a value without an offset is taken in the site's time zone."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        if not isinstance(value, str):
            raise ValueError("must be a date-time (ISO 8601, e.g. 2026-05-01T10:00:00Z)")
        if problem := text_problem(value):
            raise ValueError(problem)
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{_shown(value)} is not a date-time (ISO 8601, e.g. 2026-05-01T10:00:00Z)") from None
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed)
        except (OverflowError, ValueError):
            raise ValueError(f"{_shown(value)} is out of range (years 1 to 9999)") from None
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(f"{_shown(value)} has a UTC offset beyond ±15:59")
    try:
        in_range = EARLIEST <= parsed <= LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError(f"{_shown(value)} is out of range (from 0001-01-02 to 9999-12-30 UTC)")
    return parsed


def decimal(value, *, max_digits: int, decimal_places: int) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("must be a number")
    if isinstance(value, str):
        if problem := text_problem(value):
            raise ValueError(problem)
        if len(value) > 100:
            raise ValueError(f"{_shown(value)} is not a number of at most {max_digits} digits")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{_shown(value)} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{_shown(value)} is not a finite number")
    whole_digits = max_digits - decimal_places
    # adjusted() is the exponent of the leading digit: 123.4 -> 2. Checked before quantize, which
    # fails on huge exponents.
    if number and number.adjusted() >= whole_digits:
        limit = Decimal(10) ** whole_digits
        raise ValueError(
            f"{_shown(value)} is too large: at most {max_digits} digits, {decimal_places} after the point (below {limit:,})"
        )
    number = number.quantize(Decimal(1).scaleb(-decimal_places))
    if len(number.as_tuple().digits) > max_digits:  # rounding up: 999.995 with two places
        raise ValueError(f"{_shown(value)} has more than {max_digits} digits")
    return number


def integer(value, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """A whole number within [minimum, maximum] (a column's range: see INTEGER_RANGES)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("must be an integer")
    if isinstance(value, float | Decimal):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{_shown(value)} is not an integer")
        number = int(value)
    else:
        if isinstance(value, str):
            if problem := text_problem(value):
                raise ValueError(problem)
            if len(value) > 40:
                raise ValueError(f"{_shown(value)} is not an integer in range")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{_shown(value)} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"must be at least {minimum:,}" if minimum else "may not be negative")
    if maximum is not None and number > maximum:
        raise ValueError(f"must be at most {maximum:,}")
    return number


def boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str | int):
        raise ValueError("must be true or false")
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise ValueError(f"{_shown(value)} is not a boolean (true or false)")


def json_object(value) -> dict:
    """A JSON object (custom traits): given as one, or as its JSON text (a CSV cell, a form field).
    Its keys and strings obey the text rules, its numbers are finite, its nesting is bounded."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        if problem := text_problem(value):
            raise ValueError(problem)
        try:
            value = json_loads(value)
        except JSONInputError as exc:
            raise ValueError(str(exc)) from None
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object ({{...}}), not {_json_kind(value)}")
    if problem := json_problem(value):
        raise ValueError(problem)
    return value


def _json_kind(value) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _shown(value, limit: int = 60) -> str:
    """A value quoted for an error message, cut short when long (repr escapes what it must)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"
