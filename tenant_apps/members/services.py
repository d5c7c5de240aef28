"""Writes to the tenant-local Member rows. Call inside the organisation's schema."""

from shared_apps.accounts.models import User
from tenant_apps.members.models import Member
from tenant_apps.projects.models import ProjectMember
from tenant_apps.projects.permissions import permissions_version_bump


def member_sync(*, user: User, role: str, is_active: bool = True, forget_project_roles: bool = False) -> Member:
    """Create or update the Member mirroring `user` in the current schema.

    The entry point shared apps reach through `settings.TESSERA_MEMBER_SYNC` when they
    add, change or deactivate a membership."""
    # Org role and active flag decide permissions: cached answers must go.
    permissions_version_bump()
    member, _created = Member.objects.update_or_create(
        user_id=user.pk,
        defaults={
            "email": user.email,
            "display_name": user.full_name,
            "role": role,
            "is_active": is_active,
            "language": user.language,
        },
    )
    if forget_project_roles:
        ProjectMember.objects.filter(member=member).delete()
    return member
