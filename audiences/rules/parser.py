"""Rule validation: JSON in, a tree of nodes out, or every problem named by its path.

    {"all": [{"field": "country", "op": "eq", "value": "PT"},
             {"has": "bookings", "where": {"field": "status", "op": "eq", "value": "confirmed"}}]}

Errors read `all[1].where.field: unknown field "statuss" on booking; did you mean "status"?`.
Field names are looked up in the dimension's whitelist segment by segment (`product.category`
follows the booking's to-one link `product`); nothing else is accepted, so no ORM lookup can
be smuggled in through a name.
"""

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from audiences import dimensions as dims
from audiences.rules.nodes import Aggregate, All, AnyOf, Bound, FieldCondition, Has, InAudience, Node, Not
from audiences.rules.values import in_order, parse_value, quoted

RULE_VERSION = 1
MAX_DEPTH = 12
MAX_NODES = 500
MAX_LIST = 10_000
MAX_VALUES = 10_000  # list values in the whole rule: each is one SQL parameter (SQLite takes 32,766)
MAX_DAY_LIST = 100  # dates in one `in` on a date-time field: each is a range, OR-ed (SQLite nests 1,000 deep)
MAX_DAYS = 36_500
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_KINDS = ("all", "any", "not", "field", "has", "agg", "in_audience")
BOUND_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "between")


class RuleError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in problems))

    def as_dict(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for path, message in self.problems:
            grouped.setdefault(path or "rule", []).append(message)
        return grouped


# Resolves an `in_audience` slug to (dimension key, its members) or raises ValueError. The members
# are a population id (a snapshot), or the referenced audience's own parsed rule to compile in
# place (previews, which write nothing).
AudienceResolver = Callable[[str], tuple[str, "int | Node"]]


@dataclass
class _Context:
    resolve_audience: AudienceResolver | None
    problems: list[tuple[str, str]] = field(default_factory=list)
    nodes: int = 0
    values: int = 0
    traits: dict[str, dict[str, dims.Field]] = field(default_factory=dict)  # read once per rule

    def traits_of(self, dimension: dims.Dimension) -> dict[str, dims.Field]:
        if dimension.key not in self.traits:
            self.traits[dimension.key] = dims.trait_fields(dimension)
        return self.traits[dimension.key]

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))


def parse_rule(dimension: str | dims.Dimension, rule: Any, *, resolve_audience: AudienceResolver | None = None) -> Node:
    """Validate `rule` for `dimension`; return its nodes or raise RuleError with every problem."""
    if isinstance(dimension, str):
        try:
            dimension = dims.get(dimension)
        except KeyError:
            known = ", ".join(d.key for d in dims.all_dimensions())
            raise RuleError([("dimension", f"unknown dimension {quoted(dimension)}; known: {known}")]) from None
    context = _Context(resolve_audience=resolve_audience)
    node = _condition(rule, dimension, "", context, depth=0)
    if context.problems:
        raise RuleError(context.problems)
    return node


def _join(path: str, part: str) -> str:
    if part.startswith("["):
        return f"{path}{part}"
    return f"{path}.{part}" if path else part


def _suggest(name: str, options) -> str:
    if len(name) > 100:  # nothing we name is that long
        return ""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f'; did you mean "{close[0]}"?' if close else ""


def _condition(raw: Any, dimension: dims.Dimension, path: str, ctx: _Context, depth: int) -> Node | None:
    ctx.nodes += 1
    if ctx.nodes > MAX_NODES:
        if ctx.nodes == MAX_NODES + 1:
            ctx.fail(path, f"a rule may have at most {MAX_NODES} conditions")
        return None
    if depth > MAX_DEPTH:
        ctx.fail(path, f"conditions may nest at most {MAX_DEPTH} deep")
        return None
    if not isinstance(raw, dict):
        ctx.fail(path, "a condition must be a JSON object")
        return None
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        found = f"found {', '.join(kinds)}" if kinds else "found none"
        ctx.fail(path, f"a condition needs exactly one of {', '.join(_KINDS)} ({found})")
        return None
    kind = kinds[0]
    handler = {"all": _group, "any": _group, "not": _not, "field": _field, "has": _has, "agg": _agg,
               "in_audience": _in_audience}[kind]  # fmt: skip
    return handler(raw, dimension, path, ctx, depth)


