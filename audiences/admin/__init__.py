"""The marketer's audience admin: thin views over `audiences.services`."""

from audiences.admin import audience  # noqa: F401 - registers the model admin
