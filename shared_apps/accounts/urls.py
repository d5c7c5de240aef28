from django.urls import path

from shared_apps.accounts.apis import ApiTokenDetailApi, ApiTokenListCreateApi

urlpatterns = [
    path("tokens/", ApiTokenListCreateApi.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/", ApiTokenDetailApi.as_view(), name="api-token-detail"),
]
