"""API keys (DRF tokens) in the admin: superusers only, and never another user's full key.

The list shows each key's user, creation date and first characters; the full key is shown to
its owner, and once to the operator who issues it here (the page answering the add form, never
stored in a message or the admin log). A key is not edited: delete it and issue a new one. The
other way to issue one is `manage.py drf_create_token <username>`.
"""

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from config.admin.superusers import SuperuserOnlyMixin
from config.models import ApiKey, masked_key

# Lookups on these would let the changelist's URL filters test a key character by character.
KEY_LOOKUPS = {"key", "pk"}

admin.site.unregister(TokenProxy)


@admin.register(ApiKey)
class ApiKeyAdmin(SuperuserOnlyMixin, TokenAdmin):
    """DRF's TokenAdmin maps URLs to the user's id (never the key); the rest is ours."""

    list_display = ("user", "created", "key_display")
    list_select_related = ("user",)
    list_filter = ()
    readonly_fields = ("user", "created", "key_display")

    def get_queryset(self, request):
        is_own = ExpressionWrapper(Q(user_id=request.user.pk), output_field=BooleanField())
        return super().get_queryset(request).annotate(is_own=is_own)

    def get_fields(self, request, obj=None):
        return ("user",) if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return lookup.split("__", 1)[0] not in KEY_LOOKUPS and super().lookup_allowed(lookup, value, request)

    @admin.display(description="key")
    def key_display(self, obj: ApiKey) -> str:
        return obj.key if getattr(obj, "is_own", False) else masked_key(obj.key)

    def response_add(self, request, obj, post_url_continue=None):
        """The one page that shows a new key to the operator who issued it."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key issued",
            "api_key": obj,
            "changelist_url": reverse("admin:config_apikey_changelist"),
        }
        return TemplateResponse(request, "admin/config/apikey/issued.html", context)  # never_cache: admin_view
