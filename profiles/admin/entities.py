"""The demo domain's entities: catalogue (products, inventory, plans) and what customers do.

Bookings, purchases and subscriptions grow to millions of rows: capped counts, searches on
indexed exact keys, date filters instead of a date hierarchy (whose year list is a DISTINCT
over the whole table), and sorting only by indexed columns.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from config.admin_utils import BigTableAdminMixin
from profiles.admin.importexport import ImportExportMixin
from profiles.models import Booking, InventoryItem, Plan, Product, Purchase, Subscription

CUSTOMER_SEARCH_HELP = "Exact external id, or a customer's external id, or a product's SKU."


@admin.register(Product)
class ProductAdmin(ImportExportMixin, SimpleHistoryAdmin):
    import_kind = "products"
    actions = ["export_csv"]
    list_display = ("external_id", "name", "category", "price", "currency", "updated_at")
    list_filter = ("category", "currency")
    search_fields = ("external_id", "name")
    search_help_text = "SKU or name."
    readonly_fields = ("created_at", "updated_at")


@admin.register(InventoryItem)
class InventoryItemAdmin(ImportExportMixin, SimpleHistoryAdmin):
    import_kind = "inventory"
    actions = ["export_csv"]
    list_display = ("external_id", "product", "location", "quantity", "updated_at")
    list_select_related = ("product",)
    list_filter = ("location",)
    autocomplete_fields = ("product",)
    search_fields = ("external_id", "product__external_id__exact", "location")
    search_help_text = "External id, a product's SKU, or a location."
    readonly_fields = ("created_at", "updated_at")


@admin.register(Plan)
class PlanAdmin(ImportExportMixin, SimpleHistoryAdmin):
    import_kind = "plans"
    actions = ["export_csv"]
    list_display = ("external_id", "name", "tier", "price", "currency", "updated_at")
    list_filter = ("tier", "currency")
    search_fields = ("external_id", "name")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Subscription)
class SubscriptionAdmin(BigTableAdminMixin, ImportExportMixin, SimpleHistoryAdmin):
    import_kind = "subscriptions"
    actions = ["export_csv"]
    list_display = ("external_id", "profile", "plan", "status", "started_at", "renews_at", "cancelled_at")
    list_select_related = ("profile", "plan")
    list_filter = ("status", "plan", ("renews_at", admin.DateFieldListFilter))
    sortable_by = ("external_id", "status", "renews_at")
    raw_id_fields = ("profile",)
    autocomplete_fields = ("plan",)
    search_fields = ("external_id__exact", "profile__external_id__exact", "plan__external_id__exact")
    search_help_text = "Exact external id, or a customer's or a plan's external id."
    readonly_fields = ("created_at", "updated_at")


@admin.register(Booking)
class BookingAdmin(BigTableAdminMixin, ImportExportMixin, SimpleHistoryAdmin):
    import_kind = "bookings"
    actions = ["export_csv"]
    list_display = ("external_id", "profile", "product", "status", "check_in", "amount", "currency")
    list_select_related = ("profile", "product")
    list_filter = ("status", ("check_in", admin.DateFieldListFilter), ("booked_at", admin.DateFieldListFilter))
    sortable_by = ("external_id", "check_in")
    raw_id_fields = ("profile",)
    autocomplete_fields = ("product",)
    search_fields = ("external_id__exact", "profile__external_id__exact", "product__external_id__exact")
    search_help_text = CUSTOMER_SEARCH_HELP
    readonly_fields = ("created_at", "updated_at")


@admin.register(Purchase)
class PurchaseAdmin(BigTableAdminMixin, ImportExportMixin, SimpleHistoryAdmin):
    import_kind = "purchases"
    actions = ["export_csv"]
    list_display = ("external_id", "profile", "product", "quantity", "amount", "currency", "purchased_at")
    list_select_related = ("profile", "product")
    list_filter = (("purchased_at", admin.DateFieldListFilter),)
    sortable_by = ("external_id", "purchased_at")
    raw_id_fields = ("profile",)
    autocomplete_fields = ("product",)
    search_fields = ("external_id__exact", "profile__external_id__exact", "product__external_id__exact")
    search_help_text = CUSTOMER_SEARCH_HELP
    readonly_fields = ("created_at", "updated_at")
