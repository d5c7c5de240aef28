from rest_framework import serializers


class CurrentOrganizationOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    domain = serializers.CharField()
    role = serializers.CharField(help_text="The requesting user's organisation role.")
    created_at = serializers.DateTimeField()
