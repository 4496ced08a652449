"""A data steward's first session in the admin, in a real browser."""

import pytest

from profiles.models import Profile
from profiles.services import consent_events_record
from tests.factories import BookingFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROFILES_CSV = (
    "external_id,first_name,last_name,email,country,timezone\n"
    "cust-e2e-1,Marta,Sousa,marta@example.com,PT,Europe/Lisbon\n"
    "cust-e2e-2,Jonas,Berg,not-an-email,SE,Europe/Stockholm\n"
)


def test_a_steward_imports_profiles_and_reads_one(live_server, browser_page, make_user, screenshot, tmp_path):
    make_user("Data steward", username="steward", is_staff=True)
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", "pw-1234567")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    page.goto(f"{live_server.url}/admin/profiles/profile/")
    page.click("text=Import CSV/JSONL")
    csv_file = tmp_path / "profiles.csv"
    csv_file.write_text(PROFILES_CSV)
    page.set_input_files("#id_file", str(csv_file))
    page.click("#import-form input[type=submit]")
    summary = page.inner_text("#import-summary")
    assert "2 records: 1 created, 0 updated, 1 rejected" in summary
    assert "line 3 (cust-e2e-2): email:" in page.inner_text("#import-errors")
    screenshot(page, "import-page")

    profile = Profile.objects.get(external_id="cust-e2e-1")
    BookingFactory(profile=profile, product=ProductFactory(name="Sea view room"), external_id="BK-E2E-1")
    consent_events_record(
        records=[
            {"profile": "cust-e2e-1", "channel": "email", "status": "opted_in", "occurred_at": "2026-03-01T09:00:00Z"}
        ]
    )

    page.goto(f"{live_server.url}/admin/profiles/profile/")
    page.fill("#searchbar", "cust-e2e-1")
    page.press("#searchbar", "Enter")
    page.click("#result_list a:has-text('cust-e2e-1')")
    page.wait_for_selector("#related-consent")
    assert "Opted in" in page.inner_text("#related-consent")
    assert "Opted in" in page.inner_text("#related-consentevent")
    bookings = page.inner_text("#related-booking")
    assert "BK-E2E-1" in bookings and "Sea view room" in bookings
    assert page.input_value("#id_email") == "marta@example.com"
    shot = screenshot(page, "profile-page")
    assert shot.stat().st_size > 10_000
