from django.urls import path

from shared_apps.tenants.apis import SignupApi, UserOrganizationsApi

urlpatterns = [
    path("signup/", SignupApi.as_view(), name="api-signup"),
    path("organizations/", UserOrganizationsApi.as_view(), name="api-user-organizations"),
]
