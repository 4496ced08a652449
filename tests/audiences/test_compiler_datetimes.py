"""Date-time fields with `in` and `between`: bounds are inclusive and a date stands for its whole
day in the site's time zone (audiences/rules/values.py `comparable`, the compiler's `_day`).
Runs on SQLite and on PostgreSQL, which store and compare date-times differently."""

import datetime as dt

import pytest

from audiences import dimensions as dims
from audiences.rules.compiler import compile_rule
from audiences.rules.parser import RuleError, parse_rule
from profiles.models import Booking
from tests.factories import BookingFactory, ProfileFactory

pytestmark = pytest.mark.django_db

# Booked at, in Tokyo (UTC+9, no daylight saving): the 10th of March 2026 runs from 15:00 UTC on
# the 9th to 15:00 UTC on the 10th, so a UTC calendar day would take "next" for the 10th.
TOKYO = {
    "eve": "2026-03-09T23:59:59.999999+09:00",
    "start": "2026-03-10T00:00:00+09:00",
    "noon": "2026-03-10T12:00:00+09:00",
    "end": "2026-03-10T23:59:59.999999+09:00",
    "next": "2026-03-11T00:00:00+09:00",
    "next-end": "2026-03-11T23:59:59.999999+09:00",
    "later": "2026-03-12T00:00:00+09:00",
    "never": None,
}
TENTH = {"start", "noon", "end"}


def store(booked_at: dict[str, str | None]) -> None:
    """One booking per label, each of its own profile (named like the booking)."""
    for label, when in booked_at.items():
        BookingFactory(
            external_id=label, profile=ProfileFactory(external_id=label),
            booked_at=None if when is None else dt.datetime.fromisoformat(when),
        )  # fmt: skip


def matching(rule, dimension="booking") -> set[str]:
    dimension = dims.get(dimension)
    return set(compile_rule(dimension, parse_rule(dimension, rule)).values_list("external_id", flat=True))


def booked(op, value):
    return {"field": "booked_at", "op": op, "value": value}


@pytest.fixture
def tokyo(db, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    store(TOKYO)


def test_the_stored_instants_are_the_ones_meant(tokyo):
    stored = dict(Booking.objects.values_list("external_id", "booked_at"))
    assert stored["next"] == dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
    assert stored["end"] == dt.datetime(2026, 3, 10, 14, 59, 59, 999999, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["2026-03-10"], TENTH),  # the whole local day, first and last microsecond included
        (["2026-03-10", "2026-03-12"], TENTH | {"later"}),
        (["2026-03-11", "2026-03-10"], TENTH | {"next", "next-end"}),
        (["2026-03-10T12:00:00+09:00"], {"noon"}),  # a date-time is that instant only
        (["2026-03-10T03:00:00Z"], {"noon"}),  # the same instant written in UTC
        (["2026-03-10T12:00:00"], {"noon"}),  # a naive date-time is in the site's time zone
        (["2026-03-09", "2026-03-11T00:00:00+09:00"], {"eve", "next"}),  # dates and date-times mixed
        (["2026-03-13"], set()),
        ([], set()),
    ],
)
def test_in_takes_whole_local_days_and_exact_instants(tokyo, value, expected):
    assert matching(booked("in", value)) == expected


def test_not_in_is_everyone_else_with_a_value(tokyo):
    assert matching(booked("not_in", ["2026-03-10"])) == {"eve", "next", "next-end", "later"}
    assert matching(booked("not_in", [])) == set(TOKYO) - {"never"}
    assert matching({"not": booked("in", ["2026-03-10"])}) == {"eve", "next", "next-end", "later", "never"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["2026-03-10", "2026-03-10"], TENTH),  # one whole day
        (["2026-03-10", "2026-03-11"], TENTH | {"next", "next-end"}),  # both days whole
        (["2026-03-10T00:00:00+09:00", "2026-03-11T00:00:00+09:00"], TENTH | {"next"}),  # both instants included
        (["2026-03-09T23:59:59.999999+09:00", "2026-03-10T00:00:00+09:00"], {"eve", "start"}),
        (["2026-03-10T12:00:00+09:00", "2026-03-10"], {"noon", "end"}),  # to the end of the high day
        (["2026-03-10", "2026-03-10T12:00:00+09:00"], {"start", "noon"}),  # from the start of the low day
        (["2026-03-10T00:00:00", "2026-03-10T11:59:59"], {"start"}),  # naive: the site's time zone
        (["2026-03-10T03:00:00Z", "2026-03-10T03:00:00Z"], {"noon"}),
    ],
)
def test_between_is_inclusive_at_both_ends(tokyo, value, expected):
    assert matching(booked("between", value)) == expected
    assert matching({"not": booked("between", value)}) == set(TOKYO) - expected


