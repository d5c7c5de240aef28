from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shared_apps.core.api import UNKNOWN_FIELD, UNKNOWN_PARAMETER, QueryBooleanField, unknown_refuse
from tenant_apps.notifications.models import DeliveryStatus, EventKind
from tenant_apps.notifications.texts import event_text, event_url


class NotificationActorOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class NotificationTaskOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The task's page on this organisation's domain.")


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EventKind.choices, source="event.kind")
    text = serializers.SerializerMethodField(help_text="In the reader's language.")
    url = serializers.SerializerMethodField(help_text="Where it leads (task page, report download).")
    task = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    data = serializers.JSONField(source="event.payload")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    def get_text(self, notification) -> str:
        return event_text(notification.event)

    def get_url(self, notification) -> str:
        return event_url(notification.event)

    def get_task(self, notification) -> NotificationTaskOutputSerializer(allow_null=True):
        payload = notification.event.payload
        key = payload.get("task_key")
        if not key:
            return None
        return {"key": key, "title": payload.get("task_title", ""), "url": event_url(notification.event)}

    def get_actor(self, notification) -> NotificationActorOutputSerializer(allow_null=True):
        actor = notification.event.actor
        if actor is None:
            return None
        return {"id": actor.pk, "display_name": actor.display_name or actor.email}


class NotificationListFilterSerializer(serializers.Serializer):
    unread = QueryBooleanField()
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_PARAMETER)
        return attrs


class UnreadCountOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class MarkedOutputSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class KindPreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class PreferencesOutputSerializer(serializers.Serializer):
    language = serializers.CharField(help_text="Your language for emails and texts; empty: the organisation's.")
    kinds = KindPreferenceSerializer(many=True)
    muted_projects = serializers.ListField(child=serializers.CharField(), help_text="Project keys.")


class PreferencesInputSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=[("", ""), *settings.LANGUAGES], required=False, allow_blank=True)
    kinds = KindPreferenceSerializer(many=True, required=False)
    muted_projects = serializers.ListField(child=serializers.CharField(max_length=10), required=False, max_length=500)

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        kinds = [entry["kind"] for entry in attrs.get("kinds", [])]
        if len(kinds) != len(set(kinds)):
            raise serializers.ValidationError({"kinds": [_("Each kind at most once.")]})
        return attrs


class WatcherOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="member.id")
    display_name = serializers.CharField(source="member.display_name")
    email = serializers.EmailField(source="member.email")
    since = serializers.DateTimeField(source="created_at")


class WatchStateOutputSerializer(serializers.Serializer):
    watching = serializers.BooleanField()


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=EventKind.choices))
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookCreatedOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="Shown once: verify X-Tessera-Signature with it.")


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), required=False, max_length=20
    )
    is_active = serializers.BooleanField(required=False)

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.IntegerField()
    kind = serializers.CharField(source="event.kind")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    response_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
