import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audiences.models import AudienceSnapshot, Population

pytestmark = pytest.mark.django_db

PT = {"field": "country", "op": "eq", "value": "PT"}


@pytest.fixture
def manager(api_as):
    return api_as("Campaign manager")


def create(client, **data):
    body = {"name": "Portugal", "slug": "pt", "kind": "rule", "dimension": "profile", "rule": PT, **data}
    return client.post("/api/v1/audiences/", body, format="json")


def test_dimensions_describe_fields_operators_and_relations(manager):
    body = manager.get("/api/v1/dimensions/").json()
    booking = next(d for d in body if d["key"] == "booking")
    status = next(f for f in booking["fields"] if f["name"] == "status")
    assert status["choices"] == ["pending", "confirmed", "cancelled", "completed"]
    assert "in" in status["operators"]
    assert booking["links"] == {"profile": "profile", "product": "product"}
    assert manager.get("/api/v1/dimensions/profile/").json()["relations"][0] == {
        "name": "bookings",
        "dimension": "booking",
    }
    assert manager.get("/api/v1/dimensions/planet/").status_code == 404


def test_create_evaluate_and_read_members(world, manager):
    created = create(manager)
    assert created.status_code == 201, created.json()
    audience_id = created.json()["id"]
    evaluated = manager.post(f"/api/v1/audiences/{audience_id}/evaluate/")
    assert evaluated.status_code == 200
    assert {"id", "size", "evaluated_at", "duration_ms"} <= set(evaluated.json())
    assert evaluated.json()["size"] == 2
    page = manager.get(f"/api/v1/audiences/{audience_id}/members/", {"page_size": 1}).json()
    assert page["count"] == 2
    assert page["results"][0] == {
        "object_id": world["ana"].pk, "external_id": "ana", "profile_id": world["ana"].pk, "profile_external_id": "ana",
    }  # fmt: skip
    second = manager.get(page["next"]).json()
    assert [row["external_id"] for row in second["results"]] == ["bruno"]
    assert second["next"]  # a full page: there may be more
    assert manager.get(second["next"]).json() == {"count": 2, "next": None, "results": []}


def test_members_as_csv(world, manager):
    audience_id = create(manager).json()["id"]
    manager.post(f"/api/v1/audiences/{audience_id}/evaluate/")
    response = manager.get(f"/api/v1/audiences/{audience_id}/members/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["object_id", "external_id", "email"]
    assert sorted(row[1] for row in rows[1:]) == ["ana", "bruno"]


def test_an_invalid_rule_is_a_400_naming_the_path(manager):
    response = create(manager, rule={"all": [PT, {"field": "countyr", "op": "eq", "value": "PT"}]})
    assert response.status_code == 400
    assert response.json()["rule"] == ['all[1].field: unknown field "countyr" on profile; did you mean "country"?']


def test_preview_counts_without_saving(world, api_as):
    viewer = api_as("Viewer")
    response = viewer.post(
        "/api/v1/audiences/preview/", {"dimension": "profile", "rule": {"has": "bookings"}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["count"] == 3
    bad = viewer.post(
        "/api/v1/audiences/preview/",
        {"dimension": "booking", "rule": {"field": "x", "op": "eq", "value": 1}},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["rule"] == {"field": ['unknown field "x" on booking']}
    assert not Population.objects.exists() and not AudienceSnapshot.objects.exists()  # nothing saved


def test_async_evaluation_answers_202_and_the_snapshot_shows_its_state(
    world, manager, django_capture_on_commit_callbacks
):
    audience_id = create(manager).json()["id"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = manager.post(f"/api/v1/audiences/{audience_id}/evaluate/?async=true")
    assert response.status_code == 202
    assert (response.json()["state"], response.json()["size"]) == ("queued", None)
    assert len(queued) == 1  # the task is queued when the request's transaction commits, not before
    assert [(s["id"], s["state"]) for s in snapshots_of(manager, audience_id)] == [(response.json()["id"], "queued")]
    queued[0]()  # the commit: the task runs (inline in tests)
    snapshot = snapshots_of(manager, audience_id)[0]
    assert (snapshot["id"], snapshot["state"], snapshot["size"], snapshot["error"]) == (
        response.json()["id"], "done", 2, "",
    )  # fmt: skip
    assert manager.get(f"/api/v1/audiences/{audience_id}/").json()["latest_snapshot"]["id"] == snapshot["id"]
    assert manager.get(f"/api/v1/audiences/{audience_id}/members/").json()["count"] == 2


def snapshots_of(client, audience_id):
    return client.get(f"/api/v1/audiences/{audience_id}/snapshots/").json()


def test_list_upload_by_json_and_by_file(world, manager):
    audience_id = create(manager, slug="vip", kind="list", rule=None).json()["id"]
    response = manager.post(
        f"/api/v1/audiences/{audience_id}/members/", {"external_ids": ["ana", "nobody"]}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["size"], response.json()["details"]["unknown"]) == (1, ["nobody"])
    upload = SimpleUploadedFile("vip.csv", b"email\nbruno@example.org\ndan@example.com\n", content_type="text/csv")
    response = manager.post(f"/api/v1/audiences/{audience_id}/members/", {"file": upload}, format="multipart")
    assert response.json()["size"] == 2
    bad = manager.post(f"/api/v1/audiences/{audience_id}/members/", {}, format="json")
    assert bad.status_code == 400


def test_distribution(world, manager):
    audience_id = create(manager, rule={"all": []}).json()["id"]
    manager.post(f"/api/v1/audiences/{audience_id}/evaluate/")
    body = manager.get(f"/api/v1/audiences/{audience_id}/distribution/", {"field": "country"}).json()
    assert body["values"][0] == {"value": "PT", "count": 2}
    assert manager.get(f"/api/v1/audiences/{audience_id}/distribution/", {"field": "password"}).status_code == 400


def test_delete_in_use_is_a_409(world, manager, api_as):
    pt_id = create(manager).json()["id"]
    create(manager, name="Uses", slug="uses", rule={"in_audience": "pt"})
    admin = api_as("Campaign administrator")
    response = admin.delete(f"/api/v1/audiences/{pt_id}/")
    assert response.status_code == 409
    assert response.json()["usages"] == ['audience "Uses" (uses)']


def test_permissions(world, api_as):
    viewer = api_as("Viewer")
    assert viewer.get("/api/v1/audiences/").status_code == 200
    assert create(viewer).status_code == 403
    steward_audience = create(api_as("Campaign manager")).json()["id"]
    assert viewer.post(f"/api/v1/audiences/{steward_audience}/evaluate/").status_code == 403
    assert api_as(None).get("/api/v1/dimensions/").status_code == 403


def test_each_dimension_serves_a_json_schema_of_its_rules(manager):
    schema = manager.get("/api/v1/dimensions/booking/rule-schema/").json()
    assert schema["$schema"].endswith("2020-12/schema")
    assert "product.category" in str(schema)
