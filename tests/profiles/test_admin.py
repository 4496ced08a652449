import csv
import datetime as dt
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.admin_utils import CappedCountPaginator
from profiles.models import Booking, Consent, ConsentEvent, Profile, Purchase, Suppression
from profiles.services import consent_events_record
from tests.factories import BookingFactory, ConsentFactory, ProfileFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

PROFILES = "/admin/profiles/profile/"


@pytest.fixture
def steward(admin_as):
    return admin_as("Data steward")


def upload(text: str, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def run_action(client: Client, changelist: str, action: str, objects, **extra):
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], "index": "0", **extra}
    return client.post(changelist, data)


def exported_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# -- import ---------------------------------------------------------------------------------


def test_the_changelist_links_the_import_page_for_a_steward(steward):
    response = steward.get(PROFILES)
    assert response.status_code == 200
    assert f'href="{PROFILES}import/"' in response.text


def test_it_imports_a_csv_through_the_import_page(steward):
    csv_text = "external_id,email,first_name,country\nc1,ANA@Example.com,Ana,PT\nc2,bo@example.com,Bo,SE\n"
    response = steward.post(f"{PROFILES}import/", {"file": upload(csv_text)})
    assert response.status_code == 200
    assert "2 records: 2 created, 0 updated, 0 rejected" in response.text
    assert Profile.objects.get(external_id="c1").email == "ana@example.com"
    assert Profile.objects.filter(external_id="c2", country="SE").exists()


def test_it_applies_valid_lines_and_lists_rejected_ones_with_line_numbers(steward):
    csv_text = "external_id,email,phone\nc1,a@example.com,\nc2,not-an-email,\nc3,,+35191\n"
    response = steward.post(f"{PROFILES}import/", {"file": upload(csv_text)})
    assert "3 records: 1 created, 0 updated, 2 rejected" in response.text
    assert "line 3 (c2): email: &#x27;not-an-email&#x27; is not a valid email address" in response.text
    assert "line 4 (c3): phone:" in response.text
    assert list(Profile.objects.values_list("external_id", flat=True)) == ["c1"]


def test_it_imports_json_lines_by_the_file_extension(steward):
    ProfileFactory(external_id="c1")
    jsonl = '{"profile": "c1", "channel": "sms", "status": "opted_in", "occurred_at": "2026-01-02T10:00:00Z"}\n{oops\n'
    response = steward.post("/admin/profiles/consentevent/import/", {"file": upload(jsonl, "consents.jsonl")})
    assert "2 records: 1 created, 0 updated, 1 rejected" in response.text
    assert "line 2" in response.text and "is not valid JSON" in response.text
    assert Consent.objects.get(profile__external_id="c1", channel="sms").status == "opted_in"


def test_a_file_with_unknown_columns_imports_nothing(steward):
    response = steward.post(f"{PROFILES}import/", {"file": upload("external_id,shoe_size\nc1,44\n")})
    assert response.status_code == 200
    assert "Nothing was imported: Unknown column(s) for profiles: &#x27;shoe_size&#x27;" in response.text
    assert not Profile.objects.exists()


def test_a_file_without_a_known_extension_needs_a_format(steward):
    response = steward.post(f"{PROFILES}import/", {"file": upload("external_id\nc1\n", "data.txt")})
    assert "Cannot tell the format from the file name" in response.text
    response = steward.post(f"{PROFILES}import/", {"file": upload("external_id\nc1\n", "data.txt"), "format": "csv"})
    assert "1 records: 1 created" in response.text


def test_a_file_over_the_admin_limit_is_sent_to_the_command(steward, settings):
    settings.ADMIN_IMPORT_MAX_BYTES = 1024
    response = steward.post(f"{PROFILES}import/", {"file": upload("external_id\n" + "c\n" * 600)})
    assert "the admin imports files up to" in response.text
    assert "import_data" in response.text
    assert not Profile.objects.exists()


def test_a_viewer_cannot_import(admin_as):
    viewer = admin_as("Viewer")
    assert viewer.get(PROFILES).status_code == 200
    assert f"{PROFILES}import/" not in viewer.get(PROFILES).text
    assert viewer.get(f"{PROFILES}import/").status_code == 403
    assert viewer.post(f"{PROFILES}import/", {"file": upload("external_id\nc1\n")}).status_code == 403
    assert not Profile.objects.exists()


