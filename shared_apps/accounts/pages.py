"""The account pages, on the root domain and on every organisation's domain: profile
(display name, language, the organisations I belong to), API tokens, and an owner's
"require two-factor authentication" setting (organisation domains only). Thin: the
services and selectors decide, as for the API."""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.accounts.forms import ApiTokenCreateForm, ProfileForm, TwoFactorRequirementForm
from shared_apps.accounts.models import ApiToken
from shared_apps.accounts.services import organization_two_factor_set, user_profile_update
from shared_apps.accounts.tokens import api_token_create, api_token_revoke
from shared_apps.core.pages import form_errors_from
from shared_apps.tenants.addresses import organization_url
from shared_apps.tenants.models import Membership, OrgRole
from shared_apps.tenants.permissions import membership_for_request
from shared_apps.tenants.selectors import organizations_for_user


def _organizations(user) -> list[dict]:
    return [
        {
            "name": organization.name,
            "url": organization_url(organization),
            "role_label": OrgRole(role).label,
        }
        for organization, role in organizations_for_user(user)
    ]


@login_required
def account_page(request):
    """Display name and language (POST saves them), the organisations I belong to, and
    where email addresses, password, two-factor authentication and tokens are managed."""
    user = request.user
    form = ProfileForm(request.POST or None, initial={"full_name": user.full_name, "language": user.language})
    if request.method == "POST" and form.is_valid():
        with form_errors_from(form):
            user_profile_update(
                user=user, full_name=form.cleaned_data["full_name"], language=form.cleaned_data["language"]
            )
            messages.success(request, _("Your profile is saved."))
            return redirect("account")
    context = {
        "form": form,
        "organizations": _organizations(user),
        "mfa_enabled": is_mfa_enabled(user),
        "nav": "account",
    }
    return render(request, "accounts/account.html", context, status=400 if form.errors else 200)


def _tokens_context(request, form, created=None) -> dict:
    now = timezone.now()
    tokens = list(ApiToken.objects.filter(user=request.user))
    for token in tokens:
        token.expired = token.expires_at is not None and token.expires_at <= now
    return {
        "form": form,
        "tokens": tokens,
        "created": created,
        "nav": "account",
    }


@login_required
def tokens_page(request):
    """My API tokens (never their keys) and a form to create one: the new key is shown
    in this one answer only, with a copy button; it cannot be shown again."""
    form = ApiTokenCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        with form_errors_from(form):
            token, key = api_token_create(
                user=request.user, actor=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
            )
            created = {"token": token, "key": key}
            form = ApiTokenCreateForm()
    response = render(
        request, "accounts/tokens.html", _tokens_context(request, form, created), status=400 if form.errors else 200
    )
    # The key is in this page only: never in a cache, the browser's included.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_id: int):
    """Revoke one of my tokens (someone else's: 404, nothing changed)."""
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id, user=request.user)
    api_token_revoke(token=token, actor=request.user)
    message = _("The token “%(name)s” is revoked: requests with it are refused.") % {"name": token.name}
    messages.success(request, message)
    return redirect("account-tokens")


def _owner_membership(request) -> Membership:
    """The requesting owner's membership here; anyone else: 403 (not a member: 404)."""
    membership = membership_for_request(request)
    if membership is None:
        raise Http404
    if membership.role != OrgRole.OWNER:
        raise PermissionDenied(_("Only the organisation's owners change its security settings."))
    return membership


@login_required
def security_settings_page(request):
    """Owners: whether the organisation requires two-factor authentication of every
    member, and who has not set it up yet."""
    organization = request.tenant
    if organization is None or organization.is_public:
        raise Http404
    _owner_membership(request)
    initial = {"require_two_factor": organization.require_two_factor}
    form = TwoFactorRequirementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with form_errors_from(form):
            organization_two_factor_set(
                organization=organization, require=form.cleaned_data["require_two_factor"], actor=request.user
            )
            messages.success(request, _("The security settings are saved."))
            return redirect("settings-security")
    without = (
        Membership.objects.filter(organization_id=organization.pk, user__is_active=True)
        .exclude(user_id__in=Authenticator.objects.values("user_id"))
        .select_related("user")
        .order_by("user__email")
    )
    context = {
        "form": form,
        "organization": organization,
        "without_two_factor": list(without),
        "actor_has_two_factor": is_mfa_enabled(request.user),
        "nav": "settings-security",
    }
    return render(request, "accounts/security_settings.html", context, status=400 if form.errors else 200)