def _unexpected(raw: dict, allowed: set[str], path: str, ctx: _Context) -> None:
    for key in raw:
        if key not in allowed:
            ctx.fail(_join(path, _key(key)), f"unexpected key {quoted(key)}{_suggest(str(key), allowed)}")


def _key(key: Any) -> str:
    """A client's key as a path segment (shown safely: it may be anything)."""
    return quoted(key, 40)[1:-1]


def _group(raw, dimension, path, ctx, depth):
    kind = "all" if "all" in raw else "any"
    _unexpected(raw, {kind}, path, ctx)
    items = raw[kind]
    if not isinstance(items, list):
        ctx.fail(_join(path, kind), "must be a list of conditions")
        return None
    children = [
        _condition(item, dimension, _join(path, f"{kind}[{i}]"), ctx, depth + 1) for i, item in enumerate(items)
    ]
    if any(child is None for child in children):
        return None
    return (All if kind == "all" else AnyOf)(tuple(children))


def _not(raw, dimension, path, ctx, depth):
    _unexpected(raw, {"not"}, path, ctx)
    child = _condition(raw["not"], dimension, _join(path, "not"), ctx, depth + 1)
    return None if child is None else Not(child)


def resolve_field(
    dimension: dims.Dimension, name: Any, path: str, ctx: _Context, *, traits: bool = True
) -> tuple[dims.Field, str] | None:
    """A whitelisted field by its rule name (`country`, `product.category`) -> (Field, ORM path).
    With `traits`, a declared custom trait (`attributes.newsletter_topics`) is a field too."""
    if not isinstance(name, str) or not name:
        ctx.fail(path, "must be a field name (a string)")
        return None
    segments = name.split(".")
    current, prefix = dimension, []
    for position, segment in enumerate(segments):
        if not _NAME.match(segment):
            ctx.fail(path, f"{quoted(name)} is not a field name")
            return None
        last = position == len(segments) - 1
        if traits and segment == current.trait_column and position == len(segments) - 2:
            return _trait(current, segments[-1], prefix, path, ctx)
        if last:
            found = current.field_map.get(segment)
            if found is None:
                options = list(current.field_map) + [f"{link}." for link in current.to_one]
                ctx.fail(path, f"unknown field {quoted(segment)} on {current.key}{_suggest(segment, options)}")
                return None
            return found, "__".join([*prefix, found.path])
        if segment not in current.to_one:
            links = ", ".join(current.to_one) or "none"
            ctx.fail(
                path,
                f"{quoted(segment)} is not a link of {current.key} (links: {links}){_suggest(segment, current.to_one)}",
            )
            return None
        prefix.append(current.model._meta.get_field(segment).name)
        current = dims.get(current.to_one[segment])
    return None  # pragma: no cover


def _trait(dimension: dims.Dimension, key: str, prefix: list[str], path: str, ctx: _Context):
    if not _NAME.match(key):
        ctx.fail(path, f"{quoted(key)} is not a custom trait's key")
        return None
    declared = ctx.traits_of(dimension)
    found = declared.get(key)
    if found is None:
        known = f"declared: {', '.join(declared)}" if declared else "none is declared yet"
        ctx.fail(path, f"unknown custom trait {quoted(key)} on {dimension.key}{_suggest(key, declared)} ({known}; "
                 "a data steward declares them under Settings › Custom traits)")  # fmt: skip
        return None
    return found, "__".join([*prefix, found.path])


def field_path(dimension: dims.Dimension, name: Any, *, path: str = "field") -> str:
    """The ORM path of a whitelisted field name (`product.category` -> `product__category`);
    raises RuleError naming the problem. For tools that take a field name outside a rule."""
    context = _Context(resolve_audience=None)
    resolved = resolve_field(dimension, name, path, context, traits=False)  # a trait is not a column
    if resolved is None:
        raise RuleError(context.problems)
    return resolved[1]