# -- export ---------------------------------------------------------------------------------


def test_an_exported_csv_imports_back_to_the_same_rows(steward):
    profile = ProfileFactory(
        external_id="c1", phone="+351912345678", birth_date=dt.date(1990, 5, 1), attributes={"vip": True, "pets": 2}
    )
    bookings = [
        BookingFactory(profile=profile, booked_at=timezone.now() - dt.timedelta(days=3)),
        BookingFactory(profile=profile, check_out=None, amount=None),
    ]
    fields = (
        "external_id",
        "profile_id",
        "product_id",
        "status",
        "check_in",
        "check_out",
        "amount",
        "currency",
        "booked_at",
    )
    before = sorted(Booking.objects.values_list(*fields))
    profile_before = Profile.objects.values().get()

    profile_rows = exported_rows(run_action(steward, PROFILES, "export_csv", [profile]))
    booking_rows = exported_rows(run_action(steward, "/admin/profiles/booking/", "export_csv", bookings))
    assert booking_rows[0]["profile"] == "c1" and booking_rows[0]["product"] == bookings[0].product.external_id
    assert profile_rows[0]["attributes"] == '{"pets": 2, "vip": true}'

    Booking.objects.all().delete()
    Profile.objects.filter(pk=profile.pk).update(email="changed@example.com", phone="", birth_date=None, attributes={})
    for path, rows in ((PROFILES, profile_rows), ("/admin/profiles/booking/", booking_rows)):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        response = steward.post(f"{path}import/", {"file": upload(buffer.getvalue())})
        assert "0 rejected" in response.text

    assert sorted(Booking.objects.values_list(*fields)) == before
    after = Profile.objects.values().get()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in profile_before.items() if k != "updated_at"
    }


def test_consent_history_exports_as_re_importable_events(steward):
    profile = ProfileFactory(external_id="c1")
    consent_events_record(
        records=[{"profile": "c1", "channel": "email", "status": "opted_out", "occurred_at": "2026-03-01T08:00:00Z"}]
    )
    rows = exported_rows(run_action(steward, "/admin/profiles/consentevent/", "export_csv", ConsentEvent.objects.all()))
    assert rows == [
        {
            "profile": "c1",
            "channel": "email",
            "status": "opted_out",
            "source": "",
            "occurred_at": "2026-03-01T08:00:00+00:00",
        }
    ]
    assert profile.consents.get().status == "opted_out"


def test_a_viewer_may_export(admin_as):
    profile = ProfileFactory(external_id="c1")
    rows = exported_rows(run_action(admin_as("Viewer"), PROFILES, "export_csv", [profile]))
    assert [row["external_id"] for row in rows] == ["c1"]


# -- erasure --------------------------------------------------------------------------------


