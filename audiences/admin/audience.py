"""The audience admin: the list with sizes, the change page with the rule builder, and deletion
that refuses an audience still in use."""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as confirm_delete_selected
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import date_format
from simple_history.admin import SimpleHistoryAdmin

from audiences import dimensions as dims
from audiences.admin.tools import AudienceToolsMixin
from audiences.forms import AudienceForm
from audiences.models import Audience
from audiences.services import AudienceGone, AudienceInUse, audience_delete, audience_save, audience_usages


class DimensionFilter(admin.SimpleListFilter):
    title = "dimension"
    parameter_name = "dimension"

    def lookups(self, request, model_admin):
        return dims.choices()

    def queryset(self, request, queryset):
        return queryset.filter(dimension=self.value()) if self.value() else queryset


@admin.register(Audience)
class AudienceAdmin(AudienceToolsMixin, SimpleHistoryAdmin):
    form = AudienceForm
    list_display = ("name", "kind", "dimension_name", "size", "last_evaluation")
    list_select_related = ("latest_snapshot",)
    list_filter = ("kind", DimensionFilter)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", ("kind", "dimension"))}),
        ("Targeting rule", {"fields": ("rule",), "classes": ("rule-fieldset",)}),
        (
            "Schedule",
            {
                "fields": ("schedule", "schedule_weekday", "schedule_day", "schedule_time", "refresh_cron"),
                "classes": ("schedule-fieldset",),
            },
        ),
    )

    def get_fieldsets(self, request, obj=None):
        """An existing list or saved audience has no rule and no schedule: those sections go."""
        if obj is not None and obj.kind != Audience.Kind.RULE:
            return self.fieldsets[:1]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        """A saved audience stays saved (campaigns write those); its kind is shown, not offered."""
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "kind") if obj is not None and obj.kind == Audience.Kind.SAVED else readonly

    actions = ["delete_selected"]

    @admin.display(description="dimension", ordering="dimension")
    def dimension_name(self, obj):
        return obj.dimension_label

    @admin.display(description="size", ordering="latest_snapshot__size")
    def size(self, obj):
        snapshot = obj.latest_snapshot
        return f"{snapshot.size:,}" if snapshot and snapshot.size is not None else None

    @admin.display(description="last evaluation", ordering="latest_snapshot__evaluated_at")
    def last_evaluation(self, obj):
        snapshot = obj.latest_snapshot
        if snapshot is None or snapshot.evaluated_at is None:
            return None
        return f"{date_format(snapshot.evaluated_at, 'SHORT_DATETIME_FORMAT')} ({snapshot.duration_ms:,} ms)"

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        try:
            audience_save(audience=obj, acting_user=request.user)
        except AudienceGone as exc:  # deleted by someone else while this form was open
            raise Http404(str(exc)) from None

    # -- deletion: refused while other audiences or campaigns use the audience ----------------

    def _refuse(self, request, audience: Audience, message: str):
        self.message_user(request, message, messages.ERROR)
        return redirect(reverse("admin:audiences_audience_change", args=[audience.pk]))

    def delete_view(self, request, object_id, extra_context=None):
        audience = self.get_object(request, unquote(object_id))
        if audience is not None and self.has_delete_permission(request, audience):
            usages = audience_usages(audience)
            if usages:  # say so before asking for a confirmation that cannot succeed
                return self._refuse(request, audience, str(AudienceInUse(audience, usages)))
        try:
            return super().delete_view(request, object_id, extra_context)
        except AudienceInUse as exc:  # it came into use between the confirmation and the delete
            return self._refuse(request, audience, str(exc))

    def delete_model(self, request, obj):
        audience_delete(audience=obj)

    @admin.action(permissions=["delete"], description="Delete selected audiences")
    def delete_selected(self, request, queryset):
        """Django's confirmation page, then `audience_delete` one by one: audiences in use are
        kept and named. Audiences that only the other selected ones use go too."""
        if not request.POST.get("post"):
            return confirm_delete_selected(self, request, queryset)
        pending, deleted, refused = list(queryset), 0, {}
        progress = True
        while pending and progress:
            progress, still = False, []
            for audience in pending:
                try:
                    with transaction.atomic():
                        self.log_deletions(request, [audience])
                        audience_delete(audience=audience)
                except AudienceInUse as exc:
                    refused[audience.pk] = str(exc)
                    still.append(audience)
                else:
                    refused.pop(audience.pk, None)
                    deleted += 1
                    progress = True
            pending = still
        if deleted:
            self.message_user(request, f"Deleted {deleted} audience{'s' if deleted != 1 else ''}.", messages.SUCCESS)
        for message in refused.values():
            self.message_user(request, message, messages.ERROR)
        return None
