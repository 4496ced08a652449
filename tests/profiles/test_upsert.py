import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from profiles.ingestion.upsert import entity_bulk_upsert
from profiles.models import Booking, Consent, ConsentEvent, Profile, Purchase, PushDevice, Subscription, Suppression
from tests.factories import ProductFactory, ProfileFactory

pytestmark = pytest.mark.django_db


def test_it_creates_then_updates_by_external_id():
    first = entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1", "email": "C1@Example.com"}])
    assert (first.created, first.updated, first.errors) == (1, 0, [])
    second = entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1", "first_name": "Rita"}])
    assert (second.created, second.updated) == (0, 1)
    profile = Profile.objects.get(external_id="c1")
    assert profile.email == "c1@example.com"
    assert profile.first_name == "Rita"


def test_a_partial_record_leaves_other_fields_alone():
    ProfileFactory(external_id="c1", email="keep@example.com", city="Porto", loyalty_tier="gold")
    entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1", "city": "Lisboa"}])
    profile = Profile.objects.get(external_id="c1")
    assert (profile.email, profile.city, profile.loyalty_tier) == ("keep@example.com", "Lisboa", "gold")


def test_replaying_a_batch_is_idempotent():
    records = [{"external_id": f"c{i}", "email": f"c{i}@example.com", "country": "ES"} for i in range(5)]
    entity_bulk_upsert(entity="profiles", records=records)
    before = list(Profile.objects.order_by("id").values("id", "external_id", "email", "country"))
    replay = entity_bulk_upsert(entity="profiles", records=records)
    assert (replay.created, replay.updated, replay.errors) == (0, 5, [])
    assert list(Profile.objects.order_by("id").values("id", "external_id", "email", "country")) == before


def test_the_same_key_twice_in_a_batch_merges_with_the_last_winning():
    result = entity_bulk_upsert(
        entity="profiles",
        records=[
            {"external_id": "c1", "email": "old@example.com", "first_name": "Ana"},
            {"external_id": "c1", "email": "new@example.com"},
        ],
    )
    assert (result.created, result.updated) == (1, 1)
    profile = Profile.objects.get(external_id="c1")
    assert (profile.email, profile.first_name) == ("new@example.com", "Ana")


def test_invalid_records_are_reported_and_valid_ones_applied():
    result = entity_bulk_upsert(
        entity="profiles",
        records=[
            {"external_id": "ok-1", "email": "ok@example.com"},
            {"external_id": "bad-1", "email": "not-an-email", "birth_date": "31/12/1990"},
            {"email": "nokey@example.com"},
            "not an object",
            {"external_id": "bad-2", "phone": "12", "country": "PT", "shoe_size": 42},
            {"external_id": "ok-2", "phone": "+351 912 345 678"},
        ],
    )
    assert (result.created, result.updated) == (2, 0)
    by_index = {error["index"]: error for error in result.errors}
    assert sorted(by_index) == [1, 2, 3, 4]
    assert set(by_index[1]["errors"]) == {"email", "birth_date"}
    assert by_index[2]["errors"] == {"external_id": ["is required"]}
    assert "non_field_errors" in by_index[3]["errors"]
    assert set(by_index[4]["errors"]) == {"phone", "shoe_size"}
    assert not Profile.objects.filter(external_id__startswith="bad").exists()
    assert Profile.objects.get(external_id="ok-2").phone == "+351912345678"


def test_a_national_phone_number_takes_the_records_country():
    entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1", "phone": "912 345 678", "country": "pt"}])
    profile = Profile.objects.get(external_id="c1")
    assert (profile.phone, profile.country) == ("+351912345678", "PT")


def test_references_are_resolved_by_external_id_and_unknown_ones_rejected():
    ProfileFactory(external_id="c1")
    ProductFactory(external_id="SKU-1")
    result = entity_bulk_upsert(
        entity="bookings",
        records=[
            {"external_id": "b1", "profile": "c1", "product": "SKU-1", "status": "confirmed",
             "check_in": "2026-06-01", "amount": "199.90", "currency": "eur"},
            {"external_id": "b2", "profile": "nobody", "product": "SKU-1"},
            {"external_id": "b3", "profile": "c1", "product": "SKU-404"},
        ],
    )  # fmt: skip
    assert result.created == 1
    assert [(e["index"], list(e["errors"])) for e in result.errors] == [(1, ["profile"]), (2, ["product"])]
    booking = Booking.objects.get(external_id="b1")
    assert booking.profile.external_id == "c1"
    assert booking.amount == Decimal("199.90")
    assert booking.currency == "EUR"


