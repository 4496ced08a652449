"""Hostile and careless input on every write path of the customer store: each bad value is a
per-record error that names it, the valid records beside it are written, and nothing answers 500."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from profiles import services, validation
from profiles.ingestion import specs
from profiles.ingestion.upsert import entity_bulk_upsert
from profiles.models import Booking, Consent, ConsentEvent, Product, Profile, PushDevice, Suppression
from tests.factories import ProductFactory, ProfileFactory

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
SURROGATE = "a\ud800b"

# (field, value, words the error must contain), each refused on its own record.
BAD_PROFILE_VALUES = [
    ("first_name", NUL, "NUL"),
    ("first_name", SURROGATE, "surrogate"),
    ("email", "x\x00@example.com", "NUL"),
    ("city", "\udfff", "surrogate"),
    ("attributes", {"topic": NUL}, "NUL"),
    ("attributes", {NUL: 1}, "NUL"),
    ("attributes", {"deep": {"er": [SURROGATE]}}, "surrogate"),
    ("attributes", {"n": float("inf")}, "out of range"),
    ("attributes", "just a string", "JSON"),
    ("attributes", ["a", "list"], "JSON object"),
    ("birth_date", "0000-01-01", "date"),
    ("birth_date", "10000-01-01", "date"),
    ("birth_date", 20260101, "date"),
    ("birth_date", "2026-01-01\x00", "NUL"),
]


def _record(key, **values):
    return {"external_id": key, **values}


@pytest.mark.parametrize(("field", "value", "words"), BAD_PROFILE_VALUES)
def test_a_bad_value_is_one_records_error_and_its_neighbours_are_written(field, value, words):
    result = entity_bulk_upsert(
        entity="profiles",
        records=[_record("before", city="Porto"), _record("bad", **{field: value}), _record("after", city="Faro")],
    )
    assert (result.created, result.updated) == (2, 0)
    assert [error["index"] for error in result.errors] == [1]
    assert words in result.errors[0]["errors"][field][0]
    assert sorted(Profile.objects.values_list("external_id", flat=True)) == ["after", "before"]


@pytest.mark.parametrize("key", [NUL, SURROGATE, "k" * 129, True, float("inf"), {"a": 1}, ["k"]])
def test_a_bad_external_id_is_refused_per_record(key):
    result = entity_bulk_upsert(entity="profiles", records=[{"external_id": key}, _record("fine")])
    assert result.created == 1
    assert [(error["index"], list(error["errors"])) for error in result.errors] == [(0, ["external_id"])]


def test_the_error_message_itself_carries_no_unstorable_text():
    result = entity_bulk_upsert(entity="profiles", records=[_record("x", email=SURROGATE), _record(NUL)])
    rendered = json.dumps(result.as_dict(), ensure_ascii=False)
    rendered.encode("utf-8")  # would raise on a lone surrogate
    assert "\x00" not in rendered


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1e999999999", "too large"),
        ("9" * 500, "number"),
        ("10000000000", "too large"),  # 11 digits before the point; the column holds 10
        (1e300, "too large"),
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        ("12.3.4", "not a number"),
        (True, "number"),
        ([1], "number"),
    ],
)
def test_decimals_past_the_columns_precision_are_refused(value, words):
    ProductFactory(external_id="SKU-1")
    result = entity_bulk_upsert(entity="products", records=[_record("SKU-1", price=value), _record("SKU-2", name="ok")])
    assert result.created == 1
    assert words in result.errors[0]["errors"]["price"][0]


def test_decimals_within_the_column_are_kept_and_rounded_to_its_places():
    result = entity_bulk_upsert(
        entity="products",
        records=[_record("a", name="A", price="9999999999.99"), _record("b", name="B", price="1.005e2")],
    )
    assert result.errors == []
    assert Product.objects.get(external_id="a").price == Decimal("9999999999.99")
    assert Product.objects.get(external_id="b").price == Decimal("100.50")


@pytest.mark.parametrize(
    ("value", "words"),
    [(2**31, "at most 2,147,483,647"), (-(2**31) - 1, "at least"), ("9" * 50, "integer"), (1.5, "integer")],
)
def test_integers_past_the_columns_range_are_refused(value, words):
    ProductFactory(external_id="SKU-1")
    result = entity_bulk_upsert(
        entity="inventory",
        records=[
            _record("i1", product="SKU-1", location="L", quantity=value),
            _record("i2", product="SKU-1", location="L", quantity=2**31 - 1),
        ],
    )
    assert result.created == 1
    assert words in result.errors[0]["errors"]["quantity"][0]


def test_a_positive_column_refuses_negatives():
    ProfileFactory(external_id="c1")
    ProductFactory(external_id="SKU-1")
    base = {"profile": "c1", "product": "SKU-1", "amount": "1", "purchased_at": "2026-01-01T10:00:00Z"}
    result = entity_bulk_upsert(entity="purchases", records=[_record("p1", quantity=-1, **base)])
    assert result.errors[0]["errors"]["quantity"] == ["may not be negative"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0001-01-01T00:00:00+05:00", "out of range"),
        ("0001-01-01T00:00:00", "out of range"),
        ("9999-12-31T23:59:59-05:00", "out of range"),
        ("2026-01-01T10:00:00+20:00", "offset"),
        ("2026-13-01T10:00:00", "date-time"),
        (1700000000, "date-time"),
    ],
)
def test_date_times_at_the_edges_are_refused_with_a_reason(value, words):
    result = entity_bulk_upsert(
        entity="profiles", records=[_record("c1"), _record("c2")]
    )  # profiles to attach bookings to
    assert result.created == 2
    ProductFactory(external_id="SKU-1")
    base = {"profile": "c1", "product": "SKU-1", "status": "confirmed", "check_in": "2026-05-01"}
    result = entity_bulk_upsert(
        entity="bookings",
        records=[_record("b1", booked_at=value, **base), _record("b2", booked_at="0001-01-02T12:00:00Z", **base)],
    )
    assert result.created == 1
    assert words in result.errors[0]["errors"]["booked_at"][0]
    assert Booking.objects.get(external_id="b2").booked_at.year == 1


def test_edge_dates_that_fit_are_kept_and_read_back():
    result = entity_bulk_upsert(
        entity="profiles", records=[_record("old", birth_date="0001-01-01"), _record("late", birth_date="9999-12-31")]
    )
    assert result.errors == []
    assert {p.external_id: p.birth_date.year for p in Profile.objects.all()} == {"old": 1, "late": 9999}


def test_a_database_refusal_isolates_the_record_and_writes_the_rest(monkeypatch):
    """A value that slips past validation (simulated: the quantity parser lets a negative through,
    which the column's CHECK refuses) costs only its own record."""
    ProfileFactory(external_id="c1")
    ProductFactory(external_id="SKU-1")
    spec = specs.SPECS["purchases"]
    quantity = spec.fields["quantity"]
    monkeypatch.setitem(
        spec.__dict__, "_parsers", {**spec._parsers, "quantity": (lambda value, record: int(value), False)}
    )
    assert quantity.nullable is False
    base = {"profile": "c1", "product": "SKU-1", "amount": "1", "purchased_at": "2026-01-01T10:00:00Z"}
    records = [_record(f"p{i}", quantity=(-5 if i == 3 else i + 1), **base) for i in range(8)]
    result = entity_bulk_upsert(entity="purchases", records=records)
    assert result.created == 7
    assert [error["index"] for error in result.errors] == [3]
    assert "the database refused this record" in result.errors[0]["errors"]["non_field_errors"][0]
    assert sorted(Profile.objects.get(external_id="c1").purchases.values_list("quantity", flat=True)) == [
        1,
        2,
        3,
        5,
        6,
        7,
        8,
    ]


def test_consent_events_with_bad_text_or_times_are_refused_per_event():
    ProfileFactory(external_id="c1")
    result = services.consent_events_record(
        records=[
            {"profile": "c1", "channel": "email", "status": "opted_in", "occurred_at": "2026-01-01T00:00:00Z"},
            {"profile": NUL, "channel": "email", "status": "opted_in", "occurred_at": "2026-01-01T00:00:00Z"},
            {
                "profile": "c1",
                "channel": "sms",
                "status": "opted_in",
                "source": SURROGATE,
                "occurred_at": "2026-01-01T00:00:00Z",
            },
            {"profile": "c1", "channel": "push", "status": "opted_in", "occurred_at": "0001-01-01T00:00:00+01:00"},
        ]
    )
    assert [error["index"] for error in result.errors] == [1, 2, 3]
    assert "NUL" in result.errors[0]["errors"]["profile"][0]
    assert "surrogate" in result.errors[1]["errors"]["source"][0]
    assert "out of range" in result.errors[2]["errors"]["occurred_at"][0]
    assert list(Consent.objects.values_list("channel", flat=True)) == ["email"]
    assert ConsentEvent.objects.count() == 1


def test_a_consent_event_the_database_refuses_costs_only_its_pair(monkeypatch):
    ProfileFactory(external_id="c1")
    ProfileFactory(external_id="c2")
    real = services._write_consent_events

    def failing(pairs, by_pair):
        if any(event.source == "poison" for pair in pairs for _, event in by_pair[pair]):
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table_here")
        return real(pairs, by_pair)

    monkeypatch.setattr(services, "_write_consent_events", failing)
    event = {"channel": "email", "status": "opted_out", "occurred_at": "2026-01-01T00:00:00Z"}
    result = services.consent_events_record(
        records=[{"profile": "c1", **event}, {"profile": "c2", "source": "poison", **event}]
    )
    assert (result.created, [error["index"] for error in result.errors]) == (1, [1])
    assert result.errors[0]["external_id"] == "c2"
    assert list(Consent.objects.values_list("profile__external_id", flat=True)) == ["c1"]


def test_validation_knows_the_limits_of_each_column():
    assert validation.integer("2147483647", minimum=0, maximum=2**31 - 1) == 2**31 - 1
    with pytest.raises(ValueError, match="NUL"):
        validation.text("a\x00", max_length=10)
    with pytest.raises(ValueError, match="must be a string"):
        validation.text(float("nan"), max_length=10)
    assert validation.text(12, max_length=10) == "12"


# -- the API ------------------------------------------------------------------------------------


def test_a_deeply_nested_body_is_a_400_on_every_json_endpoint(steward_api, api_as):
    deep = "[" * 5000 + "]" * 5000
    admin = api_as("Campaign administrator")
    for client, url in [
        (steward_api, "/api/v1/profiles/bulk-upsert/"),
        (steward_api, "/api/v1/profiles/"),
        (steward_api, "/api/v1/consents/"),
        (steward_api, "/api/v1/suppressions/"),
        (steward_api, "/api/v1/push-devices/"),
        (admin, "/api/v1/audiences/"),
        (admin, "/api/v1/audiences/preview/"),
    ]:
        response = client.post(url, data=deep, content_type="application/json")
        assert response.status_code == 400, url
        assert "nested too deeply" in response.json()["detail"], url


def test_a_body_just_past_the_depth_limit_is_refused_and_one_within_is_not(steward_api):
    with override_settings(JSON_MAX_DEPTH=10):
        inside = {"records": [{"external_id": "c1", "attributes": {"a": {"b": {"c": {"d": {"e": 1}}}}}}]}
        assert steward_api.post("/api/v1/profiles/bulk-upsert/", inside, format="json").status_code == 200
        too_deep = {"records": [{"external_id": "c2", "attributes": {"a": [[[[[[[[[[1]]]]]]]]]]}}]}
        response = steward_api.post("/api/v1/profiles/bulk-upsert/", too_deep, format="json")
        assert response.status_code == 400
        assert "at most 10 levels" in response.json()["detail"]
    assert Profile.objects.filter(external_id="c1").exists()


def test_bulk_upsert_answers_per_record_errors_for_unstorable_text(steward_api):
    body = '{"records": [{"external_id": "ok"}, {"external_id": "a\\u0000b"}, {"external_id": "x", "city": "\\ud800"}]}'
    response = steward_api.post("/api/v1/profiles/bulk-upsert/", data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert [error["index"] for error in response.json()["errors"]] == [1, 2]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/profiles/a%00b/",
        "/api/v1/profiles/?external_id=a%00b",
        "/api/v1/bookings/?profile=%00",
        "/api/v1/audiences/?slug=x%00",
        "/api/v1/consents/?profile=%00",
        "/api/v1/profiles/?a%00=1",
    ],
)
def test_a_nul_in_the_url_is_a_400_that_says_so(steward_api, url):
    response = steward_api.get(url)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_a_nul_in_an_admin_url_is_a_400(admin_as):
    response = admin_as("Data steward").get("/admin/profiles/profile/?q=%00")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("attributes", "accepted"),
    [({"vip": True}, True), ("a string", False), ('{"as": "text"}', True), ([1, 2], False), (7, False)],
)
def test_the_profile_endpoint_takes_attributes_only_as_a_json_object(steward_api, attributes, accepted):
    response = steward_api.post("/api/v1/profiles/", {"external_id": "c1", "attributes": attributes}, format="json")
    assert (response.status_code == 201) is accepted, response.json()
    if not accepted:
        assert "attributes" in response.json()
        assert not Profile.objects.exists()
    else:
        assert isinstance(Profile.objects.get().attributes, dict)


