"""Attachments of a task: upload (size-limited while it streams in) and download."""

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.core.storage import storage
from tenant_apps.projects.permissions import ProjectScopedApi
from tenant_apps.tasks.attachments import SizeLimitUploadHandler
from tenant_apps.tasks.models import Attachment, Task
from tenant_apps.tasks.permissions import access_attachment, access_task
from tenant_apps.tasks.serializers import AttachmentOutputSerializer, AttachmentUploadInputSerializer
from tenant_apps.tasks.services import attachment_add, attachment_remove


class AttachmentListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "attachment.upload"}
    parser_classes = [MultiPartParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication: session auth's CSRF check reads the POST body, and the
        # size limit must already be in force when that happens.
        if request.method == "POST":
            limit = settings.TESSERA_ATTACHMENT_MAX_BYTES
            declared = request.META.get("CONTENT_LENGTH") or "0"
            if declared.isdigit() and int(declared) > limit + 64 * 1024:  # room for the multipart envelope
                raise PayloadTooLarge(limit)
            request._request.upload_handlers.insert(0, SizeLimitUploadHandler(request._request, limit))
        super().initial(request, *args, **kwargs)

    @extend_schema(operation_id="task_attachments_list", responses=paginated(AttachmentOutputSerializer))
    def get(self, request, key: str, number: int):
        task = access_task(member=self.member, project=self.project, number=number)
        items = Attachment.objects.filter(task=task).select_related("uploaded_by").order_by("created_at", "pk")
        return paginated_response(view=self, request=request, items=items, serializer_class=AttachmentOutputSerializer)

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadInputSerializer},
        responses={
            201: AttachmentOutputSerializer,
            413: OpenApiResponse(description="Larger than TESSERA_ATTACHMENT_MAX_BYTES; nothing stored."),
        },
    )
    def post(self, request, key: str, number: int):
        """Upload a file (multipart field `file`). The size limit is enforced while the
        body streams in; the name is sanitised and the type sniffed."""
        task = access_task(member=self.member, project=self.project, number=number)
        upload = request.FILES.get("file")
        if getattr(request._request, "upload_too_large", False):
            raise PayloadTooLarge(settings.TESSERA_ATTACHMENT_MAX_BYTES)
        if upload is None:
            raise ValidationError({"file": [_("Attach a file in the multipart field “file”.")]})
        try:
            attachment = attachment_add(task=task, actor=self.member, upload=upload)
        except Task.DoesNotExist as exc:  # deleted while the file streamed in
            raise NotFound() from exc
        return Response(AttachmentOutputSerializer(attachment).data, status=status.HTTP_201_CREATED)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int):
        super().__init__({"detail": f"The file is larger than the limit of {limit} bytes.", "limit": limit})


class AttachmentDetailApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "DELETE": "attachment.upload"}

    @extend_schema(
        operation_id="task_attachment_download",
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The file, as a download.")},
    )
    def get(self, request, key: str, number: int, attachment_id: int):
        """Download: always `Content-Disposition: attachment`, `nosniff`, and a sandbox
        CSP, so an uploaded page or SVG never runs in the browser."""
        attachment = access_attachment(
            member=self.member, project=self.project, number=number, attachment_id=attachment_id
        )
        content_type = attachment.content_type
        if content_type == "text/plain":
            content_type = "text/plain; charset=utf-8"
        try:
            stored = storage().open(attachment.storage_key, "rb")
        except FileNotFoundError as exc:
            raise NotFound("The file is missing from storage.") from exc
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=attachment.filename,
            content_type=content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, file included.")})
    def delete(self, request, key: str, number: int, attachment_id: int):
        attachment = access_attachment(
            member=self.member, project=self.project, number=number, attachment_id=attachment_id
        )
        attachment_remove(attachment=attachment, actor=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
