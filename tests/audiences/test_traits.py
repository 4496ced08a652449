"""Custom traits in rules: the parser checks them like fields, the compiler reads them by type
(SQLite JSON1 and PostgreSQL JSONB give the same members), and values of the wrong type never
match. The world below is worked out by hand."""

import pytest

from audiences import dimensions as dims
from audiences.rules.compiler import compile_rule
from audiences.rules.parser import RuleError, parse_rule
from profiles.models import CustomAttribute
from tests.audiences.conftest import NOW
from tests.factories import BookingFactory, ProfileFactory

pytestmark = pytest.mark.django_db

TRAITS = {"age": "number", "vip": "boolean", "topics": "list", "signup": "date", "segment": "string"}

# Right types in "typed" and "edge"; every value of "strings" and "nested" is of the wrong type.
ATTRIBUTES = {
    "typed": {"age": 42, "vip": True, "topics": ["travel", "food"], "signup": "2026-06-10", "segment": "Gold"},
    "strings": {"age": "42", "vip": "true", "topics": "travel", "signup": "10/06/2026", "segment": 7},
    "missing": {"other": 1},
    "nested": {
        "age": {"value": 42},
        "vip": None,
        "topics": [["travel"], {"t": "travel"}],
        "signup": {"d": "2026-06-10"},
        "segment": ["Gold"],
    },  # fmt: skip
    "edge": {"age": 7.5, "vip": False, "topics": [], "signup": "2025-01-31", "segment": ""},
    "numbers": {"age": 10**20, "topics": [42, "42x"], "signup": "2026-06-10T09:00:00", "segment": "silver"},
}
EVERYONE = set(ATTRIBUTES)
NO_AGE = {"strings", "missing", "nested"}


@pytest.fixture
def traits(db):
    for key, type_ in TRAITS.items():
        CustomAttribute.objects.create(key=key, label=key.capitalize(), type=type_)
    for name, attributes in ATTRIBUTES.items():
        ProfileFactory(external_id=name, attributes=attributes)


def members(rule, dimension="profile"):
    dimension = dims.get(dimension)
    node = parse_rule(dimension, rule)
    return set(compile_rule(dimension, node, now=NOW).values_list("external_id", flat=True))


def f(key, op, value):
    return {"field": f"attributes.{key}", "op": op, "value": value}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (f("age", "gt", 10), {"typed", "numbers"}),  # "42" (a text) is not a number
        (f("age", "lt", 10), {"edge"}),
        (f("age", "eq", 42), {"typed"}),
        (f("age", "eq", "42"), {"typed"}),  # the rule's value is parsed as a number
        (f("age", "ne", 42), {"edge", "numbers"}),  # never a missing or wrong-typed value
        (f("age", "in", [42, 7.5]), {"typed", "edge"}),
        (f("age", "in", []), set()),
        (f("age", "not_in", [42]), {"edge", "numbers"}),
        (f("age", "not_in", []), {"typed", "edge", "numbers"}),
        (f("age", "between", [7.5, 42]), {"typed", "edge"}),  # inclusive
        (f("age", "gte", "1E+20"), {"numbers"}),
        (f("age", "is_null", True), NO_AGE),
        (f("age", "is_null", False), {"typed", "edge", "numbers"}),
        ({"not": f("age", "gt", 10)}, EVERYONE - {"typed", "numbers"}),  # the complement
        ({"not": f("age", "ne", 42)}, EVERYONE - {"edge", "numbers"}),
        (f("vip", "eq", True), {"typed"}),  # the text "true" is not a boolean
        (f("vip", "eq", False), {"edge"}),
        (f("vip", "ne", True), {"edge"}),
        (f("vip", "is_null", True), EVERYONE - {"typed", "edge"}),  # JSON null is no value
        ({"not": f("vip", "eq", True)}, EVERYONE - {"typed"}),
        (f("topics", "contains", "travel"), {"typed"}),  # not a text "travel", nor a list in a list
        (f("topics", "contains", "trav"), set()),  # items are compared whole
        (f("topics", "contains", 42), {"numbers"}),
        (f("topics", "contains", "42"), set()),  # "42" is not 42
        (f("topics", "is_null", True), {"strings", "missing", "edge"}),  # an empty list is no value
        (f("topics", "is_null", False), {"typed", "nested", "numbers"}),
        ({"not": f("topics", "contains", "travel")}, EVERYONE - {"typed"}),
        (f("signup", "eq", "2026-06-10"), {"typed"}),  # a date-time text is not a date
        (f("signup", "after", "2026-01-01"), {"typed"}),
        (f("signup", "before", "2026-01-01"), {"edge"}),
        (f("signup", "ne", "2026-06-10"), {"edge"}),
        (f("signup", "between", ["2025-01-31", "2026-06-10"]), {"typed", "edge"}),
        (f("signup", "in", ["2025-01-31"]), {"edge"}),
        (f("signup", "in_last_days", 7), {"typed"}),  # 2026-06-08 .. 2026-06-15
        (f("signup", "in_next_days", 30), set()),
        (f("signup", "is_null", True), {"strings", "missing", "nested", "numbers"}),
        ({"not": f("signup", "after", "2026-01-01")}, EVERYONE - {"typed"}),
        (f("segment", "eq", "Gold"), {"typed"}),  # ["Gold"] is a list, not a text
        (f("segment", "ne", "Gold"), {"numbers"}),  # "" is no value
        (f("segment", "in", ["Gold", "x"]), {"typed"}),
        (f("segment", "not_in", ["Gold"]), {"numbers"}),
        (f("segment", "contains", "ilv"), {"numbers"}),
        (f("segment", "icontains", "GOLD"), {"typed"}),
        (f("segment", "startswith", "sil"), {"numbers"}),
        (f("segment", "is_null", True), {"strings", "missing", "nested", "edge"}),
        ({"not": f("segment", "eq", "Gold")}, EVERYONE - {"typed"}),
        ({"all": [f("age", "gt", 10), f("topics", "contains", "food")]}, {"typed"}),
        ({"any": [f("vip", "eq", False), f("topics", "contains", 42)]}, {"edge", "numbers"}),
    ],
)
def test_it_matches_only_values_of_the_trait_type(traits, rule, expected):
    assert members(rule) == expected