def test_form_encoded_attributes_null_is_a_400_not_a_500(steward_api):
    response = steward_api.post("/api/v1/profiles/", {"external_id": "c1", "attributes": "null"})
    assert response.status_code == 400
    assert "JSON object" in response.json()["attributes"][0]


def test_profile_fields_refuse_unstorable_text_on_the_single_record_endpoint(steward_api):
    body = '{"external_id": "c1", "first_name": "a\\u0000", "attributes": {"k": "\\u0000"}}'
    response = steward_api.post("/api/v1/profiles/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"first_name", "attributes"}


def test_suppressions_and_push_devices_refuse_unstorable_text(steward_api):
    ProfileFactory(external_id="c1")
    for url, body in [
        ("/api/v1/suppressions/", '{"channel": "push", "address": "a\\u0000b"}'),
        ("/api/v1/suppressions/", '{"channel": "email", "address": "\\ud800@x.io"}'),
        ("/api/v1/push-devices/", '{"profile": "c1", "token": "t\\u0000", "platform": "ios"}'),
        ("/api/v1/push-devices/", '{"profile": "c\\u00001", "token": "t1", "platform": "ios"}'),
        ("/api/v1/push-devices/", '{"profile": 12, "token": "t1", "platform": "ios"}'),
    ]:
        response = steward_api.post(url, data=body, content_type="application/json")
        assert response.status_code == 400, (url, body, response.content)
    assert not Suppression.objects.exists()
    assert not PushDevice.objects.exists()


def test_a_push_device_saved_while_its_profile_is_erased_answers_404(steward_api, monkeypatch):
    profile = ProfileFactory(external_id="c1")
    from profiles.api.serializers import PushDeviceSerializer

    real_validate = PushDeviceSerializer.validate

    def validate_then_erase(self, attrs):  # the erasure lands between validation and the write
        attrs = real_validate(self, attrs)
        services.profile_erase(profile_ids=[profile.pk])
        return attrs

    monkeypatch.setattr(PushDeviceSerializer, "validate", validate_then_erase)
    response = steward_api.post(
        "/api/v1/push-devices/", {"profile": "c1", "token": "tok-1", "platform": "ios"}, format="json"
    )
    assert response.status_code == 404
    assert "erased" in response.json()["detail"]
    assert not PushDevice.objects.exists()


def test_a_push_device_update_after_erasure_answers_404(steward_api, monkeypatch):
    profile = ProfileFactory(external_id="c1")
    ProfileFactory(external_id="c2")
    device = PushDevice.objects.create(profile=profile, token="tok-1", platform="ios")
    from profiles.api.serializers import PushDeviceSerializer

    real_validate = PushDeviceSerializer.validate

    def validate_then_erase(self, attrs):
        attrs = real_validate(self, attrs)
        services.profile_erase(profile_ids=[profile.pk])
        return attrs

    monkeypatch.setattr(PushDeviceSerializer, "validate", validate_then_erase)
    response = steward_api.patch(f"/api/v1/push-devices/{device.pk}/", {"active": False}, format="json")
    assert response.status_code == 404
    assert not PushDevice.objects.exists()


# -- the admin ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "words"),
    [('{"k": "\\u0000"}', "NUL"), ("[" * 3000 + "]" * 3000, "nested too deeply"), ('"text"', "JSON object")],
)
def test_the_profile_admin_form_refuses_bad_custom_traits(admin_as, attributes, words):
    client = admin_as("Data steward")
    response = client.post(
        "/admin/profiles/profile/add/", {"external_id": "c1", "attributes": attributes, "loyalty_tier": ""}
    )
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "profiles/?updated_after=0001-01-01T00:00:00%2B14:00",
        "profiles/?updated_after=9999-12-31T23:59:59-12:00",
        "profiles/?updated_after=99999-01-01",
        "profiles/?country=" + "P" * 5000,
        "bookings/?check_in_from=0001-01-01&check_in_to=9999-12-31",
        "bookings/?check_in_from=0000-00-00",
        "purchases/?purchased_after=2026-01-01T00:00:00%2B23:59",
        "push-devices/?active=maybe",
        "profiles/?page_size=99999999999999999999999",
        "profiles/?cursor=cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",  # p=999...9: past bigint
        "consents/?channel=nope",
        "profiles/a%ED%A0%80b/",
    ],
)
def test_list_filters_at_the_edges_answer_a_client_error_or_a_list(steward_api, query):
    ProfileFactory(external_id="c1")
    response = steward_api.get(f"/api/v1/{query}")
    assert response.status_code in (200, 400, 404), (query, response.status_code, response.content[:300])
