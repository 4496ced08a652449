from rest_framework import serializers

from audiences import dimensions as dims
from audiences.forms import DIMENSION_HELP, DIMENSION_LABEL
from audiences.models import Audience, AudienceSnapshot


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = AudienceSnapshot
        fields = ["id", "state", "size", "evaluated_at", "duration_ms", "trigger", "error", "details", "created_at"]


class AudienceSerializer(serializers.ModelSerializer):
    latest_snapshot = SnapshotSerializer(read_only=True, allow_null=True)
    dimension = serializers.ChoiceField(choices=[], label=DIMENSION_LABEL, help_text=DIMENSION_HELP)
    rule = serializers.JSONField(required=False, allow_null=True, help_text="The rule (see GET /api/v1/dimensions/).")

    class Meta:
        model = Audience
        fields = [
            "id", "name", "slug", "description", "kind", "dimension", "rule", "rule_version", "refresh_cron",
            "latest_snapshot", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "rule_version", "latest_snapshot", "created_at", "updated_at"]
        validators = []  # the service validates (slug uniqueness included)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = dims.choices()
        self.fields["slug"].validators = [v for v in self.fields["slug"].validators if "Unique" not in type(v).__name__]

    def validate_kind(self, value: str) -> str:
        """ "saved" audiences are written by campaigns (through the service), never created here."""
        already_saved = self.instance is not None and self.instance.kind == Audience.Kind.SAVED
        if value == Audience.Kind.SAVED and not already_saved:
            raise serializers.ValidationError(
                'Audiences of kind "saved" are written by campaigns; create a "rule" or "list" audience.'
            )
        return value


class JSONBooleanField(serializers.BooleanField):
    """true or false as JSON writes them: "yes", 1 or "true" are refused, not guessed at."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class PreviewSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=[])
    rule = serializers.JSONField()
    sample_size = serializers.IntegerField(min_value=0, max_value=100, default=20)
    reachability = JSONBooleanField(
        default=False, help_text="true: the answer has `reachability`, per channel, for the matches' profiles."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = dims.choices()


class UnreachableSerializer(serializers.Serializer):
    """Profiles that cannot be contacted on the channel, by the first reason that applies."""

    no_address = serializers.IntegerField(min_value=0, help_text="No address for the channel.")
    no_consent = serializers.IntegerField(min_value=0, help_text="An address, but no consent by CONSENT_POLICY.")
    suppressed = serializers.IntegerField(
        min_value=0, help_text="An address and consent, but the address is suppressed."
    )


class ChannelReachabilitySerializer(serializers.Serializer):
    reachable = serializers.IntegerField(min_value=0, help_text="Profiles that can be contacted on the channel.")
    unreachable = UnreachableSerializer()


class ReachabilitySerializer(serializers.Serializer):
    """Per channel, distinct profiles among the members: reachable + the unreachable counts = all of them."""

    email = ChannelReachabilitySerializer()
    sms = ChannelReachabilitySerializer()
    push = ChannelReachabilitySerializer()
    direct_mail = ChannelReachabilitySerializer()


class PreviewResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = serializers.ListField(
        child=serializers.DictField(),
        help_text="Random matching rows: `id`, and with the view profile permission their external ids and "
        "display fields.",
    )
    duration_ms = serializers.IntegerField()
    reachability = ReachabilitySerializer(required=False, help_text="Only when asked for with reachability: true.")


class NotEvaluatedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    audience = serializers.CharField(help_text="The slug of the audience to calculate first.")


class MemberSerializer(serializers.Serializer):
    """A member. The external ids are sent only to users with the view profile permission."""

    object_id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True, required=False)
    profile_id = serializers.IntegerField(allow_null=True)
    profile_external_id = serializers.CharField(allow_null=True, required=False)


class MemberPageSerializer(serializers.Serializer):
    """One page of GET members/: `next` is the next page's URL (null on the last page)."""

    count = serializers.IntegerField(allow_null=True, help_text="Members in the snapshot.")
    next = serializers.URLField(allow_null=True)
    results = MemberSerializer(many=True)


class AudienceInUseSerializer(serializers.Serializer):
    detail = serializers.CharField()
    usages = serializers.ListField(child=serializers.CharField(), help_text="What uses the audience.")


class MemberUploadSerializer(serializers.Serializer):
    external_ids = serializers.ListField(child=serializers.CharField(max_length=254), required=False)
    emails = serializers.ListField(child=serializers.CharField(max_length=254), required=False)
    file = serializers.FileField(required=False, help_text="CSV with a header external_id or email (multipart).")

    def validate(self, attrs):
        given = [name for name in ("external_ids", "emails", "file") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError("Send exactly one of external_ids, emails or file.")
        return attrs


class DistributionSerializer(serializers.Serializer):
    field = serializers.CharField()
    values = serializers.ListField(child=serializers.DictField())


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    operators = serializers.ListField(child=serializers.CharField())
    choices = serializers.ListField(child=serializers.CharField())


class DimensionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    has_profile = serializers.BooleanField()
    fields = FieldSerializer(many=True)
    links = serializers.DictField(child=serializers.CharField(), help_text="to-one links: name -> dimension")
    relations = serializers.ListField(child=serializers.DictField())
    change_paths = serializers.ListField(child=serializers.DictField())
    aggregates = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def dimension_data(dimension: dims.Dimension) -> dict:
    return {
        "key": dimension.key,
        "label": dimension.label,
        "has_profile": dimension.profile_path is not None,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "operators": list(f.operators),
                "choices": list(f.choices),
            }
            for f in dims.fields_of(dimension)
        ],
        "links": dict(dimension.to_one),
        "relations": [{"name": r.name, "dimension": r.dimension} for r in dimension.relations],
        "change_paths": [
            {"name": c.name, "dimension": c.dimension, "label": c.label or c.name} for c in dimension.change_paths
        ],
        "aggregates": {name: list(dims.AGGREGATE_TYPES.get(name, ())) for name in dims.AGGREGATES},
    }
