"""The audit log in the platform admin: read-only. The changelist shows the platform's
entries (public: staff actions, API tokens, users); `organization/<id>/` shows one
organisation's own entries, read in its schema (linked from the organisation's page)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django_tenants.utils import schema_context

from shared_apps.audit.models import AuditEntry
from shared_apps.tenants.models import Organization

ORGANIZATION_ENTRIES_SHOWN = 500


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "actor_kind", "action", "target_type", "target_label", "ip"]
    list_filter = ["action", "actor_kind", "actor_is_staff"]
    search_fields = ["actor_label", "target_label", "target_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # retention (audit.sweep) is the only way entries go

    def get_urls(self):
        view = self.admin_site.admin_view(self.organization_entries)
        own = [path("organization/<int:organization_id>/", view, name="audit_auditentry_organization")]
        return own + super().get_urls()

    def organization_entries(self, request, organization_id: int):
        """The newest entries of one organisation, read in its schema (staff only)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        organization = get_object_or_404(Organization.objects.exclude(schema_name="public"), pk=organization_id)
        with schema_context(organization.schema_name):
            entries = list(AuditEntry.objects.order_by("-created_at", "-id")[:ORGANIZATION_ENTRIES_SHOWN])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Audit log: {organization}",
            "organization": organization,
            "entries": entries,
            "shown": ORGANIZATION_ENTRIES_SHOWN,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/audit/organization_entries.html", context)
