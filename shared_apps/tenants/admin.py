from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from shared_apps.tenants.models import Domain, Invitation, Membership, Organization
from shared_apps.tenants.services import organization_status_set


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class ReadOnlyMembershipMixin:
    """Memberships are written with the organisation's Member row by the services
    (invitations, sign-up, create_org), never edited alone here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(ReadOnlyMembershipMixin, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "slug", "status", "schema_name", "member_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "schema_name", "domains__domain"]
    readonly_fields = ["schema_name", "created_at", "activated_at", "audit_log"]
    inlines = [DomainInline, MembershipInline]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("memberships", distinct=True))

    @admin.display(ordering="_member_count", description="members")
    def member_count(self, obj):
        return obj._member_count

    @admin.display(description="audit log")
    def audit_log(self, obj):
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">The organisation\'s audit entries</a>',
            reverse("admin:audit_auditentry_organization", args=[obj.pk]),
        )

    def has_delete_permission(self, request, obj=None):
        # Deleting an organisation's data is an explicit operation, not a list action.
        return False

    def _status_set(self, request, queryset, current, new) -> int:
        organizations = list(queryset.filter(status=current))
        for organization in organizations:
            organization_status_set(organization=organization, status=new, actor=request.user)
        return len(organizations)

    @admin.action(description="Suspend selected organisations (data is kept)")
    def suspend(self, request, queryset):
        count = self._status_set(request, queryset, Organization.Status.ACTIVE, Organization.Status.SUSPENDED)
        self.message_user(request, f"Suspended {count} organisation(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected organisations")
    def reactivate(self, request, queryset):
        count = self._status_set(request, queryset, Organization.Status.SUSPENDED, Organization.Status.ACTIVE)
        self.message_user(request, f"Reactivated {count} organisation(s).", messages.SUCCESS)


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyMembershipMixin, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    list_select_related = ["user", "organization"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(~Q(organization__status=Organization.Status.SPARE))


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are sent from the organisation (API); staff can see and withdraw them."""

    list_display = [
        "email",
        "organization",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "organization__name", "organization__slug"]
    list_select_related = ["organization", "invited_by"]
    readonly_fields = [field.name for field in Invitation._meta.fields]

    def has_add_permission(self, request):
        return False
