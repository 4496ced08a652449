"""Admin helpers shared by every app: changelists over big tables, extra object-tool links.

A plain changelist runs `SELECT COUNT(*)` over the whole (filtered) table on every page view, and
again unfiltered for "N of M"; on millions of rows that is the slowest query of the page.
`CappedCountPaginator` counts at most `count_cap` rows (a COUNT over a LIMITed subquery) and, on
PostgreSQL, reads the planner's row estimate for an unfiltered table past the cap.
`BigTableAdminMixin` wires it in and switches off the other whole-table counts (full result
count, filter facets).
"""

import csv
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from config.csv_safety import escape_row


class CappedCountPaginator(Paginator):
    """A paginator whose `count` is exact up to `count_cap` rows and capped or estimated beyond.

    `count_note` is "" for an exact count, else what templates should say instead of the number
    ("more than 10,000", "about 1,000,000").
    """

    count_cap = 10_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        self._note = ""
        if not isinstance(rows, QuerySet):
            return super().count
        # Ordering is irrelevant to a count and would make the database sort the subquery.
        capped = rows.order_by()[: self.count_cap + 1].count()
        if capped <= self.count_cap:
            return capped
        estimate = self._planner_estimate(rows) if not rows.query.where else None
        if estimate and estimate > self.count_cap:
            self._note = f"about {estimate:,}"
            return estimate
        self._note = f"more than {self.count_cap:,}"
        return self.count_cap

    @property
    def count_note(self) -> str:
        self.count  # noqa: B018 - computes the note
        return self._note

    @staticmethod
    def _planner_estimate(rows: QuerySet) -> int | None:
        """pg_class.reltuples for the model's table (kept by VACUUM/ANALYZE); None elsewhere."""
        connection = connections[rows.db]
        if connection.vendor != "postgresql":
            return None
        table = connection.ops.quote_name(rows.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
            found = cursor.fetchone()
        # -1: never analysed.
        return int(found[0]) if found and found[0] is not None and found[0] >= 0 else None


class BigTableAdminMixin:
    """For changelists over tables that grow to millions of rows.

    Counts are capped (see `CappedCountPaginator`), the unfiltered "of N" total is not computed,
    and filter facets (a COUNT per filter choice) are never offered.
    """

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except OverflowError as exc:  # e.g. ?created_at__year=99999999999999999999 (Django lets it through)
            raise IncorrectLookupParameters(exc) from exc

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        changelist = context and context.get("cl")
        note = changelist is not None and getattr(changelist.paginator, "count_note", "")
        if note:
            context["selection_note_all"] = f"All ({note}) selected"
        return response


class ObjectToolsMixin:
    """Extra links in the changelist's object tools (top right), e.g. an import page.

    Override `changelist_tools(request)` to return `[(label, url), ...]`; it is only asked for
    links the user may follow, so check permissions there.
    """

    change_list_template = "admin/change_list_with_tools.html"

    def changelist_tools(self, request) -> list[tuple[str, str]]:
        return []

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "changelist_tools": self.changelist_tools(request)}
        return super().changelist_view(request, extra_context)


class _Echo:
    """A file-like object whose write() hands the text back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_streaming_response(*, filename: str, header: Iterable[str], rows: Iterable[Iterable[Any]]):
    """A CSV download written row by row as the client reads it, never whole in memory. Text
    cells that a spreadsheet would run as a formula are escaped (config/csv_safety.py)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(escape_row(header))
        for row in rows:
            yield writer.writerow(escape_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
