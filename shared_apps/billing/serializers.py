from rest_framework import serializers

from shared_apps.billing.models import Subscription


class BillingLimitUsageOutputSerializer(serializers.Serializer):
    unit = serializers.ChoiceField(choices=["count", "bytes"])
    usage = serializers.IntegerField(allow_null=True, help_text="Null: not measured yet.")
    allowance = serializers.IntegerField(allow_null=True, help_text="Null: unlimited.")
    available = serializers.IntegerField(allow_null=True, help_text="How much more may be added; null: unlimited.")


class BillingLimitsOutputSerializer(serializers.Serializer):
    members = BillingLimitUsageOutputSerializer()
    projects = BillingLimitUsageOutputSerializer(help_text="Active (not archived) projects.")
    storage_bytes = BillingLimitUsageOutputSerializer()
    reports_per_month = BillingLimitUsageOutputSerializer()


class BillingPlanAllowancesOutputSerializer(serializers.Serializer):
    members = serializers.IntegerField(allow_null=True)
    projects = serializers.IntegerField(allow_null=True)
    storage_bytes = serializers.IntegerField(allow_null=True)
    reports_per_month = serializers.IntegerField(allow_null=True)


class BillingPlanRefOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class BillingPlanOfferOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    limits = BillingPlanAllowancesOutputSerializer()
    purchasable = serializers.BooleanField(help_text="Can be bought through checkout now.")


class BillingOutputSerializer(serializers.Serializer):
    billing_enabled = serializers.BooleanField(help_text="False: this server runs without billing, all unlimited.")
    plan = BillingPlanRefOutputSerializer(help_text="The plan whose limits apply.")
    status = serializers.ChoiceField(choices=Subscription.Status.choices)
    comped = serializers.BooleanField(help_text="The plan was granted by Tessera staff.")
    read_only = serializers.BooleanField(help_text="Past due beyond the grace period: writes answer 402.")
    limits = BillingLimitsOutputSerializer()
    billing_url = serializers.CharField(help_text="The billing page: where to upgrade.")
    plans = BillingPlanOfferOutputSerializer(many=True)


class BillingManagerOutputSerializer(BillingOutputSerializer):
    """What owners and admins see besides: the fields below are absent for others."""

    trial_end = serializers.DateTimeField(allow_null=True, required=False)
    current_period_end = serializers.DateTimeField(allow_null=True, required=False)
    next_invoice_date = serializers.DateTimeField(allow_null=True, required=False)
    cancel_at_period_end = serializers.BooleanField(required=False)
    past_due_since = serializers.DateTimeField(allow_null=True, required=False)
    read_only_from = serializers.DateTimeField(
        allow_null=True, required=False, help_text="When a past-due organisation turns (or turned) read-only."
    )
    has_billing_account = serializers.BooleanField(required=False, help_text="A Stripe customer exists (portal).")


class BillingCheckoutInputSerializer(serializers.Serializer):
    plan = serializers.SlugField(max_length=32, help_text="Code of a paid plan: team or business.")


class BillingRedirectOutputSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe's page to send the browser to.")