def test_it_reads_traits_through_a_to_one_link(traits):
    typed = BookingFactory(profile=dims.get("profile").model.objects.get(external_id="typed"))
    BookingFactory(profile=dims.get("profile").model.objects.get(external_id="strings"))
    dimension = dims.get("booking")
    rule = {"field": "profile.attributes.age", "op": "gt", "value": 10}
    found = compile_rule(dimension, parse_rule(dimension, rule), now=NOW)
    assert set(found.values_list("pk", flat=True)) == {typed.pk}


def test_it_matches_nothing_when_attributes_are_not_an_object(traits):
    ProfileFactory(external_id="list-attributes", attributes=["age", 42])
    ProfileFactory(external_id="scalar-attributes", attributes=42)
    assert members(f("age", "gt", 10)) == {"typed", "numbers"}
    assert {"list-attributes", "scalar-attributes"} <= members({"not": f("age", "gt", 10)})


def test_a_trait_declared_now_is_usable_at_once(traits):
    rule = f("city_code", "eq", "LIS")
    with pytest.raises(RuleError):
        parse_rule("profile", rule)
    CustomAttribute.objects.create(key="city_code", label="City code", type="string")
    ProfileFactory(external_id="lisbon", attributes={"city_code": "LIS"})
    assert members(rule) == {"lisbon"}


# -- the parser --------------------------------------------------------------------------------


def problems(rule, dimension="profile"):
    with pytest.raises(RuleError) as caught:
        parse_rule(dimension, rule)
    return caught.value.problems


def test_an_unknown_trait_is_named_with_a_suggestion(traits):
    [(path, message)] = problems({"all": [f("agee", "gt", 1)]})
    assert path == "all[0].field"
    assert message.startswith('unknown custom trait "agee" on profile; did you mean "age"?')
    assert "declared: age, segment, signup, topics, vip" in message


def test_it_says_when_no_trait_is_declared(db):
    [(_, message)] = problems(f("age", "gt", 1))
    assert "none is declared yet" in message


@pytest.mark.parametrize(
    ("key", "op", "value", "words"),
    [
        ("topics", "eq", "travel", 'not an operator for list field "attributes.topics"; use one of: contains, is_null'),
        ("vip", "gt", True, "not an operator for boolean field"),
        ("age", "contains", "4", "not an operator for number field"),
        ("signup", "startswith", "2026", "not an operator for date field"),
    ],
)
def test_each_type_takes_its_own_operators(traits, key, op, value, words):
    [(path, message)] = problems(f(key, op, value))
    assert path == "op"
    assert words in message


@pytest.mark.parametrize(
    ("key", "op", "value", "words"),
    [
        ("age", "gt", "forty", "is not a number"),
        ("age", "eq", True, "must be a number"),
        ("age", "gt", "1" * 40, "digits"),
        ("vip", "eq", "true", "true or false"),
        ("signup", "after", "2026-02-30", "YYYY-MM-DD"),
        ("signup", "in_last_days", -1, "whole number of days"),
        ("topics", "contains", ["travel"], "a text or a number"),
        ("topics", "contains", True, "a text or a number"),
        ("topics", "contains", 2**70, "must be an integer from"),
        ("topics", "contains", "a\x00b", "NUL"),
        ("segment", "eq", "", "non-empty string"),
        ("segment", "eq", "a\ud800", "surrogate"),
        ("segment", "is_null", "yes", "true or false"),
    ],
)
def test_values_of_the_wrong_type_are_refused_in_rules(traits, key, op, value, words):
    [(path, message)] = problems(f(key, op, value))
    assert path == "value"
    assert words in message


@pytest.mark.parametrize(
    "name",
    ["attributes.Age", "attributes.age.x", "attributes.a-b", "attributes.", "attributes.age\x00",
     "attributes.__class__", "profile.attributes.age"],
)  # fmt: skip
def test_only_declared_trait_keys_are_reachable(traits, name):
    [(path, _)] = problems({"field": name, "op": "eq", "value": 1})
    assert path == "field"


def test_traits_are_not_columns_for_tools_outside_rules(traits):
    from audiences.rules.parser import field_path

    with pytest.raises(RuleError):
        field_path(dims.get("profile"), "attributes.age")
