from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shared_apps.core.api import UNKNOWN_FIELD, unknown_refuse
from shared_apps.core.markup import markdown_html
from tenant_apps.tasks.filters import PRIORITY_BY_NAME
from tenant_apps.tasks.models import TaskStatus
from tenant_apps.tasks.ranks import rank_valid

# The relation kinds as the API names them (either end); tenant_apps/tasks/relations.py
# holds their labels and rules.
RELATION_KIND_CHOICES = [
    (value, value) for value in ("blocks", "blocked_by", "duplicates", "duplicated_by", "relates_to")
]


class TaskPersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    email = serializers.EmailField()


class TaskLabelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()


class TaskSubtaskProgressOutputSerializer(serializers.Serializer):
    closed = serializers.IntegerField(help_text="Direct sub-tasks that are closed (done or cancelled).")
    total = serializers.IntegerField(help_text="Direct sub-tasks.")


class TaskStateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    colour = serializers.CharField(help_text="#rrggbb")


class TaskListItemOutputSerializer(serializers.Serializer):
    """A task in a list. The API builds these dicts in tenant_apps/tasks/selectors.py (one
    SQL statement per page); this class documents them, and a test keeps the two equal."""

    key = serializers.CharField(help_text="PROJECT-number, e.g. WEB-42.")
    number = serializers.IntegerField()
    project = serializers.CharField(help_text="Project key.")
    title = serializers.CharField()
    description = serializers.CharField(help_text="Markdown, stored raw.")
    status = serializers.ChoiceField(
        choices=TaskStatus.choices, help_text="The category of the task's workflow state (`state`)."
    )
    state = TaskStateOutputSerializer(help_text="The task's workflow state: its column on the project's board.")
    priority = serializers.ChoiceField(choices=sorted(PRIORITY_BY_NAME))
    reporter = TaskPersonOutputSerializer(allow_null=True)
    assignees = TaskPersonOutputSerializer(many=True)
    labels = TaskLabelOutputSerializer(many=True)
    blocked_by = serializers.ListField(
        child=serializers.CharField(),
        help_text="Keys of the open tasks (not done or cancelled) that block this one (`relations`).",
    )
    due_date = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="Send it back (or the ETag in If-Match) to update safely.")
    rank = serializers.CharField(
        help_text="Its place in its board column: tasks of one state sort by rank (byte order), then number."
    )
    custom_fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The project's custom fields that have a value: field id -> value (text, number, "
        "YYYY-MM-DD date, true, an option id, a list of option ids for a multi select, a member id). "
        "Definitions: /api/v1/projects/{key}/fields/.",
    )
    parent = serializers.CharField(allow_null=True, help_text="The parent task's key (any project), or null.")
    subtasks = TaskSubtaskProgressOutputSerializer(help_text="Progress of the direct sub-tasks.")
    estimate = serializers.FloatField(allow_null=True, help_text="In the project's `estimate_unit`.")
    estimate_unit = serializers.ChoiceField(choices=["points", "hours"], help_text="The project's setting.")
    time_spent_minutes = serializers.IntegerField(help_text="Time logged on this task.")
    time_total_minutes = serializers.IntegerField(help_text="Time logged on it and all its sub-tasks, any depth.")


class TaskPageOutputSerializer(serializers.Serializer):
    """A page of tasks: the standard list envelope, plus `count_capped` and `relevance_scope`."""

    count = serializers.IntegerField(
        help_text="Matching tasks: exact up to 10,000 (1,000 with `search`), or to the end of the "
        "requested page if further, beyond which counting stops."
    )
    count_capped = serializers.BooleanField(
        help_text="True when counting stopped: there are more than `count` tasks (`next` leads on; "
        "`page=last` counts them all)."
    )
    relevance_scope = serializers.ChoiceField(
        choices=["all", "page"],
        allow_null=True,
        help_text="For a search ordered by relevance: `all` when every match was ranked (at most "
        "1,000 matches); `page` when there are more, and the pages then come most recently updated "
        "first, each ranked within itself. Null when not ordered by relevance.",
    )
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TaskListItemOutputSerializer(many=True)