def test_deleting_a_profile_in_the_admin_erases_it(steward):
    profile = ProfileFactory(external_id="c1", first_name="Ana", last_name="Secret")
    BookingFactory(profile=profile)
    ConsentFactory(profile=profile)
    steward.post(f"{PROFILES}{profile.pk}/change/", {**_profile_form(profile), "city": "Faro"})
    assert Profile.history.filter(id=profile.pk).exists()

    confirmation = steward.get(f"{PROFILES}{profile.pk}/delete/")
    assert "This is an erasure (right to be forgotten)" in confirmation.text
    assert "Bookings: 1" in confirmation.text
    response = steward.post(f"{PROFILES}{profile.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Profile.objects.exists() and not Booking.objects.exists() and not Consent.objects.exists()
    assert not LogEntry.objects.filter(object_repr__contains="Secret").exists()
    assert LogEntry.objects.filter(object_repr=f"erased profile #{profile.pk}").count() == 2


def test_the_bulk_delete_action_erases_the_selected_profiles(steward):
    kept, *erased = ProfileFactory.create_batch(3)
    PurchaseFactory(profile=erased[0])
    confirmation = run_action(steward, PROFILES, "delete_selected", erased)
    assert "This is an erasure" in confirmation.text
    assert "Purchases: 1" in confirmation.text
    run_action(steward, PROFILES, "delete_selected", erased, post="yes")
    assert list(Profile.objects.all()) == [kept]
    assert not Purchase.objects.exists()


def test_erasing_in_the_admin_leaves_no_edit_history(steward):
    profile = ProfileFactory(external_id="c1", last_name="Secret")
    BookingFactory(profile=profile)
    steward.post(f"{PROFILES}{profile.pk}/delete/", {"post": "yes"})
    assert not Profile.history.filter(id=profile.pk).exists()
    assert not Booking.history.filter(profile_id=profile.pk).exists()


def _profile_form(profile: Profile) -> dict[str, str]:
    fields = ("first_name", "last_name", "email", "phone", "locale", "timezone", "country", "city")
    return {name: getattr(profile, name) for name in fields} | {"attributes": "{}"}


# -- the profile page -----------------------------------------------------------------------


def test_the_profile_page_shows_consents_and_the_latest_entities(steward):
    profile = ProfileFactory(external_id="c1")
    BookingFactory.create_batch(23, profile=profile)
    consent_events_record(
        records=[
            {"profile": "c1", "channel": "sms", "status": "opted_in", "occurred_at": "2026-01-01T00:00:00Z"},
            {"profile": "c1", "channel": "sms", "status": "opted_out", "occurred_at": "2026-02-01T00:00:00Z"},
        ]
    )
    response = steward.get(f"{PROFILES}{profile.pk}/change/")
    assert response.status_code == 200
    tables = {table["title"]: table for table in response.context["related_tables"]}
    assert len(tables["Bookings"]["rows"]) == 20 and tables["Bookings"]["total"] == 23
    assert f"/admin/profiles/booking/?profile__id__exact={profile.pk}" in response.text
    assert "The latest 20 of 23" in response.text
    assert [row[2] for row in tables["Consent history"]["rows"]] == ["Opted out", "Opted in"]
    assert [row[1] for row in tables["Consents (current state)"]["rows"]] == ["Opted out"]
    assert "/admin/profiles/consentevent/record/?profile=c1" in response.text


def test_editing_a_profile_normalises_like_the_api(steward):
    profile = ProfileFactory(external_id="c1", country="PT")
    form = {**_profile_form(profile), "email": " Ana@Example.COM ", "phone": "912 345 678", "country": "pt"}
    response = steward.post(f"{PROFILES}{profile.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert (profile.email, profile.phone, profile.country) == ("ana@example.com", "+351912345678", "PT")


# -- consent and suppressions ---------------------------------------------------------------


def test_consent_is_read_only_in_the_admin(steward):
    consent = ConsentFactory()
    assert steward.get("/admin/profiles/consent/add/").status_code == 403
    assert steward.get("/admin/profiles/consentevent/add/").status_code == 403
    assert steward.post(f"/admin/profiles/consent/{consent.pk}/delete/", {"post": "yes"}).status_code == 403
    page = steward.get(f"/admin/profiles/consent/{consent.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.text


def test_a_consent_change_is_recorded_through_the_service(steward):
    ProfileFactory(external_id="c1")
    ConsentFactory(profile__external_id="c2")  # another profile, untouched
    response = steward.post(
        "/admin/profiles/consentevent/record/",
        {"profile": "c1", "channel": "email", "status": "opted_out", "source": "phone call",
         "occurred_at_0": "2026-04-01", "occurred_at_1": "09:30:00"},
    )  # fmt: skip
    assert response.status_code == 302
    consent = Consent.objects.get(profile__external_id="c1")
    assert (consent.channel, consent.status) == ("email", "opted_out")
    assert consent.source == "admin:user-data-steward (phone call)"
    assert ConsentEvent.objects.filter(profile__external_id="c1").count() == 1


def test_recording_a_consent_for_an_unknown_profile_shows_the_error(steward):
    response = steward.post(
        "/admin/profiles/consentevent/record/",
        {
            "profile": "nobody",
            "channel": "email",
            "status": "opted_in",
            "occurred_at_0": "2026-04-01",
            "occurred_at_1": "09:30",
        },
    )
    assert response.status_code == 200
    assert "unknown profile &#x27;nobody&#x27;" in response.text
    assert not ConsentEvent.objects.exists()


def test_the_opt_out_action_records_events(steward):
    consent = ConsentFactory(channel="sms", status="opted_in", occurred_at=timezone.now() - dt.timedelta(days=1))
    run_action(steward, "/admin/profiles/consent/", "record_opt_out", [consent])
    consent.refresh_from_db()
    assert consent.status == "opted_out"
    assert ConsentEvent.objects.get().status == "opted_out"


def test_a_viewer_cannot_record_consent(admin_as):
    viewer = admin_as("Viewer")
    assert viewer.get("/admin/profiles/consentevent/record/").status_code == 403
    consent = ConsentFactory()
    run_action(viewer, "/admin/profiles/consent/", "record_opt_out", [consent])
    assert not ConsentEvent.objects.exists()
    consent.refresh_from_db()
    assert consent.status == "opted_in"


def test_adding_a_suppression_normalises_the_address(steward, settings):
    settings.PHONE_DEFAULT_REGION = ""
    data = {"channel": "email", "address": " Bounce@Example.COM ", "reason": "hard_bounce", "note": ""}
    assert steward.post("/admin/profiles/suppression/add/", data).status_code == 302
    again = steward.post("/admin/profiles/suppression/add/", {**data, "reason": "manual"})
    assert "Suppression with this Channel and Address already exists" in again.text
    suppression = Suppression.objects.get()
    assert (suppression.address, suppression.reason) == ("bounce@example.com", "hard_bounce")
    bad = steward.post("/admin/profiles/suppression/add/", {**data, "channel": "sms", "address": "12"})
    assert bad.context["adminform"].form.errors["address"] == ["'12' needs an international prefix (+) or a country"]
    settings.PHONE_DEFAULT_REGION = "PT"
    bad = steward.post("/admin/profiles/suppression/add/", {**data, "channel": "sms", "address": "12"})
    assert bad.context["adminform"].form.errors["address"] == ["'12' is not a valid phone number"]
    assert Suppression.objects.count() == 1


# -- big changelists ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changelist",
    [PROFILES, "/admin/profiles/booking/", "/admin/profiles/purchase/", "/admin/profiles/consent/",
     "/admin/profiles/consentevent/", "/admin/profiles/subscription/"],
)  # fmt: skip
def test_changelists_count_at_most_a_capped_number_of_rows(steward, changelist, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 5)
    for profile in ProfileFactory.create_batch(7):
        BookingFactory(profile=profile)
        PurchaseFactory(profile=profile)
        ConsentFactory(profile=profile)
        consent_events_record(
            records=[
                {"profile": profile.external_id, "channel": "sms", "status": "opted_in", "occurred_at": "2026-01-01"}
            ]
        )
    from tests.factories import SubscriptionFactory

    SubscriptionFactory.create_batch(7)
    with CaptureQueriesContext(connection) as queries:
        response = steward.get(changelist)
    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the changelist counted nothing"
    assert all("LIMIT 6" in sql for sql in counts), counts
    assert "more than 5" in response.text


def test_the_profile_changelist_runs_the_same_queries_for_5_or_50_rows(steward):
    ProfileFactory.create_batch(5)
    with CaptureQueriesContext(connection) as few:
        steward.get(PROFILES)
    ProfileFactory.create_batch(45)
    with CaptureQueriesContext(connection) as many:
        steward.get(PROFILES)
    assert len(many) == len(few) <= 12


def test_bookings_changelist_queries_do_not_grow_with_rows(steward):
    BookingFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        steward.get("/admin/profiles/booking/")
    BookingFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        steward.get("/admin/profiles/booking/")
    assert len(many) == len(few)


@pytest.mark.postgres
def test_an_unfiltered_changelist_past_the_cap_shows_the_planner_estimate(steward, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the planner estimate is PostgreSQL's pg_class.reltuples")
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 5)
    ProfileFactory.create_batch(40)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Profile._meta.db_table}")
    assert "about 40 profiles" in steward.get(PROFILES).text
    assert "more than 5 profiles" in steward.get(PROFILES, {"country": "PT"}).text


def test_the_search_count_says_more_than_the_cap_and_is_hidden_when_unfiltered(steward, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 5)
    ProfileFactory.create_batch(7, last_name="Silva")
    ProfileFactory(last_name="Sousa")
    assert "more than 5 results" in steward.get(PROFILES, {"q": "Sil"}).text
    assert "1 result" in steward.get(PROFILES, {"q": "Sou"}).text
    assert "results (" not in steward.get(PROFILES).text
