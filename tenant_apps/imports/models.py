from django.db import models
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project


class TaskImport(models.Model):
    """One CSV file being imported into a project (tenant schema).

    The file lives in tenant storage under `<schema>/imports/<random>` from upload until
    the import finishes (done or failed), then it is deleted; only its name, encoding,
    header and the first errors stay. `mapping` maps a column index (as text) to a
    target field key (tenant_apps/imports/targets.py) or "" for "skip"."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", _("Import nothing if any row has an error")
        VALID_ROWS = "valid_rows", _("Import only the valid rows")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    requested_by = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="task_imports")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ALL_OR_NOTHING)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    storage_key = models.CharField(max_length=300, blank=True)
    encoding = models.CharField(max_length=16)
    delimiter = models.CharField(max_length=1)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    # Rows after the header (counted at upload).
    row_count = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The first errors: [{"row": n, "column": header or "", "message": text}], row 1 being
    # the header line.
    errors = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When it was queued, last sent to a worker, or last moved forward: the sweep sends a
    # queued or running import again once this is TESSERA_IMPORT_REDISPATCH_MINUTES old
    # (tenant_apps/imports/sweep.py).
    progressed_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker started it (a file that kills its worker fails after
    # TESSERA_IMPORT_MAX_ATTEMPTS).
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="imports_taskimport_progress_percent"),
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="imports_taskimport_project")]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
