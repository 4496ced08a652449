"""The audience form's schedule picker in a browser: it shows only the inputs the picked schedule
needs, hides the rule and schedule for list audiences, and stores the schedule as cron."""

import pytest

from audiences.models import Audience
from tests.e2e.helpers import ROOT, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_picks_a_weekly_schedule(live_server, browser_page, make_user, screenshot):
    make_user("Campaign manager", username="marketer", is_staff=True)
    page = browser_page
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/admin/audiences/audience/add/")
    assert page.is_hidden("#id_schedule_time") and page.is_hidden("#id_refresh_cron")

    page.select_option("#id_schedule", "monthly")
    assert page.is_visible("#id_schedule_day") and page.is_hidden("#id_schedule_weekday")
    page.select_option("#id_schedule", "weekly")
    assert page.is_visible("#id_schedule_weekday") and page.is_visible("#id_schedule_time")
    assert page.is_hidden("#id_schedule_day") and page.is_hidden("#id_refresh_cron")
    page.select_option("#id_schedule_weekday", "1")
    page.fill("#id_schedule_time", "06:30")
    screenshot(page, "audience-schedule-weekly")

    page.select_option("#id_kind", "list")
    assert page.is_hidden(".schedule-fieldset") and page.is_hidden(".rule-fieldset")
    page.select_option("#id_kind", "rule")
    assert page.is_visible(".schedule-fieldset")

    page.fill("#id_name", "Portugal")
    page.click(f"{ROOT} > .rb-add .rb-add-condition")
    country = page.locator(f"{ROOT} > .rb-children > .rb-field").first
    country.locator(".rb-field-select").select_option("country")
    country.locator(".rb-value input").fill("PT")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    assert Audience.objects.get(slug="portugal").refresh_cron == "30 6 * * 1"
    assert page.input_value("#id_schedule") == "weekly" and page.input_value("#id_schedule_time") == "06:30"


def test_a_marketer_ticks_export_columns(live_server, browser_page, make_user, screenshot):
    from audiences.services import audience_evaluate, audience_save
    from tests.factories import ProfileFactory

    make_user("Campaign manager", username="marketer", is_staff=True)
    ProfileFactory(country="PT")
    audience = audience_save(
        audience=Audience(
            name="Portugal", slug="pt", dimension="profile", rule={"field": "country", "op": "eq", "value": "PT"}
        )
    )
    audience_evaluate(audience=audience)
    page = browser_page
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/admin/audiences/audience/{audience.pk}/export/")
    assert page.is_checked("input[name=columns][value=email]")
    assert not page.is_checked("input[name=columns][value=birth_date]")
    screenshot(page, "audience-export-columns")
