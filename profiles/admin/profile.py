"""The profile admin: the steward's view of one customer, and erasure as the only way to delete."""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import display_for_field, display_for_value, lookup_field
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin

from config.admin_utils import BigTableAdminMixin
from profiles import validation
from profiles.admin.importexport import ImportExportMixin
from profiles.erasure import register_erasure_step
from profiles.models import Booking, Consent, ConsentEvent, Profile, Purchase, PushDevice, Subscription
from profiles.search import profile_search
from profiles.services import profile_erase, profile_save


class AttributesFormField(forms.JSONField):
    """Custom traits as JSON text, checked as on every other path (validation.json_object): a JSON
    object, bounded nesting, no text the database refuses."""

    def to_python(self, value):
        if value in self.empty_values:
            return {}
        try:
            return validation.json_object(value)
        except ValueError as exc:
            raise forms.ValidationError(f"Custom traits: {exc}.") from None

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except (RecursionError, ValueError):  # shown back as typed, with the error above
            return forms.fields.InvalidJSONInput(data)


class ProfileAdminForm(forms.ModelForm):
    """Normalises what the API and imports normalise: email lower-case, phone E.164, codes."""

    attributes = AttributesFormField(required=False, help_text="Custom traits, as a JSON object.")

    class Meta:
        model = Profile
        fields = (
            "external_id", "first_name", "last_name", "email", "phone", "locale", "timezone", "country",
            "address_line1", "address_line2", "postal_code", "city", "region", "birth_date", "loyalty_tier",
            "attributes",
        )  # fmt: skip

    def _parsed(self, name, parse):
        try:
            return parse(self.cleaned_data.get(name, ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_email(self):
        return self._parsed("email", validation.email)

    def clean_country(self):
        return self._parsed("country", validation.country)

    def clean_timezone(self):
        return self._parsed("timezone", validation.time_zone)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("phone"):
            try:
                cleaned["phone"] = validation.phone(cleaned["phone"], region=cleaned.get("country") or None)
            except ValueError as exc:
                self.add_error("phone", str(exc))
        return cleaned


@dataclass(frozen=True)
class RelatedSection:
    """A bounded, read-only table of a profile's related rows on its change page."""

    title: str
    model: type
    columns: tuple[Any, ...]  # field names, or callables taking the row
    order_by: tuple[Any, ...]
    select_related: tuple[str, ...] = ()
    limit: int = 20
    labels: dict[str, str] = field(default_factory=dict)


def _short_token(device: PushDevice) -> str:
    return device.token if len(device.token) <= 24 else f"{device.token[:20]}…"


_short_token.short_description = "token"

# Other apps may append sections (e.g. the send ledger's communication history).
PROFILE_SECTIONS: list[RelatedSection] = [
    RelatedSection("Consents (current state)", Consent, ("channel", "status", "source", "occurred_at"), ("channel",)),
    RelatedSection(
        "Consent history",
        ConsentEvent,
        ("occurred_at", "channel", "status", "source", "received_at"),
        ("-occurred_at", "-id"),
    ),
    RelatedSection(
        "Bookings",
        Booking,
        ("external_id", "product", "status", "check_in", "check_out", "amount", "currency"),
        (F("booked_at").desc(nulls_last=True), "-id"),
        select_related=("product",),
    ),
    RelatedSection(
        "Purchases",
        Purchase,
        ("external_id", "product", "quantity", "amount", "currency", "purchased_at"),
        ("-purchased_at", "-id"),
        select_related=("product",),
    ),
    RelatedSection(
        "Subscriptions",
        Subscription,
        ("external_id", "plan", "status", "started_at", "renews_at", "cancelled_at"),
        (F("started_at").desc(nulls_last=True), "-id"),
        select_related=("plan",),
    ),
    RelatedSection(
        "Push devices", PushDevice, (_short_token, "platform", "active", "created_at"), ("-created_at", "-id")
    ),
]


def related_tables(*, admin_site, request, profile: Profile) -> list[dict[str, Any]]:
    """The latest rows of each section the user may view, with a link to all of them."""
    tables = []
    for section in PROFILE_SECTIONS:
        model_admin = admin_site._registry.get(section.model)
        if model_admin is None or not model_admin.has_view_permission(request):
            continue
        opts = section.model._meta
        related = section.model._default_manager.filter(profile=profile)
        rows = list(related.select_related(*section.select_related).order_by(*section.order_by)[: section.limit])
        total = len(rows) if len(rows) < section.limit else related.count()
        headers, body = [], []
        for name in section.columns:
            if callable(name):
                headers.append(getattr(name, "short_description", name.__name__))
            else:
                headers.append(capfirst(opts.get_field(name).verbose_name))
        for obj in rows:
            cells = []
            for name in section.columns:
                db_field, _, value = lookup_field(name, obj, model_admin)
                empty = model_admin.get_empty_value_display()
                cells.append(display_for_field(value, db_field, empty) if db_field else display_for_value(value, empty))
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            cells[0] = format_html('<a href="{}">{}</a>', url, cells[0])
            body.append(cells)
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        tables.append(
            {
                "title": section.title,
                "id": opts.model_name,
                "headers": headers,
                "rows": body,
                "total": total,
                "all_url": f"{changelist}?profile__id__exact={profile.pk}",
            }
        )
    return tables


def scrub_admin_log(*, profile_ids: list[int]) -> None:
    """An erasure step: the admin's log names a profile (its str) in every entry; keep the
    entries, drop the name."""
    content_type = ContentType.objects.get_for_model(Profile)
    LogEntry.objects.filter(content_type=content_type, object_id__in=[str(pk) for pk in profile_ids]).update(
        object_repr=Concat(Value("erased profile #"), F("object_id"))
    )


register_erasure_step(scrub_admin_log)


@admin.register(Profile)
class ProfileAdmin(BigTableAdminMixin, ImportExportMixin, SimpleHistoryAdmin):
    form = ProfileAdminForm
    import_kind = "profiles"
    actions = ["export_csv"]
    # Fits a 1280-px screen beside the sidebars; the phone is on the profile's page (and searchable).
    list_display = ("external_id", "full_name", "email", "country", "loyalty_tier", "updated_at")
    list_filter = ("country", "loyalty_tier", ("created_at", admin.DateFieldListFilter))
    sortable_by = ("external_id", "email", "country", "loyalty_tier")
    search_fields = ("first_name", "last_name", "email", "phone", "city", "external_id")  # see get_search_results
    search_help_text = (
        "Name, email, phone, city or external id; any case, with or without accents. "
        "Several words: each must match (e.g. joão lisboa)."
    )
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", ("first_name", "last_name"), "email", "phone")}),
        ("Locale", {"fields": (("locale", "timezone", "country"),)}),
        ("Address", {"fields": ("address_line1", "address_line2", ("postal_code", "city"), "region")}),
        ("Traits", {"fields": ("birth_date", "loyalty_tier", "attributes")}),
        ("Record", {"fields": (("created_at", "updated_at"),)}),
    )
    delete_confirmation_template = "admin/profiles/profile/erase_confirmation.html"
    delete_selected_confirmation_template = "admin/profiles/profile/erase_selected_confirmation.html"

    @admin.display(description="name")
    def full_name(self, obj):
        return obj.full_name

    def get_readonly_fields(self, request, obj=None):
        # The identity key integrations upsert by: fixed once the profile exists.
        return (*self.readonly_fields, "external_id") if obj else self.readonly_fields

    def get_search_results(self, request, queryset, search_term):
        # One indexed expression over the searched columns (profiles/search.py), no joins.
        return profile_search(queryset, search_term), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        if profile is not None and self.has_view_or_change_permission(request, profile):
            extra_context = {
                **(extra_context or {}),
                "related_tables": related_tables(admin_site=self.admin_site, request=request, profile=profile),
                "record_consent_url": self._record_consent_url(request, profile),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _record_consent_url(self, request, profile) -> str | None:
        consent_events = self.admin_site._registry.get(ConsentEvent)
        if consent_events is None or not consent_events.has_record_permission(request):
            return None
        return f"{reverse('admin:profiles_consentevent_record')}?{urlencode({'profile': profile.external_id})}"

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        profile_save(profile=obj, data={name: form.cleaned_data[name] for name in form.changed_data})

    # -- erasure: deleting a profile is erasing it (right to be forgotten) ------------------

    def delete_model(self, request, obj):
        profile_erase(profile_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        profile_erase(profile_ids=list(queryset.values_list("pk", flat=True)))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            func, name, _ = actions["delete_selected"]
            actions["delete_selected"] = (func, name, "Erase selected %(verbose_name_plural)s (right to be forgotten)")
        return actions

    def get_deleted_objects(self, objs, request):
        """What the confirmation lists: the profiles, and a count of what goes with them.

        Erasure is one right (delete_profile): it does not ask for permission on each related
        model (consent history is read-only in the admin, yet an erasure removes it).
        """
        profiles = list(objs)
        ids = [profile.pk for profile in profiles]
        listed = [
            format_html('Profile: <a href="{}">{}</a>', reverse("admin:profiles_profile_change", args=[p.pk]), p)
            for p in profiles
        ]
        counts = {capfirst(Profile._meta.verbose_name_plural): len(profiles)}
        for relation in Profile._meta.related_objects:
            if relation.on_delete is models.CASCADE:
                found = relation.related_model._default_manager.filter(**{f"{relation.field.name}__in": ids}).count()
                if found:
                    counts[capfirst(relation.related_model._meta.verbose_name_plural)] = found
        return listed, counts, set(), []
