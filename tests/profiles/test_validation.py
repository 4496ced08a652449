import datetime as dt
import re
from decimal import Decimal

import pytest

from profiles import validation


def test_phone_numbers_become_e164():
    assert validation.phone("+44 20 7946 0958") == "+442079460958"
    assert validation.phone("(212) 555-0123", region="US") == "+12125550123"


@pytest.mark.parametrize("value", ["12", "+999 123", "phone", "912345678"])
def test_bad_phone_numbers_are_refused_with_the_value_named(value):
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        validation.phone(value)


def test_dates_and_datetimes(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    assert validation.date("2026-02-28") == dt.date(2026, 2, 28)
    parsed = validation.datetime("2026-02-28T10:00:00Z")
    assert parsed == dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC)
    # naive: in the site's time zone (Tokyo is UTC+9)
    assert validation.datetime("2026-02-28T10:00:00") == dt.datetime(2026, 2, 28, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        validation.datetime("28/02/2026")


def test_decimals_are_rounded_to_the_fields_places_and_bounded():
    assert validation.decimal("10.005", max_digits=12, decimal_places=2) == Decimal("10.00")
    with pytest.raises(ValueError, match="digits"):
        validation.decimal("1e20", max_digits=12, decimal_places=2)
    with pytest.raises(ValueError, match="finite"):
        validation.decimal("NaN", max_digits=12, decimal_places=2)


def test_booleans_and_objects():
    assert validation.boolean("yes") is True
    assert validation.json_object('{"a": 1}') == {"a": 1}
    with pytest.raises(ValueError, match="JSON object"):
        validation.json_object([1])
