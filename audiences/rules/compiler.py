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
import functools
import operator
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, DecimalField, Exists, F, Max, Min, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audiences import dimensions as dims
from audiences.rules.nodes import Aggregate, All, AnyOf, Bound, FieldCondition, Has, InAudience, Node, Not
from audiences.rules.traits import trait_q
from audiences.rules.values import day_end, day_start, is_day, shift_date, shift_datetime

_COMPARE = {"eq": "exact", "lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte", "before": "lt", "after": "gt"}
_PYTHON_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt,
                   "gte": operator.ge}  # fmt: skip
_FUNCTIONS = {"count": Count, "sum": Sum, "avg": Avg, "min": Min, "max": Max}
_NOTHING = Q(pk__in=[])  # compiles to no SQL at all: an empty IN is known false
_EVERYTHING = ~_NOTHING  # and its negation known true
# SQLite parses a chain of N AND (or OR) terms N levels deep and refuses an expression deeper
# than 1,000; Django joins nested ANDs into one chain. So conditions are joined in parenthesised
# groups of at most this many, each sealed so that Django keeps its parentheses.
_GROUP = 10


class Compiler:
    def __init__(self, *, now: dt.datetime | None = None):
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)

    def q(self, node: Node) -> Q:
        if isinstance(node, All):
            if not node.children:
                return Q(pk__isnull=False)  # explicit "everyone", so that not(all []) is nobody
            return _chain([self.q(child) for child in node.children], Q.AND)
        if isinstance(node, AnyOf):
            if not node.children:
                return _NOTHING  # an empty "any" matches nothing
            return _chain([self.q(child) for child in node.children], Q.OR)
        if isinstance(node, Not):
            return ~self.q(node.child)
        if isinstance(node, FieldCondition):
            return self._field(node)
        if isinstance(node, Has):
            return self._has(node)
        if isinstance(node, Aggregate):
            return self._aggregate(node)
        if isinstance(node, InAudience):
            if node.rule is not None:  # the referenced audience's rule, over the same dimension
                return self.q(node.rule)
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
        if node.field.trait_key:
            return trait_q(node, today=self.today)
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
            return Q(**{f"{path}__gte": shift_date(self.today, -value), f"{path}__lte": self.today})
        if op == "in_next_days":
            return Q(**{f"{path}__gte": self.today, f"{path}__lte": shift_date(self.today, value)})
        return Q(**{f"{path}__{_COMPARE[op]}": value})

    @staticmethod
    def _day(day: dt.date) -> tuple[dt.datetime, dt.datetime | None]:
        """A calendar day in the site's time zone as a half-open interval [start, end) in UTC;
        end is None after 9999-12-31 (no date-time is later)."""
        return day_start(day), day_end(day)

    @staticmethod
    def _before(path: str, end: dt.datetime | None) -> Q:
        """path < end, where no end means the end of time (every value)."""
        return Q(**{f"{path}__isnull": False}) if end is None else Q(**{f"{path}__lt": end})

    @staticmethod
    def _within(path: str, start: dt.datetime, end: dt.datetime | None) -> Q:
        """start <= path < end, where no end means the end of time."""
        return Q(**{f"{path}__gte": start}) if end is None else Q(**{f"{path}__gte": start, f"{path}__lt": end})

    @staticmethod
    def _from(path: str, end: dt.datetime | None) -> Q:
        """path >= end, where no end means the end of time (no value)."""
        return _NOTHING if end is None else Q(**{f"{path}__gte": end})

    def _datetime(self, node: FieldCondition) -> Q:
        """Date-time fields; a date value stands for its whole day."""
        path, op, value = node.orm_path, node.op, node.value
        if op == "in_last_days":
            return Q(**{f"{path}__gte": shift_datetime(self.now, -value), f"{path}__lte": self.now})
        if op == "in_next_days":
            later = shift_datetime(self.now, value)
            return Q(**{f"{path}__gte": self.now}) & (Q() if later is None else Q(**{f"{path}__lte": later}))

        def equals(day: dt.date) -> Q:
            return self._within(path, *self._day(day))

        if op in ("eq", "ne"):
            matched = equals(value) if is_day(value) else Q(**{path: value})
            return matched if op == "eq" else self._present(node) & ~matched
        if op in ("in", "not_in"):
            # Date-times in one IN list; each date a range of its own (the parser caps how many).
            moments = [item for item in value if not is_day(item)]
            parts = [Q(**{f"{path}__in": moments})] if moments else []
            parts += [equals(item) for item in value if is_day(item)]
            matched = _chain(parts, Q.OR) if parts else _NOTHING
            return matched if op == "in" else self._present(node) & ~matched
        if op == "between":
            low, high = value
            lower = Q(**{f"{path}__gte": self._day(low)[0] if is_day(low) else low})
            return lower & (self._before(path, self._day(high)[1]) if is_day(high) else Q(**{f"{path}__lte": high}))
        if not is_day(value):
            return Q(**{f"{path}__{_COMPARE[op]}": value})
        start, end = self._day(value)
        # Against a whole day: before/lt -> before its start; lte -> before its end;
        # after/gt -> from its end; gte -> from its start.
        if op in ("lt", "before"):
            return Q(**{f"{path}__lt": start})
        if op == "lte":
            return self._before(path, end)
        if op in ("gt", "after"):
            return self._from(path, end)
        return Q(**{f"{path}__gte": start})

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

        def whole_day(item) -> bool:
            return datetime_field and is_day(item)

        value = bound.value
        if bound.op == "between":
            low, high = value
            low = self._day(low)[0] if whole_day(low) else low
            upper = self._before(name, self._day(high)[1]) if whole_day(high) else Q(**{f"{name}__lte": high})
            return Q(**{f"{name}__gte": low}) & upper
        if whole_day(value):
            start, end = self._day(value)
            within = self._within(name, start, end)
            return {
                "eq": within,
                "ne": ~within,
                "lt": Q(**{f"{name}__lt": start}),
                "lte": self._before(name, end),
                "gt": self._from(name, end),
                "gte": Q(**{f"{name}__gte": start}),
            }[bound.op]
        if bound.op == "ne":
            return ~Q(**{name: value})
        return Q(**{f"{name}__{_COMPARE[bound.op]}": value})


def _chain(parts: list[Q], connector: str) -> Q:
    """`parts` joined by AND or OR, in sealed groups of at most _GROUP (see _GROUP)."""
    if len(parts) == 1:
        return parts[0]
    join = operator.and_ if connector == Q.AND else operator.or_
    groups = [functools.reduce(join, parts[start : start + _GROUP]) for start in range(0, len(parts), _GROUP)]
    # AND-group OR nothing, OR-group AND everything: the same rows, but Django cannot merge the
    # group into the chain around it (the known-false/true term itself compiles to nothing).
    sealed = [group | _NOTHING if connector == Q.AND else group & _EVERYTHING for group in groups]
    return sealed[0] if len(sealed) == 1 else _chain(sealed, connector)


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
