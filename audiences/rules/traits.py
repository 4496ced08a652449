"""Custom traits in SQL: conditions on a declared key of a JSON column (`Profile.attributes`).

A trait's value is read by type: the value under the key when it is of the trait's type, else
no value (SQL NULL). So a value of the wrong type never matches (the text "42" under a number
trait is not more than 10) and never raises; it counts as empty for `is_null`:

    string   a non-empty JSON string          number  a JSON number
    boolean  true or false                    date    a JSON string YYYY-MM-DD (compared as text,
    list     a non-empty JSON array                   which orders ISO dates by time)

Every condition is `value IS NOT NULL AND <comparison>`, which is never NULL, so that `not` is
the complement (profiles without the key are in `not {attributes.x eq ...}`).

PostgreSQL reads the key with `->` and checks `jsonb_typeof`; a list's `contains` is `@>`.
SQLite uses JSON1: `json_type`, `json_extract`, `json_each`. The key is a declared trait's (the
parser checks it) and travels as a query parameter, like every value.
"""

import json
from typing import Any

from django.db import NotSupportedError
from django.db.models import BooleanField, CharField, DecimalField, Expression, F, Q
from django.db.models.lookups import (
    Contains,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)

from audiences import dimensions as dims
from audiences.rules.nodes import FieldCondition
from audiences.rules.values import shift_date

_OUTPUT = {dims.STRING: CharField, dims.DECIMAL: DecimalField, dims.BOOLEAN: BooleanField, dims.DATE: CharField,
           dims.LIST: CharField}  # fmt: skip
_LOOKUPS = {"eq": Exact, "lt": LessThan, "lte": LessThanOrEqual, "gt": GreaterThan, "gte": GreaterThanOrEqual,
            "before": LessThan, "after": GreaterThan, "contains": Contains, "icontains": IContains,
            "startswith": StartsWith}  # fmt: skip
_PG_DATE = "^[0-9]{4}-[01][0-9]-[0-3][0-9]$"
_SQLITE_DATE = "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]"


class _OnJSONKey(Expression):
    """An expression over the key `key` of the JSON column `column` (an ORM path)."""

    def __init__(self, column: str, key: str, **kwargs):
        super().__init__(**kwargs)
        self.column, self.key = F(column), key

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"Custom traits need PostgreSQL or SQLite, not {connection.vendor}")

    def _sql(self, template: str, compiler, connection, extra: dict[str, Any] | None = None):
        """`template` with `{c}` (the column) and `{k}` (the key, `->` operand or JSON path) as
        placeholders; `extra` names further parameters. Parameters follow the placeholders."""
        column_sql, column_params = compiler.compile(self.column)
        key = self.key if connection.vendor == "postgresql" else f'$."{self.key}"'
        values = {"c": (column_sql, list(column_params)), "k": ("%s", [key])}
        values.update({name: ("%s", [value]) for name, value in (extra or {}).items()})
        sql, params, rest = [], [], template
        while "{" in rest:
            before, _, after = rest.partition("{")
            name, _, rest = after.partition("}")
            sql.append(before)
            sql.append(values[name][0])
            params += values[name][1]
        sql.append(rest)
        return "".join(sql), params