def test_a_new_row_needs_its_required_fields_but_an_update_does_not():
    ProfileFactory(external_id="c1")
    ProductFactory(external_id="SKU-1")
    missing = entity_bulk_upsert(entity="purchases", records=[{"external_id": "p1", "profile": "c1"}])
    assert missing.created == 0
    assert set(missing.errors[0]["errors"]) == {"product", "amount", "purchased_at"}
    entity_bulk_upsert(
        entity="purchases",
        records=[
            {
                "external_id": "p1",
                "profile": "c1",
                "product": "SKU-1",
                "amount": 10,
                "purchased_at": "2026-01-01T10:00:00Z",
            }
        ],
    )
    update = entity_bulk_upsert(entity="purchases", records=[{"external_id": "p1", "amount": "12.5"}])
    assert (update.updated, update.errors) == (1, [])
    assert Purchase.objects.get(external_id="p1").amount == Decimal("12.50")


def test_a_required_field_cannot_be_emptied():
    ProductFactory(external_id="SKU-1", name="Suite")
    result = entity_bulk_upsert(entity="products", records=[{"external_id": "SKU-1", "name": ""}])
    assert result.errors[0]["errors"] == {"name": ["may not be empty"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "Portugal"),
        ("timezone", "Mars/Olympus"),
        ("birth_date", "1990-02-30"),
        ("attributes", "[1, 2]"),
        ("first_name", "x" * 101),
        ("email", 42.5),
    ],
)
def test_each_field_is_validated(field, value):
    result = entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1", field: value}])
    assert list(result.errors[0]["errors"]) == [field]
    assert not Profile.objects.exists()


def test_other_entities_round_trip():
    ProfileFactory(external_id="c1")
    assert (
        entity_bulk_upsert(entity="plans", records=[{"external_id": "PLAN-1", "name": "Plus", "price": "9.99"}]).created
        == 1
    )
    assert entity_bulk_upsert(entity="products", records=[{"external_id": "SKU-1", "name": "Suite"}]).created == 1
    inventory = entity_bulk_upsert(
        entity="inventory", records=[{"external_id": "i1", "product": "SKU-1", "location": "Porto", "quantity": "7"}]
    )
    assert inventory.created == 1
    subscription = entity_bulk_upsert(
        entity="subscriptions",
        records=[{"external_id": "s1", "profile": "c1", "plan": "PLAN-1", "status": "paused"}],
    )
    assert "status" in subscription.errors[0]["errors"]
    subscription = entity_bulk_upsert(
        entity="subscriptions",
        records=[
            {
                "external_id": "s1",
                "profile": "c1",
                "plan": "PLAN-1",
                "status": "active",
                "renews_at": "2026-12-01T00:00:00+01:00",
            }
        ],
    )
    assert subscription.created == 1


def _rows_owned_by(profile_id: int) -> dict[str, list]:
    """Every row erasure must remove for a profile, by table (history rows by their kind)."""
    history = {
        f"{model.__name__.lower()} history": sorted(
            model.history.filter(**{key: profile_id}).values_list("history_type", flat=True)
        )
        for model, key in (
            (Profile, "id"),
            (Booking, "profile_id"),
            (Purchase, "profile_id"),
            (Subscription, "profile_id"),
        )
    }
    return {
        "bookings": sorted(Booking.objects.filter(profile_id=profile_id).values_list("external_id", flat=True)),
        "purchases": sorted(Purchase.objects.filter(profile_id=profile_id).values_list("external_id", flat=True)),
        "subscriptions": sorted(
            Subscription.objects.filter(profile_id=profile_id).values_list("external_id", flat=True)
        ),
        "consents": sorted(Consent.objects.filter(profile_id=profile_id).values_list("channel", "status")),
        "consent events": sorted(ConsentEvent.objects.filter(profile_id=profile_id).values_list("channel", "status")),
        "push devices": sorted(PushDevice.objects.filter(profile_id=profile_id).values_list("token", flat=True)),
        **history,
    }


def _give_rows(profile: Profile, tag: str) -> None:
    from profiles.services import consent_events_record
    from tests.factories import BookingFactory, PurchaseFactory, SubscriptionFactory

    BookingFactory(profile=profile, external_id=f"bk-{tag}")
    PurchaseFactory(profile=profile, external_id=f"pu-{tag}")
    SubscriptionFactory(profile=profile, external_id=f"sub-{tag}")
    PushDevice.objects.create(profile=profile, token=f"tok-{tag}", platform="ios")
    consent_events_record(
        records=[
            {"profile": profile.external_id, "channel": "email", "status": "opted_in", "occurred_at": "2026-01-01"},
            {"profile": profile.external_id, "channel": "sms", "status": "opted_out", "occurred_at": "2026-01-02"},
        ]
    )


def _expected_rows(tag: str, *, profile_history: list[str]) -> dict[str, list]:
    """What `_give_rows(profile, tag)` leaves, as `_rows_owned_by` reads it."""
    consents = [("email", "opted_in"), ("sms", "opted_out")]
    return {
        "bookings": [f"bk-{tag}"], "purchases": [f"pu-{tag}"], "subscriptions": [f"sub-{tag}"],
        "consents": consents, "consent events": consents, "push devices": [f"tok-{tag}"],
        "profile history": profile_history, "booking history": ["+"], "purchase history": ["+"],
        "subscription history": ["+"],
    }  # fmt: skip


