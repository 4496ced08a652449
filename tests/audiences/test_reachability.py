"""Reachability of audiences and previews: the API, the preview flag and the audience page's
panel, over the hand-worked world of tests/profiles/reachability_world.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences.models import Audience
from audiences.services import audience_evaluate, audience_save, audience_upload_list, snapshot_reachability
from profiles.models import Product, Profile
from tests.factories import BookingFactory
from tests.profiles.reachability_world import EXPECTED, build_world, counts

EVERYONE = {"field": "external_id", "op": "startswith", "value": "p"}
PREVIEW = "/api/v1/audiences/preview/"


@pytest.fixture
def world(db):
    return build_world()


def evaluated(slug: str, rule=EVERYONE, dimension: str = "profile") -> Audience:
    audience = audience_save(
        audience=Audience(name=slug.title(), slug=slug, rule=rule, dimension=dimension)
    )  # fmt: skip
    audience_evaluate(audience=audience)
    audience.refresh_from_db()
    return audience


def url(audience_id) -> str:
    return f"/api/v1/audiences/{audience_id}/reachability/"


def test_a_viewer_reads_an_audiences_reachability_per_channel(world, api_as):
    response = api_as("Viewer").get(url(evaluated("everyone").pk))
    assert response.status_code == 200
    assert response.json() == EXPECTED


def test_a_user_without_a_role_may_not(world, api_as):
    assert api_as(None).get(url(evaluated("everyone").pk)).status_code == 403


def test_it_is_computed_in_one_statement_per_channel(world):
    snapshot = evaluated("everyone").latest_snapshot
    with CaptureQueriesContext(connection) as queries:
        snapshot_reachability(snapshot=snapshot)
    counted = [q["sql"] for q in queries.captured_queries if "COUNT" in q["sql"].upper()]
    assert len(counted) == 4


def test_it_counts_the_profiles_of_an_audience_of_bookings_once_each(world, api_as):
    for index in range(3):
        BookingFactory(profile=world["p08"], external_id=f"bk-8-{index}")  # email only
    BookingFactory(profile=world["p01"], external_id="bk-1")  # reachable everywhere
    audience = evaluated("bookers", {"field": "external_id", "op": "startswith", "value": "bk-"}, "booking")
    assert audience.latest_snapshot.size == 4
    assert api_as("Viewer").get(url(audience.pk)).json() == {
        "email": counts(2, 0, 0, 0),
        "sms": counts(1, 1, 0, 0),
        "push": counts(1, 1, 0, 0),
        "direct_mail": counts(1, 1, 0, 0),
    }


def test_an_uploaded_list_is_counted_over_its_members(world, api_as):
    audience = audience_save(audience=Audience(name="List", slug="list", kind=Audience.Kind.LIST))
    audience_upload_list(audience=audience, values=["p02", "p04", "nobody"], key="external_id")
    assert api_as("Viewer").get(url(audience.pk)).json()["email"] == counts(0, 1, 0, 1)


def test_an_audience_with_no_members_yet_is_a_404(world, api_as):
    audience = audience_save(audience=Audience(name="Later", slug="later", rule=EVERYONE))
    response = api_as("Viewer").get(url(audience.pk))
    assert response.status_code == 404
    assert "no members yet" in response.json()["detail"]


def test_an_audience_of_products_is_a_400_saying_there_is_no_one_to_reach(world, api_as):
    Product.objects.create(external_id="SKU-1", name="Suite")
    audience = evaluated("rooms", {"field": "external_id", "op": "eq", "value": "SKU-1"}, "product")
    response = api_as("Viewer").get(url(audience.pk))
    assert response.status_code == 400
    assert "Products are not linked to profiles" in response.json()["detail"]


@pytest.mark.parametrize("audience_id", ["abc", "99999999999999999999999", "-1", "0", "%00"])
def test_ids_that_name_no_audience_are_a_404_or_400_never_a_500(world, api_as, audience_id):
    assert api_as("Viewer").get(url(audience_id)).status_code in (400, 404)


# -- the preview ---------------------------------------------------------------------------------


def test_a_preview_answers_reachability_when_asked(world, api_as):
    viewer = api_as("Viewer")
    asked = viewer.post(PREVIEW, {"dimension": "profile", "rule": EVERYONE, "reachability": True}, format="json")
    assert asked.status_code == 200
    assert asked.json()["count"] == 10
    assert asked.json()["reachability"] == EXPECTED
    plain = viewer.post(PREVIEW, {"dimension": "profile", "rule": EVERYONE}, format="json")
    assert "reachability" not in plain.json()


def test_a_preview_of_bookings_counts_their_profiles_once(world, api_as):
    BookingFactory(profile=world["p08"], external_id="bk-1")
    BookingFactory(profile=world["p08"], external_id="bk-2")
    body = {"dimension": "booking", "rule": {"field": "external_id", "op": "startswith", "value": "bk-"},
            "reachability": True}  # fmt: skip
    answer = api_as("Viewer").post(PREVIEW, body, format="json").json()
    assert answer["count"] == 2
    assert answer["reachability"]["email"] == counts(1, 0, 0, 0)
    assert answer["reachability"]["sms"] == counts(0, 1, 0, 0)


@pytest.mark.parametrize("flag", ["yes", "true", 1, None, [True], {"on": True}])
def test_a_preview_flag_that_is_not_a_json_boolean_is_a_400(world, api_as, flag):
    body = {"dimension": "profile", "rule": EVERYONE, "reachability": flag}
    response = api_as("Viewer").post(PREVIEW, body, format="json")
    assert response.status_code == 400
    assert "reachability" in response.json()


def test_a_preview_of_products_with_reachability_is_a_400_on_the_flag(world, api_as):
    body = {"dimension": "product", "rule": {"field": "name", "op": "eq", "value": "x"}, "reachability": True}
    response = api_as("Viewer").post(PREVIEW, body, format="json")
    assert response.status_code == 400
    assert "no one to reach" in response.json()["reachability"][0]


# -- the audience page -----------------------------------------------------------------------------


def test_the_audience_page_shows_the_reachable_panel(world, admin_as):
    audience = evaluated("everyone")
    page = admin_as("Viewer").get(f"/admin/audiences/audience/{audience.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="audience-reachability"' in html
    assert "Of the <strong>10</strong> profiles" in html
    row = html[html.index('id="reachability-sms"') :]
    row = row[: row.index("</tr>")]
    assert "<strong>3</strong>" in row and "30%" in row
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:4]] == ["3", "3", "1"]
    assert "Needs a phone number and an opt-in" in row


def test_the_panel_is_left_out_for_products_and_for_audiences_not_calculated(world, admin_as):
    Product.objects.create(external_id="SKU-1", name="Suite")
    rooms = evaluated("rooms", {"field": "external_id", "op": "eq", "value": "SKU-1"}, "product")
    later = audience_save(audience=Audience(name="Later", slug="later", rule=EVERYONE))
    client = admin_as("Viewer")
    for audience in (rooms, later):
        page = client.get(f"/admin/audiences/audience/{audience.pk}/change/")
        assert page.status_code == 200
        assert 'id="audience-reachability"' not in page.content.decode()


def test_a_big_audience_offers_the_count_and_counts_when_asked(world, admin_as, monkeypatch):
    monkeypatch.setattr("audiences.admin.reachability.AUTOMATIC_UP_TO", 9)
    audience = evaluated("everyone")
    client = admin_as("Viewer")
    page = client.get(f"/admin/audiences/audience/{audience.pk}/change/").content.decode()
    assert "This audience has 10 members" in page and 'id="reachability-count"' in page
    assert 'id="reachability-email"' not in page
    asked = client.get(f"/admin/audiences/audience/{audience.pk}/change/", {"reachability": "1"}).content.decode()
    assert 'id="reachability-email"' in asked and 'id="reachability-count"' not in asked


def test_counting_past_the_time_limit_says_so_in_the_api_and_on_the_page(db, settings, api_as, make_user, client):
    Profile.objects.bulk_create(Profile(external_id=f"p-{n}", email=f"p-{n}@example.com") for n in range(20_000))
    audience = evaluated("crowd")
    settings.AUDIENCE_PREVIEW_TIMEOUT_MS = 1
    response = api_as("Viewer").get(url(audience.pk))
    assert response.status_code == 422
    assert "Counting who can be reached took longer than 0.001 seconds" in response.json()["detail"]
    client.force_login(make_user("Viewer", username="page-viewer", is_staff=True))
    page = client.get(f"/admin/audiences/audience/{audience.pk}/change/")
    assert page.status_code == 200
    assert "Counting who can be reached took longer than" in page.content.decode()
