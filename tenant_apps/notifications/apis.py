from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.core.pagination import paginated, paginated_response
from shared_apps.tenants.permissions import IsOrganizationMember, require_org_manager
from tenant_apps.notifications.models import Watcher, Webhook
from tenant_apps.notifications.permissions import WEBHOOK_MANAGERS, access_notification, access_webhook
from tenant_apps.notifications.selectors import notification_list, preferences_get
from tenant_apps.notifications.serializers import (
    MarkedOutputSerializer,
    NotificationListFilterSerializer,
    NotificationOutputSerializer,
    PreferencesInputSerializer,
    PreferencesOutputSerializer,
    UnreadCountOutputSerializer,
    WatcherOutputSerializer,
    WatchStateOutputSerializer,
    WebhookCreatedOutputSerializer,
    WebhookDeliveryOutputSerializer,
    WebhookInputSerializer,
    WebhookOutputSerializer,
)
from tenant_apps.notifications.services import (
    notification_mark,
    notifications_mark_all_read,
    preferences_save,
    unread_count,
    watcher_add,
    watcher_remove,
    webhook_create,
    webhook_delete,
    webhook_update,
)
from tenant_apps.projects.permissions import ProjectScopedApi, member_for_request, org_manager_require
from tenant_apps.projects.selectors import projects_visible_to
from tenant_apps.tasks.permissions import access_task

_NOTIFICATION_EXAMPLE = {
    "id": 7,
    "kind": "task.assigned",
    "text": "Task WEB-42 was assigned to you",
    "url": "/tasks/WEB-42/",
    "task": {"key": "WEB-42", "title": "Fix the login form", "url": "/tasks/WEB-42/"},
    "actor": {"id": 1, "display_name": "Ada"},
    "data": {"task_key": "WEB-42", "member_ids": [3]},
    "created_at": "2026-11-26T09:00:00Z",
    "read_at": None,
}


class NotificationListApi(APIView):
    """Your in-app notifications, newest first. Texts follow your language (your
    setting, else Accept-Language)."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(
        operation_id="notifications_list",
        parameters=[OpenApiParameter("unread", bool, description="true: only unread; false: only read.")],
        responses=paginated(NotificationOutputSerializer),
        examples=[OpenApiExample("Assigned", value=_NOTIFICATION_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        query = NotificationListFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        notifications = notification_list(member=member_for_request(request), unread=query.validated_data.get("unread"))
        return paginated_response(
            view=self, request=request, items=notifications, serializer_class=NotificationOutputSerializer
        )


class NotificationMarkApi(APIView):
    permission_classes = [IsOrganizationMember]
    read = True

    @extend_schema(request=None, responses={200: NotificationOutputSerializer})
    def post(self, request, notification_id: int):
        member = member_for_request(request)
        notification = access_notification(member=member, notification_id=notification_id)
        notification_mark(notification=notification, read=self.read, actor=member)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadApi(NotificationMarkApi):
    """Mark one notification read."""

    read = True


class NotificationUnreadApi(NotificationMarkApi):
    """Mark one notification unread again."""

    read = False


class NotificationReadAllApi(APIView):
    """Mark all your notifications read."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(request=None, responses={200: MarkedOutputSerializer})
    def post(self, request):
        return Response({"marked": notifications_mark_all_read(actor=member_for_request(request))})


class UnreadCountApi(APIView):
    """How many of your notifications are unread (cached; updated on every change)."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(responses={200: UnreadCountOutputSerializer})
    def get(self, request):
        return Response({"count": unread_count(member=member_for_request(request))})


class PreferencesApi(APIView):
    """Your notification settings in this organisation: per kind, in-app and email on or
    off; projects you muted entirely; your language (for every organisation)."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(responses={200: PreferencesOutputSerializer})
    def get(self, request):
        return Response(preferences_get(member=member_for_request(request)))

    @extend_schema(
        request=PreferencesInputSerializer,
        responses={200: PreferencesOutputSerializer},
        examples=[
            OpenApiExample(
                "Quiet",
                request_only=True,
                value={
                    "language": "ru",
                    "kinds": [{"kind": "comment.added", "in_app": True, "email": False}],
                    "muted_projects": ["OPS"],
                },
            )
        ],
    )
    def patch(self, request):
        member = member_for_request(request)
        serializer = PreferencesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        muted = None
        if "muted_projects" in data:
            keys = set(data["muted_projects"])
            muted = list(projects_visible_to(member).filter(key__in=keys))
            unknown = sorted(keys - {project.key for project in muted})
            if unknown:
                raise ValidationError(
                    {"muted_projects": [_("No such project: %(keys)s.") % {"keys": ", ".join(unknown)}]}
                )
        preferences_save(
            actor=member,
            kinds=data.get("kinds"),
            muted_projects=muted,
            language=data.get("language"),
        )
        return Response(preferences_get(member=member))


class TaskWatchersApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view"}

    @extend_schema(operation_id="task_watchers_list", responses=paginated(WatcherOutputSerializer))
    def get(self, request, key: str, number: int):
        """Who watches the task (they hear of its status changes and comments)."""
        task = access_task(member=self.member, project=self.project, number=number)
        watchers = Watcher.objects.filter(task=task, member__is_active=True).select_related("member").order_by("pk")
        return paginated_response(view=self, request=request, items=watchers, serializer_class=WatcherOutputSerializer)


class TaskWatchApi(ProjectScopedApi):
    """Watch or stop watching a task yourself."""

    required_permissions = {"GET": "project.view", "PUT": "project.view", "DELETE": "project.view"}

    def _task(self, number: int):
        return access_task(member=self.member, project=self.project, number=number)

    @extend_schema(responses={200: WatchStateOutputSerializer})
    def get(self, request, key: str, number: int):
        task = self._task(number)
        return Response({"watching": Watcher.objects.filter(task=task, member=member_for_request(request)).exists()})

    @extend_schema(request=None, responses={200: WatchStateOutputSerializer})
    def put(self, request, key: str, number: int):
        watcher_add(task=self._task(number), actor=member_for_request(request))
        return Response({"watching": True})

    @extend_schema(request=None, responses={200: WatchStateOutputSerializer})
    def delete(self, request, key: str, number: int):
        watcher_remove(task=self._task(number), actor=member_for_request(request))
        return Response({"watching": False})


class WebhookListApi(APIView):
    """Organisation webhooks (owners and admins). Each event is POSTed as JSON with
    `X-Tessera-Signature: sha256=HMAC(secret, "<X-Tessera-Timestamp>.<body>")`."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(operation_id="webhooks_list", responses=paginated(WebhookOutputSerializer))
    def get(self, request):
        require_org_manager(request, WEBHOOK_MANAGERS)  # the cached membership: no query
        return paginated_response(
            view=self, request=request, items=Webhook.objects.order_by("pk"), serializer_class=WebhookOutputSerializer
        )

    @extend_schema(
        request=WebhookInputSerializer,
        responses={
            201: WebhookCreatedOutputSerializer,
            400: OpenApiResponse(description="Bad URL, or one that points at a private or local address."),
        },
        examples=[
            OpenApiExample(
                "All task events",
                request_only=True,
                value={"url": "https://hooks.example.com/tessera", "kinds": ["task.assigned", "comment.added"]},
            )
        ],
    )
    def post(self, request):
        org_manager_require(member=member_for_request(request), message=WEBHOOK_MANAGERS)
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhook_create(
            url=serializer.validated_data["url"],
            kinds=serializer.validated_data.get("kinds", []),
            actor=member_for_request(request),
        )
        return Response(WebhookCreatedOutputSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    permission_classes = [IsOrganizationMember]

    def _webhook(self, request, webhook_id: int) -> Webhook:
        return access_webhook(member=member_for_request(request), webhook_id=webhook_id)

    @extend_schema(responses={200: WebhookOutputSerializer})
    def get(self, request, webhook_id: int):
        return Response(WebhookOutputSerializer(self._webhook(request, webhook_id)).data)

    @extend_schema(request=WebhookInputSerializer(partial=True), responses={200: WebhookOutputSerializer})
    def patch(self, request, webhook_id: int):
        webhook = self._webhook(request, webhook_id)
        serializer = WebhookInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        webhook = webhook_update(webhook=webhook, data=serializer.validated_data, actor=member_for_request(request))
        return Response(WebhookOutputSerializer(webhook).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its delivery log.")})
    def delete(self, request, webhook_id: int):
        webhook_delete(webhook=self._webhook(request, webhook_id), actor=member_for_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(APIView):
    """The webhook's delivery log, newest first."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(operation_id="webhook_deliveries_list", responses=paginated(WebhookDeliveryOutputSerializer))
    def get(self, request, webhook_id: int):
        webhook = access_webhook(member=member_for_request(request), webhook_id=webhook_id)
        deliveries = webhook.deliveries.select_related("event").order_by("-id")
        return paginated_response(
            view=self, request=request, items=deliveries, serializer_class=WebhookDeliveryOutputSerializer
        )
