"""Reading audiences: previews, samples and distributions. Nothing here writes.

Samples show what a row is (external ids, the dimension's display fields) only with `details`,
which the interfaces grant to users who may view profiles (`audiences.selectors.MEMBER_DETAILS`);
without it a sample row is its object id alone.
"""

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from audiences import dimensions as dims
from audiences.models import AudienceSnapshot
from audiences.populations import population_objects
from audiences.rules.compiler import compile_rule
from audiences.rules.parser import field_path, parse_rule
from audiences.services.evaluation import _tune_session
from audiences.services.reachability import queryset_reachability
from audiences.services.references import RuleTimeout, preview_resolver
from audiences.timeouts import StatementTimeout, seconds, statement_timeout

SAMPLE_SIZE = 20


def _sample(dimension: dims.Dimension, queryset, size: int, *, details: bool) -> list[dict[str, Any]]:
    if not details:
        return [{"id": pk} for pk in queryset.order_by("?").values_list("pk", flat=True)[:size]]
    names = ["pk", *(["external_id"] if _has_external_id(dimension) else []), *dimension.display_fields]
    if dimension.profile_id_path and dimension.profile_id_path != "pk":
        names.append(f"{dimension.profile_path}__external_id")
    rows = queryset.order_by("?").values(*names)[:size]
    renamed = []
    for row in rows:
        row["id"] = row.pop("pk")
        if dimension.profile_path:
            row["profile_external_id"] = row.pop(f"{dimension.profile_path}__external_id")
        renamed.append(row)
    return renamed


def _has_external_id(dimension: dims.Dimension) -> bool:
    return any(f.name == "external_id" for f in dimension.model._meta.concrete_fields)


def audience_preview(
    *, dimension: str, rule: Any, sample_size: int = SAMPLE_SIZE, details: bool = False, now=None,
    reachability: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Count and a random sample of a rule's matches; nothing is written. An audience it refers
    to is read from its latest snapshot or, never calculated, compiled in place from its own rule
    (so the count is the one "Calculate" will give); one that cannot be raises
    AudienceNotEvaluated. Each statement runs under AUDIENCE_PREVIEW_TIMEOUT_MS (RuleTimeout).
    With `reachability`, the answer has the matches' reachability per channel too (NoProfiles for
    a dimension without profiles)."""
    now = now or timezone.now()
    node = parse_rule(dimension, rule, resolve_audience=preview_resolver())
    dim = dims.get(dimension)
    started = time.monotonic()
    limit = settings.AUDIENCE_PREVIEW_TIMEOUT_MS
    try:
        with transaction.atomic(), statement_timeout(limit):
            _tune_session()
            queryset = compile_rule(dim, node, now=now)
            count = queryset.count()
            sample = _sample(dim, queryset, sample_size, details=details) if count else []
            reached = queryset_reachability(dimension=dim, queryset=queryset) if reachability else None
    except StatementTimeout:
        evaluation = settings.AUDIENCE_EVALUATION_TIMEOUT_MS
        raise RuleTimeout(
            f"The rule took longer than {seconds(limit)} to count and was stopped (AUDIENCE_PREVIEW_TIMEOUT_MS). "
            "Save the audience and calculate it instead "
            f"({f'a calculation may take up to {seconds(evaluation)}' if evaluation else 'a calculation has no limit'}), "
            "or narrow the rule.",
            timeout_ms=limit,
        ) from None
    result = {"count": count, "sample": sample, "duration_ms": round((time.monotonic() - started) * 1000)}
    return {**result, "reachability": reached} if reachability else result


def snapshot_sample(
    *, snapshot: AudienceSnapshot, size: int = SAMPLE_SIZE, details: bool = False
) -> list[dict[str, Any]]:
    if snapshot.population is None:
        return []
    dimension = dims.get(snapshot.population.dimension)
    return _sample(dimension, population_objects(snapshot.population, dimension), size, details=details)


def distribution(*, dimension: str, queryset, field: str, top: int = 20) -> list[dict[str, Any]]:
    """The `top` most frequent values of a whitelisted field among the queryset's rows."""
    path = field_path(dims.get(dimension), field)
    rows = queryset.order_by().values(path).annotate(count=Count("pk")).order_by("-count", path)[:top]
    return [{"value": row[path], "count": row["count"]} for row in rows]


def snapshot_distribution(*, snapshot: AudienceSnapshot, field: str, top: int = 20) -> list[dict[str, Any]]:
    if snapshot.population is None:
        return []
    population = snapshot.population
    return distribution(dimension=population.dimension, queryset=population_objects(population), field=field, top=top)
