from rest_framework import serializers

from shared_apps.tenants.models import OrgRole


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    role = serializers.ChoiceField(choices=OrgRole.choices)
    joined_at = serializers.DateTimeField()


class MemberRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=OrgRole.choices)


class InvitationCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.MEMBER)


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=OrgRole.choices)
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class InvitationAcceptInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    password = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text="For a new account only."
    )
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class InvitationAcceptOutputSerializer(serializers.Serializer):
    organization = serializers.CharField()
    role = serializers.ChoiceField(choices=OrgRole.choices)
    url = serializers.URLField()
