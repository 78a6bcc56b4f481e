from rest_framework import serializers

from veriml.core.api import StrictSerializer


class ApiKeySummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)


class ApiKeySerializer(serializers.Serializer):
    """An API key as its organisation's administrators see it; never its secret."""

    id = serializers.CharField(source="prefix", help_text="The prefix: vml_<id>_<secret>.")
    name = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class MembershipSummarySerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.name")
    role = serializers.CharField()


class CallerSerializer(serializers.Serializer):
    """Who a request acts as: an organisation's API key, or a signed-in user."""

    kind = serializers.ChoiceField(choices=["api_key", "user"])
    organisation = serializers.CharField(allow_null=True)
    api_key = ApiKeySummarySerializer(allow_null=True)
    username = serializers.CharField(allow_null=True)
    memberships = MembershipSummarySerializer(many=True)


class AuditorGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    organisation = serializers.CharField(source="organisation.name", read_only=True)
    auditor_organisation = serializers.CharField(
        source="auditor_organisation.name", allow_null=True, read_only=True
    )
    auditor_username = serializers.CharField(
        source="auditor_user.username", allow_null=True, read_only=True
    )
    created_at = serializers.DateTimeField(read_only=True)


class AuditorGrantCreateSerializer(StrictSerializer):
    auditor_organisation = serializers.CharField(
        required=False, help_text="The organisation whose members and read keys may audit."
    )
    auditor_username = serializers.CharField(required=False, help_text="Or one user who may audit.")
    organisation = serializers.CharField(
        required=False, help_text="The granting organisation, for users who own several."
    )

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        if ("auditor_organisation" in attrs) == ("auditor_username" in attrs):
            raise serializers.ValidationError(
                "Name exactly one auditor: auditor_organisation or auditor_username."
            )
        return attrs


class CallbackSecretSerializer(serializers.Serializer):
    organisation = serializers.CharField()
    secret = serializers.CharField(help_text="The HMAC-SHA256 key of the callback signatures.")
    algorithm = serializers.CharField()
    signature_header = serializers.CharField()
    timestamp_header = serializers.CharField()
    signed_content = serializers.CharField()
