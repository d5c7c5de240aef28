"""The CSV import API (docs/api.md "Imports"): upload, mapping, start, progress."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from shared_apps.core.api import unknown_refuse
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.permissions import access_import
from tenant_apps.imports.selectors import import_preview
from tenant_apps.imports.serializers import (
    ImportDetailOutputSerializer,
    ImportMappingInputSerializer,
    ImportOutputSerializer,
    ImportStartInputSerializer,
    ImportUploadInputSerializer,
)
from tenant_apps.imports.services import import_mapping_set, import_start, import_upload
from tenant_apps.imports.targets import targets_for
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.tasks.api.attachments import PayloadTooLarge
from tenant_apps.tasks.attachments import SizeLimitUploadHandler


def detail_data(task_import: TaskImport) -> dict:
    """The import with its targets and, before it starts, the preview of its first rows."""
    preview = import_preview(task_import) if task_import.status == TaskImport.Status.UPLOADED else None
    task_import.targets = [
        {"key": t.key, "label": str(t.label), "required": t.required} for t in targets_for(task_import.project)
    ]
    task_import.preview = [
        {"row": row.row, "cells": row.cells, "errors": row.errors} for row in (preview.rows if preview else [])
    ]
    task_import.problems = [error.as_json() for error in (preview.problems if preview else [])]
    return ImportDetailOutputSerializer(task_import).data


class ImportListApi(ProjectScopedApi):
    required_permissions = {"POST": "task.create"}
    parser_classes = [MultiPartParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication (session auth's CSRF check reads the body): the size
        # limit must be in force while the upload streams in.
        if request.method == "POST":
            limit = settings.TESSERA_IMPORT_MAX_BYTES
            declared = request.META.get("CONTENT_LENGTH") or "0"
            if declared.isdigit() and int(declared) > limit + 64 * 1024:
                raise PayloadTooLarge(limit)
            request._request.upload_handlers.insert(0, SizeLimitUploadHandler(request._request, limit))
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="project_import_upload",
        request={"multipart/form-data": ImportUploadInputSerializer},
        responses={
            201: ImportDetailOutputSerializer,
            400: OpenApiResponse(description="Not a CSV we can read (encoding, header, rows); nothing stored."),
            413: OpenApiResponse(description="Larger than TESSERA_IMPORT_MAX_BYTES; nothing stored."),
        },
    )
    def post(self, request, key: str):
        """Upload a CSV file (multipart field `file`). Answers the detected encoding and
        delimiter, the header, a suggested mapping (by header, English or Russian), the
        fields a column may fill and a preview of the first rows with their errors."""
        upload = request.FILES.get("file")  # parses the body: the size flag is set now
        if getattr(request._request, "upload_too_large", False):
            raise PayloadTooLarge(settings.TESSERA_IMPORT_MAX_BYTES)
        if upload is None:
            raise ValidationError({"file": [_("Attach a CSV file in the multipart field “file”.")]})
        task_import = import_upload(project=self.project, actor=self.member, upload=upload)
        return Response(detail_data(task_import), status=status.HTTP_201_CREATED)


class ImportDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "task.create"}

    @extend_schema(operation_id="project_import_detail", responses=ImportDetailOutputSerializer)
    def get(self, request, key: str, import_id: int):
        """The import: its status and progress (poll this while it runs), the errors
        found, and before it starts the mapping and preview."""
        task_import = access_import(member=self.member, project=self.project, import_id=import_id)
        return Response(detail_data(task_import))


class ImportMappingApi(ProjectScopedApi):
    required_permissions = {"PUT": "task.create"}

    @extend_schema(
        operation_id="project_import_mapping",
        request=ImportMappingInputSerializer,
        responses={200: ImportDetailOutputSerializer, 400: OpenApiResponse(description="Unknown column or field.")},
    )
    def put(self, request, key: str, import_id: int):
        """Choose which column fills which field; answers the new preview."""
        task_import = access_import(member=self.member, project=self.project, import_id=import_id)
        unknown_refuse(request.data, ("mapping",))
        serializer = ImportMappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        import_mapping_set(task_import=task_import, actor=self.member, mapping=serializer.validated_data["mapping"])
        return Response(detail_data(task_import))


class ImportStartApi(ProjectScopedApi):
    required_permissions = {"POST": "task.create"}

    @extend_schema(
        operation_id="project_import_start",
        request=ImportStartInputSerializer,
        responses={
            202: ImportOutputSerializer,
            400: OpenApiResponse(description="The mapping is incomplete, or the import has started already."),
        },
    )
    def post(self, request, key: str, import_id: int):
        """Start the background import. `mode`: `all_or_nothing` (any row with an error:
        nothing is imported) or `valid_rows` (the valid rows are imported and the others
        reported). Poll the import for its progress."""
        task_import = access_import(member=self.member, project=self.project, import_id=import_id)
        unknown_refuse(request.data, ("mode",))
        serializer = ImportStartInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        import_start(task_import=task_import, actor=self.member, mode=serializer.validated_data["mode"])
        return Response(ImportOutputSerializer(task_import).data, status=status.HTTP_202_ACCEPTED)
