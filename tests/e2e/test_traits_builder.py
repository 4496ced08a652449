"""A custom trait declared by a data steward appears in the rule builder and counts."""

import pytest

from profiles.models import CustomAttribute
from tests.e2e.helpers import ROOT, log_in
from tests.factories import ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_counts_profiles_by_a_custom_trait(live_server, browser_page, make_user, screenshot):
    CustomAttribute.objects.create(key="newsletter_topics", label="Newsletter topics", type="list")
    make_user("Campaign manager", username="marketer", is_staff=True)
    ProfileFactory(attributes={"newsletter_topics": ["travel", "food"]})
    ProfileFactory(attributes={"newsletter_topics": ["food"]})
    ProfileFactory(attributes={"newsletter_topics": "travel"})  # not a list: does not match
    page = browser_page
    log_in(page, live_server, "marketer")

    page.goto(f"{live_server.url}/admin/audiences/audience/add/")
    page.click(f"{ROOT} > .rb-add .rb-add-condition")
    condition = page.locator(f"{ROOT} > .rb-children > .rb-field").first
    field = condition.locator(".rb-field-select")
    assert "Newsletter topics" in field.inner_text()
    field.select_option("attributes.newsletter_topics")
    operators = condition.locator(".rb-op-select option").all_inner_texts()
    assert operators == ["contains", "is empty"]
    condition.locator(".rb-value input").fill("travel")

    page.click(".rb-count")
    page.wait_for_selector(".rb-count-number")
    assert page.inner_text(".rb-count-number") == "1"
    screenshot(page, "custom-trait-builder")


def test_a_data_steward_declares_a_trait_in_the_admin(live_server, browser_page, make_user, screenshot):
    make_user("Data steward", username="steward", is_staff=True)
    page = browser_page
    log_in(page, live_server, "steward")
    page.goto(f"{live_server.url}/admin/profiles/customattribute/add/")
    page.fill("#id_key", "lifetime_points")
    page.fill("#id_label", "Lifetime points")
    page.select_option("#id_type", "number")
    page.fill("#id_description", "Points earned since sign-up, from the loyalty system.")
    screenshot(page, "custom-trait-add")
    page.click("input[name=_save]")
    page.wait_for_selector("#result_list")
    assert "attributes.lifetime_points" in page.inner_text("#result_list")
    screenshot(page, "custom-trait-list")
    assert CustomAttribute.objects.get().type == "number"
