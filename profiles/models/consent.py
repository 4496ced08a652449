"""Consent (current state + append-only history), suppressions and push devices."""

from django.db import models
from django.utils.formats import date_format
from django.utils.timezone import localtime
from simple_history.models import HistoricalRecords

from profiles.models.profile import Profile


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms", "SMS"
    PUSH = "push"
    DIRECT_MAIL = "direct_mail", "Direct mail"


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"


class Consent(models.Model):
    """The current consent of a profile on a channel: the newest event by occurred_at wins."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=ConsentStatus.choices)
    source = models.CharField(max_length=100, blank=True, default="")
    occurred_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "channel"], name="consent_profile_channel_uniq")]
        indexes = [models.Index(fields=["channel", "status"], name="consent_channel_status_idx")]

    def __str__(self):
        return f"{self.channel}: {self.status}"


class ConsentEvent(models.Model):
    """One consent change as reported; never updated, never deleted except by erasure."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=ConsentStatus.choices)
    source = models.CharField(max_length=100, blank=True, default="")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["profile", "channel", "occurred_at"], name="consentevent_lookup_idx")]

    def __str__(self):
        return f"{self.channel}: {self.status} at {date_format(localtime(self.occurred_at), 'DATETIME_FORMAT')}"


class Suppression(models.Model):
    """An address that must never be sent to on a channel, whoever it belongs to."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        COMPLAINT = "complaint"
        UNSUBSCRIBED = "unsubscribed"
        MANUAL = "manual"

    channel = models.CharField(max_length=20, choices=Channel.choices)
    address = models.CharField(max_length=254, help_text="Email lower-cased, phone in E.164, push token.")
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.MANUAL)
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="suppression_channel_address_uniq")]

    def __str__(self):
        return f"{self.channel}:{self.address} ({self.reason})"


class PushDevice(models.Model):
    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="push_devices")
    token = models.CharField(max_length=512, unique=True)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "push device"

    def __str__(self):
        return f"{self.platform} device of {self.profile_id}"
