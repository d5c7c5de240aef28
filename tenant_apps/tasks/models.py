from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Greatest, Least, Lower
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member

# TaskStatus is the category enum of workflow states (defined with WorkflowState);
# imported from here by every caller that filters or reports on a task's status.
from tenant_apps.projects.models import Project, TaskStatus, WorkflowState


class TaskPriority(models.IntegerChoices):
    # Stored as integers so "order by priority" is a plain index scan.
    NONE = 0, _("None")
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#8c959f")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("project", Lower("name"), name="tasks_label_project_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    # The task's column in its project's workflow. RESTRICT: a state with tasks cannot be
    # deleted on its own (state_delete moves them first), yet deleting the project takes
    # both (PROTECT would refuse that too). The (state, rank) index serves the key.
    state = models.ForeignKey(WorkflowState, on_delete=models.RESTRICT, related_name="tasks", db_index=False)
    # The state's category, denormalised: filters, reports and notifications read it
    # without a join. Written only together with `state` (tasks services).
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    priority = models.PositiveSmallIntegerField(choices=TaskPriority.choices, default=TaskPriority.NONE)
    reporter = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignees = models.ManyToManyField(Member, blank=True, related_name="assigned_tasks")
    labels = models.ManyToManyField(Label, blank=True, related_name="tasks")
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Sub-tasks: a parent anywhere in the organisation (any project), any depth, never a
    # cycle (task_update checks under a lock: docs/subtasks.md). Deleting a parent makes
    # its children top-level tasks.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    # In the project's unit (Project.estimate_unit: points or hours).
    estimate = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    # Minutes logged on this task, and on it with every sub-task at any depth: kept by the
    # services (tenant_apps/tasks/tree.py) in the writing transaction, so a list reads two
    # columns instead of walking each task's subtree (docs/subtasks.md, "Cost").
    # db_default too: rows inserted in SQL (bench data, bulk imports) start at 0 as well.
    time_spent_minutes = models.PositiveIntegerField(default=0, db_default=0)
    time_total_minutes = models.PositiveBigIntegerField(default=0, db_default=0)
    # Where the card sits in its board column: a fractional rank (tenant_apps/tasks/ranks.py)
    # compared byte by byte (COLLATE "C", whatever the database's locale), so a reorder
    # writes this one column of one row.
    rank = models.CharField(max_length=64, default="", db_collation="C")
    # Optimistic concurrency: every update increments it; the ETag is derived from it.
    version = models.PositiveIntegerField(default=1)
    # English and Russian stems of title (weight A) and description (weight B), kept by
    # PostgreSQL itself: no trigger, no drift.
    search_vector = models.GeneratedField(
        expression=(
            SearchVector("title", config="english", weight="A")
            + SearchVector("title", config="russian", weight="A")
            + SearchVector("description", config="english", weight="B")
            + SearchVector("description", config="russian", weight="B")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="tasks_task_project_number_unique")]
        indexes = [
            GinIndex(fields=["search_vector"], name="tasks_task_search_gin"),
            # pg_trgm folds case itself, so the plain column serves case-insensitive matching.
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="tasks_task_title_trgm"),
            models.Index(fields=["project", "status"], name="tasks_task_project_status"),
            models.Index(fields=["status", "-updated_at"], name="tasks_task_status_updated"),
            # The default order of every task list (most recently updated first), read
            # backwards: a page stops after its LIMIT instead of sorting every task.
            models.Index(fields=["updated_at", "id"], name="tasks_task_updated_id"),
            # The same within one project; with (member_id, task_id) on the assignees
            # table (migration 0005), it serves one person's tasks in one project too.
            models.Index(fields=["project", "updated_at", "id"], name="tasks_task_project_updated_id"),
            models.Index(fields=["completed_at"], name="tasks_task_completed_at"),
            # A board column: one state's tasks in rank order.
            models.Index(fields=["state", "rank"], name="tasks_task_board_state"),
        ]

    def __str__(self) -> str:
        return f"{self.project.key}-{self.number}"

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"


class TaskRelation(models.Model):
    """A link between two tasks of the organisation (issue 15): `source` blocks, duplicates
    or relates to `target`. "Blocked by" and "duplicated by" are the same rows read from
    the other end. A pair of tasks is linked at most once, whatever the kind or direction,
    and never to itself (both in the database)."""

    class Kind(models.TextChoices):
        BLOCKS = "blocks", _("Blocks")
        DUPLICATES = "duplicates", _("Duplicates")
        RELATES_TO = "relates_to", _("Relates to")

    source = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="relations_out")
    target = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="relations_in")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_by = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="tasks_relation_not_self"),
            models.UniqueConstraint(
                Least("source", "target"), Greatest("source", "target"), name="tasks_relation_pair_unique"
            ),
        ]
        indexes = [models.Index(fields=["target", "kind"], name="tasks_relation_target_kind")]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class TaskSearchWord(models.Model):
    """Every distinct word (lower case, letters and digits, 3+ characters) that occurs or
    occurred in a task title of this organisation: the dictionary that search matches
    typos against, word by word (`tenant_apps.tasks.filters.task_search`).

    Kept by PostgreSQL itself: statement-level triggers on the task table add the words
    of inserted and updated titles (migration 0004). Words of deleted or renamed tasks
    stay; they only add a candidate that matches nothing. A few thousand rows where the
    task table has millions, so matching query words against it costs about a
    millisecond, and the task table is then searched through its full-text index
    only."""

    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="tasks_searchword_trgm")]

    def __str__(self) -> str:
        return self.word


class TaskNumberRedirect(models.Model):
    """A task moved to another project keeps answering at its old number."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="redirects")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="tasks_redirect_project_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.number} -> task {self.task_id}"


class Activity(models.Model):
    """One recorded change: who changed which field of which task, from what, to what."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        MOVED = "moved", _("Moved")
        COMMENTED = "commented", _("Commented")
        COMMENT_EDITED = "comment_edited", _("Comment edited")
        COMMENT_DELETED = "comment_deleted", _("Comment deleted")
        ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
        ATTACHMENT_REMOVED = "attachment_removed", _("Attachment removed")
        RELATION_ADDED = "relation_added", _("Relation added")
        RELATION_REMOVED = "relation_removed", _("Relation removed")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=40, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["task", "-created_at"], name="tasks_activity_task_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} on task {self.task_id}"


class Comment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["task", "created_at"], name="tasks_comment_task_created")]

    def __str__(self) -> str:
        return f"comment {self.pk} on task {self.task_id}"


class Attachment(models.Model):
    """A file on a task. The bytes live in tenant storage under
    `<schema>/attachments/<random>` (never public media; downloads go through an
    authorised view)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    storage_key = models.CharField(max_length=300, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.filename
