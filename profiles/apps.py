from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "Customer data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from profiles import search

        # Profile search folds accents with f_unaccent: a Python function on SQLite, SQL on
        # PostgreSQL (installed by migration 0002, or here for a database built without migrations).
        connection_created.connect(search.register_sqlite_function, dispatch_uid="profiles.search.sqlite")
        post_migrate.connect(search.ensure_postgresql_support, sender=self, dispatch_uid="profiles.search.postgresql")
