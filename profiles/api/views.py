from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from config.api.permissions import BulkUpsertPermissions
from config.api.schema import ErrorDetailSerializer
from profiles import services
from profiles.api import filters, serializers
from profiles.ingestion.upsert import entity_bulk_upsert
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


def read_envelope(request) -> list | Response:
    """The `records` list of a bulk request, or the error Response to send instead."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return Response(
            {"detail": f"Request body too large ({length} bytes; at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE})."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    data = request.data
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ValidationError({"records": ['Send a JSON object {"records": [...]} with a list of records.']})
    records = data["records"]
    if len(records) > settings.BULK_MAX_RECORDS:
        return Response(
            {"detail": f"Too many records ({len(records)}); send at most {settings.BULK_MAX_RECORDS} per request."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return records


class BulkUpsertMixin:
    """`POST <entity>/bulk-upsert/`: create or update up to BULK_MAX_RECORDS rows by external id."""

    entity: str

    def get_serializer_class(self):
        if self.action == "bulk_upsert":  # the request shape, for the API schema and the browsable form
            return serializers.bulk_envelope_serializer(self.entity)
        return super().get_serializer_class()

    @extend_schema(
        responses={200: serializers.BulkResultSerializer, 413: ErrorDetailSerializer},
        description="Create or update records keyed by `external_id`. Valid records are applied, "
        "invalid ones reported by index. 413 when the batch is over the size limit.",
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert", permission_classes=[BulkUpsertPermissions])
    def bulk_upsert(self, request):
        records = read_envelope(request)
        if isinstance(records, Response):
            return records
        result = entity_bulk_upsert(entity=self.entity, records=records)
        return Response(result.as_dict())


class ProfileViewSet(BulkUpsertMixin, viewsets.ModelViewSet):
    """Customer profiles, addressed by external id. DELETE erases the profile (right to be forgotten)."""

    entity = "profiles"
    queryset = Profile.objects.all()
    serializer_class = serializers.ProfileSerializer
    filterset_class = filters.ProfileFilter
    lookup_field = "external_id"
    lookup_value_regex = "[^/]+"

    def perform_create(self, serializer):
        serializer.instance = services.profile_save(profile=Profile(), data=serializer.validated_data)

    def perform_update(self, serializer):
        services.profile_save(profile=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.profile_erase(profile_ids=[instance.pk])


class EntityViewSet(BulkUpsertMixin, viewsets.ReadOnlyModelViewSet):
    lookup_field = "external_id"
    lookup_value_regex = "[^/]+"


class ProductViewSet(EntityViewSet):
    entity = "products"
    queryset = Product.objects.all()
    serializer_class = serializers.ProductSerializer
    filterset_class = filters.ProductFilter


class InventoryItemViewSet(EntityViewSet):
    entity = "inventory"
    queryset = InventoryItem.objects.select_related("product")
    serializer_class = serializers.InventoryItemSerializer
    filterset_class = filters.InventoryItemFilter


class PlanViewSet(EntityViewSet):
    entity = "plans"
    queryset = Plan.objects.all()
    serializer_class = serializers.PlanSerializer
    filterset_class = filters.PlanFilter


class SubscriptionViewSet(EntityViewSet):
    entity = "subscriptions"
    queryset = Subscription.objects.select_related("profile", "plan")
    serializer_class = serializers.SubscriptionSerializer
    filterset_class = filters.SubscriptionFilter


class BookingViewSet(EntityViewSet):
    entity = "bookings"
    queryset = Booking.objects.select_related("profile", "product")
    serializer_class = serializers.BookingSerializer
    filterset_class = filters.BookingFilter


class PurchaseViewSet(EntityViewSet):
    entity = "purchases"
    queryset = Purchase.objects.select_related("profile", "product")
    serializer_class = serializers.PurchaseSerializer
    filterset_class = filters.PurchaseFilter


class ConsentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET: the current consent, one row per profile and channel. POST: a batch of consent events."""

    queryset = Consent.objects.select_related("profile")
    serializer_class = serializers.ConsentSerializer
    filterset_class = filters.ConsentFilter

    def get_permissions(self):
        if self.request.method == "POST":
            return [BulkUpsertPermissions()]
        return super().get_permissions()

    @extend_schema(
        request=serializers.ConsentEnvelopeSerializer,
        responses={200: serializers.ConsentResultSerializer, 413: ErrorDetailSerializer},
        description="Record consent events. Every valid event joins the history; the current state "
        "moves only for events newer than it (equal times: the later arrival wins).",
    )
    def create(self, request):
        records = read_envelope(request)
        if isinstance(records, Response):
            return records
        return Response(services.consent_events_record(records=records).as_dict())


class ConsentHistoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The consent events as reported, oldest first (append-only)."""

    queryset = ConsentEvent.objects.select_related("profile")
    serializer_class = serializers.ConsentEventSerializer
    filterset_class = filters.ConsentEventFilter


class SuppressionViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Addresses never to be sent to. Adding an address twice is harmless (answers 200)."""

    queryset = Suppression.objects.all()
    serializer_class = serializers.SuppressionSerializer
    filterset_class = filters.SuppressionFilter

    @extend_schema(responses={201: serializers.SuppressionSerializer, 200: serializers.SuppressionSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            suppression, created = services.suppression_add(
                channel=data["channel"], address=data["address"], reason=data.get("reason", "manual"),
                note=data.get("note", ""),
            )  # fmt: skip
        except ValueError as exc:
            raise ValidationError({"address": [str(exc)]}) from None
        return Response(
            self.get_serializer(suppression).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PushDeviceViewSet(viewsets.ModelViewSet):
    queryset = PushDevice.objects.select_related("profile")
    serializer_class = serializers.PushDeviceSerializer
    filterset_class = filters.PushDeviceFilter

    def perform_create(self, serializer):
        serializer.instance = self._save(PushDevice(), serializer.validated_data)

    def perform_update(self, serializer):
        self._save(serializer.instance, serializer.validated_data)

    def _save(self, device: PushDevice, data) -> PushDevice:
        try:
            return services.push_device_save(device=device, data=data)
        except services.ProfileGone as exc:
            raise NotFound(str(exc)) from None
        except ValueError as exc:
            raise ValidationError({"token": [str(exc)]}) from None
