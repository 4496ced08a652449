import csv
import io

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from audiences import dimensions as dims
from audiences import services
from audiences.api import serializers
from audiences.models import Audience
from audiences.rules.parser import RuleError
from audiences.rules.schema import rule_schema
from audiences.selectors import (
    ExportColumnsError,
    may_see_member_details,
    members_export,
    members_page,
    resolve_export_columns,
)
from config.api.permissions import require_permissions
from config.api.schema import ErrorDetailSerializer
from config.csv_safety import escape_row

CanView = require_permissions("audiences.view_audience")
CanChange = require_permissions("audiences.change_audience")


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # errors only; members stream
        """An error as the text a person reads: `detail: ...`, one line per message."""
        if isinstance(data, dict):
            lines = [
                f"{name}: {message}"
                for name, messages in data.items()
                for message in (messages if isinstance(messages, list) else [messages])
            ]
        else:
            lines = [str(item) for item in data] if isinstance(data, list) else [str(data)]
        return ("\n".join(lines) + "\n").encode()


class DimensionViewSet(viewsets.ViewSet):
    """The targeting dimensions: fields with types and operators, links, relations."""

    permission_classes = [CanView]
    lookup_field = "key"
    serializer_class = serializers.DimensionSerializer

    @extend_schema(responses=serializers.DimensionSerializer(many=True))
    def list(self, request):
        return Response([serializers.dimension_data(d) for d in dims.all_dimensions()])

    @extend_schema(
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH, description="The dimension's key.")],
        responses=serializers.DimensionSerializer,
    )
    def retrieve(self, request, key=None):
        return Response(serializers.dimension_data(_dimension(key)))

    @extend_schema(
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH, description="The dimension's key.")],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], url_path="rule-schema")
    def rule_schema(self, request, key=None):
        """A JSON Schema of rules over this dimension (shape only; the API validates fully)."""
        return Response(rule_schema(_dimension(key)))


def _dimension(key: str) -> dims.Dimension:
    try:
        return dims.get(key)
    except KeyError:
        raise NotFound(f'No dimension "{key}".') from None


def _rule_error(exc: RuleError) -> ValidationError:
    return ValidationError({"rule": exc.as_dict()})


def _csv_line(row) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(escape_row(row))  # no cell a spreadsheet would run as a formula
    return buffer.getvalue()


MAX_OBJECT_ID = 2**63 - 1  # object ids are bigints


def _whole_number(params, name: str, *, default: int | None, maximum: int) -> int | None:
    """A query parameter that must be a whole number from 0 to `maximum` (else a 400 naming it)."""
    raw = params.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > maximum:
        raise ValidationError({name: [f"must be a whole number from 0 to {maximum}."]})
    return int(raw)


TIMEOUT_RESPONSE = OpenApiResponse(
    ErrorDetailSerializer,
    "The rule ran longer than its time limit (AUDIENCE_PREVIEW_TIMEOUT_MS for previews, "
    "AUDIENCE_EVALUATION_TIMEOUT_MS for evaluations) and was stopped; `detail` says what to do. Not "
    "worth retrying as it is: the same rule would take as long again.",
)


