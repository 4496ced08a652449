import jsonschema
import pytest

from audiences import dimensions as dims
from audiences.rules.schema import rule_schema
from profiles.models import CustomAttribute

pytestmark = pytest.mark.django_db  # the schema names the custom traits declared in the database

VALID = [
    {"all": [{"field": "country", "op": "eq", "value": "PT"},
             {"has": "bookings", "where": {"field": "product.category", "op": "eq", "value": "stay"},
              "count": {"op": "gte", "value": 2}},
             {"agg": "sum", "of": "purchases.amount", "op": "gte", "value": 500},
             {"not": {"in_audience": "vip"}}]},
    {"any": []},
]  # fmt: skip
INVALID = [
    {"field": "password", "op": "eq", "value": "x"},
    {"all": [], "any": []},
    {"has": "friends"},
    {"field": "country", "op": "resembles", "value": "PT"},
    {"agg": "sum", "of": "purchases.amount", "op": "gte"},
]


@pytest.mark.parametrize("rule", VALID)
def test_valid_rules_match_the_schema(rule):
    jsonschema.validate(rule, rule_schema(dims.get("profile")))


@pytest.mark.parametrize("rule", INVALID)
def test_malformed_rules_do_not(rule):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, rule_schema(dims.get("profile")))


@pytest.mark.parametrize("dimension", [d.key for d in dims.all_dimensions()])
def test_every_dimension_has_a_valid_schema(dimension):
    jsonschema.Draft202012Validator.check_schema(rule_schema(dims.get(dimension)))


def test_declared_custom_traits_are_fields_of_the_schema():
    CustomAttribute.objects.create(key="newsletter_topics", label="Newsletter topics", type="list")
    rule = {"field": "attributes.newsletter_topics", "op": "contains", "value": "travel"}
    jsonschema.validate(rule, rule_schema(dims.get("profile")))
    jsonschema.validate({**rule, "field": "profile.attributes.newsletter_topics"}, rule_schema(dims.get("booking")))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**rule, "field": "attributes.undeclared"}, rule_schema(dims.get("profile")))
