"""Populations as SQL: every operation is one INSERT ... SELECT run by the database.

Ids are never pulled into Python. These services are what audience evaluation and, later,
the campaign activities (combine, deduplication, split, change dimension...) are built from.
"""

from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models import BigIntegerField, F, Q, QuerySet, Value, Window
from django.db.models.functions import RowNumber

from audiences import dimensions as dims
from audiences.models import Population, PopulationMember

_MEMBER = PopulationMember._meta.db_table


def _table() -> str:
    return connection.ops.quote_name(_MEMBER)


def population_create(*, dimension: str, origin: str) -> Population:
    return Population.objects.create(dimension=dimension, origin=origin[:100])


def _finish(population: Population, size: int) -> Population:
    population.size = size
    Population.objects.filter(pk=population.pk).update(size=size)
    return population


def population_insert_queryset(*, population: Population, dimension: dims.Dimension, queryset: QuerySet) -> int:
    """Add the queryset's rows of `dimension` to the population; returns the rows written."""
    profile = F(dimension.profile_id_path) if dimension.profile_id_path else Value(None)
    rows = (
        queryset.order_by()
        .annotate(
            _population=Value(population.pk, output_field=BigIntegerField()),
            _object=F("pk"),
            _profile=profile if dimension.profile_id_path else Value(None, output_field=BigIntegerField()),
        )
        .values_list("_population", "_object", "_profile")
        # In object id order, rows append at the right edge of the primary key instead of landing
        # on random pages; a plan that already reads in id order is not sorted again.
        .order_by("_object")
    )
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_table()} (population_id, object_id, profile_id) {sql}", params)
        return cursor.rowcount


@transaction.atomic
def population_from_queryset(*, dimension: dims.Dimension, queryset: QuerySet, origin: str) -> Population:
    population = population_create(dimension=dimension.key, origin=origin)
    return _finish(
        population, population_insert_queryset(population=population, dimension=dimension, queryset=queryset)
    )


def _same_dimension(populations: list[Population]) -> str:
    kinds = {p.dimension for p in populations}
    if len(kinds) != 1:
        raise ValueError(f"Populations of different dimensions cannot be combined: {', '.join(sorted(kinds))}")
    return kinds.pop()


def _insert_sql(population: Population, select: str, params: list) -> Population:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table()} (population_id, object_id, profile_id, data) {select}", [population.pk, *params]
        )
        return _finish(population, cursor.rowcount)


def _placeholders(items) -> str:
    return ", ".join(["%s"] * len(items))


@transaction.atomic
def population_union(*, populations: list[Population], origin: str) -> Population:
    result = population_create(dimension=_same_dimension(populations), origin=origin)
    ids = [p.pk for p in populations]
    return _insert_sql(
        result,
        f"SELECT %s, object_id, MIN(profile_id), NULL FROM {_table()} WHERE population_id IN ({_placeholders(ids)}) "
        "GROUP BY object_id",
        ids,
    )


@transaction.atomic
def population_intersection(*, populations: list[Population], origin: str) -> Population:
    result = population_create(dimension=_same_dimension(populations), origin=origin)
    ids = [p.pk for p in populations]
    return _insert_sql(
        result,
        f"SELECT %s, object_id, MIN(profile_id), NULL FROM {_table()} WHERE population_id IN ({_placeholders(ids)}) "
        "GROUP BY object_id HAVING COUNT(*) = %s",
        [*ids, len(set(ids))],
    )


@transaction.atomic
def population_exclusion(*, base: Population, excluded: list[Population], origin: str) -> Population:
    """Members of `base` that are in none of `excluded` (keeps base's data)."""
    result = population_create(dimension=_same_dimension([base, *excluded]), origin=origin)
    ids = [p.pk for p in excluded]
    table = _table()
    if not ids:
        return _insert_sql(
            result, f"SELECT %s, object_id, profile_id, data FROM {table} WHERE population_id = %s", [base.pk]
        )
    return _insert_sql(
        result,
        f"SELECT %s, a.object_id, a.profile_id, a.data FROM {table} a WHERE a.population_id = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {table} b WHERE b.population_id IN ({_placeholders(ids)}) AND b.object_id = a.object_id)",
        [base.pk, *ids],
    )


