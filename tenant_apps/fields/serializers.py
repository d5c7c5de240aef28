from rest_framework import serializers

from shared_apps.core.api import UNKNOWN_FIELD, unknown_refuse
from tenant_apps.fields.models import FieldKind


class CustomFieldOptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    position = serializers.IntegerField()


class CustomFieldOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Filter with `field_<id>` on the project's task list.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=FieldKind.choices)
    on_cards = serializers.BooleanField(help_text="Shown on board cards and as a list column.")
    position = serializers.IntegerField()
    options = CustomFieldOptionOutputSerializer(many=True, help_text="Single and multi select fields only.")


class CustomFieldOptionInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, help_text="An existing option (rename/reorder); none: a new one.")
    name = serializers.CharField(max_length=60)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):  # nested: no initial_data of its own
            unknown_refuse(data, self.fields, message=UNKNOWN_FIELD)
        return super().to_internal_value(data)


class CustomFieldCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    kind = serializers.ChoiceField(choices=FieldKind.choices)
    on_cards = serializers.BooleanField(required=False, default=False)
    options = CustomFieldOptionInputSerializer(many=True, required=False, max_length=100)

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


class CustomFieldUpdateInputSerializer(serializers.Serializer):
    """Every key optional; the kind never changes. `options` replaces the list: options
    left out are deleted with their values on tasks."""

    name = serializers.CharField(max_length=60, required=False)
    on_cards = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
    options = CustomFieldOptionInputSerializer(many=True, required=False, max_length=100)

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


class TaskFieldValuesInputSerializer(serializers.Serializer):
    values = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        allow_empty=False,
        help_text="Field id -> new value: text, number, YYYY-MM-DD, true/false, an option id, a list of "
        'option ids (multi select), a member id; null, "" or [] clears it.',
    )

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs
