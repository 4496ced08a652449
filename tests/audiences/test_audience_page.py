"""The audience page: the results (count, sample, distribution, size over time, used by) come
before the form; the distribution endpoint answers in place of a page reload."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from audiences.models import Audience, AudienceSnapshot
from audiences.services import audience_evaluate, audience_save
from tests.factories import BookingFactory, ProfileFactory

pytestmark = pytest.mark.django_db

AUDIENCES = "/admin/audiences/audience/"


def make_audience(slug="portugal", rule=None, **fields) -> Audience:
    audience = Audience(name=fields.pop("name", slug.capitalize()), slug=slug, **fields)
    audience.rule = rule or {"field": "country", "op": "eq", "value": "PT"}
    return audience_save(audience=audience)


def page_url(audience: Audience) -> str:
    return f"{AUDIENCES}{audience.pk}/change/"


def distribution_url(audience: Audience) -> str:
    return f"{AUDIENCES}{audience.pk}/distribution/"


@pytest.fixture
def manager(admin_as):
    return admin_as("Campaign manager")


@pytest.fixture
def ids_only(make_user):
    """A staff user who may view audiences but not profiles: member ids, no member data."""
    user = make_user(username="ids-only", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audience"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def profiles(db):
    for country in ["PT"] * 12 + ["ES", "ES", ""]:
        ProfileFactory(country=country)


def test_it_puts_the_results_before_the_form(manager, profiles):
    audience = make_audience(rule={"all": []})
    audience_evaluate(audience=audience)
    page = manager.get(page_url(audience)).content.decode()
    order = [page.index(marker) for marker in (
        'id="audience-summary"', 'id="audience-results"', 'id="audience-sample"', 'id="audience-distribution"',
        'id="audience-used-by"', 'id="audience_form"', 'id="audience-snapshots"',
    )]  # fmt: skip
    assert order == sorted(order)


def test_it_says_how_many_sample_rows_it_shows_and_shows_that_many(manager, profiles):
    audience = make_audience(rule={"all": []})
    audience_evaluate(audience=audience)
    response = manager.get(page_url(audience))
    assert "10 of 15 shown" in response.content.decode()
    assert response.context["sample"]["shown"] == len(response.context["sample"]["rows"]) == 10
    small = make_audience(slug="spain", rule={"field": "country", "op": "eq", "value": "ES"})
    audience_evaluate(audience=small)
    response = manager.get(page_url(small))
    assert "2 of 2 shown" in response.content.decode()
    assert len(response.context["sample"]["rows"]) == 2


def test_it_opens_the_distribution_on_country_and_labels_blanks_empty(manager, profiles):
    audience = make_audience(rule={"all": []})
    audience_evaluate(audience=audience)
    response = manager.get(page_url(audience))
    assert response.context["distribution_form"]["distribution"].value() == "country"
    assert response.context["distribution"]["rows"] == [
        {"value": "PT", "count": 12, "share": 80.0},
        {"value": "ES", "count": 2, "share": 13.3},
        {"value": "", "count": 1, "share": 6.7},
    ]
    page = response.content.decode()
    assert "<td>(empty)</td>" in page
    assert 'class="share-bar" style="width: 80.0%"' in page


def test_it_opens_a_booking_audience_on_the_status(manager):
    BookingFactory(status="confirmed")
    audience = make_audience(slug="bookings", rule={"all": []}, dimension="booking")
    audience_evaluate(audience=audience)
    response = manager.get(page_url(audience))
    assert response.context["distribution_form"]["distribution"].value() == "status"
    assert response.context["distribution"]["rows"] == [{"value": "confirmed", "count": 1, "share": 100.0}]


def test_it_draws_the_size_over_time_from_done_snapshots(manager, profiles):
    audience = make_audience()
    first = audience_evaluate(audience=audience)
    assert manager.get(page_url(audience)).context["size_chart"] is None  # one point is not a trend
    AudienceSnapshot.objects.filter(pk=first.pk).update(size=6, evaluated_at=first.evaluated_at - dt.timedelta(days=2))
    audience_evaluate(audience=audience)
    AudienceSnapshot.objects.create(audience=audience, state=AudienceSnapshot.State.FAILED, error="boom")
    response = manager.get(page_url(audience))
    chart = response.context["size_chart"]
    assert [(p["size"], p["x"], p["y"]) for p in chart["points"]] == [("6", 6.0, 74.0), ("12", 314.0, 6.0)]
    page = response.content.decode()
    assert '<polyline points="6.0,74.0 314.0,6.0"' in page
    assert "between 6 and 12" in page


def test_it_links_the_audiences_that_use_this_one(manager, profiles):
    portugal = make_audience()
    user = make_audience(slug="in-portugal", name="Uses Portugal", rule={"in_audience": "portugal"})
    make_audience(slug="unrelated")
    page = manager.get(page_url(portugal)).content.decode()
    assert f'<li><a href="{page_url(user)}">Uses Portugal</a></li>' in page
    assert "Unrelated" not in page.split('id="audience-used-by"')[1].split("</div>")[0]
    alone = manager.get(page_url(user)).content.decode()
    assert "No other audience's rule uses this one." in alone


def test_the_distribution_endpoint_answers_the_top_values(manager, profiles):
    audience = make_audience(rule={"all": []})
    audience_evaluate(audience=audience)
    response = manager.get(distribution_url(audience), {"field": "country"})
    assert response.status_code == 200
    assert response.json() == {
        "field": "country",
        "label": "Country",
        "rows": [
            {"value": "PT", "count": 12, "share": 80.0},
            {"value": "ES", "count": 2, "share": 13.3},
            {"value": "", "count": 1, "share": 6.7},
        ],
    }


def test_the_distribution_endpoint_has_no_rows_before_a_calculation(manager):
    audience = make_audience()
    response = manager.get(distribution_url(audience), {"field": "country"})
    assert (response.status_code, response.json()["rows"]) == (200, [])


@pytest.mark.parametrize(
    "field",
    ["", "password", "country__startswith", "pk", "profile.country", "9" * 5000, "user.password", "a." * 200,
     "country; drop table x", "Country"],
)  # fmt: skip
def test_the_distribution_endpoint_refuses_a_field_it_does_not_offer(manager, profiles, field):
    audience = make_audience()
    audience_evaluate(audience=audience)
    response = manager.get(distribution_url(audience), {"field": field})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "field"
    assert response.json()["errors"][0]["message"].startswith("Profiles have no field ")


def test_the_distribution_is_refused_to_users_who_may_not_view_profiles(ids_only, profiles):
    audience = make_audience()
    audience_evaluate(audience=audience)
    assert ids_only.get(distribution_url(audience), {"field": "country"}).status_code == 403
    response = ids_only.get(page_url(audience))
    assert response.status_code == 200
    assert "distribution_form" not in response.context
    assert 'id="audience-distribution"' not in response.content.decode()
    assert set(response.context["sample"]["columns"]) == {"id"}


def test_the_distribution_is_refused_without_the_audience_view_permission(make_user, profiles):
    user = make_user(username="profiles-only", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_profile"))
    client = Client()
    client.force_login(user)
    audience = make_audience()
    assert client.get(distribution_url(audience), {"field": "country"}).status_code == 403


@pytest.mark.parametrize(
    ("query", "says"),
    [("field=country%00", "the query parameter 'field'"), ("field=a%ED%A0%80b", "Profiles have no field ")],
)
def test_the_distribution_endpoint_refuses_unstorable_text(manager, profiles, query, says):
    audience = make_audience()
    audience_evaluate(audience=audience)
    response = manager.get(f"{distribution_url(audience)}?{query}")
    assert response.status_code == 400
    assert says in response.content.decode()
