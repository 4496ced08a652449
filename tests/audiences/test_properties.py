"""Property: for random rules, the SQL result equals a plain-Python evaluation of the same rule
over the same rows, with the documented semantics (NULLs, complement, empty sets, zero rows)."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences import dimensions as dims
from audiences.rules.compiler import compile_rule
from audiences.rules.parser import parse_rule
from profiles.models import Booking, Product, Profile, Purchase

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 12, 0))
TODAY = NOW.date()
COUNTRIES = ["PT", "ES", "FR", ""]
TIERS = ["", "gold", "silver"]
STATUSES = ["confirmed", "cancelled", "pending"]
CATEGORIES = ["stay", "tour"]


@pytest.fixture
def store(db):
    rng = random.Random(7)
    products = [Product.objects.create(external_id=f"SKU-{c}", name=c, category=c) for c in CATEGORIES]
    profiles = []
    for number in range(40):
        profiles.append(Profile.objects.create(
            external_id=f"p{number}", country=rng.choice(COUNTRIES), loyalty_tier=rng.choice(TIERS),
            city=rng.choice(["Lisboa", "Porto", ""]),
            birth_date=None if rng.random() < 0.2 else dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(0, 15000)),
        ))  # fmt: skip
    for profile in profiles:
        for n in range(rng.choice([0, 0, 1, 2, 3])):
            Booking.objects.create(
                external_id=f"{profile.external_id}-b{n}", profile=profile, product=rng.choice(products),
                status=rng.choice(STATUSES), check_in=TODAY + dt.timedelta(days=rng.randint(-60, 60)),
                amount=Decimal(rng.randint(0, 900)),
            )  # fmt: skip
        for n in range(rng.choice([0, 1, 2, 4])):
            Purchase.objects.create(
                external_id=f"{profile.external_id}-p{n}", profile=profile, product=rng.choice(products),
                amount=Decimal(rng.randint(0, 400)), purchased_at=NOW - dt.timedelta(days=rng.randint(0, 700), hours=3),
            )  # fmt: skip
    rows = {}
    for profile in Profile.objects.all():
        rows[profile.external_id] = {
            "country": profile.country, "loyalty_tier": profile.loyalty_tier, "city": profile.city,
            "birth_date": profile.birth_date,
            "bookings": [{"status": b.status, "check_in": b.check_in, "amount": b.amount, "product.category": b.product.category}
                         for b in profile.bookings.select_related("product")],
            "purchases": [{"amount": p.amount, "purchased_at": p.purchased_at} for p in profile.purchases.all()],
        }  # fmt: skip
    return rows


# -- rules ------------------------------------------------------------------------------------

string_field = st.sampled_from(["country", "loyalty_tier", "city"])
string_value = st.sampled_from(["PT", "ES", "gold", "silver", "Lisboa", "Porto", "P", "o"])


def fit(field, value):
    """Rules compare whole values that fit the column (country holds 2 characters)."""
    return value[:2] if field == "country" else value


def string_condition():
    single = st.tuples(string_field, st.sampled_from(["eq", "ne", "contains", "startswith"]), string_value).map(
        lambda t: (t[0], t[1], fit(t[0], t[2]))
    )
    many = st.tuples(string_field, st.sampled_from(["in", "not_in"]), st.lists(string_value, max_size=3)).map(
        lambda t: (t[0], t[1], [fit(t[0], v) for v in t[2]])
    )
    null = st.tuples(string_field, st.just("is_null"), st.booleans())
    return st.one_of(single, many, null).map(lambda t: {"field": t[0], "op": t[1], "value": t[2]})


date_value = st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2012, 1, 1)).map(dt.date.isoformat)
birth_condition = st.one_of(
    st.tuples(st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "before", "after"]), date_value),
    st.tuples(st.just("between"), st.lists(date_value, min_size=2, max_size=2).map(sorted)),
    st.tuples(st.just("is_null"), st.booleans()),
).map(lambda t: {"field": "birth_date", "op": t[0], "value": t[1]})

booking_where = st.one_of(
    st.sampled_from(STATUSES).map(lambda s: {"field": "status", "op": "eq", "value": s}),
    st.sampled_from(CATEGORIES).map(lambda c: {"field": "product.category", "op": "ne", "value": c}),
    st.integers(0, 60).map(lambda n: {"field": "check_in", "op": "in_next_days", "value": n}),
    st.integers(0, 60).map(lambda n: {"field": "check_in", "op": "in_last_days", "value": n}),
)
count_bound = st.tuples(st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]), st.integers(0, 3)).map(
    lambda t: {"op": t[0], "value": t[1]}
)


def has_condition():
    return st.builds(
        lambda where, count: {"has": "bookings", **({"where": where} if where else {}), **({"count": count} if count else {})},
        st.one_of(st.none(), booking_where), st.one_of(st.none(), count_bound),
    )  # fmt: skip


aggregate_condition = st.one_of(
    st.builds(
        lambda fn, op, value, days: {"agg": fn, "of": "purchases.amount", "op": op, "value": value,
                                     **({"where": {"field": "purchased_at", "op": "in_last_days", "value": days}} if days else {})},
        st.sampled_from(["sum", "avg", "min", "max"]), st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]),
        st.integers(0, 900), st.one_of(st.none(), st.integers(1, 700)),
    ),
    st.builds(lambda op, value: {"agg": "count", "of": "purchases", "op": op, "value": value},
              st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]), st.integers(0, 4)),
)  # fmt: skip

leaf = st.one_of(string_condition(), birth_condition, has_condition(), aggregate_condition)
rules = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: {"all": items}),
        st.lists(children, max_size=3).map(lambda items: {"any": items}),
        children.map(lambda child: {"not": child}),
    ),
    max_leaves=6,
)

# -- the reference evaluator ------------------------------------------------------------------

COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
           "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "before": lambda a, b: a < b, "after": lambda a, b: a > b}  # fmt: skip


def field_matches(value, op, operand, *, text):
    missing = value is None or (text and value == "")
    if op == "is_null":
        return missing == operand
    if missing:
        return False
    if op in ("in", "not_in"):
        inside = value in operand
        return inside if op == "in" else not inside
    if op == "contains":
        return operand in value
    if op == "startswith":
        return value.startswith(operand)
    if op == "between":
        low, high = (dt.date.fromisoformat(v) for v in operand)
        return low <= value <= high
    if op == "in_next_days":
        return TODAY <= value <= TODAY + dt.timedelta(days=operand)
    if op == "in_last_days":
        return TODAY - dt.timedelta(days=operand) <= value <= TODAY
    if isinstance(value, dt.date) and isinstance(operand, str):
        operand = dt.date.fromisoformat(operand)
    return COMPARE[op](value, operand)


def evaluate(rule, row) -> bool:
    if "all" in rule:
        return all(evaluate(child, row) for child in rule["all"])
    if "any" in rule:
        return any(evaluate(child, row) for child in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], row)
    if "field" in rule:
        return field_matches(row[rule["field"]], rule["op"], rule["value"], text=rule["field"] != "birth_date")
    if "has" in rule:
        related = [b for b in row["bookings"] if "where" not in rule or evaluate(rule["where"], b)]
        if "count" not in rule:
            return bool(related)
        return COMPARE[rule["count"]["op"]](len(related), rule["count"]["value"])
    if "agg" in rule:
        purchases = row["purchases"]
        if "where" in rule:
            days = rule["where"]["value"]
            purchases = [p for p in purchases if NOW - dt.timedelta(days=days) <= p["purchased_at"] <= NOW]
        amounts = [p["amount"] for p in purchases]
        function = rule["agg"]
        if function == "count":
            value = len(purchases)
        elif function == "sum":
            value = sum(amounts, Decimal(0))
        elif not amounts:
            return False  # avg/min/max over no rows match nothing
        else:
            value = {"avg": lambda xs: sum(xs) / len(xs), "min": min, "max": max}[function](amounts)
        return COMPARE[rule["op"]](value, Decimal(rule["value"]))
    raise AssertionError(rule)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(rule=rules)
@pytest.mark.django_db
def test_sql_agrees_with_python(store, rule):
    dimension = dims.get("profile")
    node = parse_rule(dimension, rule)
    got = set(compile_rule(dimension, node, now=NOW).values_list("external_id", flat=True))
    expected = {key for key, row in store.items() if evaluate(rule, row)}
    assert got == expected, rule
