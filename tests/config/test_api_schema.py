"""The OpenAPI schema tells the truth about the answers (config/api/schema.py), as the
Schemathesis run (`make fuzz-api`) checks against the live API."""

import pytest
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator

from config.api.errors import server_error


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema, method: str, path: str) -> dict:
    return schema["paths"][path][method]


def test_it_documents_the_errors_drf_answers_by_itself(schema):
    detail = operation(schema, "get", "/api/v1/profiles/{external_id}/")["responses"]
    listing = operation(schema, "get", "/api/v1/profiles/")["responses"]
    assert {"400", "401", "403", "404", "429"} <= set(detail)
    assert {"400", "404"} <= set(listing)  # filters; an unknown page cursor
    assert detail["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert listing["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ValidationErrors"}


def test_it_keeps_the_answers_a_view_documents(schema):
    assert set(operation(schema, "post", "/api/v1/suppressions/")["responses"]) >= {"200", "201"}
    assert "413" in operation(schema, "post", "/api/v1/bookings/bulk-upsert/")["responses"]
    assert "409" in operation(schema, "delete", "/api/v1/audiences/{id}/")["responses"]


def test_it_documents_errors_in_every_format_the_view_renders(schema):
    not_found = operation(schema, "get", "/api/v1/audiences/{id}/members/")["responses"]["404"]["content"]
    assert not_found["text/csv"] == {"schema": {"type": "string"}}
    assert "application/json" in not_found


def test_unpaginated_actions_are_not_documented_as_pages(schema):
    snapshots = operation(schema, "get", "/api/v1/audiences/{id}/snapshots/")
    members = operation(schema, "get", "/api/v1/audiences/{id}/members/")
    assert snapshots["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert members["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MemberPage"
    }
    assert {p["name"] for p in snapshots["parameters"]} == {"id"}
    assert "cursor" not in {p["name"] for p in members["parameters"]}


def test_an_audience_without_snapshot_is_documented_as_nullable(schema):
    latest = schema["components"]["schemas"]["Audience"]["properties"]["latest_snapshot"]
    assert latest.get("nullable") is True or {"type": "null"} in latest.get("oneOf", [])


def test_bulk_upsert_records_have_their_entitys_fields(schema):
    body = operation(schema, "post", "/api/v1/bookings/bulk-upsert/")["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/BookingBulkEnvelopeRequest"}
    record = schema["components"]["schemas"]["BookingRecordRequest"]
    assert record["required"] == ["external_id"]
    assert {"profile", "product", "check_in", "amount"} <= set(record["properties"])
    assert record["properties"]["profile"]["type"] == "string"  # an external id


@pytest.mark.django_db
def test_an_api_url_that_matches_no_route_answers_json(client):
    answer = client.get("/api/v1/audiences/0.5/")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_other_urls_keep_the_html_not_found_page(client):
    answer = client.get("/no-such-page/")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")


def test_a_crash_under_the_api_answers_json():
    answer = server_error(RequestFactory().get("/api/v1/profiles/"))
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
