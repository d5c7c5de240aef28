from rest_framework import serializers

from tenant_apps.tasks.filters import PRIORITY_BY_NAME, PRIORITY_NAMES
from tenant_apps.tasks.models import TaskStatus


class TaskPersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    email = serializers.EmailField()


class TaskLabelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()


class TaskOutputSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="PROJECT-number, e.g. WEB-42.")
    number = serializers.IntegerField()
    project = serializers.CharField(source="project.key")
    title = serializers.CharField()
    description = serializers.CharField(help_text="Markdown, stored raw.")
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    priority = serializers.SerializerMethodField()
    reporter = TaskPersonOutputSerializer(allow_null=True)
    assignees = TaskPersonOutputSerializer(many=True)
    labels = TaskLabelOutputSerializer(many=True)
    due_date = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="Send it back (or the ETag in If-Match) to update safely.")

    def get_priority(self, task) -> str:
        return PRIORITY_NAMES[task.priority]


class TaskWriteInputSerializer(serializers.Serializer):
    """Create (title required) or partial update. Unknown fields are refused."""

    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=sorted(PRIORITY_BY_NAME), required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    assignee_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=50)
    label_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=50)
    version = serializers.IntegerField(required=False, min_value=1, help_text="For optimistic concurrency.")

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        if "priority" in attrs:
            attrs["priority"] = PRIORITY_BY_NAME[attrs["priority"]]
        return attrs


class ActivityOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    field = serializers.CharField()
    old_value = serializers.JSONField(allow_null=True)
    new_value = serializers.JSONField(allow_null=True)
    actor = TaskPersonOutputSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = TaskPersonOutputSerializer(allow_null=True)
    body = serializers.CharField(help_text="Markdown, stored raw; render it sanitised.")
    edited = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20_000)


class LabelInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, help_text="#rrggbb")


class AttachmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    content_type = serializers.CharField(help_text="Sniffed from the content, not taken from the upload.")
    size = serializers.IntegerField()
    uploaded_by = TaskPersonOutputSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


class AttachmentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField()


class TaskMoveInputSerializer(serializers.Serializer):
    project = serializers.CharField(max_length=10, help_text="Key of the project to move the task to.")


class UsageOutputSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    projects = serializers.IntegerField()
    tasks = serializers.IntegerField()
    storage_bytes = serializers.IntegerField(help_text="Sum of attachment sizes.")
