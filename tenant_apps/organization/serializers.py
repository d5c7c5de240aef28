from rest_framework import serializers


class UsageOutputSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    projects = serializers.IntegerField()
    tasks = serializers.IntegerField()
    storage_bytes = serializers.IntegerField(help_text="Sum of attachment sizes.")
