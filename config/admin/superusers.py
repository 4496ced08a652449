"""Admins that only superusers get, whatever permissions a user or their groups hold.

Users and groups (changing a user can make anyone a superuser), API keys, background tasks and
schedules (a schedule names any function for the workers to run) and login-attempt records
are the site's operation, not a role's business; see config/roles.py.
"""

from django.contrib import admin

from config.roles import is_operator


class SuperuserOnlyMixin:
    """Every permission check asks `is_operator` first; what the admin itself allows a superuser
    (e.g. django-q refuses adding a task result) still holds."""

    def has_module_permission(self, request) -> bool:
        return is_operator(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_operator(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return is_operator(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_operator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_operator(request) and super().has_delete_permission(request, obj)


def restrict_to_superusers(site: admin.AdminSite, *, app_labels: tuple[str, ...]) -> list[str]:
    """Re-register the admins of models in `app_labels` with `SuperuserOnlyMixin` in front.

    Returns the labels of the models it restricted (those already restricted are left as they are).
    """
    restricted = []
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label not in app_labels or isinstance(model_admin, SuperuserOnlyMixin):
            continue
        admin_class = type(model_admin)
        site.unregister(model)
        site.register(model, type(f"SuperuserOnly{admin_class.__name__}", (SuperuserOnlyMixin, admin_class), {}))
        restricted.append(model._meta.label)
    return restricted
