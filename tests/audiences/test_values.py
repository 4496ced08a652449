"""Values in the rule builder: suggestions of a field's frequent values, and hints at count time
for a value that no row has."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences.admin.builder import builder_metadata
from audiences.services.values import MAX_CHECKED_VALUES, SuggestionError, field_suggestions, value_hints
from tests.factories import BookingFactory, ProductFactory, ProfileFactory

pytestmark = pytest.mark.django_db

SUGGESTIONS = "/admin/audiences/audience/suggestions/"
PREVIEW = "/admin/audiences/audience/preview/"


@pytest.fixture
def world():
    for country, count in [("PT", 3), ("ES", 2), ("FR", 1), ("", 4)]:
        ProfileFactory.create_batch(count, country=country, loyalty_tier="gold" if country == "PT" else "")


def preview(client, rule, dimension="profile"):
    return client.post(PREVIEW, json.dumps({"dimension": dimension, "rule": rule}), content_type="application/json")


# -- suggestions -----------------------------------------------------------------------------------


def test_it_suggests_the_frequent_non_blank_values_most_frequent_first(world):
    assert field_suggestions(dimension="profile", field="country") == [
        {"value": "PT", "count": 3}, {"value": "ES", "count": 2}, {"value": "FR", "count": 1},
    ]  # fmt: skip


def test_it_suggests_at_most_twenty_values(db):
    for index in range(25):
        ProfileFactory(loyalty_tier=f"tier-{index:02d}")
    assert len(field_suggestions(dimension="profile", field="loyalty_tier")) == 20


def test_a_linked_field_is_suggested_from_its_own_table(db):
    BookingFactory(product=ProductFactory(currency="EUR"))
    ProductFactory(currency="GBP")
    values = field_suggestions(dimension="booking", field="product.currency")
    assert {row["value"] for row in values} == {"EUR", "GBP"}


@pytest.mark.parametrize(
    ("dimension", "field", "message"),
    [
        ("nope", "country", "'nope' is not a targeting dimension"),
        ("profile", "nope", "'nope' is not a field of profiles"),
        ("profile", "email", "Email has no suggested values"),  # data about one person, never suggested
        ("profile", "birth_date", "Birth date has no suggested values"),
        ("profile", "x" * 10_000, "is not a field of profiles"),
        ("booking", "product.nope.deeper", "is not a field of bookings"),
    ],
)
def test_a_field_without_suggestions_is_refused_by_name(db, dimension, field, message):
    with pytest.raises(SuggestionError, match=message):
        field_suggestions(dimension=dimension, field=field)


def test_the_builder_knows_which_fields_have_suggestions():
    meta = builder_metadata(audience=None, preview_url="/p/", suggestions_url=SUGGESTIONS)
    fields = {f["name"]: f["suggest"] for f in meta["dimensions"]["profile"]["fields"]}
    assert fields["country"] and fields["loyalty_tier"] and fields["timezone"] and fields["locale"]
    assert not fields["email"] and not fields["first_name"] and not fields["external_id"]
    assert meta["suggestionsUrl"] == SUGGESTIONS


def test_the_suggestions_endpoint_answers_a_viewer(world, admin_as):
    response = admin_as("Viewer").get(SUGGESTIONS, {"dimension": "profile", "field": "country"})
    assert response.status_code == 200
    assert [row["value"] for row in response.json()["values"]] == ["PT", "ES", "FR"]


def test_the_suggestions_endpoint_needs_the_audience_view_permission(world, make_user):
    from django.test import Client

    client = Client()
    client.force_login(make_user(None, is_staff=True))
    assert client.get(SUGGESTIONS, {"dimension": "profile", "field": "country"}).status_code == 403
    assert Client().get(SUGGESTIONS, {"dimension": "profile", "field": "country"}).status_code == 302  # to the login


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"dimension": "profile"},
        {"dimension": "profile", "field": "9" * 5000},
        {"dimension": "profile", "field": "__class__"},
        {"dimension": "profile", "field": "country__startswith"},
        {"dimension": "profile", "field": ".".join(["product"] * 500)},
    ],
)
def test_hostile_suggestion_requests_are_a_400_that_says_why(world, admin_as, params):
    response = admin_as("Viewer").get(SUGGESTIONS, params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("field", ["coun%00try", "country%ED%A0%80", "%ED%A0%80"])  # a NUL; a UTF-8-encoded surrogate
def test_a_nul_or_a_surrogate_in_a_suggestion_request_is_a_400(world, admin_as, field):
    response = admin_as("Viewer").get(f"{SUGGESTIONS}?dimension=profile&field={field}")
    assert response.status_code == 400


# -- hints -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Portugal", "No profile has country 'Portugal'; did you mean PT?"),  # too long for the column: no query
        ("España", "No profile has country 'España'; did you mean ES?"),
        ("pt", "No profile has country 'pt'; did you mean PT?"),
        ("Germany", "No profile has country 'Germany'."),  # a country, but nobody lives there
        ("XYZ", "No profile has country 'XYZ'."),
    ],
)
def test_a_value_no_profile_has_gets_a_hint_with_a_suggestion(world, value, message):
    hints = value_hints(dimension="profile", rule={"all": [{"field": "country", "op": "eq", "value": value}]})
    assert [hint["message"] for hint in hints] == [message]
    assert hints[0]["path"] == "all[0]"


def test_a_close_spelling_suggests_the_frequent_value(world):
    hints = value_hints(dimension="profile", rule={"all": [{"field": "loyalty_tier", "op": "eq", "value": "gld"}]})
    assert hints[0]["message"] == "No profile has loyalty tier 'gld'; did you mean gold?"
    assert hints[0]["suggestion"] == "gold"


def test_values_that_exist_get_no_hint(world):
    rule = {
        "all": [{"field": "country", "op": "in", "value": ["PT", "ES"]}, {"field": "city", "op": "ne", "value": "x"}]
    }
    assert value_hints(dimension="profile", rule=rule) == []


def test_each_missing_value_of_a_list_gets_its_hint_at_its_condition(world):
    rule = {"any": [{"not": {"all": [{"field": "country", "op": "in", "value": ["PT", "Spain", "Narnia"]}]}}]}
    hints = value_hints(dimension="profile", rule=rule)
    assert [(h["path"], h["value"], h["suggestion"]) for h in hints] == [
        ("any[0].not.all[0]", "Spain", "ES"), ("any[0].not.all[0]", "Narnia", ""),
    ]  # fmt: skip


def test_a_condition_inside_has_is_checked_in_the_related_table(db):
    BookingFactory(status="confirmed", currency="EUR")
    rule = {"has": "bookings", "where": {"all": [{"field": "currency", "op": "eq", "value": "eur"}]}}
    hints = value_hints(dimension="profile", rule={"all": [rule]})
    assert hints == [{"path": "all[0].where.all[0]", "value": "eur", "suggestion": "EUR",
                      "message": "No booking has currency 'eur'; did you mean EUR?"}]  # fmt: skip


def test_the_checks_are_bounded_whatever_the_list(world):
    values = [f"v{index}" for index in range(500)]
    with CaptureQueriesContext(connection) as queries:
        hints = value_hints(dimension="profile", rule={"all": [{"field": "city", "op": "in", "value": values}]})
    assert len(hints) == MAX_CHECKED_VALUES
    assert len(queries) <= MAX_CHECKED_VALUES + 10  # one EXISTS a value; the frequent values once; the time limit


def test_the_preview_answers_the_hints_with_the_count(world, admin_as):
    response = preview(admin_as("Viewer"), {"all": [{"field": "country", "op": "in", "value": ["ES", "pt"]}]})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(h["path"], h["message"]) for h in body["hints"]] == [
        ("all[0]", "No profile has country 'pt'; did you mean PT?")
    ]


def test_a_value_the_field_cannot_hold_is_refused_in_the_words_of_its_hint(world, admin_as):
    rule = {
        "all": [
            {"field": "country", "op": "eq", "value": "Portugal"},
            {"field": "country", "op": "in", "value": ["ES", "Spain"]},
        ]
    }
    response = preview(admin_as("Viewer"), rule)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [
        {"path": "all[0].value", "message": "No profile has country 'Portugal'; did you mean PT?"},
        {"path": "all[1].value", "message": "No profile has country 'Spain'; did you mean ES?"},
    ]
    assert [hint["suggestion"] for hint in body["hints"]] == ["PT", "ES"]


def test_hints_survive_a_hostile_rule(world, admin_as):
    deep = {"field": "country", "op": "eq", "value": "Portugal"}
    for _ in range(40):  # deeper than a rule may nest, within what a JSON body may
        deep = {"not": deep}
    viewer = admin_as("Viewer")
    for rule in [
        deep,
        {"all": [{"field": "country", "op": "eq", "value": "P\x00T"}]},
        {"all": [{"field": ["x"], "op": "in", "value": {"a": 1}}]},
    ]:
        response = preview(viewer, rule)
        assert response.status_code == 400
        assert "hints" in response.json()


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_preview_body_nested_too_deep_is_a_400_not_a_500(world, admin_as, depth):
    body = '{"dimension": "profile", "rule": ' + '{"not": ' * depth + '{"all": []}' + "}" * depth + "}"
    response = admin_as("Viewer").post(PREVIEW, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["message"]
