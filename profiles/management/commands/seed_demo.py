import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audiences.demo import demo_audiences_exist, seed_demo_audiences
from profiles.demo import DemoBuilder, DemoSizes
from profiles.models import Product, Profile


class Command(BaseCommand):
    help = (
        "Fill the customer store with a realistic demo (profiles, products, bookings, purchases, consents...) "
        "and create five audiences over it, calculated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profiles", type=int, default=2000, help="How many profiles (default 2000).")
        parser.add_argument("--products", type=int, default=200, help="How many products (default 200).")
        parser.add_argument("--bookings-per-profile", type=float, default=3.0, help="Mean bookings per profile.")
        parser.add_argument("--purchases-per-profile", type=float, default=5.0, help="Mean purchases per profile.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (the same seed gives the same demo).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if there are profiles already.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, **options):
        if options["if_empty"] and Profile.objects.exists():
            self.stdout.write("The customer store has data already: demo not seeded.")
            return
        if (
            Product.objects.filter(external_id__startswith="SKU-").exists()
            or Profile.objects.filter(external_id__startswith="cust-").exists()
        ):
            raise CommandError("Demo data exists already (SKU-/cust- ids). Seed into an empty database.")
        if demo_audiences_exist():
            raise CommandError(
                "Demo audiences exist already (the slugs of audiences/demo.py). Seed into an empty database."
            )
        sizes = DemoSizes(
            profiles=options["profiles"],
            products=options["products"],
            bookings_per_profile=options["bookings_per_profile"],
            purchases_per_profile=options["purchases_per_profile"],
        )
        if sizes.profiles < 0 or sizes.products < 1:
            raise CommandError("--profiles must be >= 0 and --products >= 1.")
        bar = tqdm(total=sizes.profiles, unit="profiles", file=sys.stderr,
                   disable=options["no_progress"] or not self.stderr.isatty())  # fmt: skip
        started = time.monotonic()
        counts = DemoBuilder(
            sizes=sizes, seed=options["seed"], progress=lambda label, n: bar.update(n) if label == "profiles" else None
        ).build()
        bar.close()
        snapshots = seed_demo_audiences()
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {summary} in {time.monotonic() - started:.1f}s."))
        sizes = ", ".join(f"{snapshot.audience.name} ({snapshot.size:,})" for snapshot in snapshots.values())
        self.stdout.write(self.style.SUCCESS(f"Calculated {len(snapshots)} audiences: {sizes}."))
