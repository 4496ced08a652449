"""Rule nodes -> one ORM filter (Q) over the dimension's model: one SQL statement in the end.

Semantics (docs/audiences.md): field operators never match a missing value (NULL, or the empty
string of a text field) except `is_null`; `not` is the complement within the dimension; `in []`
matches nothing; `between` is inclusive; relative days count from the evaluation time `now`.

`has` without a count is an EXISTS (a semi-join). A count bound or an aggregate is a grouped
subquery, `pk IN (SELECT via FROM related WHERE ... GROUP BY via HAVING ...)`, which the
database runs as one GROUP BY and a hash join rather than one correlated subquery per row.
When zero related rows satisfy the bound (count or sum compared so that 0 matches), the rows with
no related rows must be included too: `NOT EXISTS (... pk IN (groups whose value fails))`, an
anti-join; `count = 0` style bounds are a plain NOT EXISTS.
"""

import datetime as dt
import operator
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, DecimalField, Exists, F, Max, Min, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audiences import dimensions as dims
from audiences.rules.nodes import Aggregate, All, AnyOf, Bound, FieldCondition, Has, InAudience, Node, Not

_COMPARE = {"eq": "exact", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte", "before": "lt", "after": "gt"}
_PYTHON_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt,
                   "gte": operator.ge}  # fmt: skip
_FUNCTIONS = {"count": Count, "sum": Sum, "avg": Avg, "min": Min, "max": Max}


