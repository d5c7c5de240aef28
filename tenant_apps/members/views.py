from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from shared_apps.accounts.models import User
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
    if request.method == "POST":
        try:
            membership = invitation_accept(
                organization=organization,
                token=token,
                user=request.user,
                password=request.POST.get("password") or None,
                full_name=request.POST.get("full_name", "").strip(),
            )
        except ValidationError as exc:
            errors = exc.messages
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
    return render(request, "members/invitation.html", context, status=400 if errors else 200)