def test_erasure_removes_the_profiles_rows_and_edit_history_and_nobody_elses():
    from profiles.services import profile_erase, profile_save, suppression_add

    gone = profile_save(profile=Profile(external_id="gone"), data={"email": "gone@example.com"})
    profile_save(profile=gone, data={"last_name": "Secret"})
    keep = ProfileFactory(external_id="stays")
    _give_rows(gone, "gone")
    _give_rows(keep, "stays")
    suppression_add(channel="email", address="gone@example.com", reason="unsubscribed")
    kept_rows = _rows_owned_by(keep.pk)
    assert kept_rows == _expected_rows("stays", profile_history=["+"])
    assert _rows_owned_by(gone.pk) == _expected_rows("gone", profile_history=["+", "~"])

    assert profile_erase(profile_ids=[gone.pk, 999999]) == 1

    assert list(Profile.objects.values_list("external_id", flat=True)) == ["stays"]
    assert _rows_owned_by(gone.pk) == {table: [] for table in kept_rows}
    assert _rows_owned_by(keep.pk) == kept_rows
    # The suppression is kept by address, so the erased person is never contacted again.
    assert list(Suppression.objects.values_list("channel", "address")) == [("email", "gone@example.com")]


def test_json_decimal_date_and_timestamp_values_are_stored_exactly():
    ProfileFactory(external_id="c1")
    ProductFactory(external_id="SKU-1")
    attributes = {"vip": True, "score": 12.5, "tags": ["a", "ç"], "nested": {"n": None, "big": 2**40}, "q": 'x"\\y'}
    address = "1\tRua\nNova \\N 2, \u00e9"  # tab, newline, backslash: COPY's special characters
    profiles = entity_bulk_upsert(
        entity="profiles",
        records=[{"external_id": "c2", "attributes": attributes, "birth_date": "1990-02-28", "address_line1": address}],
    )
    purchases = entity_bulk_upsert(
        entity="purchases",
        records=[
            {"external_id": "p1", "profile": "c1", "product": "SKU-1", "amount": "1234567890.125",
             "quantity": "3", "purchased_at": "2026-05-01T10:00:00+02:00"},
            {"external_id": "p2", "profile": "c1", "product": "SKU-1", "amount": 0.1,
             "purchased_at": "2026-05-01T10:00:00"},
        ],
    )  # fmt: skip
    assert (profiles.errors, purchases.errors) == ([], [])
    profile = Profile.objects.get(external_id="c2")
    assert profile.attributes == attributes
    assert (profile.birth_date, profile.address_line1) == (dt.date(1990, 2, 28), address)
    assert profile.email == "" and profile.phone == ""  # not given: the model's defaults
    p1, p2 = Purchase.objects.order_by("external_id")
    assert (p1.amount, p1.quantity) == (Decimal("1234567890.12"), 3)
    assert p1.purchased_at == dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    assert (p2.amount, p2.quantity) == (Decimal("0.10"), 1)
    assert p2.purchased_at == timezone.make_aware(dt.datetime(2026, 5, 1, 10, 0))


def test_an_update_changes_only_the_named_columns_and_the_update_time():
    ProfileFactory(external_id="c1", email="keep@example.com", city="Porto", attributes={"a": 1})
    before = Profile.objects.get(external_id="c1")
    result = entity_bulk_upsert(
        entity="profiles",
        records=[{"external_id": "c1", "city": "Lisboa"}, {"external_id": "c1", "birth_date": ""}],
    )
    assert (result.created, result.updated, result.errors) == (0, 2, [])
    after = Profile.objects.get(external_id="c1")
    assert (after.email, after.city, after.birth_date, after.attributes) == (
        "keep@example.com",
        "Lisboa",
        None,
        {"a": 1},
    )
    assert (after.pk, after.created_at) == (before.pk, before.created_at)
    assert after.updated_at > before.updated_at


def test_a_new_key_missing_required_fields_is_rejected_in_every_record_naming_it():
    ProfileFactory(external_id="c1")
    ProductFactory(external_id="SKU-1")
    result = entity_bulk_upsert(
        entity="bookings",
        records=[
            {"external_id": "b1", "profile": "c1"},
            {"external_id": "b2", "profile": "c1", "product": "SKU-1"},
            {"external_id": "b1", "status": "confirmed"},
            {"external_id": "b3", "profile": "c1"},
            {"external_id": "b3", "product": "SKU-1"},
        ],
    )
    assert (result.created, result.updated) == (2, 1)
    assert [(e["index"], e["errors"]) for e in result.errors] == [
        (0, {"product": ["is required to create a new booking"]}),
        (2, {"product": ["is required to create a new booking"]}),
    ]
    assert sorted(Booking.objects.values_list("external_id", flat=True)) == ["b2", "b3"]


def test_a_batch_of_only_invalid_records_writes_nothing():
    result = entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1", "email": "x"}, {}])
    assert (result.created, result.updated, len(result.errors)) == (0, 0, 2)
    assert not Profile.objects.exists()
