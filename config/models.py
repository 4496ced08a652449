from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a background worker ran the heartbeat task (read by /healthz)."""

    name = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = "worker heartbeat"

    def __str__(self):
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
