"""What customers do: subscriptions, bookings and purchases (the demo domain's to-many entities)."""

from django.db import models
from simple_history.models import HistoricalRecords

from profiles.models.base import ExternalKeyed
from profiles.models.catalog import Plan, Product
from profiles.models.profile import Profile


class Subscription(ExternalKeyed):
    class Status(models.TextChoices):
        TRIALING = "trialing"
        ACTIVE = "active"
        PAST_DUE = "past_due"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(null=True, blank=True)
    renews_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    class Meta:
        indexes = [
            models.Index(fields=["status", "renews_at"], name="subscription_status_idx"),
        ]


class Booking(ExternalKeyed):
    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"
        COMPLETED = "completed"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="bookings")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    check_in = models.DateField(null=True, blank=True)
    check_out = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    booked_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    class Meta:
        indexes = [
            models.Index(fields=["status", "check_in"], name="booking_status_checkin_idx"),
            models.Index(fields=["check_in"], name="booking_checkin_idx"),
        ]


class Purchase(ExternalKeyed):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="purchases")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchases")
    quantity = models.PositiveIntegerField(default=1)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True, default="")
    purchased_at = models.DateTimeField()

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    class Meta:
        indexes = [
            models.Index(fields=["profile", "purchased_at"], name="purchase_profile_at_idx"),
            models.Index(fields=["purchased_at"], name="purchase_at_idx"),
        ]
