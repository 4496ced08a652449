import pytest

from audiences.rules.parser import RuleError, parse_rule


def problems(rule, dimension="profile", **kwargs):
    with pytest.raises(RuleError) as caught:
        parse_rule(dimension, rule, **kwargs)
    return caught.value.problems


def test_an_unknown_field_is_named_with_its_path_and_a_suggestion():
    rule = {"all": [{"field": "country", "op": "eq", "value": "PT"}, {"field": "country", "op": "eq", "value": "ES"},
                    {"has": "bookings", "where": {"field": "statuss", "op": "eq", "value": "confirmed"}}]}  # fmt: skip
    assert problems(rule) == [("all[2].where.field", 'unknown field "statuss" on booking; did you mean "status"?')]


def test_every_problem_is_reported_at_once():
    rule = {"any": [{"field": "nope", "op": "eq", "value": 1}, {"field": "country", "op": "gt", "value": "PT"},
                    {"field": "birth_date", "op": "eq", "value": "yesterday"}, "text"]}  # fmt: skip
    found = problems(rule)
    assert [path for path, _ in found] == ["any[0].field", "any[1].op", "any[2].value", "any[3]"]
    assert "use one of: eq, ne" in found[1][1]


@pytest.mark.parametrize(
    "name",
    ["profile__email", "email__startswith", "password", "product.category", "bookings", "attributes", "id", "pk",
     "user.password", "external_id; DROP TABLE", "Country", ".country", "country."],
)  # fmt: skip
def test_only_whitelisted_fields_are_reachable(name):
    (path, message), *_ = problems({"field": name, "op": "eq", "value": "x"})
    assert path == "field"


def test_to_one_paths_follow_declared_links_only():
    parse_rule("booking", {"field": "profile.country", "op": "eq", "value": "PT"})
    parse_rule("booking", {"field": "product.category", "op": "eq", "value": "stay"})
    assert problems({"field": "profile.bookings", "op": "eq", "value": "x"}, "booking")[0][0] == "field"
    assert "not a link of booking" in problems({"field": "plan.name", "op": "eq", "value": "x"}, "booking")[0][1]


@pytest.mark.parametrize(
    ("rule", "path", "fragment"),
    [
        ({"field": "country", "op": "eq"}, "value", "required"),
        ({"field": "country", "op": "eq", "value": ""}, "value", "is_null"),
        ({"field": "country", "op": "in", "value": "PT"}, "value", "list"),
        ({"field": "birth_date", "op": "between", "value": ["2000-01-01", "1990-01-01"]}, "value", "above"),
        ({"field": "birth_date", "op": "in_last_days", "value": -3}, "value", "whole number"),
        ({"field": "birth_date", "op": "contains", "value": "19"}, "op", "not an operator"),
        ({"field": "country", "op": "is_null", "value": "yes"}, "value", "true or false"),
        ({"has": "bookings", "count": {"op": "gte", "value": -1}}, "count.value", "negative"),
        ({"has": "bookings", "count": {"op": "near", "value": 1}}, "count.op", "not one of"),
        ({"has": "bokings"}, "has", 'did you mean "bookings"'),
        ({"agg": "median", "of": "purchases.amount", "op": "gt", "value": 1}, "agg", "not one of"),
        ({"agg": "sum", "of": "purchases", "op": "gt", "value": 1}, "of", "needs a field"),
        ({"agg": "sum", "of": "purchases.currency", "op": "gt", "value": 1}, "of", "does not apply"),
        ({"agg": "count", "of": "purchases.amount", "op": "gt", "value": 1}, "of", "relation only"),
        ({"agg": "sum", "of": "purchases.amount", "op": "gt", "value": "lots"}, "value", "not a number"),
        ({"field": "country", "op": "eq", "value": "PT", "extra": 1}, "extra", "unexpected"),
        ({"all": [], "any": []}, "", "exactly one"),
        ({"all": {"field": "country"}}, "all", "list"),
        ({"in_audience": "vip"}, "in_audience", "not available"),
    ],
)
def test_malformed_rules(rule, path, fragment):
    found = problems(rule)
    assert found[0][0] == path
    assert fragment in found[0][1]


def test_status_values_are_checked_against_the_choices():
    found = problems({"field": "status", "op": "in", "value": ["confirmed", "maybe"]}, "booking")
    assert found == [("value", '"maybe" is not one of: pending, confirmed, cancelled, completed')]


def test_nesting_and_size_are_bounded():
    deep = {"field": "country", "op": "eq", "value": "PT"}
    for _ in range(20):
        deep = {"not": deep}
    assert "nest at most" in problems(deep)[0][1]
    wide = {"any": [{"field": "country", "op": "eq", "value": "PT"}] * 600}
    assert "at most 500" in problems(wide)[0][1]


def test_an_unknown_dimension_is_refused():
    assert problems({"all": []}, "spaceship")[0][0] == "dimension"
