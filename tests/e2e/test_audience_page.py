"""A marketer opens a calculated audience: the results come before the form, and changing the
distribution's field redraws its bars in place."""

import pytest

from audiences.models import Audience
from audiences.services import audience_evaluate, audience_save
from tests.e2e.helpers import log_in
from tests.factories import ProfileFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def cells(rows) -> list[list[str]]:
    return [[cell.strip() for cell in text.split("\t")] for text in rows.all_inner_texts()]


def bar_widths(rows) -> list[float]:
    return rows.locator(".share-bar").evaluate_all("bars => bars.map(bar => parseFloat(bar.style.width))")


def test_the_results_precede_the_form_and_the_distribution_updates_in_place(
    live_server, browser_page, make_user, screenshot
):
    make_user("Campaign manager", username="marketer", is_staff=True)
    for country, tier in [("PT", "gold"), ("PT", "gold"), ("PT", ""), ("ES", "silver")]:
        ProfileFactory(country=country, loyalty_tier=tier)
    audience = audience_save(audience=Audience(name="Everyone", slug="everyone", rule={"all": []}))
    audience_evaluate(audience=audience)
    page = browser_page
    log_in(page, live_server, "marketer")
    page.goto(f"{live_server.url}/admin/audiences/audience/{audience.pk}/change/")

    follows = page.evaluate(
        "document.getElementById('audience-results').compareDocumentPosition(document.getElementById('audience_form'))"
    )
    assert follows & 4  # Node.DOCUMENT_POSITION_FOLLOWING: the form comes after the results
    rows = page.locator("#distribution-table tbody tr")
    assert page.inner_text("#distribution-label").lower() == "country"
    assert cells(rows) == [["PT", "3", "75.0%"], ["ES", "1", "25.0%"]]
    assert bar_widths(rows) == [75, 25]
    page.evaluate("window.notReloaded = true")

    page.select_option("#audience-distribution select", "loyalty_tier")
    page.wait_for_function("document.getElementById('distribution-label').textContent === 'Loyalty tier'")
    assert page.evaluate("window.notReloaded") is True  # the same document: no navigation
    assert cells(rows) == [["gold", "2", "50.0%"], ["(empty)", "1", "25.0%"], ["silver", "1", "25.0%"]]
    assert bar_widths(rows) == [50, 25, 25]
    screenshot(page, "audience-page")
