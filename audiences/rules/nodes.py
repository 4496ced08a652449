"""The validated form of a rule: what the parser produces and the compiler consumes."""

from dataclasses import dataclass
from typing import Any, Union

from audiences.dimensions import Dimension, Field, Relation


@dataclass(frozen=True)
class All:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class FieldCondition:
    field: Field
    orm_path: str  # the whitelisted field's path, through to-one links (`product__category`)
    op: str
    value: Any  # parsed for the field's type (a pair for `between`, a list for `in`)


@dataclass(frozen=True)
class Bound:
    """A comparison of a number: `count` of `has`, or the value of an aggregate."""

    op: str
    value: Any


@dataclass(frozen=True)
class Has:
    relation: Relation
    target: Dimension
    where: "Node | None"
    count: Bound | None


@dataclass(frozen=True)
class Aggregate:
    function: str
    relation: Relation
    target: Dimension
    field: Field | None  # None for count
    where: "Node | None"
    bound: Bound


@dataclass(frozen=True)
class InAudience:
    """The members of another audience: its snapshot's population, or (previews, which write
    nothing) its own rule compiled in place."""

    slug: str
    population_id: int | None
    rule: "Node | None" = None


Node = Union[All, AnyOf, Not, FieldCondition, Has, Aggregate, InAudience]  # noqa: UP007


def conditions(node: Node) -> int:
    """How many conditions the tree holds, counting the rules of audiences compiled in place."""
    count, stack = 0, [node]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, (All, AnyOf)):
            stack.extend(item.children)
        elif isinstance(item, Not):
            stack.append(item.child)
        elif isinstance(item, (Has, Aggregate)) and item.where is not None:
            stack.append(item.where)
        elif isinstance(item, InAudience) and item.rule is not None:
            stack.append(item.rule)
    return count
