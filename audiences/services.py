"""Audience use cases: create/update with validation, evaluate, preview, upload a list, delete."""

import time
from collections.abc import Callable
from typing import Any

from croniter import croniter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django_q.models import Schedule

from audiences import dimensions as dims
from audiences.models import Audience, AudienceSnapshot, Population
from audiences.populations import (
    population_create,
    population_from_queryset,
    population_insert_queryset,
    population_objects,
    register_population_reference,
)
from audiences.rules.compiler import compile_rule
from audiences.rules.nodes import Node
from audiences.rules.parser import RuleError, _Context, parse_rule, referenced_audiences, resolve_field

SAMPLE_SIZE = 20


class AudienceError(ValueError):
    """A request that cannot be done to this audience; the message says why."""


class AudienceInUse(AudienceError):
    def __init__(self, audience: Audience, usages: list[str]):
        self.usages = usages
        super().__init__(f'"{audience.name}" cannot be deleted: it is used by {"; ".join(usages)}.')


# Apps that use audiences (campaigns) register a finder: audience -> ["campaign X (live)", ...].
_usage_finders: list[Callable[[Audience], list[str]]] = []


def register_audience_usage(finder: Callable[[Audience], list[str]]) -> None:
    _usage_finders.append(finder)


register_population_reference(lambda: AudienceSnapshot.objects.exclude(population=None).values("population_id"))


# -- rules ------------------------------------------------------------------------------------


def _referenced(slug: str, *, current: Audience | None) -> Audience:
    audience = Audience.objects.filter(slug=slug).first()
    if audience is None:
        raise ValueError(f'no audience "{slug}"')
    if current is not None and current.pk is not None:
        if audience.pk == current.pk:
            raise ValueError("an audience cannot contain itself")
        if current.pk in _transitive_uses(audience):
            raise ValueError(f'audience "{slug}" already uses this audience (a cycle)')
    return audience


def _transitive_uses(audience: Audience) -> set[int]:
    seen: set[int] = set()
    frontier = {audience.pk}
    while frontier:
        through = Audience.uses.through.objects.filter(from_audience_id__in=frontier)
        frontier = set(through.values_list("to_audience_id", flat=True)) - seen
        seen |= frontier
    return seen


def rule_validate(*, dimension: str, rule: Any, audience: Audience | None = None) -> Node:
    """Parse a rule for saving or previewing: audience references are checked (they exist, same
    dimension, no cycle) but not evaluated. Raises RuleError."""

    def resolve(slug: str) -> tuple[str, int]:
        referenced = _referenced(slug, current=audience)
        snapshot_population = referenced.latest_snapshot.population_id if referenced.latest_snapshot_id else 0
        return referenced.dimension, snapshot_population or 0

    return parse_rule(dimension, rule, resolve_audience=resolve)


def _evaluation_resolver(audience: Audience | None, now, stack: tuple[int, ...]):
    def resolve(slug: str) -> tuple[str, int]:
        referenced = _referenced(slug, current=audience)
        if referenced.pk in stack:
            raise ValueError(f'audience "{slug}" refers back to this one (a cycle)')
        snapshot = referenced.latest_snapshot
        if snapshot is None or snapshot.population_id is None:
            if referenced.kind != Audience.Kind.RULE:
                raise ValueError(f'audience "{slug}" has no members yet')
            snapshot = _evaluate(referenced, trigger="dependency", now=now, stack=stack)
        return referenced.dimension, snapshot.population_id

    return resolve


# -- create, update, delete -----------------------------------------------------------------------