def test_a_relation_or_an_aggregate_over_date_times_takes_the_same_days(tokyo):
    assert matching({"has": "bookings", "where": booked("in", ["2026-03-10"])}, "profile") == TENTH
    assert matching({"has": "bookings", "where": booked("between", ["2026-03-11", "2026-03-12"])}, "profile") == {
        "next",
        "next-end",
        "later",
    }
    latest = {"agg": "max", "of": "bookings.booked_at", "op": "between", "value": ["2026-03-10", "2026-03-10"]}
    assert matching(latest, "profile") == TENTH
    earliest = {"agg": "min", "of": "bookings.booked_at", "op": "between",
                "value": ["2026-03-09T23:59:59.999999+09:00", "2026-03-11"]}  # fmt: skip
    assert matching(earliest, "profile") == {"eve", *TENTH, "next", "next-end"}


def test_days_with_a_daylight_saving_change_are_23_or_25_hours_long(db, settings):
    settings.TIME_ZONE = "Europe/Lisbon"  # clocks go forward on 2026-03-29 and back on 2026-10-25
    store({
        "spring-last": "2026-03-29T23:30:00+01:00",  # 22:30 UTC: 23 hours after the day began
        "spring-next": "2026-03-30T00:30:00+01:00",  # 24 hours after the 29th began, but the 30th
        "autumn-first": "2026-10-25T00:30:00+01:00",
        "autumn-last": "2026-10-25T23:30:00+00:00",  # 24.5 hours after the 25th began, still the 25th
        "autumn-next": "2026-10-26T00:00:00+00:00",
    })  # fmt: skip
    assert matching(booked("in", ["2026-03-29"])) == {"spring-last"}
    assert matching(booked("in", ["2026-10-25"])) == {"autumn-first", "autumn-last"}
    assert matching(booked("between", ["2026-03-29", "2026-03-29"])) == {"spring-last"}
    assert matching(booked("between", ["2026-03-30", "2026-10-25"])) == {"spring-next", "autumn-first", "autumn-last"}


@pytest.mark.parametrize(
    ("field", "value", "dimension"),
    [
        ("booked_at", ["2026-03-11", "2026-03-10"], "booking"),  # consecutive days in the wrong order
        ("booked_at", ["2026-03-10T12:00:00+09:00", "2026-03-10T11:59:59+09:00"], "booking"),
        ("booked_at", ["2026-03-11T00:00:00+09:00", "2026-03-10"], "booking"),  # the midnight after the high day
        ("booked_at", ["2026-03-10T00:00:00", "2026-03-09"], "booking"),  # naive: the site's midnight
        ("birth_date", ["1990-01-02", "1990-01-01"], "profile"),
    ],
)
def test_a_between_whose_low_is_above_its_high_is_refused(tokyo, field, value, dimension):
    with pytest.raises(RuleError) as caught:
        parse_rule(dimension, {"field": field, "op": "between", "value": value})
    assert caught.value.problems == [("value", "the low value is above the high value")]


def test_a_between_within_one_day_is_accepted(tokyo):
    assert matching(booked("between", ["2026-03-10T23:00:00+09:00", "2026-03-10"])) == {"end"}
    assert matching(booked("between", ["2026-03-10", "2026-03-10T00:00:00+09:00"])) == {"start"}


def test_an_aggregate_between_whose_low_is_above_its_high_is_refused(tokyo):
    latest = {
        "agg": "max",
        "of": "bookings.booked_at",
        "op": "between",
        "value": ["2026-03-11T00:00:00+09:00", "2026-03-10"],
    }
    with pytest.raises(RuleError) as caught:
        parse_rule("profile", latest)
    assert caught.value.problems == [("value", "the low value is above the high value")]
