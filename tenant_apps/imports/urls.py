from django.urls import path

from tenant_apps.imports.apis import ImportDetailApi, ImportListApi, ImportMappingApi, ImportStartApi

urlpatterns = [
    path("projects/<str:key>/imports/", ImportListApi.as_view(), name="api-imports"),
    path("projects/<str:key>/imports/<int:import_id>/", ImportDetailApi.as_view(), name="api-import-detail"),
    path("projects/<str:key>/imports/<int:import_id>/mapping/", ImportMappingApi.as_view(), name="api-import-mapping"),
    path("projects/<str:key>/imports/<int:import_id>/start/", ImportStartApi.as_view(), name="api-import-start"),
]
