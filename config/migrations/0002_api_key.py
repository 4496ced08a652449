from django.db import migrations

# DRF's Token.__str__ is the key itself, so the admin log of token changes made before this
# migration names full keys: those entries are rewritten to name the user and a masked key.
# The proxy (DRF's admin) logs the user's id as the object id; the concrete model logs the key.
TOKEN_MODELS = {"tokenproxy": "user id", "token": "key"}


def mask_logged_keys(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    User = apps.get_model("auth", "User")
    for model, object_id in TOKEN_MODELS.items():
        content_type = ContentType.objects.filter(app_label="authtoken", model=model).first()
        if content_type is None:
            continue
        for entry in LogEntry.objects.filter(content_type=content_type).iterator():
            user = User.objects.filter(pk=int(entry.object_id)).first() if object_id == "user id" else None
            entry.object_repr = f"{user.username if user else 'a user'} ({entry.object_repr[:4]}…)"
            entry.object_id = "" if object_id == "key" else entry.object_id
            entry.save(update_fields=["object_repr", "object_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[],
            options={
                "verbose_name": "API key",
                "verbose_name_plural": "API keys",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("authtoken.tokenproxy",),
        ),
        migrations.RunPython(mask_logged_keys, migrations.RunPython.noop),
    ]
