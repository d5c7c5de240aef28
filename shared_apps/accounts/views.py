"""allauth pages we adjust."""

from allauth.account.internal.flows.login import perform_login
from allauth.account.models import Login
from allauth.account.views import ConfirmEmailView
from django.http import Http404


class SignupConfirmEmailView(ConfirmEmailView):
    """allauth's email confirmation page, which also logs in the person who has just
    signed up, whatever browser the link is opened in (allauth alone logs in only in the
    browser session that signed up: after the JSON sign-up, or with the email read on
    another device, the link landed on the login page).

    Only the first confirmation of an account that has never logged in does this: a link
    found later (in a log, a forwarded email) confirms nothing new and logs nobody in,
    which is the reuse allauth's own restriction guards against."""

    def post(self, *args, **kwargs):
        try:
            address = self.get_object().email_address
        except Http404:
            return super().post(*args, **kwargs)
        fresh_signup = not address.verified and address.user.last_login is None
        response = super().post(*args, **kwargs)
        if not fresh_signup or self.request.user.is_authenticated:
            return response
        address.refresh_from_db()
        if not address.verified:
            return response
        return perform_login(self.request, Login(user=address.user, email=address.email))
