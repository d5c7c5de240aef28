from django.urls import path

from shared_apps.billing.apis import BillingApi, BillingCheckoutApi, BillingPortalApi

urlpatterns = [
    path("billing/", BillingApi.as_view(), name="api-billing"),
    path("billing/checkout/", BillingCheckoutApi.as_view(), name="api-billing-checkout"),
    path("billing/portal/", BillingPortalApi.as_view(), name="api-billing-portal"),
]
