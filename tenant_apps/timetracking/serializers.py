from rest_framework import serializers

from shared_apps.core.api import UNKNOWN_FIELD, unknown_refuse
from tenant_apps.tasks.serializers import TaskPersonOutputSerializer
from tenant_apps.timetracking.models import MAX_ENTRY_MINUTES


class TimeEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = TaskPersonOutputSerializer(help_text="Whose time it is (who logged it).")
    date = serializers.DateField()
    minutes = serializers.IntegerField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TimeEntryInputSerializer(serializers.Serializer):
    """Log time (minutes and date required) or change your entry (any of them)."""

    minutes = serializers.IntegerField(min_value=1, max_value=MAX_ENTRY_MINUTES)
    date = serializers.DateField(help_text="The day the work was done (not in the future).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs
