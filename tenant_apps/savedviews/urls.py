from django.urls import path

import tenant_apps.projects.converters  # noqa: F401  (registers <project_key:...>)
from tenant_apps.savedviews.apis import SavedViewDetailApi, SavedViewListApi

urlpatterns = [
    path("projects/<project_key:key>/views/", SavedViewListApi.as_view(), name="api-project-views"),
    path("projects/<project_key:key>/views/<int:view_id>/", SavedViewDetailApi.as_view(), name="api-project-view"),
]
