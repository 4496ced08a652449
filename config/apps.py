from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.db.models.signals import post_migrate


class AdminConfig(DjangoAdminConfig):
    """Django's admin, with the site of config/admin_site.py (sections, dashboard) as `admin.site`."""

    default_site = "config.admin_site.OrchestratorAdminSite"


class ConfigConfig(AppConfig):
    """Project-wide pieces: roles, the worker heartbeat and the health endpoint."""

    name = "config"
    verbose_name = "System"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from config.roles import ensure_roles

        # Installed last, so every app's permissions exist when this runs.
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="config.ensure_roles")
