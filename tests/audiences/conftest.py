import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from profiles.models import Booking, Product, Profile, Purchase

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 12, 0))
TODAY = NOW.date()


@pytest.fixture
def world(db):
    """A small customer store whose memberships are worked out by hand in the tests.

    ana   PT gold      Lisboa  born 1990-05-01  bookings: confirmed +10d (stay), cancelled -5d (tour)
                                                purchases: 300 (-10d), 250 (-400d)
    bruno PT ""        ""      born NULL        bookings: confirmed +40d, confirmed +70d (stay)
                                                purchases: 100 (-1d), 450 (-20d)
    carla ES platinum  Madrid  born 1985-12-31  bookings: none; purchases: 600 (-30d)
    dan   ""  silver   Porto   born 2000-01-01  bookings: pending +5d (tour); purchases: none
    """
    stay = Product.objects.create(external_id="SKU-STAY", name="Suite", category="stay", price=Decimal("200"))
    tour = Product.objects.create(external_id="SKU-TOUR", name="Walk", category="tour", price=Decimal("20"))
    people = {
        "ana": Profile.objects.create(external_id="ana", email="ana@example.com", country="PT", loyalty_tier="gold",
                                      city="Lisboa", birth_date=dt.date(1990, 5, 1)),
        "bruno": Profile.objects.create(external_id="bruno", email="bruno@example.org", country="PT", city=""),
        "carla": Profile.objects.create(external_id="carla", email="", country="ES", loyalty_tier="platinum",
                                        city="Madrid", birth_date=dt.date(1985, 12, 31)),
        "dan": Profile.objects.create(external_id="dan", email="dan@example.com", country="", loyalty_tier="silver",
                                      city="Porto", birth_date=dt.date(2000, 1, 1)),
    }  # fmt: skip
    bookings = [
        ("ana", stay, "confirmed", 10, "500"), ("ana", tour, "cancelled", -5, "20"),
        ("bruno", stay, "confirmed", 40, "800"), ("bruno", stay, "confirmed", 70, "900"),
        ("dan", tour, "pending", 5, "40"),
    ]  # fmt: skip
    for index, (who, product, status, days, amount) in enumerate(bookings):
        Booking.objects.create(
            external_id=f"bk-{index}", profile=people[who], product=product, status=status,
            check_in=TODAY + dt.timedelta(days=days), amount=Decimal(amount), currency="EUR",
        )  # fmt: skip
    purchases = [("ana", 300, -10), ("ana", 250, -400), ("bruno", 100, -1), ("bruno", 450, -20), ("carla", 600, -30)]
    for index, (who, amount, days) in enumerate(purchases):
        Purchase.objects.create(
            external_id=f"pu-{index}", profile=people[who], product=stay, amount=Decimal(amount),
            purchased_at=NOW + dt.timedelta(days=days),
        )  # fmt: skip
    return people
