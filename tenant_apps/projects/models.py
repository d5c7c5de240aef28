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
