"""Time logged on tasks (tenant schema): who worked how long on which task, on which day."""

from django.db import models

from tenant_apps.members.models import Member
from tenant_apps.tasks.models import Task

# One entry covers at most a day's work; longer spans are several entries.
MAX_ENTRY_MINUTES = 24 * 60


class TimeEntry(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="time_entries")
    # The person whose time it is (always the one who logged it: entries are their own).
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="time_entries")
    date = models.DateField()
    minutes = models.PositiveIntegerField()
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minutes__gte=1, minutes__lte=MAX_ENTRY_MINUTES),
                name="timetracking_entry_minutes_range",
            )
        ]
        indexes = [
            # The report: a period's entries, per person.
            models.Index(fields=["date", "member"], name="timetracking_entry_date"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on task {self.task_id} by {self.member_id}"
