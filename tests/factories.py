import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from profiles.models import Booking, Consent, Plan, Product, Profile, Purchase, Subscription


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    external_id = factory.Sequence(lambda n: f"cust-{n:05d}")
    email = factory.LazyAttribute(lambda p: f"{p.external_id}@example.com")
    first_name = "Ana"
    last_name = "Silva"
    country = "PT"
    timezone = "Europe/Lisbon"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    external_id = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Room {n}")
    category = "stay"
    price = Decimal("100.00")
    currency = "EUR"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    external_id = factory.Sequence(lambda n: f"PLAN-{n}")
    name = "Plus"


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    external_id = factory.Sequence(lambda n: f"BK-{n:05d}")
    profile = factory.SubFactory(ProfileFactory)
    product = factory.SubFactory(ProductFactory)
    status = "confirmed"
    check_in = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))
    amount = Decimal("250.00")
    currency = "EUR"


class PurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purchase

    external_id = factory.Sequence(lambda n: f"PU-{n:05d}")
    profile = factory.SubFactory(ProfileFactory)
    product = factory.SubFactory(ProductFactory)
    amount = Decimal("40.00")
    purchased_at = factory.LazyFunction(timezone.now)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    external_id = factory.Sequence(lambda n: f"SUB-{n:05d}")
    profile = factory.SubFactory(ProfileFactory)
    plan = factory.SubFactory(PlanFactory)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    profile = factory.SubFactory(ProfileFactory)
    channel = "email"
    status = "opted_in"
    occurred_at = factory.LazyFunction(timezone.now)
