from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.formats import date_format
from django.utils.timezone import localtime
from simple_history.models import HistoricalRecords

from audiences import dimensions


class Population(models.Model):
    """A set of targets of one dimension: an audience snapshot, an activity's output..."""

    dimension = models.CharField(max_length=50)
    size = models.BigIntegerField(default=0)
    origin = models.CharField(max_length=100, help_text="What produced it, e.g. audience:12 or preview.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"Population {self.pk} ({self.size} {self.dimension})"


class PopulationMember(models.Model):
    """One row of a population. Narrow on purpose, with a composite primary key and no foreign
    key constraints: populations of millions are written by INSERT ... SELECT and must be cheap."""

    pk = models.CompositePrimaryKey("population_id", "object_id")
    population_id = models.BigIntegerField()
    object_id = models.BigIntegerField()
    profile_id = models.BigIntegerField(null=True)
    data = models.JSONField(null=True)

    class Meta:
        verbose_name = "population member"

    def __str__(self):
        return f"{self.object_id} in population {self.population_id}"


slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lower-case letters, digits and hyphens.")


class Audience(models.Model):
    class Kind(models.TextChoices):
        RULE = "rule", "Rule"
        LIST = "list", "Uploaded list"
        SAVED = "saved", "Saved by a campaign"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True, validators=[slug_validator])
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RULE)
    dimension = models.CharField(max_length=50, default="profile")
    rule = models.JSONField(null=True, blank=True, help_text="The targeting rule (kind rule).")
    rule_version = models.PositiveSmallIntegerField(default=1)
    refresh_cron = models.CharField(
        max_length=100, blank=True, default="",
        help_text="Re-evaluate on this schedule (cron, site time zone), e.g. '0 6 * * *'. Empty: on demand only.",
    )  # fmt: skip
    uses = models.ManyToManyField("self", symmetrical=False, related_name="used_by", blank=True, editable=False)
    latest_snapshot = models.ForeignKey(
        "AudienceSnapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["latest_snapshot", "updated_at"])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def dimension_label(self) -> str:
        try:
            return dimensions.get(self.dimension).label
        except KeyError:
            return self.dimension


class AudienceSnapshot(models.Model):
    """One evaluation (or upload) of an audience: its population and how long it took."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="snapshots")
    population = models.ForeignKey(Population, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    size = models.BigIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=20, default="manual", help_text="manual, api, schedule, upload, campaign")
    error = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True, help_text="e.g. unknown ids of an uploaded list")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["audience", "-created_at"], name="snapshot_audience_idx")]

    def __str__(self):
        when = date_format(localtime(self.evaluated_at or self.created_at), "DATETIME_FORMAT")
        return f"{self.audience} @ {when} ({self.state})"
