from rest_framework import serializers


class ApiKeySummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)


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
