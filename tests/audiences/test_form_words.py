"""The audience form's words and schedule: the kind a user may pick, "Targeting dimension", the
schedule picker that stores `refresh_cron`, and each error once."""

import json
from datetime import time

import pytest

from audiences.forms import DIMENSION_HELP, cron_schedule, schedule_cron
from audiences.models import Audience
from audiences.services import audience_save

pytestmark = pytest.mark.django_db

AUDIENCES = "/admin/audiences/audience/"
API = "/api/v1/audiences/"
PT = {"field": "country", "op": "eq", "value": "PT"}


@pytest.fixture
def manager(admin_as):
    return admin_as("Campaign manager")


@pytest.fixture
def api_manager(api_as):
    return api_as("Campaign manager")


def form_data(**overrides) -> dict:
    data = {"name": "Portugal", "slug": "pt", "description": "", "kind": "rule", "dimension": "profile",
            "rule": json.dumps(PT), "schedule": "never", "schedule_weekday": "", "schedule_day": "",
            "schedule_time": "", "refresh_cron": ""}  # fmt: skip
    return {**data, **overrides}


def saved(slug: str, **fields) -> Audience:
    return audience_save(audience=Audience(name=slug.capitalize(), slug=slug, **fields))


def form_of(response):
    return response.context["adminform"].form


# -- the schedule picker -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("posted", "cron"),
    [
        ({"schedule": "never"}, ""),
        ({"schedule": "daily", "schedule_time": "06:30"}, "30 6 * * *"),
        ({"schedule": "weekly", "schedule_weekday": "0", "schedule_time": "21:05"}, "5 21 * * 0"),
        ({"schedule": "monthly", "schedule_day": "28", "schedule_time": "00:00"}, "0 0 28 * *"),
        ({"schedule": "advanced", "refresh_cron": "0 6 * * 1-5"}, "0 6 * * 1-5"),
        ({"schedule": "daily", "schedule_time": "07:00", "refresh_cron": "junk left in the box"}, "0 7 * * *"),
    ],
)
def test_it_stores_the_picked_schedule_as_cron(manager, posted, cron):
    response = manager.post(f"{AUDIENCES}add/", form_data(**posted))
    assert response.status_code == 302, form_of(response).errors
    assert Audience.objects.get(slug="pt").refresh_cron == cron


@pytest.mark.parametrize(
    ("cron", "initial"),
    [
        ("", {"schedule": "never"}),
        ("30 6 * * *", {"schedule": "daily", "schedule_time": time(6, 30)}),
        ("0 9 * * 1", {"schedule": "weekly", "schedule_time": time(9, 0), "schedule_weekday": "1"}),
        ("15 23 1 * *", {"schedule": "monthly", "schedule_time": time(23, 15), "schedule_day": 1}),
        ("0 6 * * 1-5", {"schedule": "advanced"}),
        ("0 6 31 * *", {"schedule": "advanced"}),  # day 31: not offered by the picker
        ("00 6 * * *", {"schedule": "advanced"}),  # would not be written back the same
        ("0 6 * * 7", {"schedule": "advanced"}),
        ("*/15 * * * *", {"schedule": "advanced"}),
    ],
)
def test_it_shows_an_existing_cron_as_its_simple_schedule_or_advanced(manager, cron, initial):
    audience = saved("pt", kind="rule", dimension="profile", rule=PT, refresh_cron=cron)
    form = form_of(manager.get(f"{AUDIENCES}{audience.pk}/change/"))
    assert {name: form.initial.get(name) for name in initial} == initial
    assert form.initial["refresh_cron"] == cron
    if initial["schedule"] not in ("never", "advanced"):  # the round trip gives the same cron back
        again = schedule_cron(
            initial["schedule"], at=initial["schedule_time"], weekday=initial.get("schedule_weekday", ""),
            day=initial.get("schedule_day"),
        )  # fmt: skip
        assert again == cron and cron_schedule(again) == initial


def test_it_names_the_missing_part_of_a_schedule_once(manager):
    response = manager.post(f"{AUDIENCES}add/", form_data(schedule="weekly"))
    errors = form_of(response).errors
    assert errors["schedule_weekday"] == ["Pick the day of the week."]
    assert errors["schedule_time"] == ["Give the time of day (HH:MM)."]
    assert "refresh_cron" not in errors
    assert response.content.decode().count("Pick the day of the week.") == 1
    assert not Audience.objects.exists()


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"schedule": "advanced"}, "refresh_cron", 'Give a cron expression, or pick "Never (on demand)".'),
        ({"schedule": "advanced", "refresh_cron": "every day"}, "refresh_cron",
         '"every day" is not a cron expression (e.g. "0 6 * * *")'),
        ({"schedule": "monthly", "schedule_day": "31", "schedule_time": "06:00"}, "schedule_day",
         "Ensure this value is less than or equal to 28."),
        ({"schedule": "daily", "schedule_time": "25:00"}, "schedule_time", "Enter a valid time."),
        ({"schedule": "daily", "schedule_time": "06:00\x00"}, "schedule_time", "Enter a valid time."),
        ({"schedule": "hourly"}, "schedule", "Select a valid choice. hourly is not one of the available choices."),
    ],
)  # fmt: skip
def test_it_refuses_a_bad_schedule_with_one_error(manager, posted, field, message):
    response = manager.post(f"{AUDIENCES}add/", form_data(**posted))
    assert form_of(response).errors[field] == [message]
    assert not Audience.objects.exists()


