"""The admin's first page after `make run`, in a real browser: for an administrator, and for a
viewer, who sees no Operations."""

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_AUDIENCES = {
    "Gold and platinum members", "Arriving in the next 7 days", "Big spenders, last 12 months",
    "Lapsed customers in Portugal and Spain", "Spring travel fair visitors",
}  # fmt: skip


def log_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-1234567")
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard-audiences")


def section_captions(page) -> list[str]:
    return [text.strip() for text in page.locator(".overview-sections caption a.section").all_inner_texts()]


@pytest.fixture
def demo(db):
    call_command("seed_demo", profiles=120, products=20, no_progress=True)


def test_an_administrator_sees_the_counts_the_sections_and_operations(
    demo, live_server, browser_page, make_user, screenshot
):
    make_user(username="root", is_staff=True, is_superuser=True)
    page = browser_page
    log_in(page, live_server.url, "root")

    assert page.inner_text("#dashboard-profiles") == "120"
    rows = page.locator("#dashboard-audiences tbody tr")
    assert rows.count() == 5
    names = {text.strip() for text in page.locator("#dashboard-audiences tbody th a").all_inner_texts()}
    assert names == DEMO_AUDIENCES
    assert page.locator("#dashboard-audiences .state-calculated").count() == 5
    assert "Email" in page.inner_text("#dashboard-customer-data")
    assert "Background worker" in page.inner_text("#dashboard-operations")
    assert section_captions(page) == ["AUDIENCES", "CUSTOMER DATA", "SETTINGS", "OPERATIONS"]
    assert page.locator("a:has-text('View site')").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot = screenshot(page, "dashboard-administrator")
    assert shot.stat().st_size > 10_000

    page.click("#dashboard-audiences a:has-text('Gold and platinum members')")
    page.wait_for_selector("#audience_form")
    page.click("#nav-sidebar a:has-text('Users')")  # Operations is in every page's sidebar
    assert "/admin/auth/user/" in page.url


def test_a_viewer_sees_the_counts_and_no_operations(demo, live_server, browser_page, make_user, screenshot):
    make_user("Viewer", username="viewer", is_staff=True)
    page = browser_page
    log_in(page, live_server.url, "viewer")

    assert page.inner_text("#dashboard-profiles") == "120"
    assert page.locator("#dashboard-audiences tbody tr").count() == 5
    assert page.locator("#dashboard-operations").count() == 0
    assert page.locator("a:has-text('Add audience')").count() == 0  # a viewer adds nothing
    assert section_captions(page) == ["AUDIENCES", "CUSTOMER DATA", "SETTINGS"]
    for developer_page in ("/admin/auth/", "/admin/django_q/", "/admin/config/", "/admin/axes/"):
        assert page.locator(f"a[href^='{developer_page}']").count() == 0
    shot = screenshot(page, "dashboard-viewer")
    assert shot.stat().st_size > 10_000

    page.click("#dashboard-customer-data a:has-text('profiles')")
    page.wait_for_selector("#result_list")
    sidebar = page.inner_text("#nav-sidebar")
    assert "Profiles" in sidebar and "Operations".upper() not in sidebar.upper()
