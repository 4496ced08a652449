"""The member CSV: the dimension's useful columns by default, columns chosen by name (in the
admin's export page or `?columns=`), profile fields only for users who may view profiles."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audiences.models import Audience
from audiences.selectors import MAX_EXPORT_COLUMNS
from audiences.services import audience_evaluate, audience_save
from profiles.models import Profile

pytestmark = pytest.mark.django_db

PT = {"field": "country", "op": "eq", "value": "PT"}


def evaluated(dimension="profile", rule=None) -> Audience:
    audience = audience_save(
        audience=Audience(name="Export", slug=f"export-{dimension}", kind="rule", dimension=dimension, rule=rule or PT)
    )
    audience_evaluate(audience=audience)
    return audience


def members_url(audience: Audience) -> str:
    return f"/api/v1/audiences/{audience.pk}/members/"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def manager(api_as):
    return api_as("Campaign manager")


@pytest.fixture
def ids_only(make_user):
    """May view audiences, not profiles."""
    user = make_user(None, username="ids-only", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audience", content_type__app_label="audiences"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    admin = Client()
    admin.force_login(user)
    return client, admin


def test_it_exports_a_profile_audience_with_its_useful_columns(world, manager):
    rows = read_csv(manager.get(members_url(evaluated()), {"format": "csv"}))
    assert rows[0] == [
        "object_id", "external_id", "email", "phone", "first_name", "last_name", "country", "city", "loyalty_tier"
    ]  # fmt: skip
    ana = next(row for row in rows if row[1] == "ana")
    assert ana[2] == "ana@example.com" and ana[6:] == ["PT", "Lisboa", "gold"]


def test_it_exports_bookings_with_their_profile(world, manager):
    audience = evaluated("booking", {"field": "status", "op": "eq", "value": "confirmed"})
    rows = read_csv(manager.get(members_url(audience), {"format": "csv"}))
    assert rows[0][:4] == ["object_id", "external_id", "profile_external_id", "status"]
    assert sorted((row[1], row[2], row[3]) for row in rows[1:]) == [
        ("bk-0", "ana", "confirmed"), ("bk-2", "bruno", "confirmed"), ("bk-3", "bruno", "confirmed")
    ]  # fmt: skip


def test_it_exports_the_columns_asked_for_in_their_order(world, manager):
    audience = evaluated("booking", {"field": "status", "op": "eq", "value": "confirmed"})
    response = manager.get(members_url(audience), {"format": "csv", "columns": "profile.email,external_id,amount"})
    rows = read_csv(response)
    assert rows[0] == ["profile.email", "external_id", "amount"]
    assert sorted(rows[1:]) == [
        ["ana@example.com", "bk-0", "500.00"], ["bruno@example.org", "bk-2", "800.00"],
        ["bruno@example.org", "bk-3", "900.00"],
    ]  # fmt: skip


def test_it_escapes_formula_cells(world, manager):
    Profile.objects.filter(external_id="ana").update(first_name='=HYPERLINK("http://evil.example")')
    rows = read_csv(manager.get(members_url(evaluated()), {"format": "csv", "columns": "external_id,first_name"}))
    assert ["ana", '\'=HYPERLINK("http://evil.example")'] in rows


def test_a_user_who_may_not_view_profiles_gets_ids_only_even_by_asking(world, manager, ids_only):
    audience = evaluated()
    api, admin = ids_only
    assert read_csv(api.get(members_url(audience), {"format": "csv"}))[0] == ["object_id", "profile_id"]
    refused = api.get(members_url(audience), {"format": "csv", "columns": "object_id,email"})
    assert refused.status_code == 400
    assert "unknown columns: email (available: object_id, profile_id)" in refused.content.decode()
    page = admin.get(f"/admin/audiences/audience/{audience.pk}/export/")
    assert page.status_code == 200
    assert [value for value, _ in page.context["form"].fields["columns"].choices] == ["object_id", "profile_id"]
    assert "email" not in page.content.decode().split('id="export-form"')[1]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("external_id,nope", "unknown columns: nope (available: object_id, external_id"),
        ("email\x00", "the query parameter 'columns' contains a NUL character"),  # refused before the view
        ("profile.password", "unknown columns: profile.password"),
        (",".join(f"c{i}" for i in range(1000)), f"at most {MAX_EXPORT_COLUMNS} columns, not 1000"),
    ],
)
def test_it_refuses_unknown_columns_naming_them(world, manager, columns, message):
    response = manager.get(members_url(evaluated()), {"format": "csv", "columns": columns})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_admin_export_page_ticks_the_defaults_and_offers_profile_fields(world, admin_as):
    audience = evaluated("booking", {"field": "status", "op": "eq", "value": "confirmed"})
    admin = admin_as("Campaign manager")
    change = admin.get(f"/admin/audiences/audience/{audience.pk}/change/").content.decode()
    assert f"/admin/audiences/audience/{audience.pk}/export/" in change
    page = admin.get(f"/admin/audiences/audience/{audience.pk}/export/")
    form = page.context["form"]
    names = [value for value, _ in form.fields["columns"].choices]
    assert {"object_id", "external_id", "status", "profile.email", "profile_external_id"} <= set(names)
    assert form.fields["columns"].initial[:3] == ["object_id", "external_id", "profile_external_id"]
    text = page.content.decode()
    assert f'action="/api/v1/audiences/{audience.pk}/members/"' in text
    download = admin.get(members_url(audience), {"format": "csv", "columns": ["external_id", "profile.email"]})
    assert read_csv(download)[0] == ["external_id", "profile.email"]


def test_the_admin_export_page_needs_a_calculation(admin_as):
    audience = audience_save(audience=Audience(name="New", slug="new", kind="rule", dimension="profile", rule=PT))
    response = admin_as("Campaign manager").get(f"/admin/audiences/audience/{audience.pk}/export/")
    assert response.status_code == 200 and response.context["form"] is None
    assert "No members to export yet: calculate the audience first" in response.content.decode()


def test_it_refuses_undecodable_column_names(world, manager):
    response = manager.get(f"{members_url(evaluated())}?format=csv&columns=%ED%A0%80,external_id")
    assert response.status_code == 400
    assert "unknown columns: \ufffd\ufffd\ufffd" in response.content.decode()


def test_an_error_asked_for_as_csv_reads_as_text(manager):
    response = manager.get("/api/v1/audiences/999999/members/?format=csv")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert body.startswith("detail: ") and "ErrorDetail" not in body
