from django.db import models
from simple_history.models import HistoricalRecords

from profiles.models.base import ExternalKeyed


class Profile(ExternalKeyed):
    """A customer: the root of the relational store and the target of every send."""

    email = models.CharField(max_length=254, blank=True, default="", help_text="Stored lower-cased.")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164, e.g. +351912345678.")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    locale = models.CharField(max_length=20, blank=True, default="", help_text="BCP 47, e.g. pt-PT.")
    timezone = models.CharField(max_length=64, blank=True, default="", help_text="IANA name, e.g. Europe/Lisbon.")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2.")
    city = models.CharField(max_length=100, blank=True, default="")
    address_line1 = models.CharField(max_length=200, blank=True, default="")
    address_line2 = models.CharField(max_length=200, blank=True, default="")
    postal_code = models.CharField(max_length=20, blank=True, default="")
    region = models.CharField(max_length=100, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True)
    loyalty_tier = models.CharField(max_length=30, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True, help_text="Custom traits.")

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    class Meta:
        indexes = [
            models.Index(fields=["email"], name="profile_email_idx"),
            models.Index(fields=["phone"], name="profile_phone_idx"),
            models.Index(fields=["country"], name="profile_country_idx"),
            models.Index(fields=["loyalty_tier"], name="profile_tier_idx"),
        ]

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def __str__(self):
        name = self.full_name
        return f"{name} ({self.external_id})" if name else self.external_id
