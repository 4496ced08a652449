"""The audience page's results area (audiences.admin.tools): the distribution's default field and
rows, the size-over-time chart of the done snapshots, and the audiences that use this one."""

from typing import Any

from django.urls import reverse

from audiences import dimensions as dims
from audiences.models import Audience, AudienceSnapshot
from audiences.services import snapshot_distribution

# The field a marketer asks about first, per dimension; other dimensions open on their first
# choice field (a status, a channel), else on their first field.
DEFAULT_DISTRIBUTION = {"profile": "country", "booking": "status"}
CHART_POINTS = 30  # the latest done snapshots drawn
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 320, 80, 6


def default_distribution_field(dimension: str, choices: list[tuple[str, str]]) -> str:
    keys = [key for key, _ in choices]
    preferred = DEFAULT_DISTRIBUTION.get(dimension)
    if preferred in keys:
        return preferred
    choice_fields = [field.name for field in dims.fields_of(dims.get(dimension)) if field.type == dims.CHOICE]
    for name in choice_fields:
        if name in keys:
            return name
    return keys[0] if keys else ""


def distribution_rows(snapshot: AudienceSnapshot, field: str) -> list[dict[str, Any]]:
    """The top values with their share of the snapshot (a percentage, one decimal)."""
    total = snapshot.size or 0
    rows = snapshot_distribution(snapshot=snapshot, field=field)
    return [{**row, "share": round(100 * row["count"] / total, 1) if total else 0} for row in rows]


def size_chart(audience: Audience) -> dict[str, Any] | None:
    """The sizes of the latest done snapshots by evaluated_at, as the points of an inline SVG
    polyline; None with fewer than two snapshots (one point is not a trend)."""
    snapshots = list(
        audience.snapshots.filter(state=AudienceSnapshot.State.DONE, size__isnull=False, evaluated_at__isnull=False)
        .order_by("-evaluated_at")
        .values_list("evaluated_at", "size")[:CHART_POINTS]
    )[::-1]
    if len(snapshots) < 2:
        return None
    first, last = snapshots[0][0].timestamp(), snapshots[-1][0].timestamp()
    sizes = [size for _, size in snapshots]
    low, high = min(sizes), max(sizes)
    span_x, span_y = (last - first) or 1, (high - low) or 1
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    points = []
    for when, size in snapshots:
        x = CHART_PAD + inner_w * (when.timestamp() - first) / span_x
        y = CHART_PAD + inner_h * (1 - (size - low) / span_y) if high != low else CHART_HEIGHT / 2
        points.append({"x": round(x, 1), "y": round(y, 1), "size": f"{size:,}", "when": when})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "points": points,
        "low": f"{low:,}",
        "high": f"{high:,}",
        "first": snapshots[0][0],
        "last": snapshots[-1][0],
    }


def used_by(audience: Audience) -> list[dict[str, str]]:
    """The audiences whose rules reference this one, linked to their pages."""
    return [
        {"name": other.name, "url": reverse("admin:audiences_audience_change", args=[other.pk])}
        for other in audience.used_by.order_by("name").only("pk", "name")
    ]
