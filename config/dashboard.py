"""What the admin's first page shows: the counts that matter today, for what the user may see.

Reads only, and cheap at millions of rows: table sizes are capped counts or, on PostgreSQL, the
planner's estimate (config/admin_utils.CappedCountPaginator), never a full COUNT(*) per page view.
Audiences and their calculations are small tables. Superusers also get the worker's state.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from config.admin_utils import CappedCountPaginator

AUDIENCES_SHOWN = 8
FAILURES_SHOWN = 5
FAILURES_WITHIN = timedelta(days=7)
# A calculation's state in the words of the audience page.
STATE_WORDS = {"queued": "queued", "running": "calculating", "done": "calculated", "failed": "failed"}


class DashboardCount(CappedCountPaginator):
    count_cap = 100_000


@dataclass(frozen=True)
class Figure:
    label: str
    count: int
    note: str  # "" for an exact count, else "more than 100,000" / "about 1,200,000"
    url: str

    @property
    def text(self) -> str:
        return self.note or f"{self.count:,}"


def capped_figure(label: str, queryset: QuerySet, url: str) -> Figure:
    counter = DashboardCount(queryset.order_by("pk"), per_page=1)  # ordered: the paginator asks; the count drops it
    return Figure(label=label, count=counter.count, note=counter.count_note, url=url)


def customer_data() -> dict:
    from profiles.models import Channel, Consent, ConsentStatus, Profile, Suppression

    consents_url = reverse("admin:profiles_consent_changelist")
    consents = [
        {
            "channel": label,
            "opted_in": capped_figure(
                "opted in", Consent.objects.filter(channel=value, status=ConsentStatus.OPTED_IN),
                f"{consents_url}?channel__exact={value}&status__exact={ConsentStatus.OPTED_IN}",
            ),
            "opted_out": capped_figure(
                "opted out", Consent.objects.filter(channel=value, status=ConsentStatus.OPTED_OUT),
                f"{consents_url}?channel__exact={value}&status__exact={ConsentStatus.OPTED_OUT}",
            ),
        }
        for value, label in Channel.choices
    ]  # fmt: skip
    return {
        "profiles": capped_figure("profiles", Profile.objects.all(), reverse("admin:profiles_profile_changelist")),
        "suppressions": capped_figure(
            "suppressed addresses", Suppression.objects.all(), reverse("admin:profiles_suppression_changelist")
        ),
        "consents": consents,
    }


def audiences() -> dict:
    from audiences.models import Audience, AudienceSnapshot

    newest = AudienceSnapshot.objects.filter(audience=OuterRef("pk")).order_by("-created_at")
    rows = (
        Audience.objects.select_related("latest_snapshot")
        .annotate(last_state=Subquery(newest.values("state")[:1]), last_at=Subquery(newest.values("created_at")[:1]))
        .order_by("-last_at", "name")[:AUDIENCES_SHOWN]
    )
    failures = (
        AudienceSnapshot.objects.filter(
            state=AudienceSnapshot.State.FAILED, created_at__gte=timezone.now() - FAILURES_WITHIN
        )
        .select_related("audience")
        .order_by("-created_at")[:FAILURES_SHOWN]
    )
    return {
        "total": Audience.objects.count(),
        "rows": [_audience_row(audience) for audience in rows],
        "failures": [
            {
                "audience": snapshot.audience.name,
                "url": reverse("admin:audiences_audience_change", args=[snapshot.audience_id]),
                "at": snapshot.created_at,
                "error": snapshot.error.splitlines()[0] if snapshot.error else "no message recorded",
            }
            for snapshot in failures
        ],
        "changelist_url": reverse("admin:audiences_audience_changelist"),
        "add_url": reverse("admin:audiences_audience_add"),
    }


def _audience_row(audience) -> dict:
    members = audience.latest_snapshot
    return {
        "name": audience.name,
        "url": reverse("admin:audiences_audience_change", args=[audience.pk]),
        "kind": audience.get_kind_display(),
        "dimension": audience.dimension_label,
        "size": f"{members.size:,}" if members and members.size is not None else "",
        "calculated_at": members.evaluated_at if members else None,
        # The newest calculation, which may be under way or have failed since the members above.
        "last_state": STATE_WORDS.get(audience.last_state, audience.last_state or ""),
        "failed": audience.last_state == "failed",
        "last_at": audience.last_at,
    }


def operations() -> dict:
    from django_q.conf import Conf
    from django_q.models import Failure, OrmQ

    from config.models import WorkerHeartbeat

    seen = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    alive = seen is not None and timezone.now() - seen <= timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    return {
        "worker_seen_at": seen,
        "worker_alive": alive,
        # The queue is a table only with the database as broker (a Redis queue is not counted here).
        "queued": capped_figure("queued", OrmQ.objects.all(), reverse("admin:django_q_ormq_changelist"))
        if Conf.ORM
        else None,
        "failed": capped_figure(
            "failed in the last day",
            Failure.objects.filter(stopped__gte=timezone.now() - timedelta(days=1)),
            reverse("admin:django_q_failure_changelist"),
        ),
    }


def dashboard(user) -> dict:
    """The panels `user` may see, keyed by name (absent when not allowed)."""
    panels: dict = {}
    if user.has_perm("profiles.view_profile"):
        panels["customer_data"] = customer_data()
    if user.has_perm("audiences.view_audience"):
        panels["audiences"] = audiences()
    if user.is_active and user.is_superuser:
        panels["operations"] = operations()
    return panels