@transaction.atomic
def population_sample(*, population: Population, size: int, origin: str) -> Population:
    """`size` members drawn at random (all of them if there are fewer)."""
    result = population_create(dimension=population.dimension, origin=origin)
    return _insert_sql(
        result,
        f"SELECT %s, object_id, profile_id, data FROM {_table()} WHERE population_id = %s ORDER BY random() LIMIT %s",
        [population.pk, max(size, 0)],
    )


@transaction.atomic
def population_limit(*, population: Population, size: int, origin: str) -> Population:
    """The first `size` members by object id (deterministic)."""
    result = population_create(dimension=population.dimension, origin=origin)
    return _insert_sql(
        result,
        f"SELECT %s, object_id, profile_id, data FROM {_table()} WHERE population_id = %s ORDER BY object_id LIMIT %s",
        [population.pk, max(size, 0)],
    )


def population_objects(population: Population, dimension: dims.Dimension | None = None) -> QuerySet:
    """The dimension's rows that are members of the population (a queryset, not loaded)."""
    dimension = dimension or dims.get(population.dimension)
    members = PopulationMember.objects.filter(population_id=population.pk).values("object_id")
    return dimension.model._default_manager.filter(pk__in=members)


@transaction.atomic
def population_deduplicate(
    *, population: Population, fields: list[str], keep: int = 1, origin: str, newest_first: bool = False
) -> Population:
    """Keep at most `keep` members per distinct value of `fields` (whitelisted dimension fields,
    to-one paths allowed); ties are broken by object id (lowest first, or highest if newest_first)."""
    from audiences.rules.parser import RuleError, field_path

    dimension = dims.get(population.dimension)
    if not fields:
        raise RuleError([("fields", "name at least one field")])
    paths = [field_path(dimension, name, path=f"fields[{index}]") for index, name in enumerate(fields)]
    order = F("pk").desc() if newest_first else F("pk").asc()
    ranked = population_objects(population, dimension).annotate(
        _rank=Window(RowNumber(), partition_by=[F(path) for path in paths], order_by=order)
    )
    kept = dimension.model._default_manager.filter(pk__in=ranked.filter(_rank__lte=keep).values("pk"))
    return _finish(result := population_create(dimension=dimension.key, origin=origin),
                   population_insert_queryset(population=result, dimension=dimension, queryset=kept))  # fmt: skip


@transaction.atomic
def population_change_dimension(*, population: Population, path: str, origin: str) -> Population:
    """Move to another dimension along a registered change path: bookings -> their profiles
    (`path`), products -> the profiles who booked them (`reverse`). Each target appears once."""
    source = dims.get(population.dimension)
    change = source.change_path_map.get(path)
    if change is None:
        known = ", ".join(source.change_path_map) or "none"
        raise ValueError(f"{source.key} has no change path {path!r} (known: {known})")
    target = dims.get(change.dimension)
    members = PopulationMember.objects.filter(population_id=population.pk).values("object_id")
    if change.path:
        linked = source.model._default_manager.filter(pk__in=members).values(change.path)
        rows = target.model._default_manager.filter(pk__in=linked)
    else:
        rows = target.model._default_manager.filter(pk__in=target.model._default_manager.filter(
            **{f"{change.reverse}__in": members}).values("pk"))  # fmt: skip
    result = population_create(dimension=target.key, origin=origin)
    return _finish(result, population_insert_queryset(population=result, dimension=target, queryset=rows))


# -- retention --------------------------------------------------------------------------------

_references: list[Callable[[], Iterable[int] | QuerySet]] = []


def register_population_reference(finder: Callable[[], Iterable[int] | QuerySet]) -> None:
    """Apps whose rows point at populations (snapshots, campaign runs) register a finder that
    returns the population ids still in use; `population_purge` never deletes those."""
    _references.append(finder)


def population_purge(*, older_than, batch_size: int = 5) -> tuple[int, int]:
    """Delete populations created before `older_than` that nothing references.
    Returns (populations deleted, member rows deleted)."""
    candidates = Population.objects.filter(created_at__lt=older_than)
    for finder in _references:
        candidates = candidates.exclude(pk__in=finder())
    populations = members = 0
    ids = list(candidates.values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with transaction.atomic():
            members += PopulationMember.objects.filter(population_id__in=chunk).delete()[0]
            populations += Population.objects.filter(pk__in=chunk).delete()[0]
    return populations, members


def members_q(population_id: int) -> Q:
    return Q(pk__in=PopulationMember.objects.filter(population_id=population_id).values("object_id"))
