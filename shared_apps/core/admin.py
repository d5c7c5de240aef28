from django.contrib import admin

from shared_apps.core.models import DeliveryFailure


@admin.register(DeliveryFailure)
class DeliveryFailureAdmin(admin.ModelAdmin):
    """Read-only: written by the notification workers when retries are exhausted."""

    list_display = ["failed_at", "schema_name", "channel", "target", "attempts", "error"]
    list_filter = ["channel", "failed_at"]
    search_fields = ["schema_name", "target", "error"]
    readonly_fields = ["failed_at", "schema_name", "channel", "target", "kinds", "attempts", "error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
