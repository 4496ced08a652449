"""The audience admin: the form goes through the services, the tools check permissions."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audiences.models import Audience, AudienceSnapshot
from audiences.services import audience_evaluate, audience_save
from tests.factories import BookingFactory, ProfileFactory

pytestmark = pytest.mark.django_db

AUDIENCES = "/admin/audiences/audience/"
PREVIEW = f"{AUDIENCES}preview/"
PT_BOOKERS = {
    "all": [
        {"field": "country", "op": "eq", "value": "PT"},
        {"has": "bookings", "where": {"field": "status", "op": "eq", "value": "confirmed"}},
    ]
}


@pytest.fixture
def manager(admin_as):
    return admin_as("Campaign manager")


@pytest.fixture
def viewer(admin_as):
    return admin_as("Viewer")


@pytest.fixture
def bookers(db):
    """Two Portuguese profiles with a confirmed booking; one with a cancelled one; one Spanish."""
    for country, status in [("PT", "confirmed"), ("PT", "confirmed"), ("PT", "cancelled"), ("ES", "confirmed")]:
        BookingFactory(profile=ProfileFactory(country=country), status=status)


def make_audience(slug="pt-bookers", rule=None, **fields) -> Audience:
    audience = Audience(name=fields.pop("name", slug.replace("-", " ").capitalize()), slug=slug, **fields)
    if audience.kind == Audience.Kind.RULE:
        audience.rule = rule or PT_BOOKERS
    return audience_save(audience=audience)


def change_url(audience: Audience, tool: str = "change") -> str:
    return f"{AUDIENCES}{audience.pk}/{tool}/"


def form_data(**overrides) -> dict:
    data = {"name": "PT bookers", "slug": "pt-bookers", "description": "", "kind": "rule", "dimension": "profile",
            "rule": json.dumps(PT_BOOKERS), "refresh_cron": ""}  # fmt: skip
    return {**data, **overrides}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- list and form -----------------------------------------------------------------------------


def test_the_list_shows_size_and_last_evaluation(manager, bookers):
    audience_evaluate(audience=make_audience())
    make_audience(slug="not-evaluated", rule={"all": []})
    response = manager.get(AUDIENCES)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Pt bookers" in text and "Not evaluated" in text
    rows = {row.name: row for row in response.context["cl"].result_list}
    assert rows["Pt bookers"].latest_snapshot.size == 2
    assert ">2</td>" in text and " ms)</td>" in text


def test_the_list_filters_by_dimension_and_kind(manager):
    make_audience(slug="profiles-all", rule={"all": []})
    make_audience(slug="bookings-all", rule={"all": []}, dimension="booking")
    make_audience(slug="vip-list", kind=Audience.Kind.LIST)
    names = lambda response: {a.slug for a in response.context["cl"].result_list}  # noqa: E731
    assert names(manager.get(f"{AUDIENCES}?dimension=booking")) == {"bookings-all"}
    assert names(manager.get(f"{AUDIENCES}?kind__exact=list")) == {"vip-list"}
    assert names(manager.get(f"{AUDIENCES}?q=profiles")) == {"profiles-all"}


def test_the_add_page_embeds_the_builder_metadata(manager):
    make_audience(slug="other", rule={"all": []})
    response = manager.get(f"{AUDIENCES}add/")
    meta = response.context["builder_metadata"]
    profile = meta["dimensions"]["profile"]
    country = next(field for field in profile["fields"] if field["name"] == "country")
    assert country == {"name": "country", "label": "Country", "type": "string", "choices": [],
                       "operators": ["eq", "ne", "in", "not_in", "contains", "icontains", "startswith", "is_null"],
                       "suggest": True}  # fmt: skip
    status = next(field for field in meta["dimensions"]["booking"]["fields"] if field["name"] == "status")
    assert status["type"] == "choice" and "confirmed" in status["choices"]
    assert meta["dimensions"]["booking"]["links"] == {"profile": "profile", "product": "product"}
    assert {"name": "bookings", "label": "Bookings", "dimension": "booking"} in profile["relations"]
    assert meta["previewUrl"] == PREVIEW
    assert meta["suggestionsUrl"] == f"{AUDIENCES}suggestions/"
    assert meta["audiences"] == [{"slug": "other", "name": "Other", "dimension": "profile"}]
    html = response.content.decode()
    assert 'id="audience-builder-meta"' in html and "audiences/rule-builder.js" in html
    assert 'class="rule-builder"' in html


def test_a_manager_creates_an_audience_through_the_form(manager, bookers):
    response = manager.post(f"{AUDIENCES}add/", form_data())
    assert response.status_code == 302
    audience = Audience.objects.get(slug="pt-bookers")
    assert audience.rule == PT_BOOKERS
    assert audience.created_by.username == "user-campaign-manager"
    assert audience.history.first().history_user.username == "user-campaign-manager"


def test_an_invalid_rule_is_refused_with_the_path_of_each_problem(manager):
    rule = {"all": [{"field": "country", "op": "eq", "value": "PT"},
                    {"has": "bookings", "where": {"field": "statuss", "op": "eq", "value": "x"}}]}  # fmt: skip
    response = manager.post(f"{AUDIENCES}add/", form_data(rule=json.dumps(rule)))
    assert response.status_code == 200
    assert not Audience.objects.exists()
    errors = response.context["adminform"].form.errors["rule"]
    assert errors == ['all[1].where.field: unknown field "statuss" on booking; did you mean "status"?']
    assert response.context["rule_problems"] == [
        {"path": "all[1].where.field", "message": 'unknown field "statuss" on booking; did you mean "status"?'}
    ]
    assert "Please correct the error below." in response.content.decode()


def test_the_service_errors_land_on_their_fields(manager):
    make_audience(slug="taken", rule={"all": []})
    response = manager.post(
        f"{AUDIENCES}add/", form_data(slug="taken", refresh_cron="every day", rule="{}", name="Again")
    )
    errors = response.context["adminform"].form.errors
    assert "already exists" in errors["slug"][0]
    assert errors["refresh_cron"] == ['"every day" is not a cron expression (e.g. "0 6 * * *")']
    assert errors["rule"] == [
        "a condition needs exactly one of all, any, not, field, has, agg, in_audience (found none)"
    ]


def test_a_list_audience_keeps_no_rule(manager):
    response = manager.post(f"{AUDIENCES}add/", form_data(kind="list", slug="vip", name="VIP"))
    assert response.status_code == 302
    assert Audience.objects.get(slug="vip").rule is None


# -- calculate -----------------------------------------------------------------------------------


def test_calculate_reports_the_exact_count(manager, bookers):
    audience = make_audience()
    response = manager.post(change_url(audience, "calculate"), follow=True)
    assert messages_of(response) == [
        f"Pt bookers: 2 profiles (calculated in {audience.snapshots.get().duration_ms:,} ms)."
    ]
    audience.refresh_from_db()
    assert audience.latest_snapshot.size == 2
    page = response.content.decode()
    assert '<strong id="audience-size">2</strong> profiles' in page
    assert response.context["sample"]["columns"][:2] == ["id", "external id"]
    assert len(response.context["sample"]["rows"]) == 2


def test_calculate_in_background_queues_a_snapshot(manager, bookers, django_capture_on_commit_callbacks):
    audience = make_audience()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = manager.post(change_url(audience, "calculate"), {"background": "1"}, follow=True)
    assert messages_of(response) == ["Calculation queued: its state shows under Recent calculations."]
    snapshot = audience.snapshots.get()
    assert (snapshot.state, snapshot.trigger, snapshot.requested_by.username) == (
        "queued", "manual", "user-campaign-manager",
    )  # fmt: skip
    assert len(queued) == 1
    queued[0]()  # the commit: the task runs (inline in tests)
    snapshot.refresh_from_db()
    assert (snapshot.state, snapshot.size) == ("done", 2)
    audience.refresh_from_db()
    assert audience.latest_snapshot == snapshot


def test_calculate_refuses_a_list_audience(manager):
    audience = make_audience(slug="vip", kind=Audience.Kind.LIST)
    response = manager.post(change_url(audience, "calculate"), follow=True)
    assert messages_of(response) == ['Not calculated: "Vip" is uploaded list: it is uploaded or saved, not evaluated.']


def test_a_viewer_cannot_calculate(viewer, bookers):
    audience = make_audience()
    assert viewer.post(change_url(audience, "calculate")).status_code == 403
    assert not AudienceSnapshot.objects.exists()
    page = viewer.get(change_url(audience))
    assert page.status_code == 200 and page.context["calculate_url"] is None


def test_calculate_needs_a_post(manager):
    assert manager.get(change_url(make_audience(rule={"all": []}), "calculate")).status_code == 405


# -- preview -------------------------------------------------------------------------------------


def preview(client, rule, dimension="profile"):
    return client.post(PREVIEW, json.dumps({"dimension": dimension, "rule": rule}), content_type="application/json")


def test_the_preview_answers_the_count_and_a_sample(viewer, bookers):
    response = preview(viewer, PT_BOOKERS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert len(body["sample"]) == 2
    assert {"id", "external_id", "email", "country"} <= set(body["sample"][0])
    assert isinstance(body["duration_ms"], int)
    assert not Audience.objects.exists() and not AudienceSnapshot.objects.exists()


def test_the_preview_names_each_problem_by_its_path(manager):
    rule = {"all": [{"field": "country", "op": "eq", "value": ""}, {"has": "bookingz"}]}
    response = preview(manager, rule)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "all[0].value", "message": "must be a non-empty string (to match no value, use is_null)"},
        {"path": "all[1].has", "message": 'unknown relation "bookingz" on profile; did you mean "bookings"?'},
    ]
    assert preview(manager, {"all": []}, dimension="nope").json()["errors"][0]["path"] == "dimension"
    assert preview(manager, {"all": []}, dimension=["profile"]).json()["errors"][0]["path"] == "dimension"
    assert manager.post(PREVIEW, "not json", content_type="application/json").status_code == 400


def test_the_preview_needs_the_view_permission_and_csrf(make_user, bookers):
    outsider = Client()
    outsider.force_login(make_user(None, is_staff=True))
    assert preview(outsider, PT_BOOKERS).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("Viewer", username="strict", is_staff=True))
    assert preview(strict, PT_BOOKERS).status_code == 403


# -- members: sample, distribution, export ---------------------------------------------------


def test_the_distribution_tool_shows_the_top_values(manager, bookers):
    audience = make_audience(rule={"has": "bookings"})
    audience_evaluate(audience=audience)
    response = manager.get(change_url(audience), {"distribution": "country"})
    assert response.context["distribution"] == {
        "field": "Country",
        "rows": [{"value": "PT", "count": 3, "share": 75.0}, {"value": "ES", "count": 1, "share": 25.0}],
    }
    assert "75.0%" in response.content.decode()


def test_the_distribution_offers_to_one_paths(manager, bookers):
    audience = make_audience(slug="bookings", rule={"all": []}, dimension="booking")
    audience_evaluate(audience=audience)
    response = manager.get(change_url(audience), {"distribution": "product.category"})
    assert response.context["distribution"]["rows"] == [{"value": "stay", "count": 4, "share": 100.0}]
    assert response.context["distribution"]["field"] == "Product › Category"


def test_the_change_page_links_the_members_export(viewer, bookers):
    audience = make_audience()
    audience_evaluate(audience=audience)
    response = viewer.get(change_url(audience))
    url = response.context["export_url"]
    assert url == f"/admin/audiences/audience/{audience.pk}/export/"
    assert viewer.get(url).status_code == 200
    export = viewer.get(f"/api/v1/audiences/{audience.pk}/members/?format=csv")
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("object_id,external_id,email,")
    assert len(lines) == 3


# -- list upload -------------------------------------------------------------------------------


def test_a_list_upload_reports_unknown_ids(manager):
    ProfileFactory(external_id="cust-a")
    ProfileFactory(external_id="cust-b")
    audience = make_audience(slug="vip", kind=Audience.Kind.LIST)
    csv_file = SimpleUploadedFile("vip.csv", b"name,external_id\nAna,cust-a\nBob,cust-b\nZoe,cust-zzz\n")
    response = manager.post(
        change_url(audience, "upload"),
        {"file": csv_file, "values": "cust-a\nghost-1", "key": "external_id"},
        follow=True,
    )
    assert messages_of(response) == ["Uploaded 4 values: 2 members. 2 unknown: ghost-1, cust-zzz"]
    audience.refresh_from_db()
    assert audience.latest_snapshot.size == 2
    page = response.content.decode()
    assert 'id="upload-unknown"' in page and "ghost-1, cust-zzz" in page


def test_a_list_upload_by_email(manager):
    ProfileFactory(email="ana@example.com")
    audience = make_audience(slug="vip", kind=Audience.Kind.LIST)
    response = manager.post(change_url(audience, "upload"), {"values": "ANA@example.com", "key": "email"}, follow=True)
    assert messages_of(response) == ["Uploaded 1 values: 1 members."]


def test_an_empty_upload_is_refused(manager):
    audience = make_audience(slug="vip", kind=Audience.Kind.LIST)
    response = manager.post(change_url(audience, "upload"), {"values": "", "key": "external_id"}, follow=True)
    assert messages_of(response) == ["Not uploaded: Upload a CSV file or paste the ids."]
    assert not AudienceSnapshot.objects.exists()


def test_a_viewer_cannot_upload(viewer):
    audience = make_audience(slug="vip", kind=Audience.Kind.LIST)
    assert viewer.post(change_url(audience, "upload"), {"values": "x", "key": "external_id"}).status_code == 403
    assert "upload_form" not in viewer.get(change_url(audience)).context


# -- delete --------------------------------------------------------------------------------------


@pytest.fixture
def administrator(admin_as):
    return admin_as("Campaign administrator")


def test_delete_is_refused_while_another_audience_uses_it(administrator):
    base = make_audience(slug="base", rule={"all": []})
    make_audience(slug="user", rule={"in_audience": "base"}, name="Uses base")
    response = administrator.get(change_url(base, "delete"), follow=True)
    assert messages_of(response) == ['"Base" cannot be deleted: it is used by audience "Uses base" (user).']
    response = administrator.post(change_url(base, "delete"), {"post": "yes"}, follow=True)
    assert "cannot be deleted" in messages_of(response)[0]
    assert Audience.objects.filter(slug="base").exists()


def test_delete_goes_through_the_service(administrator):
    audience = make_audience(slug="lonely", rule={"all": []})
    audience_evaluate(audience=audience)
    response = administrator.post(change_url(audience, "delete"), {"post": "yes"})
    assert response.status_code == 302
    assert not Audience.objects.exists() and not AudienceSnapshot.objects.exists()


def test_bulk_delete_keeps_the_audiences_in_use(administrator):
    base = make_audience(slug="base", rule={"all": []})
    user = make_audience(slug="user", rule={"in_audience": "base"}, name="Uses base")
    other = make_audience(slug="also-uses-base", rule={"in_audience": "base"})
    data = {"action": "delete_selected", "_selected_action": [base.pk, user.pk], "index": "0"}
    confirmation = administrator.post(AUDIENCES, data)
    assert confirmation.status_code == 200 and "Are you sure" in confirmation.content.decode()
    response = administrator.post(AUDIENCES, {**data, "post": "yes"}, follow=True)
    assert messages_of(response) == [
        "Deleted 1 audience.",
        '"Base" cannot be deleted: it is used by audience "Also uses base" (also-uses-base).',
    ]
    assert set(Audience.objects.values_list("slug", flat=True)) == {"base", other.slug}


def test_a_manager_cannot_delete(manager):
    audience = make_audience(slug="base", rule={"all": []})
    assert manager.post(change_url(audience, "delete"), {"post": "yes"}).status_code == 403
