"""The organisation's audit log (owners and admins): `GET /api/v1/audit/` and its CSV
export. Served on an organisation's domain, so it reads that organisation's schema."""

import csv

from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from shared_apps.audit.selectors import audit_entries
from shared_apps.audit.serializers import AuditEntryOutputSerializer, AuditListQuerySerializer
from shared_apps.core.api import UNKNOWN_PARAMETER, unknown_refuse
from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.tenants.permissions import IsOrganizationMember, require_org_manager

AUDIT_READERS = _("Only owners and admins see the audit log.")
# An export is one streamed statement (a server-side cursor); past this many rows, narrow
# the filters (by date range) and export again.
EXPORT_MAX_ROWS = 100_000

_FILTERS = [
    OpenApiParameter("actor", int, description="The actor's user id (`user_id` in /api/v1/members/)."),
    OpenApiParameter("action", str, description="An action code, e.g. `project.archived` (docs/audit.md)."),
    OpenApiParameter("target_type", str, description="e.g. `project`, `membership`, `webhook`."),
    OpenApiParameter("target_id", str),
    OpenApiParameter("created_after", str, description="ISO 8601 date-time: entries from then on."),
    OpenApiParameter("created_before", str, description="ISO 8601 date-time: entries before then."),
]
_EXAMPLE = {
    "id": 31,
    "created_at": "2026-12-01T09:00:00Z",
    "action": "project.archived",
    "actor": {"kind": "user", "user_id": 42, "label": "ada@acme.example", "is_staff": False},
    "target": {"type": "project", "id": "7", "label": "WEB"},
    "before": {"archived": False},
    "after": {"archived": True},
    "ip": "203.0.113.9",
    "user_agent": "Mozilla/5.0",
}


def _filters(request, *, paginated: bool = True) -> dict:
    known = set(AuditListQuerySerializer().fields) - (set() if paginated else {"page", "page_size"})
    unknown_refuse(request.query_params, known, message=UNKNOWN_PARAMETER)
    query = AuditListQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class AuditListApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="audit_list",
        parameters=[
            *_FILTERS,
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="1 to 200 (default 50)."),
        ],
        responses=paginated(AuditEntryOutputSerializer),
        examples=[
            OpenApiExample("Archived", value={"count": 1, "next": None, "previous": None, "results": [_EXAMPLE]})
        ],
    )
    def get(self, request):
        """Who did what, newest first: membership, invitation, role, project and webhook
        changes, deleted tasks, settings and plan changes (docs/audit.md lists the
        actions). Owners and admins."""
        require_org_manager(request, AUDIT_READERS)
        entries = audit_entries(filters=_filters(request))
        return paginated_response(
            view=self, request=request, items=entries, serializer_class=AuditEntryOutputSerializer
        )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula: quote it.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


_COLUMNS = [
    "created_at", "action", "actor_kind", "actor_user_id", "actor_label", "actor_is_staff",
    "target_type", "target_id", "target_label", "before", "after", "ip", "user_agent",
]  # fmt: skip


class AuditExportApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="audit_export",
        parameters=_FILTERS,
        responses={(200, "text/csv"): OpenApiResponse(description="The matching entries as CSV, newest first.")},
    )
    def get(self, request):
        """The same entries and filters as the list, as one CSV download (at most
        100,000 rows: narrow the date range for more). Owners and admins."""
        require_org_manager(request, AUDIT_READERS)
        return audit_csv_response(audit_entries(filters=_filters(request, paginated=False)))


def audit_csv_response(entries) -> StreamingHttpResponse:
    """`entries` (an audit_entries queryset) as a streamed CSV download, at most
    EXPORT_MAX_ROWS rows: the API's export and the audit page's."""
    rows = entries.values_list(*_COLUMNS)[:EXPORT_MAX_ROWS]
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(_COLUMNS)
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
