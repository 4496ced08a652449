import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from profiles.models import Booking, Consent, ConsentEvent, Profile, PushDevice, Suppression
from tests.factories import BookingFactory, ConsentFactory, ProfileFactory

pytestmark = pytest.mark.django_db


def test_anonymous_requests_are_refused_with_401():
    assert APIClient().get("/api/v1/profiles/").status_code == 401
    assert APIClient().post("/api/v1/profiles/bulk-upsert/", {"records": []}, format="json").status_code == 401


def test_a_user_without_a_role_cannot_even_read(api_as):
    assert api_as(None).get("/api/v1/profiles/").status_code == 403


def test_a_viewer_reads_but_cannot_write(api_as):
    ProfileFactory(external_id="c1")
    viewer = api_as("Viewer")
    assert viewer.get("/api/v1/profiles/").status_code == 200
    assert viewer.post("/api/v1/profiles/", {"external_id": "c2"}, format="json").status_code == 403
    assert viewer.post("/api/v1/profiles/bulk-upsert/", {"records": []}, format="json").status_code == 403
    assert viewer.delete("/api/v1/profiles/c1/").status_code == 403
    assert viewer.post("/api/v1/consents/", {"records": []}, format="json").status_code == 403


def test_bulk_upsert_answers_counts_and_indexed_errors(steward_api):
    ProfileFactory(external_id="c1")
    response = steward_api.post(
        "/api/v1/profiles/bulk-upsert/",
        {
            "records": [
                {"external_id": "c1", "city": "Porto"},
                {"external_id": "c2", "email": "x"},
                {"external_id": "c3"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"]) == (1, 1)
    assert body["errors"] == [
        {"index": 1, "external_id": "c2", "errors": {"email": ["'x' is not a valid email address"]}}
    ]
    assert Profile.objects.get(external_id="c1").city == "Porto"


@pytest.mark.parametrize("body", [[], {"records": "x"}, {"rows": []}, "text"])
def test_a_malformed_envelope_is_a_400(steward_api, body):
    response = steward_api.post("/api/v1/profiles/bulk-upsert/", body, format="json")
    assert response.status_code == 400
    assert "records" in response.json()


@override_settings(BULK_MAX_RECORDS=3)
def test_an_oversized_batch_is_a_413(steward_api):
    records = [{"external_id": f"c{i}"} for i in range(4)]
    response = steward_api.post("/api/v1/profiles/bulk-upsert/", {"records": records}, format="json")
    assert response.status_code == 413
    assert "at most 3" in response.json()["detail"]
    assert not Profile.objects.exists()


@pytest.mark.parametrize("entity", ["products", "inventory", "plans", "subscriptions", "bookings", "purchases"])
def test_every_entity_has_a_bulk_endpoint_and_a_list(steward_api, entity):
    response = steward_api.post(f"/api/v1/{entity}/bulk-upsert/", {"records": [{"name": "no key"}]}, format="json")
    assert response.status_code == 200
    assert response.json()["errors"][0]["errors"]["external_id"] == ["is required"]
    assert steward_api.get(f"/api/v1/{entity}/").status_code == 200


def test_bookings_are_listed_with_external_id_references_and_filtered_by_profile(steward_api):
    BookingFactory(profile=ProfileFactory(external_id="c1"), product__external_id="SKU-9")
    BookingFactory()
    body = steward_api.get("/api/v1/bookings/", {"profile": "c1"}).json()
    assert len(body["results"]) == 1
    assert (body["results"][0]["profile"], body["results"][0]["product"]) == ("c1", "SKU-9")


def test_profile_crud_by_external_id(steward_api):
    created = steward_api.post(
        "/api/v1/profiles/",
        {"external_id": "c1", "email": "Ana@Example.COM", "phone": "912345678", "country": "pt"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert (created.json()["email"], created.json()["phone"]) == ("ana@example.com", "+351912345678")
    patched = steward_api.patch("/api/v1/profiles/c1/", {"city": "Faro"}, format="json")
    assert patched.status_code == 200
    assert steward_api.get("/api/v1/profiles/c1/").json()["city"] == "Faro"
    assert Profile.objects.get(external_id="c1").history.count() == 2  # the audit trail
    bad = steward_api.patch("/api/v1/profiles/c1/", {"phone": "12", "timezone": "Nowhere"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"phone", "timezone"}
    duplicate = steward_api.post("/api/v1/profiles/", {"external_id": "c1"}, format="json")
    assert duplicate.status_code == 400


def test_profiles_are_filtered_and_paginated_by_cursor(steward_api):
    for i in range(5):
        ProfileFactory(external_id=f"c{i}", country="ES" if i % 2 else "PT")
    ProfileFactory(external_id="x", email="Someone@Example.com".lower())
    first = steward_api.get("/api/v1/profiles/", {"country": "PT", "page_size": 2}).json()
    assert [p["external_id"] for p in first["results"]] == ["c0", "c2"]
    second = steward_api.get(first["next"]).json()
    assert [p["external_id"] for p in second["results"]] == ["c4", "x"]  # x is Portuguese too (the factory's)
    assert second["next"] is None
    assert [p["external_id"] for p in steward_api.get(second["previous"]).json()["results"]] == ["c0", "c2"]
    assert (
        steward_api.get("/api/v1/profiles/", {"email": "SOMEONE@example.com"}).json()["results"][0]["external_id"]
        == "x"
    )


def test_page_size_is_capped_at_1000(steward_api):
    Profile.objects.bulk_create(Profile(external_id=f"c{i:04d}") for i in range(1001))
    response = steward_api.get("/api/v1/profiles/", {"page_size": 5000})
    assert response.status_code == 200
    body = response.json()
    assert [p["external_id"] for p in body["results"]] == [f"c{i:04d}" for i in range(1000)]
    assert [p["external_id"] for p in steward_api.get(body["next"]).json()["results"]] == ["c1000"]


def test_delete_erases_the_profile(steward_api):
    for external_id in ("c1", "c2"):
        booking = BookingFactory(profile=ProfileFactory(external_id=external_id), external_id=f"bk-{external_id}")
        ConsentFactory(profile=booking.profile)
    assert steward_api.delete("/api/v1/profiles/c1/").status_code == 204
    assert list(Profile.objects.values_list("external_id", flat=True)) == ["c2"]
    assert list(Booking.objects.values_list("external_id", flat=True)) == ["bk-c2"]
    assert list(Consent.objects.values_list("profile__external_id", flat=True)) == ["c2"]
    assert steward_api.delete("/api/v1/profiles/c1/").status_code == 404


def test_consent_events_and_current_state(steward_api):
    ProfileFactory(external_id="c1")
    ProfileFactory(external_id="c2")
    response = steward_api.post(
        "/api/v1/consents/",
        {"records": [
            {"profile": "c1", "channel": "email", "status": "opted_in", "occurred_at": "2026-01-01T00:00:00Z"},
            {"profile": "c1", "channel": "email", "status": "opted_out", "occurred_at": "2026-02-01T00:00:00Z"},
            {"profile": "c2", "channel": "sms", "status": "opted_in", "occurred_at": "2026-01-01T00:00:00Z"},
            {"profile": "c3", "channel": "sms", "status": "opted_in", "occurred_at": "2026-01-01T00:00:00Z"},
        ]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["created"] == 2
    assert response.json()["errors"][0]["index"] == 3
    state = steward_api.get("/api/v1/consents/", {"profile": "c1"}).json()["results"]
    assert [(c["channel"], c["status"]) for c in state] == [("email", "opted_out")]
    history = steward_api.get("/api/v1/consents/history/", {"profile": "c1"}).json()["results"]
    assert [e["status"] for e in history] == ["opted_in", "opted_out"]
    assert ConsentEvent.objects.count() == 3


def test_a_viewer_can_read_consent_history(api_as):
    assert api_as("Viewer").get("/api/v1/consents/history/").status_code == 200


def test_suppressions_are_normalised_and_idempotent(steward_api):
    first = steward_api.post(
        "/api/v1/suppressions/",
        {"channel": "email", "address": " Bounce@Example.com ", "reason": "hard_bounce"},
        format="json",
    )
    assert first.status_code == 201
    assert first.json()["address"] == "bounce@example.com"
    again = steward_api.post(
        "/api/v1/suppressions/", {"channel": "email", "address": "bounce@example.com"}, format="json"
    )
    assert again.status_code == 200
    assert Suppression.objects.count() == 1
    bad = steward_api.post("/api/v1/suppressions/", {"channel": "sms", "address": "call me"}, format="json")
    assert bad.status_code == 400
    assert "address" in bad.json()


def test_push_devices_name_their_profile_by_external_id(steward_api):
    ProfileFactory(external_id="c1")
    response = steward_api.post(
        "/api/v1/push-devices/", {"profile": "c1", "token": "tok-1", "platform": "ios"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert PushDevice.objects.get().profile.external_id == "c1"
    unknown = steward_api.post(
        "/api/v1/push-devices/", {"profile": "nobody", "token": "tok-2", "platform": "ios"}, format="json"
    )
    assert unknown.status_code == 400


def test_the_openapi_schema_and_docs_are_served(steward_api, client, admin_user):
    schema = steward_api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/profiles/bulk-upsert/" in schema.content
    client.force_login(admin_user)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
