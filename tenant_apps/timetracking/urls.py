from django.urls import path

import tenant_apps.projects.converters  # noqa: F401  (registers <project_key:...>)
from tenant_apps.timetracking.apis import TimeEntryDetailApi, TimeEntryListApi

TASK = "projects/<project_key:key>/tasks/<int:number>"

urlpatterns = [
    path(f"{TASK}/time-entries/", TimeEntryListApi.as_view(), name="api-task-time-entries"),
    path(f"{TASK}/time-entries/<int:entry_id>/", TimeEntryDetailApi.as_view(), name="api-task-time-entry-detail"),
]
