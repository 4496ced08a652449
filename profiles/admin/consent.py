"""Consent (read-only state and append-only history), suppressions and push devices.

Consent only changes by recording an event through `consent_events_record`, as the API and
imports do: the "Record a consent change" page, the opt-out action, or an import.
"""

from itertools import islice

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from config.admin_utils import BigTableAdminMixin
from profiles.admin.importexport import ImportExportMixin
from profiles.models import Channel, Consent, ConsentEvent, ConsentStatus, Profile, PushDevice, Suppression
from profiles.services import consent_events_record, suppression_add, suppression_normalise_address

RECORD_PERMISSION = "profiles.add_consentevent"
IMPORT_PERMISSIONS = (RECORD_PERMISSION, "profiles.change_consent")


def _admin_source(request, note: str = "") -> str:
    source = f"admin:{request.user.get_username()}"
    return f"{source} ({note})"[:100] if note else source[:100]


class ReadOnlyConsentMixin(BigTableAdminMixin, ImportExportMixin):
    """Consent rows are written only by recording events: no add, change or delete here."""

    import_kind = "consents"
    import_permissions = IMPORT_PERMISSIONS
    list_select_related = ("profile",)
    raw_id_fields = ("profile",)
    search_fields = ("profile__external_id__exact", "profile__email__exact")
    search_help_text = "A customer's exact external id or email."
    sortable_by = ()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_record_permission(self, request) -> bool:
        return request.user.has_perm(RECORD_PERMISSION)

    def changelist_tools(self, request):
        tools = super().changelist_tools(request)
        if self.has_record_permission(request):
            tools.insert(0, ("Record a consent change", reverse("admin:profiles_consentevent_record")))
        return tools


@admin.register(Consent)
class ConsentAdmin(ReadOnlyConsentMixin, admin.ModelAdmin):
    actions = ["export_csv", "record_opt_out"]
    # When our records changed (updated at) is on the consent's page; the list fits a 1280-px screen.
    list_display = ("profile", "channel", "status", "source", "occurred_at")
    list_filter = ("channel", "status", ("occurred_at", admin.DateFieldListFilter))

    @admin.action(description="Record an opt-out of the selected consents' channels", permissions=["record"])
    def record_opt_out(self, request, queryset):
        event = {
            "status": ConsentStatus.OPTED_OUT,
            "source": _admin_source(request, "opt-out action"),
            "occurred_at": timezone.now(),
        }
        pairs = queryset.order_by().values_list("profile__external_id", "channel").iterator(chunk_size=1000)
        records = ({**event, "profile": external_id, "channel": channel} for external_id, channel in pairs)
        recorded = 0
        while batch := list(islice(records, 1000)):
            recorded += len(batch) - len(consent_events_record(records=batch).errors)
        self.message_user(request, f"Recorded {recorded} opt-out event(s).", messages.SUCCESS)


class ConsentChangeForm(forms.Form):
    profile = forms.CharField(label="Profile external id", max_length=128)
    channel = forms.ChoiceField(choices=Channel.choices)
    status = forms.ChoiceField(choices=ConsentStatus.choices)
    source = forms.CharField(
        max_length=60, required=False, help_text="How the customer told us, e.g. 'phone call'. Your username is added."
    )
    occurred_at = forms.SplitDateTimeField(
        label="When",
        widget=AdminSplitDateTime,
        initial=timezone.now,
        help_text="When the customer gave or withdrew it.",
    )


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyConsentMixin, admin.ModelAdmin):
    actions = ["export_csv"]
    # When each event arrived (received at) is on the event's page; the list fits a 1280-px screen.
    list_display = ("profile", "channel", "status", "source", "occurred_at")
    list_filter = ("channel", "status", ("occurred_at", admin.DateFieldListFilter))

    def get_urls(self):
        view = self.admin_site.admin_view(self.record_view)
        return [path("record/", view, name="profiles_consentevent_record"), *super().get_urls()]

    def record_view(self, request):
        if not self.has_record_permission(request):
            raise PermissionDenied
        form = ConsentChangeForm(request.POST or None, initial={"profile": request.GET.get("profile", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            record = {**data, "source": _admin_source(request, data["source"])}
            result = consent_events_record(records=[record])
            if result.errors:
                for name, problems in result.errors[0]["errors"].items():
                    form.add_error(name if name in form.fields else None, problems)
            else:
                if result.ignored:
                    self.message_user(
                        request,
                        "Recorded in the consent history; the current consent is newer and stays as it is.",
                        messages.WARNING,
                    )
                else:
                    self.message_user(request, f"Recorded: {data['channel']} {data['status']}.", messages.SUCCESS)
                return HttpResponseRedirect(self._after_record_url(request, data["profile"]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Record a consent change",
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/profiles/record_consent.html", context)

    def _after_record_url(self, request, external_id: str) -> str:
        profile_id = Profile.objects.filter(external_id=external_id).values_list("pk", flat=True).first()
        if request.user.has_perm("profiles.view_profile") or request.user.has_perm("profiles.change_profile"):
            return reverse("admin:profiles_profile_change", args=[profile_id])
        return reverse("admin:profiles_consentevent_changelist") + f"?profile__id__exact={profile_id}"


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ("channel", "address", "reason", "note")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and cleaned.get("channel") and cleaned.get("address"):
            try:
                cleaned["address"] = suppression_normalise_address(
                    channel=cleaned["channel"], address=cleaned["address"]
                )
            except ValueError as exc:
                self.add_error("address", str(exc))
        return cleaned


@admin.register(Suppression)
class SuppressionAdmin(BigTableAdminMixin, SimpleHistoryAdmin):
    form = SuppressionForm
    list_display = ("address", "channel", "reason", "note", "created_at")
    list_filter = ("channel", "reason")
    date_hierarchy = "created_at"
    search_fields = ("address__istartswith",)
    search_help_text = "The start of an address (email lower-case, phone in E.164)."

    def get_readonly_fields(self, request, obj=None):
        return ("channel", "address", "created_at") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            obj._history_user = request.user
            obj.save(update_fields=["reason", "note"])
            return
        data = form.cleaned_data
        saved, created = suppression_add(
            channel=data["channel"], address=data["address"], reason=data["reason"], note=data["note"]
        )
        obj.pk, obj.created_at, obj.reason, obj.note = saved.pk, saved.created_at, saved.reason, saved.note
        obj._state.adding = False
        if not created:  # suppressed meanwhile by someone else: the first reason is kept
            self.message_user(request, "This address was already suppressed; its first reason is kept.", messages.INFO)


@admin.register(PushDevice)
class PushDeviceAdmin(BigTableAdminMixin, admin.ModelAdmin):
    list_display = ("token_start", "platform", "active", "profile", "updated_at")
    list_select_related = ("profile",)
    list_filter = ("platform", "active")
    raw_id_fields = ("profile",)
    search_fields = ("token__exact", "profile__external_id__exact")
    search_help_text = "An exact token, or a customer's exact external id."
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="token")
    def token_start(self, obj):
        return obj.token if len(obj.token) <= 24 else f"{obj.token[:20]}…"