def test_it_puts_the_list_schedule_refusal_on_the_picker(manager):
    response = manager.post(
        f"{AUDIENCES}add/", form_data(kind="list", schedule="daily", schedule_time="06:00", rule="")
    )
    assert form_of(response).errors["schedule"] == ["only rule audiences are re-evaluated on a schedule"]


def test_it_states_the_site_time_zone(manager, settings):
    settings.TIME_ZONE = "Europe/Lisbon"
    text = manager.get(f"{AUDIENCES}add/").content.decode()
    assert "site time zone (Europe/Lisbon)" in text
    assert "schedule-picker.js" in text


# -- kinds and words ---------------------------------------------------------------------------


def test_it_does_not_offer_saved_when_creating(manager):
    form = form_of(manager.get(f"{AUDIENCES}add/"))
    assert [value for value, _ in form.fields["kind"].choices] == ["rule", "list"]
    response = manager.post(f"{AUDIENCES}add/", form_data(kind="saved", rule=""))
    assert form_of(response).errors["kind"] == ["Select a valid choice. saved is not one of the available choices."]
    assert not Audience.objects.exists()


def test_it_shows_a_saved_audience_kind_read_only(manager):
    audience = saved("campaign-result", kind="saved", dimension="profile")
    response = manager.get(f"{AUDIENCES}{audience.pk}/change/")
    form = form_of(response)
    assert "kind" not in form.fields and "schedule" not in form.fields and "rule" not in form.fields
    assert "Saved by a campaign" in response.content.decode()
    changed = manager.post(f"{AUDIENCES}{audience.pk}/change/", {"name": "Renamed", "slug": "campaign-result",
                                                                   "description": "", "dimension": "profile"})  # fmt: skip
    assert changed.status_code == 302
    audience.refresh_from_db()
    assert (audience.kind, audience.name) == ("saved", "Renamed")


def test_it_hides_rule_and_schedule_for_a_list_audience(manager):
    audience = saved("vip", kind="list", dimension="profile")
    response = manager.get(f"{AUDIENCES}{audience.pk}/change/")
    form = form_of(response)
    assert not {"rule", "schedule", "schedule_time", "refresh_cron"} & set(form.fields)
    assert "Refresh" not in response.content.decode().split('id="audience-members"')[0]


def test_it_calls_the_dimension_targeting_dimension(manager, api_as):
    text = manager.get(f"{AUDIENCES}add/").content.decode()
    assert "Targeting dimension" in text and "holds bookings (each with its profile)" in text
    schema = api_as("Viewer").get("/api/schema/", {"format": "json"}).json()
    dimension = schema["components"]["schemas"]["Audience"]["properties"]["dimension"]
    assert dimension["description"].startswith(DIMENSION_HELP)
    assert dimension["title"] == "Targeting dimension"


# -- the API -----------------------------------------------------------------------------------


def test_the_api_refuses_creating_a_saved_audience(api_manager):
    response = api_manager.post(API, {"name": "S", "slug": "s", "kind": "saved", "dimension": "profile"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "kind": ['Audiences of kind "saved" are written by campaigns; create a "rule" or "list" audience.']
    }
    assert not Audience.objects.exists()


def test_the_api_refuses_turning_an_audience_into_a_saved_one(api_manager):
    audience = saved("vip", kind="list", dimension="profile")
    response = api_manager.patch(f"{API}{audience.pk}/", {"kind": "saved"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()
    audience.refresh_from_db()
    assert audience.kind == "list"


def test_the_api_still_edits_an_existing_saved_audience(api_manager):
    audience = saved("campaign-result", kind="saved", dimension="profile")
    response = api_manager.patch(f"{API}{audience.pk}/", {"kind": "saved", "name": "Renamed"}, format="json")
    assert response.status_code == 200, response.json()
    assert Audience.objects.get(pk=audience.pk).name == "Renamed"


def test_the_api_refuses_a_schedule_on_a_list_audience(api_manager):
    body = {"name": "VIP", "slug": "vip", "kind": "list", "dimension": "profile", "refresh_cron": "0 6 * * *"}
    response = api_manager.post(API, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"refresh_cron": ["only rule audiences are re-evaluated on a schedule"]}
