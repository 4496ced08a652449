"""Values for the rule builder: the frequent values of a field (its suggestions) and hints for
values that no row has ("No profile has country 'Portugal'; did you mean PT?"). Nothing here writes.

Suggestions are offered for fields whose values form a small known set (`SUGGESTED_FIELDS`, by
name, in any dimension); choice fields carry their choices in the builder already. Hints are
computed for `eq` and `in` conditions on string and choice fields: one EXISTS per value (at most
`MAX_CHECKED_VALUES` of them per count), and, for a value no row has, a suggestion: the same value
in another case, a country's code for its name ("Portugal", "España" -> PT, ES), or the closest of
the frequent values (difflib).
"""

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from audiences import dimensions as dims
from audiences.timeouts import StatementTimeout, statement_timeout
from config.input_safety import text_problem
from profiles.search import fold

SUGGESTED_FIELDS = frozenset(
    {"country", "loyalty_tier", "currency", "locale", "timezone", "category", "tier", "location", "region", "source"}
)
TOP_SUGGESTIONS = 20
MAX_CHECKED_VALUES = 50
MAX_DEPTH = 32
MAX_VALUE_LENGTH = 200
HINTED_OPERATORS = ("eq", "in")
HINTED_TYPES = (dims.STRING, dims.CHOICE)


class SuggestionError(ValueError):
    """A field that has no suggestions; the message says why."""


@dataclass(frozen=True)
class Target:
    """A rule field resolved to the dimension whose table holds it (`product.category` on a
    booking is the product dimension's `category`)."""

    dimension: dims.Dimension
    field: dims.Field


def resolve(dimension: dims.Dimension, name: Any) -> Target | None:
    if not isinstance(name, str) or len(name) > 200:
        return None
    *links, last = name.split(".")
    for link in links:
        key = dimension.to_one.get(link)
        if key is None:
            return None
        dimension = dims.get(key)
    field = dimension.field_map.get(last)
    return Target(dimension, field) if field is not None else None


def _frequent(target: Target, top: int = TOP_SUGGESTIONS) -> list[dict[str, Any]]:
    path = target.field.path
    rows = (
        target.dimension.model._default_manager.exclude(**{path: ""})
        .exclude(**{f"{path}__isnull": True})
        .values(path)
        .annotate(count=Count("pk"))
        .order_by("-count", path)[:top]
    )
    return [{"value": row[path], "count": row["count"]} for row in rows]


def field_suggestions(*, dimension: str, field: Any) -> list[dict[str, Any]]:
    """The most frequent non-blank values of a field over its whole dimension, with their counts."""
    try:
        dimension_def = dims.get(dimension)
    except KeyError:
        raise SuggestionError(f"{dimension!r} is not a targeting dimension") from None
    target = resolve(dimension_def, field)
    if target is None:
        raise SuggestionError(f"{field!r} is not a field of {dimension_def.label.lower()}")
    if target.field.type != dims.STRING or target.field.name not in SUGGESTED_FIELDS:
        raise SuggestionError(f"{target.field.label} has no suggested values")
    return _frequent(target)


# -- hints ---------------------------------------------------------------------------------------


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _conditions(raw: Any, dimension: dims.Dimension) -> Iterator[tuple[dims.Dimension, dict, str]]:
    """The field conditions of a rule, in order, with the dimension each is over and its path.
    Iterative and depth-bounded: the rule may be one the parser refused (a 400 gets hints too)."""
    stack: list[tuple[Any, dims.Dimension, str, int]] = [(raw, dimension, "", 0)]
    while stack:
        node, dim, path, depth = stack.pop()
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            continue
        children = []
        for mode in ("all", "any"):
            if isinstance(node.get(mode), list):
                children += [(child, dim, _join(path, f"{mode}[{i}]"), depth + 1) for i, child in enumerate(node[mode])]
        if "not" in node:
            children.append((node["not"], dim, _join(path, "not"), depth + 1))
        relation_name = node.get("has") or str(node.get("of") or "").split(".")[0]
        relation = dim.relation_map.get(relation_name) if isinstance(relation_name, str) else None
        if relation is not None and "where" in node:
            children.append((node["where"], dims.get(relation.dimension), _join(path, "where"), depth + 1))
        if "field" in node:
            yield dim, node, path
        stack.extend(reversed(children))


def _singular(dimension: dims.Dimension) -> str:
    label = dimension.label.lower()
    return label[:-1] if label.endswith("s") else label


