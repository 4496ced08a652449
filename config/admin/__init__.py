"""The system's admin: API keys, and the operator-only admins of other apps.

Imported last by the admin's autodiscovery (config is the last installed app), so every other
app's admin is registered by then and can be restricted here.
"""

from django.contrib import admin

from config.admin import api_keys  # noqa: F401 - registers the API key admin
from config.admin.superusers import restrict_to_superusers
from config.roles import OPERATOR_APPS

restrict_to_superusers(admin.site, app_labels=OPERATOR_APPS)
