"""Property: whatever a record holds, the bulk upsert answers a per-record error or writes it, never
raises, and the valid records beside it are written (on SQLite and on PostgreSQL)."""

import datetime as dt
import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles import validation
from profiles.ingestion.specs import SPECS
from profiles.ingestion.upsert import entity_bulk_upsert
from profiles.models import Booking, Profile
from tests.factories import ProductFactory, ProfileFactory

# Every code point, NUL and lone surrogates included.
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)
extreme_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e999999999", "-1e-999999999", "9" * 400, "0x10", "1_000", " 12 "]),
)
edge_dates = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.sampled_from(["0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "2026-01-01\x00"]),
    st.datetimes(timezones=st.timezones()).map(dt.datetime.isoformat),
    st.sampled_from(
        ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-01-01T00:00:00+23:59", "2026-01-01T25:00"]
    ),
)
json_leaves = st.one_of(
    st.none(), st.booleans(), extreme_numbers.filter(lambda v: not isinstance(v, Decimal)), any_text
)
nested_json = st.recursive(
    json_leaves,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(any_text, children, max_size=3)),
    max_leaves=12,
)
any_value = st.one_of(any_text, extreme_numbers, edge_dates, nested_json)


def _record_strategy(entity: str):
    fields = sorted(name for name, spec in SPECS[entity].fields.items() if spec.reference is None)
    return st.dictionaries(st.sampled_from(["external_id", *fields]), any_value, max_size=6)


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=st.lists(_record_strategy("profiles"), min_size=1, max_size=4))
def test_any_profile_record_is_written_or_refused_and_valid_neighbours_are_written(hostile):
    Profile.objects.all().delete()
    records = [{"external_id": "valid-before", "city": "Porto"}, *hostile, {"external_id": "valid-after"}]
    result = entity_bulk_upsert(entity="profiles", records=records)
    refused = {error["index"] for error in result.errors}
    assert not refused & {0, len(records) - 1}
    assert Profile.objects.filter(external_id__in=["valid-before", "valid-after"]).count() == 2
    for error in result.errors:  # every message can be sent back as JSON text
        assert all(isinstance(m, str) for messages in error["errors"].values() for m in messages)
        str(error).encode("utf-8")
    # What was written reads back (the ORM can load every stored value).
    list(Profile.objects.values())


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=st.lists(_record_strategy("bookings"), min_size=1, max_size=3))
def test_any_booking_record_is_written_or_refused(hostile):
    Booking.objects.all().delete()
    if not Profile.objects.filter(external_id="c1").exists():
        ProfileFactory(external_id="c1")
        ProductFactory(external_id="SKU-1")
    base = {"profile": "c1", "product": "SKU-1", "status": "confirmed", "check_in": "2026-05-01"}
    records = [{**base, **record, "profile": "c1", "product": "SKU-1"} for record in hostile]
    records.append({**base, "external_id": "valid"})
    result = entity_bulk_upsert(entity="bookings", records=records)
    assert len(records) - 1 not in {error["index"] for error in result.errors}
    assert Booking.objects.filter(external_id="valid").exists()
    list(Booking.objects.values())


@given(value=any_value)
@settings(max_examples=400, deadline=None)
def test_every_parser_returns_or_raises_value_error(value):
    parsers = [
        lambda v: validation.text(v, max_length=50),
        validation.email,
        validation.phone,
        validation.country,
        validation.time_zone,
        validation.currency,
        validation.date,
        validation.datetime,
        lambda v: validation.decimal(v, max_digits=12, decimal_places=2),
        lambda v: validation.integer(v, minimum=-(2**31), maximum=2**31 - 1),
        validation.boolean,
        validation.json_object,
    ]
    for parse in parsers:
        try:
            parsed = parse(value)
        except ValueError as exc:
            str(exc).encode("utf-8")
            continue
        if isinstance(parsed, str):
            assert "\x00" not in parsed
            parsed.encode("utf-8")
        elif isinstance(parsed, Decimal):
            assert parsed.is_finite() and abs(parsed) < 10**10
        elif isinstance(parsed, int) and not isinstance(parsed, bool):
            assert -(2**31) <= parsed < 2**31
        elif isinstance(parsed, dt.datetime):
            parsed.astimezone(dt.UTC)
        elif isinstance(parsed, float):  # pragma: no cover - no parser returns floats
            assert math.isfinite(parsed)
