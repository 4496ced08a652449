"""A realistic demo customer store: travellers who book stays and tours and buy extras.

Used by `seed_demo`. Rows are generated in Python (deterministic for a given seed) and written
with bulk inserts in chunks, so 100,000 profiles take about a minute on SQLite.
The reference data set for benchmarks is generated inside PostgreSQL instead (bench/seed.py).
"""

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import phonenumbers
from django.db import transaction
from django.utils import timezone

from profiles.models import (
    Booking,
    Channel,
    Consent,
    ConsentEvent,
    ConsentStatus,
    InventoryItem,
    Plan,
    Product,
    Profile,
    Purchase,
    PushDevice,
    Subscription,
    Suppression,
)

# country: (weight, locale, [(city, time zone)], first names, last names)
COUNTRIES = {
    "PT": (18, "pt-PT", [("Lisboa", "Europe/Lisbon"), ("Porto", "Europe/Lisbon"), ("Funchal", "Atlantic/Madeira")],
           ["Ana", "João", "Maria", "Pedro", "Inês", "Tiago", "Beatriz", "Rui"],
           ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues"]),
    "ES": (15, "es-ES", [("Madrid", "Europe/Madrid"), ("Barcelona", "Europe/Madrid"), ("Sevilla", "Europe/Madrid")],
           ["Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Daniel", "Carmen"],
           ["García", "Fernández", "López", "Martínez", "Sánchez", "Gómez"]),
    "FR": (12, "fr-FR", [("Paris", "Europe/Paris"), ("Lyon", "Europe/Paris"), ("Marseille", "Europe/Paris")],
           ["Camille", "Louis", "Léa", "Gabriel", "Chloé", "Jules", "Manon"],
           ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard"]),
    "DE": (12, "de-DE", [("Berlin", "Europe/Berlin"), ("München", "Europe/Berlin"), ("Hamburg", "Europe/Berlin")],
           ["Emma", "Paul", "Mia", "Leon", "Hannah", "Felix", "Lena"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer"]),
    "GB": (12, "en-GB", [("London", "Europe/London"), ("Manchester", "Europe/London"), ("Edinburgh", "Europe/London")],
           ["Olivia", "George", "Amelia", "Harry", "Isla", "Jack", "Emily"],
           ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson"]),
    "US": (16, "en-US", [("New York", "America/New_York"), ("Chicago", "America/Chicago"),
                         ("Denver", "America/Denver"), ("Los Angeles", "America/Los_Angeles")],
           ["Liam", "Ava", "Noah", "Sophia", "Ethan", "Isabella", "Mason"],
           ["Johnson", "Miller", "Davis", "Garcia", "Anderson", "Moore"]),
    "BR": (8, "pt-BR", [("São Paulo", "America/Sao_Paulo"), ("Rio de Janeiro", "America/Sao_Paulo")],
           ["Miguel", "Alice", "Arthur", "Laura", "Heitor", "Valentina"],
           ["Souza", "Lima", "Carvalho", "Almeida", "Ribeiro"]),
    "IT": (7, "it-IT", [("Roma", "Europe/Rome"), ("Milano", "Europe/Rome"), ("Napoli", "Europe/Rome")],
           ["Giulia", "Leonardo", "Sofia", "Francesco", "Aurora", "Lorenzo"],
           ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"]),
}  # fmt: skip
TIERS = ["", "", "", "silver", "silver", "gold", "platinum"]
CATEGORIES = {
    "stay": (["Standard Room", "Deluxe Room", "Suite", "Family Apartment", "Ocean View Room"], (80, 450)),
    "tour": (["City Walking Tour", "Wine Tasting", "Boat Trip", "Food Tour", "Museum Pass"], (20, 150)),
    "spa": (["Massage", "Thermal Circuit", "Facial Treatment"], (40, 180)),
    "dining": (["Tasting Menu", "Brunch", "Chef's Table"], (30, 220)),
    "transfer": (["Airport Transfer", "Private Driver"], (25, 120)),
}
TOPICS = ["offers", "news", "events", "travel-tips"]


@dataclass
class DemoSizes:
    profiles: int = 2000
    products: int = 200
    bookings_per_profile: float = 3.0
    purchases_per_profile: float = 5.0


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


class DemoBuilder:
    def __init__(self, *, sizes: DemoSizes, seed: int = 42, progress: Callable[[str, int], None] | None = None):
        self.sizes = sizes
        self.random = random.Random(seed)
        self.progress = progress or (lambda label, n: None)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.country_names = list(COUNTRIES)
        self.country_weights = [COUNTRIES[c][0] for c in self.country_names]
        self.phone_bases = {
            country: phonenumbers.national_significant_number(
                phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
            )
            for country in COUNTRIES
        }

    def build(self, chunk: int = 5000) -> dict[str, int]:
        products = self._products()
        plans = self._plans()
        counts = {"products": len(products), "plans": len(plans)}
        for start in range(0, self.sizes.profiles, chunk):
            with transaction.atomic():
                for name, n in self._profile_chunk(
                    start, min(chunk, self.sizes.profiles - start), products, plans
                ).items():
                    counts[name] = counts.get(name, 0) + n
        return counts

    def _products(self) -> list[Product]:
        rng = self.random
        rows = []
        for number in range(1, self.sizes.products + 1):
            category = rng.choice(list(CATEGORIES))
            names, (low, high) = CATEGORIES[category]
            city = rng.choice(COUNTRIES[rng.choice(self.country_names)][2])[0]
            price = Decimal(rng.randint(low * 100, high * 100)) / 100
            rows.append(Product(external_id=f"SKU-{number:05d}", name=f"{rng.choice(names)} {city}",
                                category=category, price=price, currency="EUR"))  # fmt: skip
        products = Product.objects.bulk_create(rows, batch_size=1000)
        inventory = [
            InventoryItem(external_id=f"INV-{product.external_id}-{n}", product=product,
                          location=rng.choice(["Lisboa", "Porto", "Madrid", "Paris", "Online"]), quantity=rng.randint(0, 80))
            for product in products
            for n in range(rng.randint(1, 2))
        ]  # fmt: skip
        InventoryItem.objects.bulk_create(inventory, batch_size=1000)
        self.progress("products", len(products))
        return products

    def _plans(self) -> list[Plan]:
        specs = [("PLAN-BASIC", "Basic", "basic", "4.99"), ("PLAN-PLUS", "Plus", "plus", "9.99"),
                 ("PLAN-PREMIUM", "Premium", "premium", "19.99"), ("PLAN-FAMILY", "Family", "premium", "24.99")]  # fmt: skip
        return Plan.objects.bulk_create(
            [Plan(external_id=e, name=n, tier=t, price=Decimal(p), currency="EUR") for e, n, t, p in specs]
        )

    def _phone(self, country: str) -> str:
        base = self.phone_bases[country]
        for _ in range(5):
            candidate = base[:-4] + f"{self.random.randint(0, 9999):04d}"
            number = phonenumbers.parse(candidate, country)
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return ""

    def _profile_chunk(self, start: int, size: int, products, plans) -> dict[str, int]:
        rng = self.random
        profiles = []
        for number in range(start + 1, start + size + 1):
            country = rng.choices(self.country_names, self.country_weights)[0]
            _, locale, cities, firsts, lasts = COUNTRIES[country]
            city, tz = rng.choice(cities)
            first, last = rng.choice(firsts), rng.choice(lasts)
            profiles.append(Profile(
                external_id=f"cust-{number:07d}",
                email=f"{_ascii(first)}.{_ascii(last)}.{number}@example.com" if rng.random() < 0.96 else "",
                phone=self._phone(country) if rng.random() < 0.7 else "",
                first_name=first, last_name=last, locale=locale, timezone=tz, country=country, city=city,
                address_line1=f"{rng.randint(1, 250)} {rng.choice(['Main', 'Harbour', 'Market', 'Garden'])} Street",
                postal_code=f"{rng.randint(1000, 99999)}", region="",
                birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 55)),
                loyalty_tier=rng.choice(TIERS),
                attributes={"newsletter_topics": rng.sample(TOPICS, rng.randint(0, 2)),
                            "lifetime_nights": rng.randint(0, 60)},
            ))  # fmt: skip
        profiles = Profile.objects.bulk_create(profiles, batch_size=1000)
        if profiles[0].pk is None:  # a backend that does not return ids
            by_key = dict(
                Profile.objects.filter(external_id__in=[p.external_id for p in profiles]).values_list(
                    "external_id", "id"
                )
            )
            for profile in profiles:
                profile.pk = profile.id = by_key[profile.external_id]
        counts = {"profiles": len(profiles)}
        counts.update(self._activity(profiles, products, plans))
        counts.update(self._consents(profiles))
        self.progress("profiles", len(profiles))
        return counts

    def _activity(self, profiles, products, plans) -> dict[str, int]:
        rng = self.random
        bookings, purchases, subscriptions = [], [], []
        stays = [p for p in products if p.category == "stay"] or products
        for profile in profiles:
            for n in range(self._poisson(self.sizes.bookings_per_profile)):
                product = rng.choice(stays)
                check_in = self.today + dt.timedelta(days=rng.randint(-400, 180))
                nights = rng.randint(1, 7)
                status = "completed" if check_in < self.today else rng.choice(["confirmed", "confirmed", "pending"])
                if rng.random() < 0.1:
                    status = "cancelled"
                bookings.append(Booking(
                    external_id=f"BK-{profile.external_id}-{n}", profile_id=profile.pk, product_id=product.pk,
                    status=status, check_in=check_in, check_out=check_in + dt.timedelta(days=nights),
                    amount=(product.price or Decimal(100)) * nights, currency="EUR",
                    booked_at=self.now - dt.timedelta(days=rng.randint(1, 120)) + (check_in - self.today),
                ))  # fmt: skip
            for n in range(self._poisson(self.sizes.purchases_per_profile)):
                product = rng.choice(products)
                quantity = rng.randint(1, 3)
                purchases.append(Purchase(
                    external_id=f"PU-{profile.external_id}-{n}", profile_id=profile.pk, product_id=product.pk,
                    quantity=quantity, amount=(product.price or Decimal(10)) * quantity, currency="EUR",
                    purchased_at=self.now - dt.timedelta(days=rng.randint(0, 730), minutes=rng.randint(0, 1440)),
                ))  # fmt: skip
            if rng.random() < 0.3:
                started = self.now - dt.timedelta(days=rng.randint(10, 700))
                cancelled = rng.random() < 0.2
                subscriptions.append(Subscription(
                    external_id=f"SUB-{profile.external_id}", profile_id=profile.pk, plan_id=rng.choice(plans).pk,
                    status="cancelled" if cancelled else "active", started_at=started,
                    renews_at=None if cancelled else self.now + dt.timedelta(days=rng.randint(1, 30)),
                    cancelled_at=started + dt.timedelta(days=rng.randint(1, 9)) if cancelled else None,
                ))  # fmt: skip
        Booking.objects.bulk_create(bookings, batch_size=2000)
        Purchase.objects.bulk_create(purchases, batch_size=2000)
        Subscription.objects.bulk_create(subscriptions, batch_size=2000)
        return {"bookings": len(bookings), "purchases": len(purchases), "subscriptions": len(subscriptions)}

    def _consents(self, profiles) -> dict[str, int]:
        rng = self.random
        consents, events, devices, suppressions = [], [], [], []
        for profile in profiles:
            choices = []
            if profile.email:
                choices.append(
                    (Channel.EMAIL, ConsentStatus.OPTED_OUT if rng.random() < 0.1 else ConsentStatus.OPTED_IN)
                )
            if profile.phone and rng.random() < 0.5:
                choices.append((Channel.SMS, ConsentStatus.OPTED_IN if rng.random() < 0.8 else ConsentStatus.OPTED_OUT))
            if rng.random() < 0.25:
                choices.append((Channel.PUSH, ConsentStatus.OPTED_IN))
                devices.append(PushDevice(profile_id=profile.pk, token=f"demo-token-{profile.external_id}",
                                          platform=rng.choice(["ios", "android", "web"])))  # fmt: skip
            for channel, status in choices:
                occurred = self.now - dt.timedelta(days=rng.randint(0, 900))
                source = rng.choice(["signup_form", "checkout", "preference_center", "import"])
                consents.append(
                    Consent(profile_id=profile.pk, channel=channel, status=status, source=source, occurred_at=occurred)
                )
                events.append(
                    ConsentEvent(
                        profile_id=profile.pk, channel=channel, status=status, source=source, occurred_at=occurred
                    )
                )
            if profile.email and rng.random() < 0.01:
                suppressions.append(Suppression(channel=Channel.EMAIL, address=profile.email,
                                                reason=rng.choice(["hard_bounce", "complaint"])))  # fmt: skip
        Consent.objects.bulk_create(consents, batch_size=2000)
        ConsentEvent.objects.bulk_create(events, batch_size=2000)
        PushDevice.objects.bulk_create(devices, batch_size=2000)
        Suppression.objects.bulk_create(suppressions, batch_size=2000, ignore_conflicts=True)
        return {"consents": len(consents), "push devices": len(devices), "suppressions": len(suppressions)}

    def _poisson(self, mean: float) -> int:
        """A small-count draw with the given mean (Knuth's method)."""
        limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
        while True:
            p *= self.random.random()
            if p <= limit:
                return k
            k += 1
