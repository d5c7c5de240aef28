from django.http import FileResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.api import UNKNOWN_PARAMETER, unknown_refuse
from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.core.storage import storage
from shared_apps.tenants.permissions import IsOrganizationMember
from tenant_apps.members.models import Member
from tenant_apps.projects.permissions import member_for_request
from tenant_apps.reports.kinds import KINDS
from tenant_apps.reports.models import Report, ReportSchedule
from tenant_apps.reports.permissions import access_report
from tenant_apps.reports.selectors import reports_visible_to
from tenant_apps.reports.serializers import (
    WEEKDAY_NAMES,
    ReportCreateInputSerializer,
    ReportDetailOutputSerializer,
    ReportKindOutputSerializer,
    ReportListQuerySerializer,
    ReportOutputSerializer,
    ReportScheduleInputSerializer,
    ReportScheduleOutputSerializer,
)
from tenant_apps.reports.services.requests import report_delete, report_request
from tenant_apps.reports.services.schedules import report_schedule_delete, report_schedule_set
from tenant_apps.reports.writers import CONTENT_TYPES

_REPORT_EXAMPLE = {
    "id": 7,
    "kind": "completed_tasks",
    "format": "xlsx",
    "params": {"from": "2026-11-01", "to": "2026-12-01", "project": "WEB", "time_zone": "Europe/Berlin"},
    "status": "done",
    "failure_reason": "",
    "progress": 100,
    "row_count": 182,
    "file_size": 14230,
    "filename": "completed-tasks_WEB_2026-11-01_2026-12-01.xlsx",
    "download_url": "/api/v1/reports/7/download/",
    "requested_by": {"id": 3, "display_name": "Mia", "email": "mia@acme.example"},
    "created_at": "2026-12-01T08:00:00Z",
    "started_at": "2026-12-01T08:00:01Z",
    "finished_at": "2026-12-01T08:00:03Z",
    "expires_at": "2026-12-08T08:00:03Z",
}


def _member(request) -> Member:
    member = member_for_request(request)
    if member is None:
        raise PermissionDenied("You are not an active member of this organisation.")
    return member


class ReportListApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="reports_list",
        parameters=[
            OpenApiParameter("requested_by", str, description="Member id or `me` (owners and admins see everyone's)."),
            OpenApiParameter("status", str, description="queued, running, done, failed."),
            OpenApiParameter(
                "kind", str, description="completed_tasks, workload, project_status, time_logged, task_list."
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=paginated(ReportOutputSerializer),
        examples=[
            OpenApiExample("Reports", value={"count": 1, "next": None, "previous": None, "results": [_REPORT_EXAMPLE]})
        ],
    )
    def get(self, request):
        """Your reports, newest first; owners and admins see every report here."""
        member = _member(request)
        unknown_refuse(request.query_params, ReportListQuerySerializer().fields, message=UNKNOWN_PARAMETER)
        query = ReportListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reports = reports_visible_to(member).defer("summary", "params_digest")
        filters = query.validated_data
        if "requested_by" in filters:
            reports = reports.filter(
                requested_by_id=member.pk if filters["requested_by"] == "me" else int(filters["requested_by"])
            )
        for name in ("status", "kind"):
            if name in filters:
                reports = reports.filter(**{name: filters[name]})
        return paginated_response(view=self, request=request, items=reports, serializer_class=ReportOutputSerializer)

    @extend_schema(
        request=ReportCreateInputSerializer,
        responses={
            201: ReportDetailOutputSerializer,
            200: OpenApiResponse(ReportDetailOutputSerializer, description="The same request is already under way."),
            400: OpenApiResponse(description="A bad parameter, named."),
            403: OpenApiResponse(description="No report.create permission (in that project)."),
        },
        examples=[
            OpenApiExample(
                "Completed in November",
                request_only=True,
                value={"kind": "completed_tasks", "format": "xlsx", "from": "2026-11-01", "to": "2026-12-01"},
            ),
            OpenApiExample(
                "Workload of WEB", request_only=True, value={"kind": "workload", "format": "csv", "project": "WEB"}
            ),
        ],
    )
    def post(self, request):
        """Request a report; it is generated in the background (poll its `status` and
        `progress`). The same request while one is queued or running returns that one
        (200). Periods are [from, to); dates are read in the organisation's time zone."""
        member = _member(request)
        serializer = ReportCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        kind, format = data.pop("kind"), data.pop("format")
        report, created = report_request(
            actor=member, kind=kind, format=format, params=data, time_zone=request.tenant.time_zone
        )
        report = Report.objects.select_related("requested_by").get(pk=report.pk)
        return Response(
            ReportDetailOutputSerializer(report).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ReportDetailApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(responses=ReportDetailOutputSerializer, examples=[OpenApiExample("Done", value=_REPORT_EXAMPLE)])
    def get(self, request, report_id: int):
        """Status, progress, row count, file size and, once done, the summary figures."""
        return Response(ReportDetailOutputSerializer(access_report(member=_member(request), report_id=report_id)).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, file included.")})
    def delete(self, request, report_id: int):
        """Delete the report and its file (your own; owners and admins any)."""
        member = _member(request)
        report_delete(report=access_report(member=member, report_id=report_id), actor=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportNotReady(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "report_not_ready"


class ReportDownloadApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="report_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The file, as a download."),
            409: OpenApiResponse(description="Not generated (yet): queued, running or failed."),
        },
    )
    def get(self, request, report_id: int):
        """The report's file: `Content-Disposition: attachment`, `nosniff`."""
        report = access_report(member=_member(request), report_id=report_id)
        if report.status != Report.Status.DONE:
            raise ReportNotReady(f"The report is {report.status}; it can be downloaded once it is done.")
        try:
            stored = storage().open(report.storage_key, "rb")
        except FileNotFoundError as exc:
            raise NotFound("The file is missing from storage.") from exc
        response = FileResponse(
            stored, as_attachment=True, filename=report.filename, content_type=CONTENT_TYPES[report.format]
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class ReportKindListApi(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(operation_id="report_kinds_list", responses=paginated(ReportKindOutputSerializer))
    def get(self, request):
        """The report kinds, their parameters and formats."""
        kinds = [
            {
                "code": kind.code,
                "title": kind.title,
                "description": kind.description,
                "params": list(kind.params),
                "required": list(kind.required),
                "formats": list(Report.Format.values),
            }
            for kind in KINDS.values()
        ]
        return paginated_response(view=self, request=request, items=kinds, serializer_class=ReportKindOutputSerializer)


def _schedule_output(schedule: ReportSchedule | None) -> dict:
    data = {"weekday": None, "format": None, "last_run_on": None, "recipients": []}
    if schedule is not None:
        data = {
            "weekday": WEEKDAY_NAMES[schedule.weekday],
            "format": schedule.format,
            "last_run_on": schedule.last_run_on,
            "recipients": sorted(schedule.recipients.values_list("pk", flat=True)),
        }
    return ReportScheduleOutputSerializer(data).data


class ReportScheduleApi(APIView):
    """Your weekly report: "completed last week" (Monday to Sunday, the organisation's
    time zone), mailed as an attachment on the chosen weekday from 07:00."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(responses=ReportScheduleOutputSerializer)
    def get(self, request):
        """Your weekly report setting (`weekday: null` when there is none)."""
        member = _member(request)
        return Response(_schedule_output(ReportSchedule.objects.filter(member=member).first()))

    @extend_schema(
        request=ReportScheduleInputSerializer,
        responses={200: ReportScheduleOutputSerializer, 403: OpenApiResponse(description="No report.create.")},
        examples=[
            OpenApiExample(
                "Mondays", request_only=True, value={"weekday": "monday", "format": "xlsx", "recipients": [4]}
            )
        ],
    )
    def put(self, request):
        """Set (or change) your weekly report and who else gets it (needs report.create in
        some project)."""
        member = _member(request)
        serializer = ReportScheduleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        recipients = None
        if "recipients" in data:
            recipients = list(Member.objects.filter(pk__in=data["recipients"], is_active=True))
            missing = set(data["recipients"]) - {person.pk for person in recipients}
            if missing:
                raise ValidationError({"recipients": [f"No such member: {', '.join(map(str, sorted(missing)))}."]})
        schedule = report_schedule_set(
            actor=member, weekday=WEEKDAY_NAMES.index(data["weekday"]), format=data["format"], recipients=recipients
        )
        return Response(_schedule_output(schedule))

    @extend_schema(responses={204: OpenApiResponse(description="No more weekly reports.")})
    def delete(self, request):
        report_schedule_delete(actor=_member(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