def audience_validate(*, audience: Audience) -> None:
    """Check an audience as `audience_save` would, without saving: raises ValidationError with
    a message list per field (the rule's messages carry their paths)."""
    errors: dict[str, list[str]] = {}
    try:
        dims.get(audience.dimension)
    except KeyError:
        errors["dimension"] = [f'unknown dimension "{audience.dimension}"']
    if audience.kind == Audience.Kind.RULE and "dimension" not in errors:
        if audience.rule is None:
            errors["rule"] = ["a rule audience needs a rule"]
        else:
            try:
                rule_validate(dimension=audience.dimension, rule=audience.rule, audience=audience)
            except RuleError as exc:
                errors["rule"] = [f"{path}: {message}" if path else message for path, message in exc.problems]
    elif audience.kind != Audience.Kind.RULE and audience.rule:
        errors["rule"] = ["only rule audiences have a rule"]
    if audience.refresh_cron:
        if audience.kind != Audience.Kind.RULE:
            errors["refresh_cron"] = ["only rule audiences are re-evaluated on a schedule"]
        elif not croniter.is_valid(audience.refresh_cron):
            errors["refresh_cron"] = [f'"{audience.refresh_cron}" is not a cron expression (e.g. "0 6 * * *")']
    if audience.pk:
        previous = Audience.objects.filter(pk=audience.pk).values("slug", "dimension").first()
        if previous and previous["slug"] != audience.slug and audience.used_by.exists():
            errors["slug"] = ["other audiences refer to this slug; it cannot change while they do"]
        if previous and previous["dimension"] != audience.dimension and audience.snapshots.exists():
            errors["dimension"] = ["an evaluated audience keeps its dimension; create a new audience instead"]
    try:
        audience.full_clean(exclude=["rule"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def audience_save(*, audience: Audience, acting_user=None) -> Audience:
    """Create or update an audience: validate everything (the rule with its paths), save,
    record which audiences it uses, and install or remove its refresh schedule."""
    audience_validate(audience=audience)
    if audience.pk is None and acting_user is not None and acting_user.is_authenticated:
        audience.created_by = acting_user
    audience.save()
    slugs = referenced_audiences(audience.rule) if audience.kind == Audience.Kind.RULE else set()
    audience.uses.set(Audience.objects.filter(slug__in=slugs))
    _sync_schedule(audience)
    return audience


def _schedule_name(audience: Audience) -> str:
    return f"audience:{audience.pk}"


def _sync_schedule(audience: Audience) -> None:
    if not audience.refresh_cron:
        Schedule.objects.filter(name=_schedule_name(audience)).delete()
        return
    from datetime import datetime

    Schedule.objects.update_or_create(
        name=_schedule_name(audience),
        defaults={
            "func": "audiences.tasks.evaluate_audience",
            "kwargs": repr({"audience_id": audience.pk, "trigger": "schedule"}),
            "schedule_type": Schedule.CRON,
            "cron": audience.refresh_cron,
            "repeats": -1,
            "next_run": croniter(audience.refresh_cron, timezone.localtime()).get_next(datetime),
        },
    )


def audience_usages(audience: Audience) -> list[str]:
    usages = [f'audience "{other.name}" ({other.slug})' for other in audience.used_by.order_by("name")]
    for finder in _usage_finders:
        usages += finder(audience)
    return usages


@transaction.atomic
def audience_delete(*, audience: Audience) -> None:
    usages = audience_usages(audience)
    if usages:
        raise AudienceInUse(audience, usages)
    Schedule.objects.filter(name=_schedule_name(audience)).delete()
    Audience.objects.filter(pk=audience.pk).update(latest_snapshot=None)
    audience.delete()  # snapshots go with it; their populations are purged by retention


# -- evaluation -------------------------------------------------------------------------------


def _tune_session() -> None:
    """On PostgreSQL, let grouped and anti-join subqueries hash in memory for this transaction."""
    if connection.vendor == "postgresql" and settings.AUDIENCE_EVALUATION_WORK_MEM:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.AUDIENCE_EVALUATION_WORK_MEM])