class TraitValue(_OnJSONKey):
    """The key's value when it is of the trait's type (see the module docstring), else NULL."""

    _POSTGRESQL = {
        dims.STRING: "NULLIF(CASE WHEN jsonb_typeof({c} -> {k}) = 'string' THEN {c} ->> {k} END, '')",
        dims.DECIMAL: "CASE WHEN jsonb_typeof({c} -> {k}) = 'number' THEN ({c} ->> {k})::numeric END",
        dims.BOOLEAN: "CASE WHEN jsonb_typeof({c} -> {k}) = 'boolean' THEN ({c} ->> {k})::boolean END",
        dims.DATE: "CASE WHEN jsonb_typeof({c} -> {k}) = 'string' AND ({c} ->> {k}) ~ {pattern} THEN {c} ->> {k} END",
        dims.LIST: "CASE WHEN jsonb_typeof({c} -> {k}) = 'array' AND jsonb_array_length({c} -> {k}) > 0 "
        "THEN ({c} -> {k})::text END",
    }
    _SQLITE = {
        dims.STRING: "NULLIF(CASE WHEN json_type({c}, {k}) = 'text' THEN json_extract({c}, {k}) END, '')",
        # The CAST gives NUMERIC affinity, so that the compared value (a decimal sent as text) is read
        # as a number.
        dims.DECIMAL: "CAST(CASE WHEN json_type({c}, {k}) IN ('integer', 'real') THEN json_extract({c}, {k}) END AS NUMERIC)",
        dims.BOOLEAN: "CASE WHEN json_type({c}, {k}) IN ('true', 'false') THEN json_extract({c}, {k}) END",
        dims.DATE: "CASE WHEN json_type({c}, {k}) = 'text' AND json_extract({c}, {k}) GLOB {pattern} "
        "THEN json_extract({c}, {k}) END",
        dims.LIST: "CASE WHEN json_type({c}, {k}) = 'array' AND json_array_length({c}, {k}) > 0 "
        "THEN json_extract({c}, {k}) END",
    }

    def __init__(self, column: str, key: str, field_type: str):
        super().__init__(column, key, output_field=_OUTPUT[field_type]())
        self.field_type = field_type

    def as_postgresql(self, compiler, connection):
        return self._sql(self._POSTGRESQL[self.field_type], compiler, connection, {"pattern": _PG_DATE})

    def as_sqlite(self, compiler, connection):
        return self._sql(self._SQLITE[self.field_type], compiler, connection, {"pattern": _SQLITE_DATE})


class TraitListContains(_OnJSONKey):
    """The key holds a JSON array with an item equal to `item` (same JSON type: "42" is not 42)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, key: str, item: str | int | float):
        super().__init__(column, key)
        self.item = item

    def as_postgresql(self, compiler, connection):
        return self._sql(
            "COALESCE(jsonb_typeof({c} -> {k}) = 'array' AND ({c} -> {k}) @> ({item})::jsonb, false)",
            compiler, connection, {"item": json.dumps([self.item])},
        )  # fmt: skip

    def as_sqlite(self, compiler, connection):
        types = "'text'" if isinstance(self.item, str) else "'integer', 'real'"
        return self._sql(
            "COALESCE(json_type({c}, {k}) = 'array' AND EXISTS (SELECT 1 FROM json_each({c}, {k}) AS trait_item "
            f"WHERE trait_item.type IN ({types}) AND trait_item.value = {{item}}), 0)",
            compiler, connection, {"item": self.item},
        )  # fmt: skip


def trait_q(node: FieldCondition, *, today) -> Q:
    """The condition on a custom trait (`node.field.trait_key` is set); never NULL."""
    field_def, op, value = node.field, node.op, node.value
    trait = TraitValue(node.orm_path, field_def.trait_key, field_def.type)
    present = Q(IsNull(trait, False))
    if op == "is_null":
        return Q(IsNull(trait, True)) if value else present
    if field_def.type == dims.LIST:  # contains
        return present & Q(TraitListContains(node.orm_path, field_def.trait_key, value))
    if field_def.type == dims.DATE:
        value = _iso(value)
        if op == "in_last_days":
            op, value = "between", (shift_date(today, -node.value).isoformat(), today.isoformat())
        elif op == "in_next_days":
            op, value = "between", (today.isoformat(), shift_date(today, node.value).isoformat())
    return present & _compare(trait, op, value)


def _compare(trait: TraitValue, op: str, value: Any) -> Q:
    if op in ("in", "not_in"):
        if not value:
            return Q(pk__in=[]) if op == "in" else Q()
        matched = Q(In(trait, list(value)))
        return matched if op == "in" else ~matched
    if op == "ne":
        return ~Q(Exact(trait, value))
    if op == "between":
        return Q(GreaterThanOrEqual(trait, value[0])) & Q(LessThanOrEqual(trait, value[1]))
    return Q(_LOOKUPS[op](trait, value))


def _iso(value: Any) -> Any:
    """Dates as the ISO text a date trait holds (a pair or a list item by item)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_iso(item) for item in value)
    return value.isoformat() if hasattr(value, "isoformat") else value
