from rest_framework import serializers

from tenant_apps.projects.registry import ALL_CODES


class RoleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    is_builtin = serializers.BooleanField()


class RoleCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ALL_CODES)), allow_empty=True, max_length=len(ALL_CODES)
    )


class RoleUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ALL_CODES)),
        allow_empty=True,
        required=False,
        max_length=len(ALL_CODES),
    )


class RoleDeleteQuerySerializer(serializers.Serializer):
    reassign_to = serializers.IntegerField(required=False, help_text="Role id the holders of this role move to.")


class ProjectMemberOutputSerializer(serializers.Serializer):
    member_id = serializers.IntegerField(source="member.id")
    email = serializers.EmailField(source="member.email")
    display_name = serializers.CharField(source="member.display_name")
    role_id = serializers.IntegerField(source="role.id")
    role = serializers.CharField(source="role.name")


class ProjectMemberAddInputSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    role_id = serializers.IntegerField()


class ProjectMemberRoleInputSerializer(serializers.Serializer):
    role_id = serializers.IntegerField()
