import django_filters as filters
from django import forms
from django_filters.fields import IsoDateTimeField

from profiles import validation
from profiles.models import (
    Booking,
    Consent,
    ConsentEvent,
    InventoryItem,
    Plan,
    Product,
    Profile,
    Purchase,
    PushDevice,
    Subscription,
    Suppression,
)


class _CheckedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, within what the database takes (offsets up to ±15:59, years 1 to 9999 in UTC)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return validation.datetime(parsed)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _CheckedIsoDateTimeField


class ExternalIdFilterSet(filters.FilterSet):
    external_id = filters.CharFilter()
    updated_after = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")


class ProfileFilter(ExternalIdFilterSet):
    email = filters.CharFilter(method="filter_email")

    class Meta:
        model = Profile
        fields = ["external_id", "email", "phone", "country", "city", "loyalty_tier", "locale"]

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=value.strip().lower())


class ProductFilter(ExternalIdFilterSet):
    class Meta:
        model = Product
        fields = ["external_id", "category", "currency"]


class InventoryItemFilter(ExternalIdFilterSet):
    product = filters.CharFilter(field_name="product__external_id")

    class Meta:
        model = InventoryItem
        fields = ["external_id", "product", "location"]


class PlanFilter(ExternalIdFilterSet):
    class Meta:
        model = Plan
        fields = ["external_id", "tier"]


class ProfileOwnedFilterSet(ExternalIdFilterSet):
    profile = filters.CharFilter(field_name="profile__external_id", help_text="The profile's external id.")


class SubscriptionFilter(ProfileOwnedFilterSet):
    plan = filters.CharFilter(field_name="plan__external_id")

    class Meta:
        model = Subscription
        fields = ["external_id", "profile", "plan", "status"]


class BookingFilter(ProfileOwnedFilterSet):
    product = filters.CharFilter(field_name="product__external_id")
    check_in_from = filters.DateFilter(field_name="check_in", lookup_expr="gte")
    check_in_to = filters.DateFilter(field_name="check_in", lookup_expr="lte")

    class Meta:
        model = Booking
        fields = ["external_id", "profile", "product", "status"]


class PurchaseFilter(ProfileOwnedFilterSet):
    product = filters.CharFilter(field_name="product__external_id")
    purchased_after = IsoDateTimeFilter(field_name="purchased_at", lookup_expr="gte")
    purchased_before = IsoDateTimeFilter(field_name="purchased_at", lookup_expr="lt")

    class Meta:
        model = Purchase
        fields = ["external_id", "profile", "product"]


class ConsentFilter(filters.FilterSet):
    profile = filters.CharFilter(field_name="profile__external_id", help_text="The profile's external id.")

    class Meta:
        model = Consent
        fields = ["profile", "channel", "status"]


class ConsentEventFilter(ConsentFilter):
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")

    class Meta:
        model = ConsentEvent
        fields = ["profile", "channel", "status", "source"]


class SuppressionFilter(filters.FilterSet):
    class Meta:
        model = Suppression
        fields = ["channel", "address", "reason"]


class PushDeviceFilter(filters.FilterSet):
    profile = filters.CharFilter(field_name="profile__external_id", help_text="The profile's external id.")

    class Meta:
        model = PushDevice
        fields = ["profile", "platform", "active"]