class TaskOutputSerializer(TaskListItemOutputSerializer):
    """One task (detail, create, update, move): a list item plus its rendered description."""

    description_html = serializers.CharField(
        help_text="The description rendered from Markdown and sanitized (safe to insert as HTML)."
    )


class TaskWriteInputSerializer(serializers.Serializer):
    """Create (title required) or partial update. Unknown fields are refused."""

    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    status = serializers.ChoiceField(
        choices=TaskStatus.choices,
        required=False,
        help_text="A category: the task goes to the project's first state of it (unless it is in that "
        "category already). `state` names the state itself.",
    )
    state = serializers.IntegerField(
        required=False, help_text="Id of a workflow state of the project (`/api/v1/projects/<KEY>/states/`)."
    )
    priority = serializers.ChoiceField(choices=sorted(PRIORITY_BY_NAME), required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    assignee_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=50)
    label_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=50)
    rank = serializers.CharField(
        required=False,
        max_length=64,
        help_text="A new place on the board: a rank between two others' (a fractional index, "
        "tenant_apps/tasks/ranks.py). Needs task.change_status; changes no version.",
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text="For optimistic concurrency.")
    parent = serializers.RegexField(
        r"^[A-Za-z][A-Za-z0-9]{1,9}-[1-9][0-9]{0,9}$",
        required=False,
        allow_null=True,
        help_text="Make it a sub-task of this task (its key, e.g. WEB-7, in any project you can see); "
        "null makes it a top-level task. A cycle is refused (400, code `cycle`).",
    )
    estimate = serializers.DecimalField(
        max_digits=7, decimal_places=2, min_value=0, required=False, allow_null=True, coerce_to_string=False
    )
    force = serializers.BooleanField(
        required=False,
        help_text="Confirm closing a task whose sub-tasks are open (without it: 409, code `open_children`).",
    )

    def validate_rank(self, value: str) -> str:
        if not rank_valid(value):
            raise serializers.ValidationError(_("Not a valid rank."))
        return value

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
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
    body = serializers.CharField(help_text="Markdown, stored raw.")
    body_html = serializers.SerializerMethodField(
        help_text="The body rendered from Markdown and sanitized (safe to insert as HTML)."
    )
    edited = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_body_html(self, comment) -> str:
        # A list renders every body of the page at once (one cache round trip) and
        # passes them in the context; a single comment is rendered here.
        rendered = self.context.get("body_html", {})
        return rendered[comment.pk] if comment.pk in rendered else markdown_html(comment.body)


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


class WorkflowStateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    colour = serializers.CharField(help_text="#rrggbb")
    position = serializers.IntegerField(help_text="0-based place on the board, left to right.")
    category = serializers.ChoiceField(choices=TaskStatus.choices)


class WorkflowStateCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    category = serializers.ChoiceField(choices=TaskStatus.choices)
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, help_text="#rrggbb")
    position = serializers.IntegerField(required=False, min_value=0, help_text="0-based; default: last.")

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


class WorkflowStateUpdateInputSerializer(WorkflowStateCreateInputSerializer):
    name = serializers.CharField(max_length=40, required=False)
    category = serializers.ChoiceField(choices=TaskStatus.choices, required=False)


class WorkflowStateDeleteInputSerializer(serializers.Serializer):
    move_to = serializers.IntegerField(
        required=False, help_text="Id of the state that takes this state's tasks (required when it has tasks)."
    )


class TaskRelationTaskOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    state = TaskStateOutputSerializer()


class TaskRelationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=RELATION_KIND_CHOICES,
        help_text="As seen from the task of the URL.",
    )
    task = TaskRelationTaskOutputSerializer(help_text="The other task.")
    open = serializers.BooleanField(help_text="The other task is not done or cancelled.")
    created_at = serializers.DateTimeField()


class TaskRelationInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=RELATION_KIND_CHOICES,
        help_text="As seen from the task of the URL. `duplicates`: this task is the duplicate and is closed "
        "(its project's first cancelled state); `duplicated_by`: the other one is.",
    )
    task = serializers.CharField(max_length=21, help_text="The other task's key, e.g. OPS-7 (any project you can see).")

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs
