from django.core.management.base import BaseCommand
from django_q.models import Schedule

# The system's own periodic tasks, installed by name (idempotent). Per-audience and per-campaign
# schedules are managed by their apps when those are saved; this command installs the system's.
SYSTEM_SCHEDULES = [
    {
        "name": "system.heartbeat",
        "func": "config.tasks.heartbeat",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "system.purge_populations",
        "func": "audiences.tasks.purge_populations",
        "schedule_type": Schedule.HOURLY,
    },
]


class Command(BaseCommand):
    help = "Install or update the system's periodic django-q2 schedules (safe to run any number of times)."

    def handle(self, *args, **options):
        for spec in SYSTEM_SCHEDULES:
            defaults = {key: value for key, value in spec.items() if key != "name"}
            _, created = Schedule.objects.update_or_create(name=spec["name"], defaults=defaults)
            self.stdout.write(f"{'Installed' if created else 'Updated'} schedule {spec['name']}")
