from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member


class Role(models.Model):
    """A project role: a named set of permission codes (tenant schema). Built-ins are
    seeded in every organisation and cannot be changed; admins add custom ones."""

    name = models.CharField(max_length=60)
    permissions = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    is_builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_builtin", "name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="projects_role_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class EstimateUnit(models.TextChoices):
    POINTS = "points", _("Points")
    HOURS = "hours", _("Hours")


class Project(models.Model):
    key = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z][A-Z0-9]{1,9}$", "2–10 uppercase letters or digits, starting with a letter.")  # noqa: RUF001
        ],
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    archived = models.BooleanField(default=False)
    # What the tasks' estimates count (Task.estimate): story points or hours.
    estimate_unit = models.CharField(max_length=8, choices=EstimateUnit.choices, default=EstimateUnit.POINTS)
    # The last task number handed out: incremented with UPDATE ... RETURNING inside the
    # creating transaction, so numbers are gap-free and unique under concurrency.
    task_sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} {self.name}"


class ProjectMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="project_memberships")
    # PROTECT: a role in use cannot disappear under its members (reassign first).
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="project_members")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "member"], name="projects_member_unique")]

    def __str__(self) -> str:
        return f"{self.member} in {self.project.key} as {self.role}"


class TaskStatus(models.TextChoices):
    """The category of a workflow state, and so a task's `status` (denormalised from its
    state): what reports, "open/closed" filters, `completed_at` and notifications read.
    Projects name their own states; the categories are fixed. Defined here, next to
    WorkflowState (the tasks app imports the projects app, not the other way round);
    `tenant_apps.tasks.models.TaskStatus` is the same class."""

    BACKLOG = "backlog", _("Backlog")
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# Categories of tasks that are closed: done or cancelled.
CLOSED_CATEGORIES = (TaskStatus.DONE, TaskStatus.CANCELLED)

# What a new project starts with (and what migration 0005 gave every existing project):
# the five statuses the product had before states were configurable.
DEFAULT_STATES = (
    (_("To do"), TaskStatus.TODO, "#8c959f"),
    (_("In progress"), TaskStatus.IN_PROGRESS, "#0969da"),
    (_("In review"), TaskStatus.IN_PROGRESS, "#8250df"),
    (_("Done"), TaskStatus.DONE, "#1a7f37"),
    (_("Cancelled"), TaskStatus.CANCELLED, "#6e7781"),
)


# The default states' names are stored in English (whoever's language created the
# project, and as migration 0005 wrote them) and shown in the reader's language; a
# renamed state shows its own name.
_DEFAULT_NAMES = {str(name): name for name, _category, _colour in DEFAULT_STATES}


def state_label(name: str) -> str:
    """A state's name as the pages show it: the default names translated."""
    label = _DEFAULT_NAMES.get(name)
    return str(label) if label is not None else name


class WorkflowState(models.Model):
    """A column of a project's workflow: a name and colour the project chooses, a place
    in the order, and one fixed category (TaskStatus). Tasks point at their state and
    carry its category in `Task.status`."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="states")
    name = models.CharField(max_length=40)
    colour = models.CharField(max_length=7, default="#8c959f")
    position = models.PositiveIntegerField(default=0)
    category = models.CharField(max_length=16, choices=TaskStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "position", "pk"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="projects_state_project_name_ci_unique"),
        ]
        indexes = [models.Index(fields=["project", "position"], name="projects_state_position")]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return state_label(self.name)