class Compiler:
    def __init__(self, *, now: dt.datetime | None = None):
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)

    def q(self, node: Node) -> Q:
        if isinstance(node, All):
            if not node.children:
                return Q(pk__isnull=False)  # explicit "everyone", so that not(all []) is nobody
            result = Q()
            for child in node.children:
                result &= self.q(child)
            return result
        if isinstance(node, AnyOf):
            if not node.children:
                return Q(pk__in=[])  # an empty "any" matches nothing
            result = Q(pk__in=[])
            for child in node.children:
                result |= self.q(child)
            return result
        if isinstance(node, Not):
            return ~self.q(node.child)
        if isinstance(node, FieldCondition):
            return self._field(node)
        if isinstance(node, Has):
            return self._has(node)
        if isinstance(node, Aggregate):
            return self._aggregate(node)
        if isinstance(node, InAudience):
            from audiences.populations import members_q

            return members_q(node.population_id)
        raise TypeError(f"Unknown rule node {node!r}")  # pragma: no cover

    # -- fields ---------------------------------------------------------------------------

    def _present(self, node: FieldCondition) -> Q:
        """The field has a value: not NULL, and for text not empty."""
        present = Q(**{f"{node.orm_path}__isnull": False})
        if node.field.type in (dims.STRING, dims.CHOICE):
            present &= ~Q(**{node.orm_path: ""})
        return present

    def _field(self, node: FieldCondition) -> Q:
        path, op, value = node.orm_path, node.op, node.value
        if op == "is_null":
            return ~self._present(node) if value else self._present(node)
        if node.field.type == dims.DATETIME:
            return self._datetime(node)
        if op == "in":
            return Q(**{f"{path}__in": value})
        if op == "not_in":
            return self._present(node) & ~Q(**{f"{path}__in": value}) if value else self._present(node)
        if op == "ne":
            return self._present(node) & ~Q(**{path: value})
        if op == "between":
            return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
        if op in ("contains", "icontains", "startswith"):
            return Q(**{f"{path}__{op}": value})
        if op == "in_last_days":
            return Q(**{f"{path}__gte": self.today - dt.timedelta(days=value), f"{path}__lte": self.today})
        if op == "in_next_days":
            return Q(**{f"{path}__gte": self.today, f"{path}__lte": self.today + dt.timedelta(days=value)})
        return Q(**{f"{path}__{_COMPARE[op]}": value})

    def _day(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """A calendar day in the site's time zone as a half-open interval [start, end)."""
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))

    def _datetime(self, node: FieldCondition) -> Q:
        """Date-time fields; a date value stands for its whole day."""
        path, op, value = node.orm_path, node.op, node.value
        if op == "in_last_days":
            return Q(**{f"{path}__gte": self.now - dt.timedelta(days=value), f"{path}__lte": self.now})
        if op == "in_next_days":
            return Q(**{f"{path}__gte": self.now, f"{path}__lte": self.now + dt.timedelta(days=value)})

        def span(item):
            return self._day(item) if isinstance(item, dt.date) and not isinstance(item, dt.datetime) else (item, None)

        def equals(item) -> Q:
            start, end = span(item)
            return Q(**{path: start}) if end is None else Q(**{f"{path}__gte": start, f"{path}__lt": end})

        if op == "eq":
            return equals(value)
        if op == "ne":
            return self._present(node) & ~equals(value)
        if op in ("in", "not_in"):
            matched = Q(pk__in=[])
            for item in value:
                matched |= equals(item)
            return matched if op == "in" else self._present(node) & ~matched
        if op == "between":
            low, _ = span(value[0])
            high_start, high_end = span(value[1])
            return Q(**{f"{path}__gte": low}) & (
                Q(**{f"{path}__lte": high_start}) if high_end is None else Q(**{f"{path}__lt": high_end})
            )
        start, end = span(value)
        if end is None:
            return Q(**{f"{path}__{_COMPARE[op]}": start})
        # Against a whole day: before/lt -> before its start; lte -> before its end;
        # after/gt -> from its end; gte -> from its start.
        return {
            "lt": Q(**{f"{path}__lt": start}),
            "before": Q(**{f"{path}__lt": start}),
            "lte": Q(**{f"{path}__lt": end}),
            "gt": Q(**{f"{path}__gte": end}),
            "after": Q(**{f"{path}__gte": end}),
            "gte": Q(**{f"{path}__gte": start}),
        }[op]

    # -- relations ------------------------------------------------------------------------

    def _related(self, relation: dims.Relation, target: dims.Dimension, where: Node | None):
        rows = target.model._default_manager.filter(**{f"{relation.via}__isnull": False})
        return rows.filter(self.q(where)) if where is not None else rows

    def _has(self, node: Has) -> Q:
        rows = self._related(node.relation, node.target, node.where)
        if node.count is None:
            return Q(Exists(rows.filter(**{node.relation.via: OuterRef("pk")})))
        return self._grouped(rows, node.relation, Count("pk"), node.count, zero=0)

    def _aggregate(self, node: Aggregate) -> Q:
        rows = self._related(node.relation, node.target, node.where)
        if node.function == "count":
            return self._grouped(rows, node.relation, Count("pk"), node.bound, zero=0)
        column = F(node.field.path)
        if node.function == "sum":
            expression = Coalesce(Sum(column), Value(Decimal(0)), output_field=DecimalField())
            return self._grouped(rows, node.relation, expression, node.bound, zero=Decimal(0))
        # avg/min/max over no rows is no value: rows without related rows never match.
        return self._grouped(
            rows, node.relation, _FUNCTIONS[node.function](column), node.bound, zero=None,
            datetime_field=node.field.type == dims.DATETIME,
        )  # fmt: skip

    def _grouped(
        self, rows, relation: dims.Relation, expression, bound: Bound, *, zero: Any, datetime_field=False
    ) -> Q:
        via = relation.via
        groups = rows.order_by().values(via).annotate(_value=expression)
        satisfied = self._bound_q("_value", bound, datetime_field=datetime_field)
        if zero is None or not _python_bound(bound, zero):
            return Q(pk__in=groups.filter(satisfied).values(via))
        if isinstance(expression, Count) and _only_zero(bound):  # a group's count is never 0
            return ~Q(Exists(rows.filter(**{via: OuterRef("pk")})))
        # Zero satisfies the bound: everyone except the groups whose value fails it. Written as
        # NOT EXISTS (an anti-join, which batches within any work_mem), not NOT IN (fast only as a
        # hashed subplan that must fit in memory).
        source = rows.model._meta.get_field(via).related_model._default_manager
        failing = groups.filter(~satisfied).values(via)
        return ~Q(Exists(source.filter(pk=OuterRef("pk"), pk__in=failing)))

    def _bound_q(self, name: str, bound: Bound, *, datetime_field: bool = False) -> Q:
        """The HAVING condition on an aggregate; a date bound on a date-time is a whole day."""

        def is_day(item) -> bool:
            return datetime_field and isinstance(item, dt.date) and not isinstance(item, dt.datetime)

        value = bound.value
        if bound.op == "between":
            low, high = value
            low = self._day(low)[0] if is_day(low) else low
            upper = Q(**{f"{name}__lt": self._day(high)[1]}) if is_day(high) else Q(**{f"{name}__lte": high})
            return Q(**{f"{name}__gte": low}) & upper
        if is_day(value):
            start, end = self._day(value)
            within = Q(**{f"{name}__gte": start, f"{name}__lt": end})
            return {
                "eq": within,
                "ne": ~within,
                "lt": Q(**{f"{name}__lt": start}),
                "lte": Q(**{f"{name}__lt": end}),
                "gt": Q(**{f"{name}__gte": end}),
                "gte": Q(**{f"{name}__gte": start}),
            }[bound.op]
        if bound.op == "ne":
            return ~Q(**{name: value})
        return Q(**{f"{name}__{_COMPARE[bound.op]}": value})


def _python_bound(bound: Bound, value: Any) -> bool:
    if bound.op == "between":
        return bound.value[0] <= value <= bound.value[1]
    return _PYTHON_COMPARE[bound.op](value, bound.value)


def _only_zero(bound: Bound) -> bool:
    """The bound holds for 0 and for no positive count (count = 0, count <= 0, count < 1)."""
    return not _python_bound(bound, 1) and bound.op in ("eq", "lte", "lt", "between")


def compile_rule(dimension: dims.Dimension, node: Node, *, now: dt.datetime | None = None):
    """The queryset of the dimension's rows matching the rule."""
    return dimension.model._default_manager.filter(Compiler(now=now).q(node))
