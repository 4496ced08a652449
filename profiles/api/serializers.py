import functools

from rest_framework import serializers

from config.input_safety import text_problem
from profiles import validation
from profiles.ingestion.specs import KEY_FIELD, SPECS
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


class ParsedCharField(serializers.CharField):
    """A text field validated and normalised by one of `profiles.validation`'s parsers."""

    def __init__(self, *, parser, **kwargs):
        self.parser = parser
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return self.parser(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class PhoneField(serializers.CharField):
    """A phone number stored in E.164; a national number takes the profile's country."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, max_length=40, **kwargs)

    def to_internal_value(self, data):
        parent = self.parent
        country = parent.initial_data.get("country") if isinstance(parent.initial_data, dict) else None
        if not country and parent.instance is not None:
            country = parent.instance.country
        try:
            return validation.phone(data, region=str(country or "") or None)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class AttributesField(serializers.JSONField):
    """Custom traits: a JSON object (or, from a form, its JSON text), checked like every other path
    (profiles.validation.json_object): the same rules for the API, bulk upserts and file imports."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Custom traits: a JSON object.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return validation.json_object(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ProfileSerializer(serializers.ModelSerializer):
    email = ParsedCharField(parser=validation.email, max_length=254)
    phone = PhoneField()
    country = ParsedCharField(parser=validation.country, max_length=2)
    timezone = ParsedCharField(parser=validation.time_zone, max_length=64)
    attributes = AttributesField()

    class Meta:
        model = Profile
        fields = [
            "id", "external_id", "email", "phone", "first_name", "last_name", "locale", "timezone",
            "country", "city", "address_line1", "address_line2", "postal_code", "region",
            "birth_date", "loyalty_tier", "attributes", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]


class ExternalRef(serializers.SlugRelatedField):
    """A related row named by its external id."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="external_id", **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and (problem := text_problem(data)):
            raise serializers.ValidationError(problem)
        if not isinstance(data, str):
            raise serializers.ValidationError("must be an external id (a string)")
        return super().to_internal_value(data)


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "external_id", "name", "category", "price", "currency", "created_at", "updated_at"]


class InventoryItemSerializer(serializers.ModelSerializer):
    product = ExternalRef(read_only=True)

    class Meta:
        model = InventoryItem
        fields = ["id", "external_id", "product", "location", "quantity", "created_at", "updated_at"]


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "external_id", "name", "tier", "price", "currency", "created_at", "updated_at"]


class SubscriptionSerializer(serializers.ModelSerializer):
    profile = ExternalRef(read_only=True)
    plan = ExternalRef(read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id", "external_id", "profile", "plan", "status", "started_at", "renews_at", "cancelled_at",
            "created_at", "updated_at",
        ]  # fmt: skip


class BookingSerializer(serializers.ModelSerializer):
    profile = ExternalRef(read_only=True)
    product = ExternalRef(read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id", "external_id", "profile", "product", "status", "check_in", "check_out", "amount",
            "currency", "booked_at", "created_at", "updated_at",
        ]  # fmt: skip


class PurchaseSerializer(serializers.ModelSerializer):
    profile = ExternalRef(read_only=True)
    product = ExternalRef(read_only=True)

    class Meta:
        model = Purchase
        fields = [
            "id", "external_id", "profile", "product", "quantity", "amount", "currency", "purchased_at",
            "created_at", "updated_at",
        ]  # fmt: skip


# -- bulk envelopes -------------------------------------------------------------------------


class BulkRecordSerializer(serializers.ModelSerializer):
    """One record of a bulk upsert, for the API schema and form: the entity's importable fields,
    references by external id. The entity's ingestion spec validates records, not this."""

    serializer_related_field = ExternalRef


@functools.cache
def bulk_envelope_serializer(entity: str) -> type[serializers.Serializer]:
    """`{"records": [...]}` for one entity (a key of profiles.ingestion.specs.SPECS)."""
    spec = SPECS[entity]
    name = spec.model.__name__
    meta = type("Meta", (), {
        "model": spec.model,
        "fields": [KEY_FIELD, *spec.fields],
        "extra_kwargs": {field: {"required": False} for field in spec.fields},
    })  # fmt: skip
    record = type(f"{name}RecordSerializer", (BulkRecordSerializer,), {"Meta": meta})
    records = record(many=True, help_text="Records keyed by external_id (only it is required to update a row).")
    return type(f"{name}BulkEnvelopeSerializer", (serializers.Serializer,), {"records": records})


class BulkErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in `records` (from 0).")
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Records that matched an existing row, changed or not.")
    errors = BulkErrorSerializer(many=True)


class ConsentResultSerializer(BulkResultSerializer):
    ignored = serializers.IntegerField(help_text="Events recorded in the history but older than the current state.")


# -- consent, suppressions, devices ---------------------------------------------------------


class ConsentSerializer(serializers.ModelSerializer):
    profile = ExternalRef(read_only=True)

    class Meta:
        model = Consent
        fields = ["id", "profile", "channel", "status", "source", "occurred_at", "updated_at"]


class ConsentEventSerializer(serializers.ModelSerializer):
    profile = ExternalRef(read_only=True)

    class Meta:
        model = ConsentEvent
        fields = ["id", "profile", "channel", "status", "source", "occurred_at", "received_at"]


class ConsentEventInputSerializer(serializers.Serializer):
    """Documents one record of `POST consents/` (validation happens in the service)."""

    profile = serializers.CharField(help_text="The profile's external id.")
    channel = serializers.ChoiceField(choices=Consent._meta.get_field("channel").choices)
    status = serializers.ChoiceField(choices=Consent._meta.get_field("status").choices)
    source = serializers.CharField(required=False)
    occurred_at = serializers.DateTimeField()


class ConsentEnvelopeSerializer(serializers.Serializer):
    records = ConsentEventInputSerializer(many=True)


class SuppressionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Suppression
        fields = ["id", "channel", "address", "reason", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []  # uniqueness is handled by the service (adding twice is idempotent)


class PushDeviceSerializer(serializers.ModelSerializer):
    profile = ExternalRef(queryset=Profile.objects.all())

    class Meta:
        model = PushDevice
        fields = ["id", "profile", "token", "platform", "active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
