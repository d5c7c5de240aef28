from rest_framework import serializers

from shared_apps.core.api import UNKNOWN_FIELD, unknown_refuse
from tenant_apps.savedviews.models import ViewLayout

_FILTERS_HELP = (
    "The task list's parameters, name -> list of values, as on /api/v1/projects/{key}/tasks/ "
    '(custom fields included): {"status": ["todo"], "field_3": ["7"], "field_4_min": ["2026-12-01"]}.'
)


class SavedViewOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Open it with ?view=<id> on the board or the list page.")
    project = serializers.CharField(source="project.key")
    name = serializers.CharField()
    owner_id = serializers.IntegerField(allow_null=True, help_text="A member id.")
    shared = serializers.BooleanField(help_text="Seen by everyone in the project; otherwise by its owner only.")
    layout = serializers.ChoiceField(choices=ViewLayout.choices)
    filters = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), help_text=_FILTERS_HELP)
    ordering = serializers.CharField(help_text="As the list's `ordering`, or `field_<id>`; `-` reverses.")
    columns = serializers.ListField(
        child=serializers.CharField(),
        help_text="List columns: status, priority, assignees, labels, due, updated, field_<id>.",
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _SavedViewInput(serializers.Serializer):
    filters = serializers.DictField(required=False, help_text=_FILTERS_HELP)
    ordering = serializers.CharField(required=False, allow_blank=True, max_length=40)
    columns = serializers.ListField(child=serializers.CharField(max_length=30), required=False, max_length=40)
    layout = serializers.ChoiceField(choices=ViewLayout.choices, required=False)
    shared = serializers.BooleanField(required=False, help_text="Sharing needs project.manage.")

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


class SavedViewCreateInputSerializer(_SavedViewInput):
    name = serializers.CharField(max_length=80)


class SavedViewUpdateInputSerializer(_SavedViewInput):
    name = serializers.CharField(max_length=80, required=False)
