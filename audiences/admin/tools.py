"""The audience change page's tools: live count (preview), Calculate, a sample of the members,
the distribution of a field, and the upload of a list audience (the CSV export is the API's).

Each view checks its permission (view for reading, change for anything that writes), parses its
input, calls one service and reports. What members are (their external ids and fields, in the
preview's and the page's samples, the distribution, the export) is shown only to users who may
view profiles (audiences/selectors.py); others see counts and object ids.
"""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from audiences import dimensions as dims
from audiences.admin.builder import builder_metadata
from audiences.admin.page import default_distribution_field, distribution_rows, size_chart, used_by
from audiences.admin.reachability import reachability_context
from audiences.forms import DistributionForm, ExportColumnsForm, ListUploadForm, rule_problems
from audiences.models import Audience, AudienceSnapshot
from audiences.rules.parser import RuleError
from audiences.selectors import may_see_member_details
from audiences.services import (
    AudienceNotEvaluated,
    RuleTimeout,
    audience_evaluate,
    audience_preview,
    audience_request_evaluation,
    audience_upload_list,
    snapshot_sample,
)
from audiences.services.values import SuggestionError, field_suggestions, value_hints, with_hints
from config import input_safety

PREVIEW_SAMPLE = 10
PAGE_SAMPLE = 10


class AudienceToolsMixin:
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="audiences_audience_preview"),
            path("suggestions/", view(self.suggestions_view), name="audiences_audience_suggestions"),
            path("<path:object_id>/calculate/", view(self.calculate_view), name="audiences_audience_calculate"),
            path("<path:object_id>/upload/", view(self.upload_view), name="audiences_audience_upload"),
            path("<path:object_id>/export/", view(self.export_view), name="audiences_audience_export"),
            path(
                "<path:object_id>/distribution/", view(self.distribution_view), name="audiences_audience_distribution"
            ),
            *super().get_urls(),
        ]

    def _audience(self, request, object_id, *, change: bool) -> Audience:
        audience = self.get_object(request, unquote(object_id))
        if audience is None:
            raise Http404("No such audience.")
        allowed = (
            self.has_change_permission(request, audience) if change else self.has_view_permission(request, audience)
        )
        if not allowed:
            raise PermissionDenied
        return audience

    def _back(self, audience: Audience):
        return redirect(reverse("admin:audiences_audience_change", args=[audience.pk]))

    # -- views ------------------------------------------------------------------------------

    def preview_view(self, request):
        """POST {"dimension", "rule"} -> {"count", "sample", "duration_ms"}, or {"errors": [{"path", "message"}]}:
        400 for an invalid rule, 409 when it uses an audience to calculate first, 422 past the time limit."""
        if request.method != "POST":
            return JsonResponse({"errors": [{"path": "", "message": "POST a rule."}]}, status=405)
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            payload = input_safety.loads(request.body)  # bounded nesting: a deep body is a 400
        except input_safety.JSONInputError as exc:
            return JsonResponse({"errors": [{"path": "", "message": f"The body {exc}."}]}, status=400)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return JsonResponse(
                {"errors": [{"path": "", "message": 'Send {"dimension": ..., "rule": ...}.'}]}, status=400
            )
        try:
            dimension = payload.get("dimension") if isinstance(payload.get("dimension"), str) else ""
            result = audience_preview(
                dimension=dimension, rule=payload.get("rule"), sample_size=PREVIEW_SAMPLE,
                details=may_see_member_details(request.user),
            )  # fmt: skip
        except RuleError as exc:
            hints = value_hints(dimension=dimension, rule=payload.get("rule"))
            problems = with_hints(exc.problems, hints=hints, dimension=dimension, rule=payload.get("rule"))
            return JsonResponse(
                {"errors": [{"path": p, "message": m} for p, m in problems], "hints": hints}, status=400
            )
        except AudienceNotEvaluated as exc:
            return JsonResponse({"errors": [{"path": "", "message": str(exc)}]}, status=409)
        except RuleTimeout as exc:
            return JsonResponse({"errors": [{"path": "", "message": str(exc)}]}, status=422)
        result["hints"] = value_hints(dimension=dimension, rule=payload.get("rule"))
        return JsonResponse(result)

    def suggestions_view(self, request):
        """GET ?dimension=profile&field=country -> {"values": [{"value", "count"}]}: the top 20
        values of the field over the whole dimension, for the builder's typeahead."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            values = field_suggestions(dimension=request.GET.get("dimension", ""), field=request.GET.get("field", ""))
        except SuggestionError as exc:
            return JsonResponse({"errors": [{"path": "field", "message": f"{exc}."}]}, status=400)
        return JsonResponse({"values": values})

    def distribution_view(self, request, object_id):
        """GET ?field=country -> {"field", "label", "rows": [{"value", "count", "share"}]}: the top 20
        values of a field among the latest snapshot's members (view permission on the audience, and
        on profiles: the values are data about people). 400 for a field the dimension does not offer;
        no rows before the first calculation."""
        audience = self._audience(request, object_id, change=False)
        if not may_see_member_details(request.user):
            raise PermissionDenied
        form = DistributionForm({"distribution": request.GET.get("field", "")}, dimension=audience.dimension)
        if not form.is_valid():
            message = f"{audience.dimension_label} have no field {request.GET.get('field', '')[:80]!r} to count."
            return JsonResponse({"errors": [{"path": "field", "message": message}]}, status=400)
        snapshot = AudienceSnapshot.objects.select_related("population").filter(pk=audience.latest_snapshot_id).first()
        field = form.cleaned_data["distribution"]
        try:
            rows = distribution_rows(snapshot, field) if snapshot is not None else []
        except RuleError as exc:
            return JsonResponse({"errors": [{"path": "field", "message": str(exc)}]}, status=400)
        label = dict(form.fields["distribution"].choices).get(field, field)
        return JsonResponse({"field": field, "label": label, "rows": rows})

    @staticmethod
    def _unit(audience: Audience, size: int) -> str:
        label = audience.dimension_label.lower()
        return label[:-1] if size == 1 and label.endswith("s") else label

    def calculate_view(self, request, object_id):
        return require_POST(self._calculate)(request, object_id)

    def _calculate(self, request, object_id):
        audience = self._audience(request, object_id, change=True)
        try:
            if request.POST.get("background"):
                audience_request_evaluation(audience=audience, acting_user=request.user, trigger="manual")
                self.message_user(request, "Calculation queued: its state shows under Recent calculations.")
                return self._back(audience)
            snapshot = audience_evaluate(audience=audience, acting_user=request.user)
        except (ValueError, RuleTimeout) as exc:  # AudienceError, RuleError, a time limit: the message says why
            self.message_user(request, f"Not calculated: {exc}", messages.ERROR)
            return self._back(audience)
        self.message_user(
            request,
            f"{audience.name}: {snapshot.size:,} {self._unit(audience, snapshot.size)} (calculated in {snapshot.duration_ms:,} ms).",
            messages.SUCCESS,
        )
        return self._back(audience)

    def upload_view(self, request, object_id):
        return require_POST(self._upload)(request, object_id)

    def _upload(self, request, object_id):
        audience = self._audience(request, object_id, change=True)
        form = ListUploadForm(request.POST, request.FILES, dimension=audience.dimension)
        if not form.is_valid():
            problems = [str(message) for messages_ in form.errors.values() for message in messages_]
            self.message_user(request, f"Not uploaded: {' '.join(problems)}", messages.ERROR)
            return self._back(audience)
        try:
            snapshot = audience_upload_list(
                audience=audience, values=form.cleaned_data["parsed_values"], key=form.cleaned_data["key"],
                acting_user=request.user,
            )  # fmt: skip
        except ValueError as exc:
            self.message_user(request, f"Not uploaded: {exc}", messages.ERROR)
            return self._back(audience)
        details = snapshot.details
        summary = f"Uploaded {details['values']:,} values: {snapshot.size:,} members."
        if details["unknown_count"]:
            shown = ", ".join(details["unknown"][:20])
            more = "…" if details["unknown_count"] > 20 else ""
            self.message_user(
                request, f"{summary} {details['unknown_count']:,} unknown: {shown}{more}", messages.WARNING
            )
        else:
            self.message_user(request, summary, messages.SUCCESS)
        return self._back(audience)

    def export_view(self, request, object_id):
        """GET: tick the columns of the member CSV; the form downloads it from the API's export."""
        audience = self._audience(request, object_id, change=False)
        snapshot = audience.latest_snapshot
        has_members = snapshot is not None and snapshot.population_id is not None
        details = may_see_member_details(request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": audience,
            "title": f"Export the members of {audience.name}",
            "form": ExportColumnsForm(dimension=audience.dimension, details=details) if has_members else None,
            "details": details,
            "download_url": reverse("audience-members", args=[audience.pk]),
        }
        return TemplateResponse(request, "admin/audiences/audience/export.html", context)

    # -- the change page ------------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        context["builder_metadata"] = builder_metadata(
            audience=obj,
            preview_url=reverse("admin:audiences_audience_preview"),
            suggestions_url=reverse("admin:audiences_audience_suggestions"),
        )
        context["rule_problems"] = rule_problems(form.errors.get("rule", []))
        if obj is not None and obj.pk:
            context.update(self._members_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _members_context(self, request, audience: Audience) -> dict:
        snapshot = AudienceSnapshot.objects.select_related("population").filter(pk=audience.latest_snapshot_id).first()
        can_change = self.has_change_permission(request, audience)
        context = {
            "snapshot": snapshot,
            "snapshot_size": f"{snapshot.size:,}" if snapshot and snapshot.size is not None else "",
            "recent_snapshots": audience.snapshots.order_by("-created_at")[:5],
            "size_chart": size_chart(audience),
            "used_by": used_by(audience),
            "calculate_url": reverse("admin:audiences_audience_calculate", args=[audience.pk])
            if can_change and audience.kind == Audience.Kind.RULE
            else None,
        }
        if can_change and audience.kind == Audience.Kind.LIST:
            context["upload_form"] = ListUploadForm(dimension=audience.dimension)
            context["upload_url"] = reverse("admin:audiences_audience_upload", args=[audience.pk])
        if snapshot is None or snapshot.population is None:
            return context
        # The export page's form downloads from the API, which streams the members as CSV (session
        # auth, view permission; their fields with the view profile permission): one format for both.
        context["export_url"] = reverse("admin:audiences_audience_export", args=[audience.pk])
        details = may_see_member_details(request.user)
        context["sample"] = self._sample_table(request, snapshot, details=details)
        context.update(reachability_context(snapshot, asked="reachability" in request.GET))
        if not details:  # the values of members' fields are data about people
            return context
        form = DistributionForm(request.GET if "distribution" in request.GET else None, dimension=audience.dimension)
        if not form.is_bound:  # the page opens on the dimension's most telling field
            choices = list(form.fields["distribution"].choices)
            form = DistributionForm(
                {"distribution": default_distribution_field(audience.dimension, choices)}, dimension=audience.dimension
            )
        context["distribution_form"] = form
        context["distribution_url"] = reverse("admin:audiences_audience_distribution", args=[audience.pk])
        if form.is_valid():
            field = form.cleaned_data["distribution"]
            try:
                rows = distribution_rows(snapshot, field)
            except RuleError as exc:
                context["distribution_error"] = str(exc)
            else:
                context["distribution"] = {
                    "field": dict(form.fields["distribution"].choices).get(field, field),
                    "rows": rows,
                }
        return context

    def _sample_table(self, request, snapshot: AudienceSnapshot, *, details: bool) -> dict:
        rows = snapshot_sample(snapshot=snapshot, size=PAGE_SAMPLE, details=details)
        columns = list(rows[0]) if rows else []
        if "id" in columns:
            columns.insert(0, columns.pop(columns.index("id")))
        model = dims.get(snapshot.population.dimension).model
        model_admin = self.admin_site._registry.get(model)
        linked = model_admin is not None and model_admin.has_view_permission(request) and "id" in columns
        url_name = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
        return {
            "shown": len(rows),
            "total": f"{snapshot.size:,}" if snapshot.size is not None else "",
            "columns": [column.replace("_", " ") for column in columns],
            "rows": [
                {"url": reverse(url_name, args=[row["id"]]) if linked else None, "cells": [row[c] for c in columns]}
                for row in rows
            ],
        }
