from rest_framework import serializers

from shared_apps.core.api import QueryBooleanField
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


class ProjectCreateInputSerializer(serializers.Serializer):
    key = serializers.RegexField(
        r"^[A-Z][A-Z0-9]{1,9}$",
        max_length=10,
        error_messages={"invalid": "2 to 10 uppercase letters or digits, starting with a letter."},
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)


class ProjectUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    lead_id = serializers.IntegerField(required=False, allow_null=True)
    archived = serializers.BooleanField(required=False)
    estimate_unit = serializers.ChoiceField(
        choices=["points", "hours"], required=False, help_text="What task estimates count."
    )


class ProjectOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(help_text="Markdown, stored raw.")
    description_html = serializers.CharField(help_text="The description rendered from Markdown and sanitized.")
    lead_id = serializers.IntegerField(allow_null=True)
    archived = serializers.BooleanField()
    estimate_unit = serializers.ChoiceField(choices=["points", "hours"], help_text="What task estimates count.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    task_counts = serializers.DictField(child=serializers.IntegerField(), help_text="Tasks per status.")


class ProjectArchivedQuerySerializer(serializers.Serializer):
    archived = QueryBooleanField()
