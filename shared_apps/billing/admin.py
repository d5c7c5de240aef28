from django.contrib import admin, messages
from django.utils.html import format_html

from shared_apps.billing.limits import plan_effective, status_effective
from shared_apps.billing.models import FREE, Plan, Subscription, WebhookEvent
from shared_apps.billing.services import subscription_comp_end, subscription_comp_set
from shared_apps.billing.webhooks import webhook_event_process


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "effective_price",
        "max_members",
        "max_projects",
        "max_storage_bytes",
        "max_reports_per_month",
        "position",
    ]
    ordering = ["position", "pk"]

    @admin.display(description="Stripe price")
    def effective_price(self, obj):
        if obj.stripe_price_id:
            return obj.stripe_price_id
        return f"{obj.price_id} (environment)" if obj.price_id else "—"

    def get_readonly_fields(self, request, obj=None):
        # Code paths name plans by code (the Free fallback, the Team trial).
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Free is every organisation's fallback; others go only while nobody is on them
        # (the foreign keys protect them).
        return obj is None or obj.code != FREE


class GrantFilter(admin.SimpleListFilter):
    title = "granted by staff"
    parameter_name = "comped"

    def lookups(self, request, model_admin):
        return [("yes", "Granted"), ("no", "Paid or free")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(comped_plan__isnull=False)
        if self.value() == "no":
            return queryset.filter(comped_plan__isnull=True)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Stripe drives plan, status and period (webhooks); staff grant a plan here: pick it
    in "Comped plan" (or use the list actions), clear it to end the grant."""

    list_display = [
        "organization",
        "applied_plan",
        "applied_status",
        "plan",
        "status",
        "comped_plan",
        "current_period_end",
        "stripe_customer_id",
    ]
    list_filter = ["status", "plan", GrantFilter]
    search_fields = ["organization__name", "organization__slug", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["organization", "plan", "comped_plan"]
    fields = [
        "organization",
        "plan",
        "status",
        "trial_end",
        "current_period_end",
        "cancel_at_period_end",
        "past_due_since",
        "stripe_customer_id",
        "stripe_subscription_id",
        "stripe_status",
        "stripe_state_at",
        "comped_plan",
        "comped_note",
        "comped_by",
        "comped_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name not in ("comped_plan", "comped_note")]

    @admin.display(description="applies")
    def applied_plan(self, obj):
        return plan_effective(obj).name

    @admin.display(description="state")
    def applied_status(self, obj):
        return status_effective(obj)

    def has_add_permission(self, request):
        return False  # every organisation gets one when it is activated

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "comped_plan" not in form.changed_data and "comped_note" not in form.changed_data:
            return
        if obj.comped_plan is None:
            subscription_comp_end(subscription=obj, actor=request.user)
        else:
            subscription_comp_set(
                subscription=obj, plan=obj.comped_plan, actor=request.user, note=form.cleaned_data["comped_note"]
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        for plan in Plan.objects.all():
            name = f"grant_{plan.code}"
            actions[name] = (self._grant_action(plan), name, f"Grant {plan.name} free of charge")
        return actions

    @staticmethod
    def _grant_action(plan: Plan):
        def grant(modeladmin, request, queryset):
            for subscription in queryset:
                subscription_comp_set(subscription=subscription, plan=plan, actor=request.user, note="admin action")
            modeladmin.message_user(request, f"Granted {plan.name} to {queryset.count()} organisation(s).")

        return grant

    @admin.action(description="End the staff grant (paid plan or Free applies)")
    def end_grant(self, request, queryset):
        for subscription in queryset.filter(comped_plan__isnull=False):
            subscription_comp_end(subscription=subscription, actor=request.user)
        self.message_user(request, "Grant ended where there was one.")

    actions = ["end_grant"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_event_id", "type", "organization", "received_at", "processed_at", "outcome", "has_error"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter), "livemode"]
    search_fields = ["stripe_event_id", "type", "organization__name", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
    actions = ["process_again"]

    @admin.display(boolean=True, description="error")
    def has_error(self, obj):
        return bool(obj.error)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Process again (unprocessed events only)")
    def process_again(self, request, queryset):
        done = failed = 0
        for event in queryset.filter(processed_at__isnull=True):
            row, _replay = webhook_event_process(event=event)
            if row.processed_at is None:
                failed += 1
            else:
                done += 1
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, format_html("Processed {}, failed {}.", done, failed), level)