@cache
def _country_names() -> dict[str, str]:
    """Folded country names in every language phonenumbers knows -> ISO code."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for code, by_language in LOCALE_DATA.items():
        for name in by_language.values():
            if name.startswith("*"):  # "the same as language X"
                name = by_language.get(name[1:], "")
            if name and len(code) == 2:
                names.setdefault(fold(name), code)
    return names


class _Checker:
    """Per count: EXISTS per value, frequent values per field, each computed once."""

    def __init__(self):
        self.checked = 0
        self.frequent: dict[tuple[str, str], list[str]] = {}

    def exists(self, target: Target, value: str) -> bool:
        return target.dimension.model._default_manager.filter(**{target.field.path: value}).exists()

    def known(self, target: Target) -> list[str]:
        key = (target.dimension.key, target.field.name)
        if key not in self.frequent:
            values = list(target.field.choices) or [row["value"] for row in _frequent(target)]
            self.frequent[key] = [str(value) for value in values]
        return self.frequent[key]

    def suggestion(self, target: Target, value: str) -> str | None:
        known = self.known(target)
        folded = {fold(candidate): candidate for candidate in known}
        if fold(value) in folded:
            return folded[fold(value)]
        if target.field.name == "country":
            code = _country_names().get(fold(value))
            if code and (code in known or self.exists(target, code)):
                return code
        close = difflib.get_close_matches(fold(value), list(folded), n=1, cutoff=0.6)
        return folded[close[0]] if close else None


def _hint(target: Target, value: str, suggestion: str | None) -> str:
    message = f"No {_singular(target.dimension)} has {target.field.label.lower()} '{value}'"
    return f"{message}; did you mean {suggestion}?" if suggestion else f"{message}."


def _checked_values(dimension: dims.Dimension, rule: Any) -> Iterator[tuple[Target, str, str]]:
    """(target, value, condition path) for each value of an `eq`/`in` condition on a
    string or choice field that could be stored at all (text the database takes)."""
    for dim, condition, path in _conditions(rule, dimension):
        target = resolve(dim, condition.get("field"))
        if target is None or target.field.type not in HINTED_TYPES or condition.get("op") not in HINTED_OPERATORS:
            continue
        values = condition.get("value")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value and len(value) <= MAX_VALUE_LENGTH and text_problem(value) is None:
                yield target, value, path


def _fits(target: Target, value: str) -> bool:
    column = target.field.column
    return column is None or column.max_length is None or len(value) <= column.max_length


def value_hints(*, dimension: str, rule: Any) -> list[dict[str, str]]:
    """A hint per `eq`/`in` value that no row of its dimension has:
    `[{"path": "all[0]", "value": "Portugal", "suggestion": "PT", "message": "..."}]`.
    Hints are advisory: past MAX_CHECKED_VALUES values or AUDIENCE_PREVIEW_TIMEOUT_MS the rest
    are left out. A value longer than its column needs no query: no row can hold it."""
    try:
        dimension_def = dims.get(dimension)
    except (KeyError, TypeError):
        return []
    checker = _Checker()
    hints: list[dict[str, str]] = []
    try:
        with transaction.atomic(), statement_timeout(settings.AUDIENCE_PREVIEW_TIMEOUT_MS):
            for target, value, path in _checked_values(dimension_def, rule):
                if checker.checked >= MAX_CHECKED_VALUES:
                    break
                checker.checked += 1
                if _fits(target, value) and checker.exists(target, value):
                    continue
                suggestion = checker.suggestion(target, value)
                hints.append(
                    {"path": path, "value": value, "suggestion": suggestion or "",
                     "message": _hint(target, value, suggestion)}
                )  # fmt: skip
    except StatementTimeout:
        pass
    return hints


def with_hints(
    problems: list[tuple[str, str]], *, hints: list[dict[str, str]], dimension: str, rule: Any
) -> list[tuple[str, str]]:
    """A rule's problems with a refused value (too long for its column, not one of the choices)
    said as its hint instead: "No profile has country 'Portugal'; did you mean PT?". Only where
    every value of the condition is plain text, so that the problem can only be such a value."""
    if not hints:
        return problems
    messages: dict[str, list[str]] = {}
    for hint in hints:
        messages.setdefault(_join(hint["path"], "value"), []).append(hint["message"])
    plain = {_join(path, "value") for _, condition, path in _conditions(rule, dims.get(dimension)) if _plain(condition)}
    return [
        (path, " ".join(messages[path]) if path in messages and path in plain else message)
        for path, message in problems
    ]


def _plain(condition: dict) -> bool:
    values = condition.get("value")
    values = values if isinstance(values, list) else [values]
    return all(isinstance(v, str) and v and len(v) <= MAX_VALUE_LENGTH and text_problem(v) is None for v in values)
