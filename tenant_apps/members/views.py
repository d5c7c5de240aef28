from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.tenants.memberships import invitation_accept, invitation_for_token


def invitation_page(request, token: str):
    """Where the invitation email's link leads: shows what the invitation is and accepts
    it (logged in as the invited address, or creating that account)."""
    organization = request.tenant
    try:
        invitation = invitation_for_token(organization=organization, token=token)
    except ValidationError as exc:
        return render(
            request, "members/invitation.html", {"organization": organization, "error": exc.messages[0]}, status=400
        )
    errors: list[str] = []
    status = 400
    full_name = request.POST.get("full_name", "").strip()
    if request.method == "POST" and len(full_name) > User._meta.get_field("full_name").max_length:
        errors = [_("Your name is too long (at most 150 characters).")]
    elif request.method == "POST":
        try:
            membership = invitation_accept(
                organization=organization,
                token=token,
                actor=request.user,
                password=request.POST.get("password") or None,
                full_name=full_name,
            )
        except ValidationError as exc:
            errors = exc.messages
        except ServiceRefusal as exc:  # e.g. the plan's members are full: 402
            errors, status = [exc.message], exc.status_code
        else:
            if not request.user.is_authenticated:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("/")
    context = {
        "organization": organization,
        "invitation": invitation,
        "errors": errors,
        "account_exists": User.objects.filter(email__iexact=invitation.email).exists(),
        "is_invitee": request.user.is_authenticated and request.user.email.lower() == invitation.email.lower(),
    }
    return render(request, "members/invitation.html", context, status=status if errors else 200)
