"""Profile search (profiles/search.py): on PostgreSQL the unaccent and pg_trgm extensions, the
immutable f_unaccent wrapper and the GIN trigram index of the search document. Creating an
extension needs a privileged user: without it this migration stops with a message saying what a
superuser must run. SQLite needs nothing stored (f_unaccent is registered per connection)."""

from django.db import migrations

from profiles import search


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        search.install_postgresql(schema_editor.connection)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for statement in search.POSTGRESQL_UNINSTALL:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("profiles", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
