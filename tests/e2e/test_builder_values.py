"""A marketer picks values from suggestions, lists several as chips, is told when a value matches
no one, and finds a customer from the profile list's search box."""

import json

import pytest

from tests.factories import ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = ".rule-builder .rb-root"


def log_in(page, live_server, username, next_path):
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-1234567")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


@pytest.fixture
def marketer(live_server, browser_page, make_user):
    make_user("Campaign manager", username="marketer", is_staff=True)
    for country, count in [("PT", 3), ("ES", 2), ("FR", 1)]:
        ProfileFactory.create_batch(count, country=country)
    log_in(browser_page, live_server, "marketer", "/admin/audiences/audience/add/")
    browser_page.wait_for_selector(".rule-builder .rb-root")
    return browser_page


def chips(condition) -> list[str]:
    return condition.locator(".rb-chip").evaluate_all("chips => chips.map((chip) => chip.dataset.value)")


def country_condition(page):
    page.click(f"{ROOT} > .rb-add .rb-add-condition")
    condition = page.locator(f"{ROOT} > .rb-children > .rb-field").first
    condition.locator(".rb-field-select").select_option("country")
    return condition


def test_a_marketer_chooses_a_country_from_the_suggestions_and_counts(marketer, screenshot):
    page = marketer
    condition = country_condition(page)
    condition.locator(".rb-value input").click()
    suggestions = condition.locator(".rb-suggestions .rb-suggestion")
    suggestions.first.wait_for()
    assert suggestions.all_inner_texts() == ["PT\n3", "ES\n2", "FR\n1"]  # most frequent first, with counts
    screenshot(page, "builder-suggestions")
    condition.locator(".rb-value input").press_sequentially("e")
    assert [text.split("\n")[0] for text in suggestions.all_inner_texts()] == ["ES"]  # filtered as one types
    suggestions.filter(has_text="ES").click()
    assert condition.locator(".rb-value input").input_value() == "ES"
    assert json.loads(page.input_value("textarea#id_rule"))["all"][0]["value"] == "ES"

    page.click(".rb-count")
    page.wait_for_selector(".rb-count-number")
    assert page.inner_text(".rb-count-number") == "2"
    assert page.locator(".rb-value-hint").count() == 0


def test_one_of_takes_its_values_as_chips(marketer, screenshot):
    page = marketer
    condition = country_condition(page)
    condition.locator(".rb-op-select").select_option("in")
    entry = condition.locator(".rb-value input")
    entry.click()
    condition.locator(".rb-suggestion", has_text="PT").click()
    entry.press_sequentially("FR")
    entry.press("Enter")
    assert chips(condition) == ["PT", "FR"]
    assert json.loads(page.input_value("textarea#id_rule"))["all"][0]["value"] == ["PT", "FR"]
    page.click(".rb-count")
    page.wait_for_selector(".rb-count-number")
    assert page.inner_text(".rb-count-number") == "4"
    screenshot(page, "builder-chips")
    condition.locator(".rb-chip", has_text="PT").locator(".rb-chip-remove").click()
    assert chips(condition) == ["FR"]


def test_a_value_no_profile_has_shows_a_hint_and_its_fix(marketer, screenshot):
    page = marketer
    condition = country_condition(page)
    condition.locator(".rb-value input").fill("Portugal")
    page.locator("#id_name").click()  # leave the value
    page.click(".rb-count")
    hint = condition.locator(".rb-errors")
    hint.wait_for()
    assert "No profile has country 'Portugal'; did you mean PT?" in hint.inner_text()
    screenshot(page, "builder-value-hint")
    condition.locator(".rb-use-suggestion").click()
    assert condition.locator(".rb-value input").input_value() == "PT"
    page.click(".rb-count")
    page.wait_for_selector(".rb-count-number")
    assert page.inner_text(".rb-count-number") == "3"

    condition.locator(".rb-value input").fill("pt")
    page.click(".rb-count")
    page.wait_for_selector(".rb-value-hint")
    assert page.inner_text(".rb-count-number") == "0"
    assert "No profile has country 'pt'; did you mean PT?" in condition.locator(".rb-value-hint").inner_text()
    screenshot(page, "builder-value-hint-counted")


def test_a_steward_finds_a_customer_from_the_search_box(live_server, browser_page, make_user, screenshot):
    make_user("Data steward", username="steward", is_staff=True)
    ProfileFactory(external_id="cust-joao", first_name="João", last_name="Gonçalves", city="Évora")
    ProfileFactory(external_id="cust-maria", first_name="Maria", last_name="Gonçalves", city="Lisboa")
    page = browser_page
    log_in(page, live_server, "steward", "/admin/profiles/profile/")
    page.fill("#searchbar", "joao goncalves")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "cust-joao" in rows.first.inner_text()
    screenshot(page, "profile-search")
