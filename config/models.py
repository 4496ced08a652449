from django.db import models
from rest_framework.authtoken.models import TokenProxy


class WorkerHeartbeat(models.Model):
    """The last time a background worker ran the heartbeat task (read by /healthz)."""

    name = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = "worker heartbeat"

    def __str__(self):
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


def masked_key(key: str | None) -> str:
    """The first characters of an API key, enough to tell keys apart, never enough to use one."""
    return f"{key[:4]}…" if key else ""


class ApiKey(TokenProxy):
    """A user's API key (DRF token) as the admin handles it: named by its user and a masked key,
    so the full key never reaches page titles, messages or the admin log (config/admin/api_keys.py)."""

    class Meta:
        proxy = True
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self):
        return f"{self.user} ({masked_key(self.key)})"
