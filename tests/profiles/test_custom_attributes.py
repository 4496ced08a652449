"""`/api/v1/custom-attributes/` and the admin's custom traits: who may declare them, what a key
and a type may be, and that a trait an audience rule uses keeps its key and type."""

import json

import pytest

from audiences.models import Audience
from audiences.services import audience_save
from profiles.models import CustomAttribute

pytestmark = pytest.mark.django_db

URL = "/api/v1/custom-attributes/"
TOPICS = {"key": "newsletter_topics", "label": "Newsletter topics", "type": "list"}


def declare(**fields) -> CustomAttribute:
    return CustomAttribute.objects.create(**{**TOPICS, **fields})


def audience_using(slug: str, rule: dict, dimension: str = "profile") -> Audience:
    return audience_save(audience=Audience(name=slug.replace("-", " ").capitalize(), slug=slug, dimension=dimension,
                                           rule=rule))  # fmt: skip


TRAVEL = {"field": "attributes.newsletter_topics", "op": "contains", "value": "travel"}


# -- permissions -------------------------------------------------------------------------------


def test_it_lets_a_data_steward_declare_change_and_delete_a_trait(steward_api):
    created = steward_api.post(URL, TOPICS, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["field"] == "attributes.newsletter_topics"
    changed = steward_api.patch(f"{URL}newsletter_topics/", {"label": "Topics", "type": "string"}, format="json")
    assert changed.status_code == 200, changed.content
    assert CustomAttribute.objects.get().type == "string"
    assert steward_api.delete(f"{URL}newsletter_topics/").status_code == 204
    assert not CustomAttribute.objects.exists()


@pytest.mark.parametrize("role", ["Viewer", "Campaign manager", "Campaign administrator"])
def test_other_roles_read_traits_but_cannot_write_them(api_as, role):
    declare()
    client = api_as(role)
    listed = client.get(URL)
    assert listed.status_code == 200
    assert [row["key"] for row in listed.json()["results"]] == ["newsletter_topics"]
    assert client.post(URL, {**TOPICS, "key": "other"}, format="json").status_code == 403
    assert client.patch(f"{URL}newsletter_topics/", {"label": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}newsletter_topics/").status_code == 403
    assert CustomAttribute.objects.get().label == "Newsletter topics"


def test_a_user_without_a_role_cannot_read_traits(api_as):
    declare()
    assert api_as(None).get(URL).status_code == 403


# -- what a trait may be -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"key": "news\x00letter"}, "key", "Null characters"),
        ({"key": "news.letter"}, "key", "lower-case letters"),
        ({"key": "Newsletter"}, "key", "lower-case letters"),
        ({"key": "news letter"}, "key", "lower-case letters"),
        ({"key": "1st"}, "key", "lower-case letters"),
        ({"key": "a" * 64}, "key", "no more than 63"),
        ({"key": ""}, "key", "blank"),
        ({"key": 12}, "key", "lower-case letters"),
        ({"key": ["newsletter"]}, "key", "valid string"),
        ({"type": "json"}, "type", "not a valid choice"),
        ({"type": "String"}, "type", "not a valid choice"),
        ({"type": None}, "type", "null"),
        ({"label": "a\ud800b"}, "label", "Surrogate characters"),
        ({"label": "a\x00b"}, "label", "Null characters"),
        ({"label": 10**400}, "label", "no more than 100 characters"),
        ({"description": "a\udfff"}, "description", "Surrogate characters"),
    ],
)
def test_it_refuses_a_bad_key_type_or_text_by_name(steward_api, body, field, words):
    # Sent as ASCII JSON: a lone surrogate travels as its \\u escape, as a client would send it.
    response = steward_api.post(URL, data=json.dumps({**TOPICS, **body}), content_type="application/json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    assert not CustomAttribute.objects.exists()


def test_it_refuses_a_key_declared_already(steward_api):
    declare()
    response = steward_api.post(URL, TOPICS, format="json")
    assert response.status_code == 400
    assert "already exists" in " ".join(response.json()["key"])


def test_a_deeply_nested_body_is_a_400(steward_api):
    deep = json.dumps({**TOPICS, "label": None})[:-1] + ', "extra": ' + "[" * 5000 + "]" * 5000 + "}"
    response = steward_api.post(URL, data=deep, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_a_saved_trait_keeps_its_key(steward_api):
    declare()
    response = steward_api.patch(f"{URL}newsletter_topics/", {"key": "topics"}, format="json")
    assert response.status_code == 400
    assert "cannot change" in " ".join(response.json()["key"])
    assert CustomAttribute.objects.get().key == "newsletter_topics"


# -- a trait in use ----------------------------------------------------------------------------


def test_it_refuses_to_delete_or_retype_a_trait_a_rule_uses_and_names_the_audiences(steward_api):
    declare()
    audience_using("travel-lovers", {"all": [TRAVEL]})
    audience_using("booking-travel", {"field": "profile.attributes.newsletter_topics", "op": "is_null",
                                      "value": False}, dimension="booking")  # fmt: skip
    audience_using("unrelated", {"field": "country", "op": "eq", "value": "PT"})
    deleted = steward_api.delete(f"{URL}newsletter_topics/")
    assert deleted.status_code == 409
    assert deleted.json()["audiences"] == ['"Booking travel" (booking-travel)', '"Travel lovers" (travel-lovers)']
    assert "cannot be deleted" in deleted.json()["detail"]
    retyped = steward_api.patch(f"{URL}newsletter_topics/", {"type": "string"}, format="json")
    assert retyped.status_code == 409
    assert (
        'cannot change from list to string: it is used by the rules of audiences "Booking travel"'
        in (retyped.json()["detail"])
    )
    assert CustomAttribute.objects.get().type == "list"
    relabelled = steward_api.patch(f"{URL}newsletter_topics/", {"label": "Topics", "type": "list"}, format="json")
    assert relabelled.status_code == 200
    assert CustomAttribute.objects.get().label == "Topics"


def test_a_trait_named_only_in_a_value_is_not_in_use(steward_api):
    declare()
    audience_using("mentions", {"field": "city", "op": "eq", "value": "attributes.newsletter_topics"})
    assert steward_api.delete(f"{URL}newsletter_topics/").status_code == 204


def test_the_profile_dimension_lists_declared_traits_as_fields(steward_api, api_as):
    declare()
    declare(key="lifetime_points", label="Lifetime points", type="number")
    fields = api_as("Viewer").get("/api/v1/dimensions/profile/").json()["fields"]
    traits = {f["name"]: f for f in fields if f["name"].startswith("attributes.")}
    assert traits["attributes.newsletter_topics"]["operators"] == ["contains", "is_null"]
    assert traits["attributes.lifetime_points"] == {
        **traits["attributes.lifetime_points"], "label": "Lifetime points", "type": "decimal",
        "operators": ["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "is_null"],
    }  # fmt: skip


def test_a_rule_with_a_trait_counts_in_a_preview(steward_api, api_as):
    from tests.factories import ProfileFactory

    declare()
    ProfileFactory(attributes={"newsletter_topics": ["travel"]})
    ProfileFactory(attributes={"newsletter_topics": "travel"})
    response = api_as("Viewer").post("/api/v1/audiences/preview/", {"dimension": "profile", "rule": TRAVEL},
                                     format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


# -- the admin ---------------------------------------------------------------------------------

ADMIN = "/admin/profiles/customattribute/"


def test_a_data_steward_declares_a_trait_in_the_admin(admin_as):
    client = admin_as("Data steward")
    response = client.post(f"{ADMIN}add/", {"key": "vip", "label": "VIP", "type": "boolean", "description": ""})
    assert response.status_code == 302, response.content
    assert CustomAttribute.objects.get().field_name == "attributes.vip"
    assert client.get(ADMIN).status_code == 200


def test_the_admin_refuses_to_retype_or_delete_a_trait_in_use(admin_as):
    trait = declare()
    audience_using("travel-lovers", TRAVEL)
    client = admin_as("Data steward")
    page = client.post(f"{ADMIN}{trait.pk}/change/", {"label": "Topics", "type": "string", "description": ""})
    assert page.status_code == 200
    assert '"Travel lovers" (travel-lovers)' in page.context["adminform"].form.errors["type"][0]
    refused = client.post(f"{ADMIN}{trait.pk}/delete/", {"post": "yes"}, follow=True)
    assert "cannot be deleted" in refused.content.decode()
    assert CustomAttribute.objects.filter(pk=trait.pk).exists()


def test_a_viewer_sees_traits_in_the_admin_but_cannot_add_one(admin_as):
    declare()
    client = admin_as("Viewer")
    assert client.get(ADMIN).status_code == 200
    assert client.get(f"{ADMIN}add/").status_code == 403


def test_two_declarations_of_one_key_racing_answer_a_validation_error(monkeypatch):
    """The loser of a race past full_clean's uniqueness check gets a clear error, not a 500."""
    from django.core.exceptions import ValidationError

    from profiles.models import CustomAttribute
    from profiles.traits import custom_attribute_save

    custom_attribute_save(attribute=CustomAttribute(), data={"key": "vip", "label": "VIP", "type": "boolean"})
    monkeypatch.setattr(CustomAttribute, "full_clean", lambda self, *args, **kwargs: None)
    with pytest.raises(ValidationError, match="already exists"):
        custom_attribute_save(attribute=CustomAttribute(), data={"key": "vip", "label": "Again", "type": "string"})
    assert list(CustomAttribute.objects.values_list("label", flat=True)) == ["VIP"]
