from django.db import models
from simple_history.models import HistoricalRecords

from profiles.models.base import ExternalKeyed


class Product(ExternalKeyed):
    """Something sold or booked; its external_id is the SKU."""

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    class Meta:
        indexes = [models.Index(fields=["category"], name="product_category_idx")]

    def __str__(self):
        return f"{self.name} ({self.external_id})"


class InventoryItem(ExternalKeyed):
    """Stock of a product at a location."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="inventory")
    location = models.CharField(max_length=100)
    quantity = models.IntegerField(default=0)

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    class Meta:
        verbose_name = "inventory item"
        indexes = [models.Index(fields=["location"], name="inventory_location_idx")]


class Plan(ExternalKeyed):
    """A subscription plan."""

    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=50, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")

    history = HistoricalRecords(excluded_fields=["created_at", "updated_at"])

    def __str__(self):
        return f"{self.name} ({self.external_id})"
