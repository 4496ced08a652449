"""A marketer builds an audience with the rule builder, counts it, saves it and calculates it."""

import json

import pytest

from audiences.models import Audience
from audiences.services import audience_save
from tests.e2e.helpers import ROOT, log_in
from tests.factories import BookingFactory, ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_builds_counts_saves_and_calculates_an_audience(live_server, browser_page, make_user, screenshot):
    make_user("Campaign manager", username="marketer", is_staff=True)
    for country, status in [("PT", "confirmed"), ("PT", "confirmed"), ("PT", "cancelled"), ("ES", "confirmed")]:
        BookingFactory(profile=ProfileFactory(country=country), status=status)
    ProfileFactory(country="PT")  # no booking
    page = browser_page
    log_in(page, live_server, "marketer")

    page.goto(f"{live_server.url}/admin/audiences/audience/add/")
    page.locator("#id_name").press_sequentially("Portuguese bookers")
    assert page.input_value("#id_slug") == "portuguese-bookers"
    assert page.is_hidden("textarea#id_rule")  # JSON only under "Advanced"

    # country is PT
    page.click(f"{ROOT} > .rb-add .rb-add-condition")
    country = page.locator(f"{ROOT} > .rb-children > .rb-field").first
    country.locator(".rb-field-select").select_option("country")
    assert country.locator(".rb-op-select").input_value() == "eq"
    country.locator(".rb-value input").fill("PT")

    # has bookings where status is confirmed
    page.click(f"{ROOT} > .rb-add .rb-add-has")
    has = page.locator(f"{ROOT} > .rb-children > .rb-has")
    assert has.locator(".rb-relation").input_value() == "bookings"
    has.locator(".rb-add-where").click()
    status = has.locator(".rb-group .rb-field").first
    status.locator(".rb-field-select").select_option("status")
    status.locator(".rb-value select").select_option("confirmed")

    page.click(".rb-count")
    page.wait_for_selector(".rb-count-number")
    assert page.inner_text(".rb-count-number") == "2"
    assert "profiles match now" in page.inner_text(".rb-count-result")
    assert page.locator(".rb-sample-table tbody tr").count() == 2
    shot = screenshot(page, "audience-builder")
    assert shot.stat().st_size > 10_000

    page.click("input[name=_continue]")
    page.wait_for_selector("#audience-summary")
    audience = Audience.objects.get(slug="portuguese-bookers")
    assert audience.rule == {
        "all": [
            {"field": "country", "op": "eq", "value": "PT"},
            {"has": "bookings", "where": {"all": [{"field": "status", "op": "eq", "value": "confirmed"}]}},
        ]
    }
    # The saved rule comes back into the builder.
    assert page.locator(f"{ROOT} > .rb-children > .rb-condition").count() == 2

    page.click("#calculate-form button")
    page.wait_for_selector("#audience-size")
    assert page.inner_text("#audience-size") == "2"
    assert "Portuguese bookers: 2 profiles" in page.inner_text("ul.messagelist")
    assert page.locator("#audience-sample tbody tr").count() == 2
    screenshot(page, "audience-calculated")


def test_the_builder_marks_the_condition_a_count_refuses(live_server, browser_page, make_user, screenshot):
    make_user("Campaign manager", username="marketer", is_staff=True)
    page = browser_page
    log_in(page, live_server, "marketer")

    page.goto(f"{live_server.url}/admin/audiences/audience/add/")
    page.click(f"{ROOT} > .rb-add .rb-add-condition")
    page.click(f"{ROOT} > .rb-add .rb-add-condition")
    second = page.locator(f"{ROOT} > .rb-children > .rb-field").nth(1)
    second.locator(".rb-field-select").select_option("birth_date")
    second.locator(".rb-op-select").select_option("in_last_days")
    second.locator(".rb-value input").fill("")  # no number of days
    page.locator(f"{ROOT} > .rb-children > .rb-field").first.locator(".rb-value input").fill("cust-1")

    page.click(".rb-count")
    page.wait_for_selector(".rb-errors")
    errors = page.locator(f"{ROOT} > .rb-children > .rb-field").nth(1).locator(".rb-errors")
    assert "Value: must be a whole number of days" in errors.inner_text()
    assert page.locator(f"{ROOT} > .rb-children > .rb-field").first.locator(".rb-errors").count() == 0
    assert "1 problem" in page.inner_text(".rb-summary")
    screenshot(page, "audience-builder-error")


EVERY_FORM = {
    "any": [
        {
            "all": [
                {"field": "country", "op": "in", "value": ["PT", "ES"]},
                {"field": "birth_date", "op": "between", "value": ["1980-01-01", "1999-12-31"]},
                {"field": "email", "op": "is_null", "value": False},
                {"field": "created_at", "op": "in_last_days", "value": 30},
            ]
        },
        {"not": {"any": [{"field": "loyalty_tier", "op": "eq", "value": "gold"}]}},
        {
            "has": "bookings",
            "where": {
                "all": [
                    {"field": "product.category", "op": "eq", "value": "stay"},
                    {"field": "status", "op": "in", "value": ["confirmed", "pending"]},
                ]
            },
            "count": {"op": "gte", "value": 2},
        },
        {
            "agg": "sum",
            "of": "purchases.amount",
            "where": {"all": [{"field": "purchased_at", "op": "in_last_days", "value": 365}]},
            "op": "between",
            "value": [100, 500],
        },
        {"agg": "count", "of": "subscriptions", "op": "eq", "value": 0},
        {"in_audience": "base"},
    ]
}


def test_the_builder_shows_every_kind_of_condition_and_writes_it_back(live_server, browser_page, make_user, screenshot):
    make_user("Campaign manager", username="marketer", is_staff=True)
    audience_save(audience=Audience(name="Base", slug="base", rule={"all": []}))
    audience = audience_save(audience=Audience(name="Every form", slug="every-form", rule=EVERY_FORM))
    page = browser_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, "marketer")

    page.goto(f"{live_server.url}/admin/audiences/audience/{audience.pk}/change/")
    page.wait_for_selector(ROOT)
    assert json.loads(page.input_value("textarea#id_rule")) == EVERY_FORM
    children = f"{ROOT} > .rb-children"
    assert page.locator(f"{children} > .rb-group").count() == 2
    assert page.locator(f"{children} > .rb-group.rb-negated").count() == 1
    assert page.locator(f"{children} > .rb-has .rb-count-op").input_value() == "gte"
    assert page.locator(f"{children} > .rb-agg").count() == 2
    assert page.locator(f"{children} > .rb-audience .rb-audience").input_value() == "base"
    screenshot(page, "audience-builder-every-form")

    # Negate the first group, turn the root into "all", drop the audience condition.
    page.locator(f"{children} > .rb-group").first.locator("> .rb-group-head .rb-not input").check()
    page.locator(f"{ROOT} > .rb-group-head .rb-mode").select_option("all")
    page.locator(f"{ROOT} > .rb-children > .rb-audience .rb-remove").click()
    page.click("input[name=_continue]")
    page.wait_for_selector("#audience-summary")
    audience.refresh_from_db()
    assert list(audience.rule) == ["all"]
    assert audience.rule["all"][0] == {"not": EVERY_FORM["any"][0]}
    assert audience.rule["all"][1:] == EVERY_FORM["any"][1:5]
    assert errors == []
