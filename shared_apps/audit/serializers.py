from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shared_apps.audit.actions import ACTIONS


class AuditListQuerySerializer(serializers.Serializer):
    actor = serializers.IntegerField(
        required=False, min_value=1, help_text="The actor's user id (`user_id` of a member)."
    )
    action = serializers.ChoiceField(choices=sorted(ACTIONS), required=False)
    target_type = serializers.RegexField(r"^[a-z_]{1,64}$", required=False, help_text="e.g. project, membership.")
    target_id = serializers.CharField(required=False, max_length=64)
    created_after = serializers.DateTimeField(required=False, help_text="ISO 8601; from this moment on.")
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601; before this moment.")
    page = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField(required=False)

    def validate(self, attrs):
        after, before = attrs.get("created_after"), attrs.get("created_before")
        if after and before and after >= before:
            raise serializers.ValidationError({"created_before": [_("Must be later than created_after.")]})
        return attrs


class AuditActorOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(source="actor_kind")
    user_id = serializers.IntegerField(source="actor_user_id", allow_null=True)
    label = serializers.CharField(source="actor_label")
    is_staff = serializers.BooleanField(source="actor_is_staff")


class AuditTargetOutputSerializer(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")
    label = serializers.CharField(source="target_label")


class AuditEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    actor = AuditActorOutputSerializer(source="*")
    target = AuditTargetOutputSerializer(source="*")
    before = serializers.JSONField()
    after = serializers.JSONField()
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
