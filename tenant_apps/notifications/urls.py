from django.urls import path

import tenant_apps.projects.converters  # noqa: F401  (registers <project_key:...>)
from tenant_apps.notifications.apis import (
    NotificationListApi,
    NotificationReadAllApi,
    NotificationReadApi,
    NotificationUnreadApi,
    PreferencesApi,
    TaskWatchApi,
    TaskWatchersApi,
    UnreadCountApi,
    WebhookDeliveryListApi,
    WebhookDetailApi,
    WebhookListApi,
)

TASK = "projects/<project_key:key>/tasks/<int:number>"

urlpatterns = [
    path("notifications/", NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/unread-count/", UnreadCountApi.as_view(), name="api-notifications-unread-count"),
    path("notifications/read-all/", NotificationReadAllApi.as_view(), name="api-notifications-read-all"),
    path("notifications/preferences/", PreferencesApi.as_view(), name="api-notification-preferences"),
    path("notifications/<int:notification_id>/read/", NotificationReadApi.as_view(), name="api-notification-read"),
    path(
        "notifications/<int:notification_id>/unread/", NotificationUnreadApi.as_view(), name="api-notification-unread"
    ),
    path(f"{TASK}/watchers/", TaskWatchersApi.as_view(), name="api-task-watchers"),
    path(f"{TASK}/watch/", TaskWatchApi.as_view(), name="api-task-watch"),
    path("webhooks/", WebhookListApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>/", WebhookDetailApi.as_view(), name="api-webhook-detail"),
    path("webhooks/<int:webhook_id>/deliveries/", WebhookDeliveryListApi.as_view(), name="api-webhook-deliveries"),
]