def _evaluate(audience: Audience, *, trigger: str, now=None, stack: tuple[int, ...] = (), snapshot=None, user=None):
    if audience.kind != Audience.Kind.RULE:
        raise AudienceError(
            f'"{audience.name}" is {audience.get_kind_display().lower()}: it is uploaded or saved, not evaluated.'
        )
    now = now or timezone.now()
    if snapshot is None:
        snapshot = AudienceSnapshot.objects.create(
            audience=audience, state=AudienceSnapshot.State.RUNNING, trigger=trigger, requested_by=user
        )
    started = time.monotonic()
    try:
        dimension = dims.get(audience.dimension)
        with transaction.atomic():
            node = parse_rule(
                dimension, audience.rule, resolve_audience=_evaluation_resolver(audience, now, (*stack, audience.pk))
            )
            _tune_session()
            population = population_from_queryset(
                dimension=dimension, queryset=compile_rule(dimension, node, now=now), origin=f"audience:{audience.pk}"
            )
            snapshot.population = population
            snapshot.size = population.size
            snapshot.state = AudienceSnapshot.State.DONE
            snapshot.evaluated_at = now
            snapshot.duration_ms = round((time.monotonic() - started) * 1000)
            snapshot.error = ""
            snapshot.save()
            Audience.objects.filter(pk=audience.pk).update(latest_snapshot=snapshot)
            audience.latest_snapshot = snapshot
    except Exception as exc:
        AudienceSnapshot.objects.filter(pk=snapshot.pk).update(
            state=AudienceSnapshot.State.FAILED, error=str(exc)[:2000],
            duration_ms=round((time.monotonic() - started) * 1000),
        )  # fmt: skip
        raise
    return snapshot


def audience_evaluate(*, audience: Audience, acting_user=None, trigger: str = "manual", now=None) -> AudienceSnapshot:
    """Evaluate a rule audience now: its members are written to a new snapshot's population."""
    return _evaluate(audience, trigger=trigger, now=now, user=acting_user)


def audience_request_evaluation(*, audience: Audience, acting_user=None, trigger: str = "api") -> AudienceSnapshot:
    """Queue an evaluation on the workers; the snapshot's state shows its progress."""
    if audience.kind != Audience.Kind.RULE:
        raise AudienceError(
            f'"{audience.name}" is {audience.get_kind_display().lower()}: it is uploaded or saved, not evaluated.'
        )
    snapshot = AudienceSnapshot.objects.create(audience=audience, trigger=trigger, requested_by=acting_user)
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task("audiences.tasks.run_snapshot", snapshot.pk, task_name=f"audience:{audience.pk}")
    )
    return snapshot


def snapshot_run(*, snapshot_id: int) -> AudienceSnapshot | None:
    """Run a queued evaluation; does nothing if another worker claimed it already."""
    claimed = AudienceSnapshot.objects.filter(pk=snapshot_id, state=AudienceSnapshot.State.QUEUED).update(
        state=AudienceSnapshot.State.RUNNING
    )
    if not claimed:
        return None
    snapshot = AudienceSnapshot.objects.select_related("audience").get(pk=snapshot_id)
    return _evaluate(snapshot.audience, trigger=snapshot.trigger, snapshot=snapshot)


@transaction.atomic
def audience_save_population(
    *, audience: Audience, population: Population, trigger: str = "campaign"
) -> AudienceSnapshot:
    """Record a population (written by a campaign's Save audience activity) as the audience's members."""
    if audience.kind != Audience.Kind.SAVED:
        raise AudienceError(f'"{audience.name}" is not a saved audience.')
    if population.dimension != audience.dimension:
        raise AudienceError(f"The population is over {population.dimension}, the audience over {audience.dimension}.")
    snapshot = AudienceSnapshot.objects.create(
        audience=audience, population=population, size=population.size, state=AudienceSnapshot.State.DONE,
        evaluated_at=timezone.now(), duration_ms=0, trigger=trigger,
    )  # fmt: skip
    Audience.objects.filter(pk=audience.pk).update(latest_snapshot=snapshot)
    return snapshot


