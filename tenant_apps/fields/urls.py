from django.urls import path

import tenant_apps.projects.converters  # noqa: F401  (registers <project_key:...>)
from tenant_apps.fields.apis import FieldDetailApi, FieldListApi, TaskFieldValuesApi

urlpatterns = [
    path("projects/<project_key:key>/fields/", FieldListApi.as_view(), name="api-project-fields"),
    path(
        "projects/<project_key:key>/fields/<int:field_id>/", FieldDetailApi.as_view(), name="api-project-field-detail"
    ),
    path(
        "projects/<project_key:key>/tasks/<int:number>/fields/",
        TaskFieldValuesApi.as_view(),
        name="api-task-fields",
    ),
]
