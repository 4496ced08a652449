from django.db import models


class ExternalKeyed(models.Model):
    """Every row of the customer store carries the identity key integrations use to upsert it."""

    external_id = models.CharField(max_length=128, unique=True, help_text="The identity key used by integrations.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.external_id
