"""The compiler against memberships worked out by hand (see the `world` fixture)."""

import pytest

from audiences import dimensions as dims
from audiences.rules.compiler import compile_rule
from audiences.rules.parser import parse_rule
from tests.audiences.conftest import NOW

pytestmark = pytest.mark.django_db


def members(rule, dimension="profile"):
    dimension = dims.get(dimension)
    node = parse_rule(dimension, rule)
    return set(compile_rule(dimension, node, now=NOW).values_list("external_id", flat=True))


def f(field, op, value):
    return {"field": field, "op": op, "value": value}


EVERYONE = {"ana", "bruno", "carla", "dan"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (f("country", "eq", "PT"), {"ana", "bruno"}),
        (f("country", "ne", "PT"), {"carla"}),  # dan has no country: field operators never match it
        ({"not": f("country", "eq", "PT")}, {"carla", "dan"}),  # not is the complement
        (f("country", "in", ["PT", "ES"]), {"ana", "bruno", "carla"}),
        (f("country", "in", []), set()),
        (f("country", "not_in", ["PT"]), {"carla"}),
        (f("country", "not_in", []), {"ana", "bruno", "carla"}),
        (f("country", "is_null", True), {"dan"}),
        (f("country", "is_null", False), {"ana", "bruno", "carla"}),
        (f("loyalty_tier", "is_null", True), {"bruno"}),
        (f("email", "contains", "example.com"), {"ana", "dan"}),
        (f("email", "icontains", "EXAMPLE"), {"ana", "bruno", "dan"}),
        (f("email", "startswith", "b"), {"bruno"}),
        (f("city", "ne", "Lisboa"), {"carla", "dan"}),
        (f("birth_date", "before", "1990-05-01"), {"carla"}),
        (f("birth_date", "after", "1990-05-01"), {"dan"}),
        (f("birth_date", "lte", "1990-05-01"), {"ana", "carla"}),
        (f("birth_date", "between", ["1985-12-31", "1990-05-01"]), {"ana", "carla"}),  # inclusive
        (f("birth_date", "ne", "1990-05-01"), {"carla", "dan"}),  # bruno has no birth date
        (f("birth_date", "is_null", True), {"bruno"}),
        ({"all": []}, EVERYONE),
        ({"any": []}, set()),
        ({"any": [f("country", "eq", "ES"), f("loyalty_tier", "eq", "silver")]}, {"carla", "dan"}),
        ({"all": [f("country", "eq", "PT"), {"not": f("loyalty_tier", "eq", "gold")}]}, {"bruno"}),
    ],
)
def test_field_conditions(world, rule, expected):
    assert members(rule) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"has": "bookings"}, {"ana", "bruno", "dan"}),
        ({"has": "bookings", "where": f("status", "eq", "confirmed")}, {"ana", "bruno"}),
        (
            {"has": "bookings", "where": {"all": [f("status", "eq", "confirmed"), f("check_in", "in_next_days", 30)]}},
            {"ana"},
        ),
        ({"has": "bookings", "where": f("check_in", "in_last_days", 7)}, {"ana"}),
        ({"has": "bookings", "where": f("product.category", "eq", "tour")}, {"ana", "dan"}),
        ({"has": "bookings", "count": {"op": "gte", "value": 2}}, {"ana", "bruno"}),
        ({"has": "bookings", "count": {"op": "eq", "value": 0}}, {"carla"}),
        ({"has": "bookings", "count": {"op": "lt", "value": 2}}, {"carla", "dan"}),
        ({"has": "bookings", "where": f("status", "eq", "confirmed"), "count": {"op": "eq", "value": 1}}, {"ana"}),
        (
            {"has": "bookings", "where": f("status", "eq", "confirmed"), "count": {"op": "lte", "value": 1}},
            {"ana", "carla", "dan"},
        ),
        ({"has": "bookings", "count": {"op": "between", "value": [1, 1]}}, {"dan"}),
        ({"has": "bookings", "count": {"op": "ne", "value": 2}}, {"carla", "dan"}),
        ({"not": {"has": "bookings"}}, {"carla"}),
    ],
)
def test_has_conditions(world, rule, expected):
    assert members(rule) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"agg": "sum", "of": "purchases.amount", "op": "gte", "value": 500}, {"ana", "bruno", "carla"}),
        (
            {
                "agg": "sum",
                "of": "purchases.amount",
                "where": f("purchased_at", "in_last_days", 365),
                "op": "gte",
                "value": 500,
            },
            {"bruno", "carla"},
        ),
        ({"agg": "sum", "of": "purchases.amount", "op": "lt", "value": 100}, {"dan"}),  # no purchases: sum is 0
        ({"agg": "sum", "of": "purchases.amount", "op": "eq", "value": 0}, {"dan"}),
        ({"agg": "count", "of": "purchases", "op": "eq", "value": 2}, {"ana", "bruno"}),
        ({"agg": "count", "of": "purchases", "op": "lte", "value": 1}, {"carla", "dan"}),
        ({"agg": "avg", "of": "purchases.amount", "op": "gt", "value": 250}, {"ana", "bruno", "carla"}),
        ({"agg": "avg", "of": "purchases.amount", "op": "lt", "value": 1000}, {"ana", "bruno", "carla"}),  # dan: no avg
        ({"agg": "max", "of": "purchases.amount", "op": "gte", "value": 450}, {"bruno", "carla"}),
        ({"agg": "min", "of": "purchases.purchased_at", "op": "lt", "value": "2026-01-01"}, {"ana"}),
        ({"agg": "max", "of": "purchases.purchased_at", "op": "gte", "value": "2026-06-14"}, {"bruno"}),
        (
            {"agg": "count", "of": "bookings", "where": f("product.category", "eq", "stay"), "op": "gte", "value": 2},
            {"bruno"},
        ),
        ({"not": {"agg": "sum", "of": "purchases.amount", "op": "gte", "value": 500}}, {"dan"}),
    ],
)
def test_aggregates(world, rule, expected):
    assert members(rule) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {
                "all": [
                    f("status", "eq", "confirmed"),
                    f("check_in", "in_next_days", 60),
                    f("profile.country", "in", ["PT", "ES"]),
                ]
            },
            {"bk-0", "bk-2"},
        ),
        (f("profile.loyalty_tier", "eq", "silver"), {"bk-4"}),
        (f("product.category", "ne", "stay"), {"bk-1", "bk-4"}),
        (f("amount", "between", ["40", "500"]), {"bk-0", "bk-4"}),
    ],
)
def test_booking_dimension_with_to_one_paths(world, rule, expected):
    assert members(rule, "booking") == expected


def test_products_reach_their_bookings(world):
    assert members({"has": "bookings", "where": f("status", "eq", "pending")}, "product") == {"SKU-TOUR"}
    assert members({"agg": "count", "of": "bookings", "op": "gte", "value": 3}, "product") == {"SKU-STAY"}


def test_datetime_fields_take_whole_days(world):
    assert members({"has": "purchases", "where": f("purchased_at", "eq", "2026-06-14")}) == {"bruno"}
    assert members({"has": "purchases", "where": f("purchased_at", "between", ["2026-05-16", "2026-06-05"])}) == {
        "ana",
        "bruno",
        "carla",
    }
    assert members({"has": "purchases", "where": f("purchased_at", "after", "2026-06-05")}) == {"bruno"}
    assert members({"has": "purchases", "where": f("purchased_at", "gte", "2026-06-05T12:00:00+00:00")}) == {
        "ana",
        "bruno",
    }
