from django.db import models
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member


class Report(models.Model):
    """A requested report and, once generated, its file (tenant schema).

    The file lives in tenant storage under `<schema>/reports/<random>`; downloads go
    through an authorised view. `params_digest` identifies the request (kind, format,
    parameters): one requester has at most one queued or running report per digest, so
    a repeated request returns the one under way (a partial unique constraint decides
    races)."""

    class Kind(models.TextChoices):
        COMPLETED_TASKS = "completed_tasks", _("Completed tasks")
        WORKLOAD = "workload", _("Workload")
        PROJECT_STATUS = "project_status", _("Project status")
        TIME_LOGGED = "time_logged", _("Time logged")
        TASK_LIST = "task_list", _("Task list")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        JSON = "json", "JSON"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    params = models.JSONField(default=dict, blank=True)
    params_digest = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    failure_reason = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    storage_key = models.CharField(max_length=300, blank=True)
    # Small aggregate tables (counts per assignee/project, percentiles); the rows are in
    # the file.
    summary = models.JSONField(null=True, blank=True)
    # Scheduled reports: mail the file to the requester once it is done.
    email_when_done = models.BooleanField(default=False)
    # How many times a worker started it (a lost worker's report is queued again, up to
    # TESSERA_REPORT_MAX_ATTEMPTS).
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was last handed to the broker (the sweep re-sends queued reports whose
    # message may have been lost, e.g. Redis was down at request time).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched with every progress update: a running report whose heartbeat is old lost
    # its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "params_digest"],
                condition=models.Q(status__in=["queued", "running"]),
                name="reports_report_one_active_per_request",
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="reports_report_progress_percent"),
        ]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="reports_report_requester"),
            models.Index(fields=["expires_at"], name="reports_report_expires"),
            models.Index(
                fields=["status", "heartbeat_at"],
                condition=models.Q(status__in=["queued", "running"]),
                name="reports_report_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} report {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ReportSchedule(models.Model):
    """A member's weekly "completed last week" report, emailed as an attachment on their
    chosen weekday (from 07:00 in the organisation's time zone)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="report_schedule")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    format = models.CharField(max_length=8, choices=Report.Format.choices, default=Report.Format.XLSX)
    # The organisation-local date of the last run: at most one report a day.
    last_run_on = models.DateField(null=True, blank=True)
    # Also mailed to these members, each able to report on at least the projects the
    # owner's report covers (checked when set and again when mailed: report_email).
    recipients = models.ManyToManyField(Member, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(weekday__lte=6), name="reports_schedule_weekday")]

    def __str__(self) -> str:
        return f"weekly report for {self.member} on {self.get_weekday_display()}"


class MonthlyUsage(models.Model):
    """Reports requested per calendar month (UTC), for the plan's "reports per month"
    limit. A counter, not a count of Report rows: deleting or expiring reports does not
    give the allowance back."""

    month = models.DateField(unique=True, help_text="First day of the month.")
    reports_requested = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.reports_requested} reports"
