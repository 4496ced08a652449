"""What an audience refers to and what refers to it: in_audience references, usages, errors."""

from collections.abc import Callable
from typing import Any

from audiences.models import Audience, AudienceSnapshot
from audiences.populations import register_population_reference
from audiences.rules.nodes import Node, conditions
from audiences.rules.parser import MAX_NODES, AudienceResolver, RuleError, parse_rule

# References a preview follows in place (an audience using one that uses another): each adds up
# to the parser's MAX_DEPTH levels of nesting to one SQL statement, and SQLite's parser takes
# about 40 levels of parentheses (measured: 36 levels of all/any/not always compile).
MAX_INLINE_DEPTH = 2


class AudienceError(ValueError):
    """A request that cannot be done to this audience; the message says why."""


class AudienceNotEvaluated(Exception):
    """A preview needs the members of an audience that has none yet and that it cannot compile in
    place (too deep or too large). Not a ValueError: the rule parser must let it through."""

    def __init__(self, audience: Audience, reason: str):
        self.audience = audience
        super().__init__(
            f'The rule uses audience "{audience.slug}", which has not been calculated yet and {reason}: '
            f'calculate "{audience.name}" first, then count again.'
        )


class RuleTimeout(Exception):
    """A preview or an evaluation ran past its time limit; the message says what to do. Not a
    ValueError: the rule parser must let it through (an audience evaluated as a dependency)."""

    def __init__(self, message: str, *, timeout_ms: int):
        self.timeout_ms = timeout_ms
        super().__init__(message)


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


def preview_resolver() -> AudienceResolver:
    """`in_audience` for previews, which write nothing: an audience's latest snapshot if it has
    one; else, for a rule audience, its own rule compiled in place (same dimension and cycle checks
    as evaluation; at most MAX_INLINE_DEPTH references deep and MAX_NODES conditions in all);
    else AudienceNotEvaluated names the audience to calculate first. An uploaded or saved
    audience without members is a rule error, as in evaluation."""
    inlined = [0]

    def resolver(stack: tuple[int, ...]) -> AudienceResolver:
        def resolve(slug: str) -> tuple[str, int | Node]:
            referenced = _referenced(slug, current=None)
            if referenced.pk in stack:
                raise ValueError(f'audience "{slug}" refers back to this one (a cycle)')
            snapshot = referenced.latest_snapshot
            if snapshot is not None and snapshot.population_id is not None:
                return referenced.dimension, snapshot.population_id
            if referenced.kind != Audience.Kind.RULE:
                raise ValueError(f'audience "{slug}" has no members yet')
            if len(stack) >= MAX_INLINE_DEPTH:
                raise AudienceNotEvaluated(
                    referenced, f"is more than {MAX_INLINE_DEPTH} references deep to count in place"
                )
            try:
                node = parse_rule(
                    referenced.dimension, referenced.rule, resolve_audience=resolver((*stack, referenced.pk))
                )
            except RuleError as exc:
                raise ValueError(f'audience "{slug}" has an invalid rule ({exc})') from None
            inlined[0] += conditions(node)
            if inlined[0] > MAX_NODES:
                raise AudienceNotEvaluated(referenced, "its rule is too large to count in place")
            return referenced.dimension, node

        return resolve

    return resolver(())


def audience_usages(audience: Audience) -> list[str]:
    usages = [f'audience "{other.name}" ({other.slug})' for other in audience.used_by.order_by("name")]
    for finder in _usage_finders:
        usages += finder(audience)
    return usages
