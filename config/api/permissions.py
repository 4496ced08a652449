from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, with reads requiring the `view` permission too.

    DRF's default lets any authenticated user read; a viewer role exists precisely to grant
    reading, so reading must be granted.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class BulkUpsertPermissions(ModelPermissions):
    """A bulk upsert both creates and changes rows: it needs both permissions."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }


def require_permissions(*perms: str) -> type[BasePermission]:
    """A permission class granting access to users who hold all of `perms` (app_label.codename)."""

    class RequiredPermissions(BasePermission):
        message = f"You need the permission(s): {', '.join(perms)}."

        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))

    return RequiredPermissions
