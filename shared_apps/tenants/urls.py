from django.urls import path

from shared_apps.tenants.apis import CurrentOrganizationApi

urlpatterns = [
    path("organization/", CurrentOrganizationApi.as_view(), name="organization-current"),
]
