"""Parsers for incoming values, shared by the API serializers, bulk upserts and file imports.

Each parser takes the raw value (JSON value or CSV string) and returns the stored value, or raises
`ValueError` with a message a person can act on. Strings are stripped; an empty string means
"no value" for optional text fields.
"""

import datetime as dt
import json
import zoneinfo
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

_email_validator = EmailValidator()
_TIMEZONES = frozenset(zoneinfo.available_timezones())
# ISO 3166-1 alpha-2 codes known to phonenumbers (every country with a numbering plan), plus the
# few assigned codes without one.
_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}


def text(value, *, max_length: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("must be a string")
    value = str(value).strip()
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
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def datetime(value) -> dt.datetime | None:
    """ISO 8601; a value without an offset is taken in the site's time zone."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a date-time (ISO 8601, e.g. 2026-05-01T10:00:00Z)") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def decimal(value, *, max_digits: int, decimal_places: int) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    number = number.quantize(Decimal(1).scaleb(-decimal_places))
    if len(number.as_tuple().digits) > max_digits:
        raise ValueError(f"{value!r} has more than {max_digits} digits")
    return number


def integer(value, *, minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"must be at least {minimum}")
    return number


def boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def json_object(value) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value
