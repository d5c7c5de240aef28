from django.urls import path

from tenant_apps.organization.apis import UsageApi

urlpatterns = [
    path("usage/", UsageApi.as_view(), name="api-usage"),
]
