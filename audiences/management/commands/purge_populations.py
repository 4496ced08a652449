import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from audiences.populations import population_purge
from audiences.services import snapshots_prune


class Command(BaseCommand):
    help = (
        "Retention: keep the newest AUDIENCE_SNAPSHOTS_KEPT snapshots per audience, then delete "
        "populations older than POPULATION_RETENTION_HOURS that nothing references."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=None, help="Override POPULATION_RETENTION_HOURS.")
        parser.add_argument("--keep", type=int, default=None, help="Override AUDIENCE_SNAPSHOTS_KEPT.")

    def handle(self, *args, hours, keep, **options):
        snapshots = snapshots_prune(keep=keep or settings.AUDIENCE_SNAPSHOTS_KEPT)
        cutoff = timezone.now() - dt.timedelta(hours=settings.POPULATION_RETENTION_HOURS if hours is None else hours)
        populations, members = population_purge(older_than=cutoff)
        self.stdout.write(f"Deleted {snapshots} old snapshots, {populations} populations ({members} member rows).")
