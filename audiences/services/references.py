"""What an audience refers to and what refers to it: in_audience references, usages, errors."""

from collections.abc import Callable
from typing import Any

from audiences.models import Audience, AudienceSnapshot
from audiences.populations import register_population_reference
from audiences.rules.nodes import Node
from audiences.rules.parser import parse_rule


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


def audience_usages(audience: Audience) -> list[str]:
    usages = [f'audience "{other.name}" ({other.slug})' for other in audience.used_by.order_by("name")]
    for finder in _usage_finders:
        usages += finder(audience)
    return usages