def _timeout(exc: services.RuleTimeout) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class AudienceViewSet(viewsets.ModelViewSet):
    """Audiences. Create with {"name", "slug", "kind", "dimension", "rule"}; rule errors name their path."""

    queryset = Audience.objects.select_related("latest_snapshot")
    serializer_class = serializers.AudienceSerializer
    filterset_fields = ["kind", "dimension", "slug"]

    def perform_create(self, serializer):
        serializer.instance = self._save(Audience(**serializer.validated_data))

    def perform_update(self, serializer):
        audience = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(audience, name, value)
        self._save(audience)

    def _save(self, audience: Audience) -> Audience:
        try:
            return services.audience_save(audience=audience, acting_user=self.request.user)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except services.AudienceGone as exc:
            raise NotFound(str(exc)) from None

    @extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(serializers.AudienceInUseSerializer, "The audience is in use; `usages` says by what."),
        }
    )
    def destroy(self, request, *args, **kwargs):
        audience = self.get_object()
        try:
            services.audience_delete(audience=audience)
        except services.AudienceInUse as exc:
            return Response({"detail": str(exc), "usages": exc.usages}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter("async", OpenApiTypes.BOOL, description="Queue on the workers (202) instead of waiting.")
        ],
        responses={200: serializers.SnapshotSerializer, 202: serializers.SnapshotSerializer, 422: TIMEOUT_RESPONSE},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanChange])
    def evaluate(self, request, pk=None):
        """Evaluate the audience: answers the snapshot (id, size, evaluated_at, duration_ms)."""
        audience = self.get_object()
        try:
            if request.query_params.get("async", "").lower() in ("1", "true", "yes"):
                snapshot = services.audience_request_evaluation(audience=audience, acting_user=request.user)
                return Response(serializers.SnapshotSerializer(snapshot).data, status=status.HTTP_202_ACCEPTED)
            snapshot = services.audience_evaluate(audience=audience, acting_user=request.user, trigger="api")
        except services.AudienceError as exc:
            raise ValidationError({"kind": [str(exc)]}) from None
        except RuleError as exc:
            raise _rule_error(exc) from None
        except services.RuleTimeout as exc:  # the snapshot is failed with the same message
            return _timeout(exc)
        return Response(serializers.SnapshotSerializer(snapshot).data)

    @extend_schema(responses=serializers.SnapshotSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def snapshots(self, request, pk=None):
        """The audience's evaluations, newest first (an async evaluation's state shows here)."""
        return Response(serializers.SnapshotSerializer(self.get_object().snapshots.all()[:50], many=True).data)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("page_size", int, description="Rows per page (max 1000)."),
            OpenApiParameter("after", int, description="Cursor: the last object_id of the previous page."),
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv streams every member."),
            OpenApiParameter(
                "columns",
                str,
                description="format=csv: the columns, comma-separated (default: the dimension's useful ones). "
                "Without the permission to view profiles only object_id and profile_id; unknown names are a 400.",
            ),
        ],
        responses={
            (200, "application/json"): serializers.MemberPageSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, "format=csv: every member, with a header row."),
        },
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.MemberUploadSerializer,
        responses={(200, "application/json"): serializers.SnapshotSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        permission_classes=[CanView],  # an upload also needs change_audience (checked in _upload)
        renderer_classes=[JSONRenderer, BrowsableAPIRenderer, CSVRenderer],
        pagination_class=None,
        filter_backends=[],
    )
    def members(self, request, pk=None):
        """GET: the latest snapshot's members. POST (list audiences): upload the members."""
        audience = self.get_object()
        if request.method == "POST":
            return self._upload(request, audience)
        snapshot = audience.latest_snapshot
        if snapshot is None or snapshot.population is None:
            raise NotFound("The audience has no members yet: evaluate it (or upload its list) first.")
        population = snapshot.population
        details = may_see_member_details(request.user)
        if request.accepted_renderer.format == "csv":
            try:
                columns = resolve_export_columns(
                    population.dimension, ",".join(request.query_params.getlist("columns")), details=details
                )
            except ExportColumnsError as exc:
                return Response({"columns": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
            lines = (_csv_line(row) for row in members_export(population, columns))
            response = StreamingHttpResponse(_with_header(columns, lines), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{audience.slug}-members.csv"'
            return response
        size = min(_whole_number(request.query_params, "page_size", default=100, maximum=MAX_OBJECT_ID) or 1, 1000)
        after = _whole_number(request.query_params, "after", default=None, maximum=MAX_OBJECT_ID)
        rows = members_page(population, after=after, limit=size, details=details)
        next_url = None
        if len(rows) == size:
            next_url = request.build_absolute_uri(f"{request.path}?page_size={size}&after={rows[-1]['object_id']}")
        return Response({"count": snapshot.size, "next": next_url, "results": rows})

    def _upload(self, request, audience):
        if not request.user.has_perm("audiences.change_audience"):
            self.permission_denied(request, message="Uploading members needs the change audience permission.")
        upload = serializers.MemberUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        if "file" in data:
            key, values = _read_member_file(data["file"])
        else:
            key = "email" if "emails" in data else "external_id"
            values = data.get("emails") or data.get("external_ids") or []
        try:
            snapshot = services.audience_upload_list(
                audience=audience, values=values, key=key, acting_user=request.user
            )
        except services.AudienceError as exc:
            raise ValidationError({"kind": [str(exc)]}) from None
        return Response(serializers.SnapshotSerializer(snapshot).data)

    @extend_schema(
        parameters=[OpenApiParameter("field", str, required=True, description="A field of the dimension.")],
        responses=serializers.DistributionSerializer,
    )
    @action(detail=True, methods=["get"])
    def distribution(self, request, pk=None):
        """The 20 most frequent values of a field among the latest snapshot's members (the values
        are members' data: this needs the view profile permission too)."""
        audience = self.get_object()
        if not may_see_member_details(request.user):
            self.permission_denied(request, message="The values of members' fields need the view profile permission.")
        if audience.latest_snapshot is None:
            raise NotFound("The audience has no members yet: evaluate it first.")
        field = request.query_params.get("field", "")
        try:
            values = services.snapshot_distribution(snapshot=audience.latest_snapshot, field=field)
        except RuleError as exc:
            raise ValidationError({"field": [message for _, message in exc.problems]}) from None
        return Response({"field": field, "values": values})

    @extend_schema(
        responses={
            200: serializers.ReachabilitySerializer,
            404: OpenApiResponse(ErrorDetailSerializer, "No such audience, or it has no members yet."),
            422: OpenApiResponse(
                ErrorDetailSerializer, "A count ran longer than AUDIENCE_PREVIEW_TIMEOUT_MS and was stopped."
            ),
        }
    )
    @action(detail=True, methods=["get"], permission_classes=[CanView], pagination_class=None, filter_backends=[])
    def reachability(self, request, pk=None):
        """Per channel, how many of the latest snapshot's distinct profiles can be contacted, and
        how many cannot by the first reason: no_address, no_consent (CONSENT_POLICY), suppressed."""
        snapshot = self.get_object().latest_snapshot
        try:
            counts = services.snapshot_reachability(snapshot=snapshot) if snapshot else None
        except services.NoProfiles as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)  # e.g. products
        except services.RuleTimeout as exc:
            return _timeout(exc)
        if counts is None:
            raise NotFound("The audience has no members yet: evaluate it (or upload its list) first.")
        return Response(counts)

    @extend_schema(
        request=serializers.PreviewSerializer,
        responses={
            200: serializers.PreviewResultSerializer,
            409: OpenApiResponse(
                serializers.NotEvaluatedSerializer,
                "The rule uses an audience that was never calculated and cannot be counted in place: "
                "calculate `audience` first.",
            ),
            422: TIMEOUT_RESPONSE,
        },
    )
    @action(detail=False, methods=["post"], permission_classes=[CanView])
    def preview(self, request):
        """Count and sample a rule's matches; nothing is written. Sample rows show the members'
        fields to users who may view profiles, else only their `id`."""
        given = serializers.PreviewSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            result = services.audience_preview(
                dimension=given.validated_data["dimension"],
                rule=given.validated_data["rule"],
                sample_size=given.validated_data["sample_size"],
                details=may_see_member_details(request.user),
                reachability=given.validated_data["reachability"],
            )
        except RuleError as exc:
            raise _rule_error(exc) from None
        except services.NoProfiles as exc:
            raise ValidationError({"reachability": [str(exc)]}) from None
        except services.AudienceNotEvaluated as exc:
            return Response({"detail": str(exc), "audience": exc.audience.slug}, status=status.HTTP_409_CONFLICT)
        except services.RuleTimeout as exc:
            return _timeout(exc)
        return Response(result)


def _with_header(columns, lines):
    yield _csv_line(columns)
    yield from lines


def _read_member_file(upload) -> tuple[str, list[str]]:
    try:
        text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = [cell.strip().lower() for cell in next(reader, [])]
    except UnicodeDecodeError:
        raise ValidationError({"file": ["The file is not UTF-8 text."]}) from None
    if len(header) != 1 or header[0] not in ("external_id", "email"):
        raise ValidationError({"file": ["The CSV needs one column with the header external_id or email."]})
    return header[0], [row[0] for row in reader if row and row[0].strip()]
