# The billing fixtures (billing switched on, Stripe's HTTP faked), for the plan entries.
from tests.shared_apps.billing.conftest import billing_on, stripe_http  # noqa: F401
