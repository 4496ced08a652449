"""Custom traits in the admin (Customer data › Custom traits): data stewards declare the typed
keys of profiles' attributes that audience rules can use. Writes go through profiles.traits."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from profiles.models import CustomAttribute
from profiles.traits import TraitInUse, custom_attribute_check_change, custom_attribute_delete, custom_attribute_save


class CustomAttributeForm(forms.ModelForm):
    class Meta:
        model = CustomAttribute
        fields = ["key", "label", "type", "description"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None and "type" in cleaned:
            stored = CustomAttribute.objects.get(pk=self.instance.pk)
            try:
                custom_attribute_check_change(stored=stored, key=stored.key, type_=cleaned["type"])
            except TraitInUse as exc:
                self.add_error("type", str(exc))
        return cleaned


@admin.register(CustomAttribute)
class CustomAttributeAdmin(admin.ModelAdmin):
    form = CustomAttributeForm
    list_display = ("label", "rule_field", "type", "description", "updated_at")
    list_filter = ("type",)
    search_fields = ("key", "label")
    search_help_text = "Key or label."
    fields = ("key", "label", "type", "description", "created_at", "updated_at")

    @admin.display(description="Rule field", ordering="key")
    def rule_field(self, obj: CustomAttribute) -> str:
        return obj.field_name

    def get_readonly_fields(self, request, obj=None):
        readonly = ("created_at", "updated_at")
        return ("key", *readonly) if obj is not None else readonly  # rules name the key: it stays

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, so that a trait in use is refused by name
        return actions

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("label", "type", "description")}
        if not change:
            data["key"] = form.cleaned_data["key"]
        custom_attribute_save(attribute=obj, data=data)

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            attribute = self.get_object(request, object_id)
            if attribute is not None and self.has_delete_permission(request, attribute):
                key, pk = attribute.key, attribute.pk
                try:
                    with transaction.atomic():
                        self.log_deletions(request, [attribute])
                        custom_attribute_delete(attribute=attribute)
                except TraitInUse as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                    return HttpResponseRedirect(reverse("admin:profiles_customattribute_change", args=[pk]))
                self.message_user(request, f'Deleted custom trait "{key}".', messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:profiles_customattribute_changelist"))
        return super().delete_view(request, object_id, extra_context)
