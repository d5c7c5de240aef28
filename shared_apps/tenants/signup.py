"""Organisation sign-up: one flow behind the HTML page and the JSON API."""

from allauth.account import app_settings as allauth_settings
from allauth.account.internal.flows.signup import complete_signup
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shared_apps.tenants.forms import OrganizationSignupForm


def signup_submit(*, request, form: OrganizationSignupForm):
    """Create the user and the organisation in one transaction, then start allauth's
    email verification (the email goes out through Django's email backend; after the link
    is confirmed in the same browser the person lands logged in at the organisation).

    Returns allauth's response (a redirect to "verification sent"), or None when a
    concurrent sign-up took the slug first: the error is then on the form."""
    try:
        with transaction.atomic():
            user = form.save(request)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    except IntegrityError:
        # The only unique value not already decided by the organisation service: a
        # concurrent sign-up registered the same email first.
        form.add_error("email", _("A user is already registered with this email address."))
        return None
    return complete_signup(
        request,
        user=user,
        email_verification=allauth_settings.EMAIL_VERIFICATION,
        redirect_url=None,
    )