def audience_upload_list(
    *,
    audience: Audience,
    values: list[str],
    key: str = "external_id",
    acting_user=None,
    max_unknown_reported: int = 100,
) -> AudienceSnapshot:
    """Replace a list audience's members with the rows named by `values` (external ids, or
    emails for profiles). Unknown values are counted and the first ones reported."""
    if audience.kind != Audience.Kind.LIST:
        raise AudienceError(f'"{audience.name}" is not an uploaded list audience.')
    dimension = dims.get(audience.dimension)
    allowed = {"external_id"} | ({"email"} if dimension.key == "profile" else set())
    if key not in allowed or key not in {f.name for f in dimension.model._meta.concrete_fields}:
        raise AudienceError(
            f"Members of a {dimension.key} list are named by {' or '.join(sorted(allowed))}, not {key!r}."
        )
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = str(value).strip()
        if key == "email":
            text = text.lower()
        if text and text not in seen:
            seen.add(text)
            cleaned.append(text)
    started = time.monotonic()
    manager = dimension.model._default_manager
    with transaction.atomic():
        population = population_create(dimension=dimension.key, origin=f"audience:{audience.pk}:upload")
        unknown: list[str] = []
        unknown_count = size = 0
        for start in range(0, len(cleaned), 5000):
            chunk = cleaned[start : start + 5000]
            rows = manager.filter(**{f"{key}__in": chunk})
            if key == "email":  # several profiles may share an email: all are members
                rows = rows.order_by()
            found = set(rows.values_list(key, flat=True))
            missing = [value for value in chunk if value not in found]
            unknown_count += len(missing)
            unknown.extend(missing[: max(0, max_unknown_reported - len(unknown))])
            size += population_insert_queryset(population=population, dimension=dimension, queryset=rows)
        Population.objects.filter(pk=population.pk).update(size=size)
        population.size = size
        snapshot = AudienceSnapshot.objects.create(
            audience=audience, population=population, size=size, state=AudienceSnapshot.State.DONE,
            evaluated_at=timezone.now(), duration_ms=round((time.monotonic() - started) * 1000),
            trigger="upload", requested_by=acting_user,
            details={"key": key, "values": len(cleaned), "unknown_count": unknown_count, "unknown": unknown},
        )  # fmt: skip
        Audience.objects.filter(pk=audience.pk).update(latest_snapshot=snapshot)
    return snapshot


# -- reading members and previews -------------------------------------------------------------------


def _sample(dimension: dims.Dimension, queryset, size: int) -> list[dict[str, Any]]:
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


def audience_preview(*, dimension: str, rule: Any, sample_size: int = SAMPLE_SIZE, now=None) -> dict[str, Any]:
    """Count and a random sample of a rule's matches; nothing of the rule is saved. An audience it
    refers to that was never evaluated is evaluated first (as evaluation would), so the count is
    the one "Calculate" will give."""
    now = now or timezone.now()
    node = parse_rule(dimension, rule, resolve_audience=_evaluation_resolver(None, now, ()))
    dim = dims.get(dimension)
    started = time.monotonic()
    with transaction.atomic():
        _tune_session()
        queryset = compile_rule(dim, node, now=now)
        count = queryset.count()
        sample = _sample(dim, queryset, sample_size) if count else []
    return {"count": count, "sample": sample, "duration_ms": round((time.monotonic() - started) * 1000)}


def snapshot_sample(*, snapshot: AudienceSnapshot, size: int = SAMPLE_SIZE) -> list[dict[str, Any]]:
    if snapshot.population is None:
        return []
    dimension = dims.get(snapshot.population.dimension)
    return _sample(dimension, population_objects(snapshot.population, dimension), size)


def distribution(*, dimension: str, queryset, field: str, top: int = 20) -> list[dict[str, Any]]:
    """The `top` most frequent values of a whitelisted field among the queryset's rows."""
    dim = dims.get(dimension)
    context = _Context(resolve_audience=None)
    resolved = resolve_field(dim, field, "field", context)
    if resolved is None:
        raise RuleError(context.problems)
    path = resolved[1]
    rows = queryset.order_by().values(path).annotate(count=Count("pk")).order_by("-count", path)[:top]
    return [{"value": row[path], "count": row["count"]} for row in rows]


def snapshot_distribution(*, snapshot: AudienceSnapshot, field: str, top: int = 20) -> list[dict[str, Any]]:
    if snapshot.population is None:
        return []
    population = snapshot.population
    return distribution(dimension=population.dimension, queryset=population_objects(population), field=field, top=top)


def snapshots_prune(*, keep: int) -> int:
    """Delete all but the newest `keep` finished snapshots of every audience (never the latest)."""
    deleted = 0
    for audience in Audience.objects.all().only("pk", "latest_snapshot_id"):
        old = audience.snapshots.exclude(pk=audience.latest_snapshot_id).order_by("-created_at")[max(keep - 1, 0) :]
        ids = list(old.values_list("pk", flat=True))
        if ids:
            deleted += AudienceSnapshot.objects.filter(pk__in=ids).delete()[0]
    return deleted
