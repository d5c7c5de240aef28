from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from shared_apps.accounts.models import ApiToken, User
from shared_apps.accounts.services import user_deactivate, user_reactivate


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    # `is_active` changes only through the actions, which keep every organisation's
    # Member row in step (shared_apps.accounts.services).
    readonly_fields = ["is_active", "date_joined", "last_login", "deactivated_at"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "language"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "deactivated_at"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["deactivate", "reactivate"]

    def has_delete_permission(self, request, obj=None):
        # Users are deactivated, never hard-deleted (DESIGN.md section 3).
        return False

    @admin.action(description="Deactivate selected users in every organisation")
    def deactivate(self, request, queryset):
        users = list(queryset.filter(is_active=True))
        for user in users:
            user_deactivate(user=user, actor=request.user)
        self.message_user(request, f"Deactivated {len(users)} user(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected users")
    def reactivate(self, request, queryset):
        users = list(queryset.filter(is_active=False))
        for user in users:
            user_reactivate(user=user, actor=request.user)
        self.message_user(request, f"Reactivated {len(users)} user(s).", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    search_fields = ["user__email", "name", "prefix"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "key_digest", "created_at", "expires_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are created by their owners, shown once
