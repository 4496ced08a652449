"""The customer store's admin: thin views over `profiles.services` and the file importer."""

from profiles.admin import consent, entities, profile, traits  # noqa: F401 - registers the model admins
