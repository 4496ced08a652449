"""django-q2 entry points of the system itself."""

import socket

from django.utils import timezone

from config.models import WorkerHeartbeat


def heartbeat() -> None:
    """Record that a worker is alive; scheduled every minute by `setup_schedules`."""
    WorkerHeartbeat.objects.update_or_create(name=socket.gethostname()[:100], defaults={"seen_at": timezone.now()})
