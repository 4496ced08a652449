"""The admin as a marketer meets it: sections in their order, Operations for superusers only, the
dashboard's counts, no "View site", a favicon, one date format."""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory
from django.utils import formats, timezone

from audiences.models import Audience, AudienceSnapshot
from audiences.services import audience_evaluate, audience_save
from config import dashboard
from profiles.models import Consent, ConsentEvent
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db

DEVELOPER_APPS = {"auth", "authtoken", "axes", "config", "django_q"}
ONE_DATETIME = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$")


@pytest.fixture
def root(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-1234567"))
    return client


def section_names(response) -> list[str]:
    return [section["name"] for section in response.context["app_list"]]


def model_labels(app_list) -> set[str]:
    return {m["model"]._meta.label_lower for section in app_list for m in section["models"]}


def test_it_orders_the_index_in_the_marketers_sections_and_groups_operations(root):
    response = root.get("/admin/")
    # Campaigns and Messages have no models yet: no empty section.
    assert section_names(response) == ["Audiences", "Customer data", "Settings", "Operations"]
    sections = {section["name"]: section for section in response.context["app_list"]}
    assert [m["name"] for m in sections["Customer data"]["models"]][:5] == [
        "Profiles", "Consents", "Consent events", "Suppressions", "Push devices",
    ]  # fmt: skip
    assert [m["name"] for m in sections["Settings"]["models"]] == ["Custom traits"]
    operations = [m["model"]._meta.label_lower for m in sections["Operations"]["models"]]
    assert operations[:4] == ["auth.user", "auth.group", "config.apikey", "django_q.schedule"]
    assert {label.split(".")[0] for label in operations} == DEVELOPER_APPS - {"authtoken"}
    # The same sections in the sidebar of every other page.
    page = root.get("/admin/profiles/profile/")
    assert [app["name"] for app in page.context["available_apps"]] == section_names(response)


def test_a_viewer_sees_no_operations_and_no_developer_model(admin_as):
    viewer = admin_as("Viewer")
    response = viewer.get("/admin/")
    assert section_names(response) == ["Audiences", "Customer data", "Settings"]
    assert not {label.split(".")[0] for label in model_labels(response.context["app_list"])} & DEVELOPER_APPS
    html = response.text
    assert "Operations" not in html and "/admin/auth/" not in html and "/admin/django_q/" not in html
    sidebar = viewer.get("/admin/audiences/audience/").context["available_apps"]
    assert "Operations" not in [app["name"] for app in sidebar]


def test_a_deployers_own_app_gets_a_section_between_customer_data_and_settings(django_user_model):
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser("root2", password="pw-1234567")

    def app(label: str, name: str, *models: str) -> dict:
        return {"name": name, "app_label": label, "app_url": f"/admin/{label}/", "has_module_perms": True,
                "models": [{"object_name": m, "name": m + "s"} for m in models]}  # fmt: skip

    app_dict = {
        "loyalty": app("loyalty", "Loyalty", "Voucher"),
        "profiles": app("profiles", "Customer data", "Plan", "Profile", "CustomAttribute"),
        "auth": app("auth", "Authentication", "User"),
        "django_q": app("django_q", "Background tasks", "Schedule"),
        "audiences": app("audiences", "Audiences", "Audience"),
    }
    sections = admin.site.sections(request, app_dict)
    assert [s["name"] for s in sections] == ["Audiences", "Customer data", "Loyalty", "Settings", "Operations"]
    assert [m["object_name"] for m in sections[1]["models"]] == ["Profile", "Plan"]
    assert sections[2]["app_url"] == "/admin/loyalty/"
    assert [m["object_name"] for m in sections[4]["models"]] == ["User", "Schedule"]
    # One whole app: its own page; several apps: the section's page.
    assert sections[1]["app_url"] == "/admin/profiles/" and sections[4]["app_url"] == "/admin/sections/operations/"


def test_a_section_page_lists_its_models_and_is_not_there_for_who_may_see_none(root, admin_as):
    page = root.get("/admin/sections/operations/")
    assert page.status_code == 200
    assert "Users" in page.text and "Scheduled tasks" in page.text and "API keys" in page.text
    assert admin_as("Viewer").get("/admin/sections/operations/").status_code == 404
    assert root.get("/admin/sections/campaigns/").status_code == 404  # no models yet
    assert root.get("/admin/sections/no-such-section/").status_code == 404


def test_no_view_site_link_and_a_favicon_on_every_page(root, client):
    for page in (root.get("/admin/"), root.get("/admin/profiles/profile/"), client.get("/admin/login/")):
        assert page.status_code == 200
        assert "View site" not in page.text
        assert '<link rel="icon" href="/static/config/favicon.svg" type="image/svg+xml">' in page.text
    assert finders.find("config/favicon.svg")


def _world():
    """Three profiles, consents, and audiences in each state of their latest calculation."""
    pt = [ProfileFactory(country="PT"), ProfileFactory(country="PT")]
    ProfileFactory(country="ES")
    now = timezone.now()
    for profile in pt:
        Consent.objects.create(profile=profile, channel="email", status="opted_in", occurred_at=now)
    Consent.objects.create(profile=pt[0], channel="sms", status="opted_out", occurred_at=now)
    rule = {"field": "country", "op": "eq", "value": "PT"}
    calculated = audience_save(audience=Audience(name="Portugal", slug="portugal", rule=rule))
    audience_evaluate(audience=calculated)
    failing = audience_save(audience=Audience(name="Spain", slug="spain", rule=rule))
    AudienceSnapshot.objects.create(
        audience=failing, state="failed", error="Calculating took longer than 5 s and was stopped.\nDetails"
    )
    audience_save(audience=Audience(name="Never", slug="never", rule=rule))


def test_the_dashboard_counts_profiles_consents_and_each_audiences_last_calculation(admin_as):
    _world()
    response = admin_as("Viewer").get("/admin/")
    panels = response.context["dashboard"]
    assert set(panels) == {"customer_data", "audiences"}  # no Operations for a viewer
    data = panels["customer_data"]
    assert data["profiles"].text == "3"
    consents = {row["channel"]: (row["opted_in"].text, row["opted_out"].text) for row in data["consents"]}
    assert consents == {"Email": ("2", "0"), "SMS": ("0", "1"), "Push": ("0", "0"), "Direct mail": ("0", "0")}
    rows = {row["name"]: row for row in panels["audiences"]["rows"]}
    assert (rows["Portugal"]["size"], rows["Portugal"]["last_state"]) == ("2", "calculated")
    assert (rows["Spain"]["size"], rows["Spain"]["last_state"]) == ("", "failed")
    assert (rows["Never"]["size"], rows["Never"]["last_state"]) == ("", "")
    assert [f["error"] for f in panels["audiences"]["failures"]] == [
        "Calculating took longer than 5 s and was stopped."
    ]
    html = response.text
    assert 'id="dashboard-profiles">3<' in html and "not calculated" in html and "Operations" not in html


def test_an_administrator_also_sees_the_worker_and_tasks(root):
    html = root.get("/admin/").text
    assert 'id="dashboard-operations"' in html and "never seen" in html and "tasks failed in the last day" in html


def test_the_dashboard_never_counts_past_its_cap(admin_as, monkeypatch):
    monkeypatch.setattr(dashboard.DashboardCount, "count_cap", 2)
    # On PostgreSQL an unfiltered table past the cap shows the planner's estimate instead, which
    # depends on whether an earlier test analysed the table: this test is about the cap.
    monkeypatch.setattr(dashboard.DashboardCount, "_planner_estimate", staticmethod(lambda rows: None))
    _world()
    panels = admin_as("Viewer").get("/admin/").context["dashboard"]
    assert panels["customer_data"]["profiles"].text == "more than 2"


def test_the_dashboard_shows_only_the_panels_the_user_may_read(make_user):
    user = make_user(None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audience"))
    client = Client()
    client.force_login(user)
    assert set(client.get("/admin/").context["dashboard"]) == {"audiences"}


def test_dates_read_one_way_on_every_list(root):
    moment = dt.datetime(2026, 3, 1, 9, 5, tzinfo=dt.UTC)
    assert formats.date_format(moment, "DATETIME_FORMAT") == "1 Mar 2026, 09:05"
    assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "1 Mar 2026, 09:05"
    assert formats.date_format(moment.date()) == formats.date_format(moment.date(), "SHORT_DATE_FORMAT") == "1 Mar 2026"
    # Names of objects (titles, breadcrumbs, deletion pages) too.
    assert (
        str(ConsentEvent(channel="email", status="opted_in", occurred_at=moment))
        == "email: opted_in at 1 Mar 2026, 09:05"
    )
    _world()
    profile_dates = re.findall(
        r'<td class="field-updated_at[^"]*">([^<]*)</td>', root.get("/admin/profiles/profile/").text
    )
    consent_dates = re.findall(
        r'<td class="field-occurred_at[^"]*">([^<]*)</td>', root.get("/admin/profiles/consent/").text
    )
    assert len(profile_dates) == 3 and len(consent_dates) == 3
    assert all(ONE_DATETIME.match(text) for text in profile_dates + consent_dates), profile_dates + consent_dates
    cells = re.findall(r'<td class="field-last_evaluation">([^<(]*)', root.get("/admin/audiences/audience/").text)
    evaluated = [text.strip() for text in cells if text != "-"]  # "-": never calculated
    assert len(evaluated) == 1 and ONE_DATETIME.match(evaluated[0]), cells
