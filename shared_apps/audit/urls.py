from django.urls import path

from shared_apps.audit.apis import AuditExportApi, AuditListApi

urlpatterns = [
    path("audit/", AuditListApi.as_view(), name="audit-list"),
    path("audit/export/", AuditExportApi.as_view(), name="audit-export"),
]