def _field(raw, dimension, path, ctx, depth):
    _unexpected(raw, {"field", "op", "value"}, path, ctx)
    resolved = resolve_field(dimension, raw["field"], _join(path, "field"), ctx)
    if resolved is None:
        return None
    field_def, orm_path = resolved
    op = raw.get("op")
    if not isinstance(op, str) or op not in field_def.operators:
        ctx.fail(_join(path, "op"), f'{quoted(op)} is not an operator for {field_def.type_name} field "{raw["field"]}"; '
                 f"use one of: {', '.join(field_def.operators)}")  # fmt: skip
        return None
    if "value" not in raw:
        ctx.fail(_join(path, "value"), "is required")
        return None
    value = _operand(field_def, op, raw["value"], _join(path, "value"), ctx)
    if value is _INVALID:
        return None
    return FieldCondition(field=field_def, orm_path=orm_path, op=op, value=value)


_INVALID = object()


def _operand(field_def: dims.Field, op: str, value: Any, path: str, ctx: _Context) -> Any:
    def parse(item: Any, *, whole: bool = True) -> Any:
        return parse_value(field_def.type, item, choices=field_def.choices, column=field_def.column, whole=whole)

    try:
        if op == "is_null":
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        if op in ("in_last_days", "in_next_days"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
                raise ValueError(f"must be a whole number of days from 0 to {MAX_DAYS}")
            return value
        if op in ("in", "not_in"):
            return [parse(item) for item in _list(field_def, value, ctx)]
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError("must be a list of two values [low, high]")
            low, high = (parse(item) for item in value)
            if not in_order(low, high):
                raise ValueError("the low value is above the high value")
            return (low, high)
        if op in ("contains", "icontains", "startswith") and field_def.type not in (dims.STRING, dims.LIST):
            raise ValueError(f"{op} applies to text fields only")  # pragma: no cover - filtered by operators
        return parse(value, whole=op not in ("contains", "icontains", "startswith"))
    except ValueError as exc:
        ctx.fail(path, str(exc))
        return _INVALID


def _list(field_def: dims.Field, value: Any, ctx: _Context) -> list:
    """The values of `in` / `not_in`, within the limits of one list and of the whole rule."""
    if not isinstance(value, list):
        raise ValueError("must be a list")
    if len(value) > MAX_LIST:
        raise ValueError(f"may hold at most {MAX_LIST:,} values")
    if field_def.type == dims.DATETIME:
        days = sum(1 for item in value if isinstance(item, str) and len(item) == 10)
        if days > MAX_DAY_LIST:
            raise ValueError(
                f"may hold at most {MAX_DAY_LIST} dates on a date-time field (each is a whole day); use between for a range"
            )
    ctx.values += len(value)
    if ctx.values > MAX_VALUES:
        raise ValueError(f"a rule may hold at most {MAX_VALUES:,} list values in all")
    return value


def _bound(raw: Any, path: str, ctx: _Context, type_: str, column: dims.Column | None, *, count: bool = False):
    """A comparison {"op", "value"} of a count (`count`) or an aggregate's value, which is of
    `type_` and compared as `column` (None for a sum or an average)."""
    if not isinstance(raw, dict) or "op" not in raw or "value" not in raw:
        ctx.fail(path, 'must be {"op": ..., "value": ...}')
        return None
    _unexpected(raw, {"op", "value"}, path, ctx)
    op = raw["op"]
    if not isinstance(op, str) or op not in BOUND_OPERATORS:
        ctx.fail(_join(path, "op"), f"{quoted(op)} is not one of: {', '.join(BOUND_OPERATORS)}")
        return None
    try:
        if op == "between":
            if not isinstance(raw["value"], list) or len(raw["value"]) != 2:
                raise ValueError("must be a list of two values [low, high]")
            low, high = (parse_value(type_, item, column=column) for item in raw["value"])
            if not in_order(low, high):
                raise ValueError("the low value is above the high value")
            values = (low, high)
        else:
            values = (parse_value(type_, raw["value"], column=column),)
    except ValueError as exc:
        ctx.fail(_join(path, "value"), str(exc))
        return None
    if count and any(value < 0 for value in values):
        ctx.fail(_join(path, "value"), "a count cannot be negative")
        return None
    return Bound(op, values if op == "between" else values[0])


def _relation(dimension, name, path, ctx):
    relation = dimension.relation_map.get(name) if isinstance(name, str) else None
    if relation is None:
        options = list(dimension.relation_map)
        ctx.fail(path, f"unknown relation {quoted(name)} on {dimension.key}{_suggest(str(name), options)}"
                 f"{'' if options else ' (it has none)'}")  # fmt: skip
    return relation


def _has(raw, dimension, path, ctx, depth):
    _unexpected(raw, {"has", "where", "count"}, path, ctx)
    relation = _relation(dimension, raw["has"], _join(path, "has"), ctx)
    if relation is None:
        return None
    target = dims.get(relation.dimension)
    where = _where(raw, target, path, ctx, depth)
    count = (
        _bound(raw["count"], _join(path, "count"), ctx, dims.INTEGER, dims.COUNT_COLUMN, count=True)
        if "count" in raw
        else None
    )
    if where is _INVALID or ("count" in raw and count is None):
        return None
    return Has(relation=relation, target=target, where=where, count=count)


def _where(raw, target, path, ctx, depth):
    if raw.get("where") is None:
        return None
    node = _condition(raw["where"], target, _join(path, "where"), ctx, depth + 1)
    return _INVALID if node is None else node


def _agg(raw, dimension, path, ctx, depth):
    _unexpected(raw, {"agg", "of", "where", "op", "value"}, path, ctx)
    function = raw["agg"]
    if function not in dims.AGGREGATES:
        ctx.fail(_join(path, "agg"), f"{quoted(function)} is not one of: {', '.join(dims.AGGREGATES)}")
        return None
    of = raw.get("of")
    if not isinstance(of, str) or not of:
        ctx.fail(_join(path, "of"), 'must name a relation ("purchases") or a relation\'s field ("purchases.amount")')
        return None
    relation_name, _, field_name = of.partition(".")
    relation = _relation(dimension, relation_name, _join(path, "of"), ctx)
    if relation is None:
        return None
    target = dims.get(relation.dimension)
    field_def = None
    if function == "count":
        if field_name:
            ctx.fail(_join(path, "of"), f'count takes a relation only ("{relation_name}")')
            return None
        value_type, column = dims.INTEGER, dims.COUNT_COLUMN
    else:
        if not field_name:
            ctx.fail(_join(path, "of"), f'{function} needs a field: "{relation_name}.<field>"')
            return None
        field_def = target.field_map.get(field_name)
        if field_def is None or "." in field_name:
            ctx.fail(
                _join(path, "of"),
                f"unknown field {quoted(field_name)} on {target.key}{_suggest(field_name, target.field_map)}",
            )
            return None
        if field_def.type not in dims.AGGREGATE_TYPES[function]:
            ctx.fail(_join(path, "of"), f'{function} does not apply to {field_def.type} field "{field_name}"')
            return None
        # A sum or an average has no column of its own; min and max are values of the field.
        value_type, column = (dims.DECIMAL, None) if function in ("sum", "avg") else (field_def.type, field_def.column)
    where = _where(raw, target, path, ctx, depth)
    bound = _bound(
        {"op": raw.get("op"), "value": raw.get("value")}, path, ctx, value_type, column, count=function == "count"
    )
    if where is _INVALID or bound is None:
        return None
    return Aggregate(function=function, relation=relation, target=target, field=field_def, where=where, bound=bound)


def _in_audience(raw, dimension, path, ctx, depth):
    _unexpected(raw, {"in_audience"}, path, ctx)
    slug = raw["in_audience"]
    if not isinstance(slug, str) or not _SLUG.match(slug):
        ctx.fail(_join(path, "in_audience"), "must be an audience slug (lower-case letters, digits and hyphens)")
        return None
    if ctx.resolve_audience is None:
        ctx.fail(_join(path, "in_audience"), "audience references are not available here")
        return None
    try:
        audience_dimension, members = ctx.resolve_audience(slug)
    except ValueError as exc:
        ctx.fail(_join(path, "in_audience"), str(exc))
        return None
    if audience_dimension != dimension.key:
        ctx.fail(_join(path, "in_audience"), f'audience "{slug}" is over {audience_dimension}, not {dimension.key}')
        return None
    if isinstance(members, int):
        return InAudience(slug=slug, population_id=members)
    return InAudience(slug=slug, population_id=None, rule=members)


def referenced_audiences(rule: Any) -> set[str]:
    """Slugs named by `in_audience` anywhere in a (possibly invalid) rule."""
    found: set[str] = set()
    stack = [rule]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("in_audience"), str):
                found.add(item["in_audience"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
