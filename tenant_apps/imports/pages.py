"""The CSV import pages: /projects/<KEY>/import/ (choose a file) and
/projects/<KEY>/import/<id>/ (map the columns, see the first rows with their errors,
choose what to do with errors, start; then the progress, polled by htmx, and the
result). The same doors, services and selectors as the API; plain form POSTs that work
without JavaScript (the progress page then refreshes itself with a link)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from shared_apps.core.exceptions import ServiceRefusal
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.permissions import access_import
from tenant_apps.imports.selectors import import_preview
from tenant_apps.imports.services import import_discard, import_mapping_set, import_start, import_upload, progress_read
from tenant_apps.imports.targets import targets_for
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import access_project, member_for_request, project_permissions
from tenant_apps.tasks.attachments import SizeLimitUploadHandler
from tenant_apps.workspace.views import member_required


def _project(request, key: str) -> tuple[Project, frozenset[str]]:
    member = member_for_request(request)
    project = access_project(member=member, key=key)
    codes = project_permissions(member=member, project=project)
    if "task.create" not in codes:
        raise PermissionDenied(_("Your role in this project does not allow creating tasks."))
    return project, codes


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [message for messages in exc.message_dict.values() for message in messages]
    return list(exc.messages)


def _recent(project: Project, member) -> list[TaskImport]:
    return list(
        TaskImport.objects.filter(project=project, requested_by=member)
        .only("pk", "filename", "status", "row_count", "imported_count", "error_count", "created_at", "project_id")
        .order_by("-created_at", "-pk")[:10]
    )


@csrf_exempt  # CSRF is checked below: the middleware would read the upload's body first
@member_required
def import_upload_page(request, key: str):
    """Choose a CSV file; the size limit is enforced before the body is read
    (Content-Length) and while it streams in, then the CSRF check, as for attachments."""
    member = member_for_request(request)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        limit = settings.TESSERA_IMPORT_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        too_large = _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(limit)}
        if declared.isdigit() and int(declared) > limit + 64 * 1024:
            errors, status = [too_large], 413
        else:
            request.upload_handlers.insert(0, SizeLimitUploadHandler(request, limit))
            refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
            if refused is not None:
                return refused
    project, _codes = _project(request, key)
    if request.method == "POST" and not errors:
        upload = request.FILES.get("file")
        if getattr(request, "upload_too_large", False):
            errors, status = [too_large], 413
        elif upload is None:
            errors, status = [_("Choose a CSV file to import.")], 400
        else:
            try:
                task_import = import_upload(project=project, actor=member, upload=upload)
            except ValidationError as exc:
                errors, status = _messages(exc), 400
            except ServiceRefusal as refusal:
                errors, status = [refusal.message], refusal.status_code
            else:
                return redirect("project-import-detail", key=project.key, import_id=task_import.pk)
    context = {
        "project": project,
        "current_project": project,
        "nav": "projects",
        "view": "import",
        "errors": errors,
        "limit": settings.TESSERA_IMPORT_MAX_BYTES,
        "max_rows": settings.TESSERA_IMPORT_MAX_ROWS,
        "recent": _recent(project, member),
        "targets": targets_for(project),
    }
    return render(request, "imports/import_upload.html", context, status=status)


@member_required
def import_detail_page(request, key: str, import_id: int):
    """Map, preview and start (POST `action` = map, start or discard); then progress.
    An htmx request for the progress gets only that fragment."""
    member = member_for_request(request)
    project, codes = _project(request, key)
    task_import = access_import(member=member, project=project, import_id=import_id)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        mapping = {
            name.removeprefix("column-"): request.POST.get(name, "")
            for name in request.POST
            if name.startswith("column-")
        }
        try:
            if action == "discard":
                import_discard(task_import=task_import, actor=member)
                return redirect("project-import", key=project.key)
            if action not in ("map", "start"):
                raise ValidationError(_("Choose “Check again” or “Start the import”."))
            if mapping:
                import_mapping_set(task_import=task_import, actor=member, mapping=mapping)
            if action == "start":
                import_start(task_import=task_import, actor=member, mode=request.POST.get("mode", ""))
                return redirect("project-import-detail", key=project.key, import_id=task_import.pk)
        except ValidationError as exc:
            errors, status = _messages(exc), 400
        except PermissionDenied as exc:
            errors, status = [str(exc) or _("Your role in this project does not allow this.")], 403
        task_import.refresh_from_db()
    context = {
        "project": project,
        "current_project": project,
        "nav": "projects",
        "view": "import",
        "task_import": task_import,
        "progress": progress_read(task_import),
        "errors": errors,
        "codes": codes,
        "modes": TaskImport.Mode.choices,
        "mode": request.POST.get("mode") or task_import.mode,
        "list_url": reverse("task-list", args=[project.key]),
        "poll_url": reverse("project-import-detail", args=[project.key, task_import.pk]),
    }
    if task_import.status == TaskImport.Status.UPLOADED:
        preview = import_preview(task_import)
        targets = targets_for(project)
        context.update(
            preview=preview,
            problems=preview.problems,
            columns=[
                {
                    "index": str(index),
                    "header": header,
                    "target": task_import.mapping.get(str(index)),
                    "unknown": task_import.mapping.get(str(index)) is None,
                }
                for index, header in enumerate(task_import.headers)
            ],
            targets=[(t.key, t.label) for t in targets],
            preview_rows=[
                {
                    "row": row.row,
                    "invalid": bool(row.errors),
                    "cells": [
                        (cell, row.errors.get(header, []))
                        for cell, header in zip(row.cells, task_import.headers, strict=False)
                    ],
                }
                for row in preview.rows
            ],
        )
    if request.htmx and request.htmx.target == "import-progress":
        if task_import.status == TaskImport.Status.UPLOADED:
            raise Http404
        return render(request, "imports/import_detail.html#progress", context)
    return render(request, "imports/import_detail.html", context, status=status)
