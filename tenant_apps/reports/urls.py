from django.urls import path

from tenant_apps.reports.apis import (
    ReportDetailApi,
    ReportDownloadApi,
    ReportKindListApi,
    ReportListApi,
    ReportScheduleApi,
)

urlpatterns = [
    path("reports/", ReportListApi.as_view(), name="api-reports"),
    path("reports/kinds/", ReportKindListApi.as_view(), name="api-report-kinds"),
    path("reports/schedule/", ReportScheduleApi.as_view(), name="api-report-schedule"),
    path("reports/<int:report_id>/", ReportDetailApi.as_view(), name="api-report-detail"),
    path("reports/<int:report_id>/download/", ReportDownloadApi.as_view(), name="api-report-download"),
]
