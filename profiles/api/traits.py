"""`/api/v1/custom-attributes/`: the custom traits, by key. Data stewards declare them; a trait an
audience rule uses keeps its key and type and cannot be deleted (409, naming the audiences)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from profiles.models import CustomAttribute
from profiles.traits import TraitInUse, custom_attribute_delete, custom_attribute_save


class CustomAttributeSerializer(serializers.ModelSerializer):
    field = serializers.CharField(source="field_name", read_only=True, help_text="The rule field: attributes.<key>.")

    class Meta:
        model = CustomAttribute
        fields = ["key", "label", "type", "description", "field", "created_at", "updated_at"]
        # The key's uniqueness is the model's to check (full_clean), with one message for both paths.
        # DRF's text fields refuse NUL and lone surrogates themselves.
        extra_kwargs = {"key": {"validators": []}}


class TraitInUseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    audiences = serializers.ListField(child=serializers.CharField(), help_text="The audiences whose rules use it.")


IN_USE = OpenApiResponse(TraitInUseSerializer, "An audience rule uses the trait; `audiences` names them.")


class CustomAttributeViewSet(viewsets.ModelViewSet):
    """Custom traits: keys of `Profile.attributes` declared with a type (string, number, boolean,
    date, list), usable in audience rules as `attributes.<key>`."""

    queryset = CustomAttribute.objects.all()
    serializer_class = CustomAttributeSerializer
    lookup_field = "key"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["type"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attribute = self._save(CustomAttribute(), serializer.validated_data)
        return Response(self.get_serializer(attribute).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: CustomAttributeSerializer, 409: IN_USE})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        attribute = self.get_object()
        serializer = self.get_serializer(attribute, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            attribute = self._save(attribute, serializer.validated_data)
        except TraitInUse as exc:
            return _in_use(exc)
        return Response(self.get_serializer(attribute).data)

    @extend_schema(responses={204: None, 409: IN_USE})
    def destroy(self, request, *args, **kwargs):
        try:
            custom_attribute_delete(attribute=self.get_object())
        except TraitInUse as exc:
            return _in_use(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _save(attribute: CustomAttribute, data) -> CustomAttribute:
        try:
            return custom_attribute_save(attribute=attribute, data=data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except TraitInUse:
            raise
        except ValueError as exc:
            raise ValidationError({"key": [str(exc)]}) from None


def _in_use(exc: TraitInUse) -> Response:
    return Response({"detail": str(exc), "audiences": exc.audiences}, status=status.HTTP_409_CONFLICT)
