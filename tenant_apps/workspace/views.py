"""Pages of the shell: My work (the home page), global search, the language switch and
the organisation pages still to come (part 2). Thin: selectors and services decide."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from shared_apps.accounts.services import user_language_set
from shared_apps.tenants.permissions import membership_for_request
from tenant_apps.projects.permissions import member_for_request
from tenant_apps.workspace.selectors import my_work, search_everything


def member_required(view):
    """Logged in (else the login page) and a member of this organisation (else the
    "members only" page, 403): what every page of the organisation's domain needs."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if membership_for_request(request) is None or member_for_request(request) is None:
            return render(request, "core/not_a_member.html", {"organization": request.tenant}, status=403)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@member_required
def home(request):
    """My work: tasks assigned to me across my projects, grouped Overdue / Due this week /
    In progress / To do, and recent activity on the tasks I watch."""
    member = member_for_request(request)
    return render(request, "workspace/home.html", {"nav": "home", **my_work(member=member)})


@member_required
def search(request):
    """Tasks (by number or words) and projects matching `q`."""
    query = (request.GET.get("q") or "").strip()[:200]
    results = search_everything(member=member_for_request(request), text=query) if query else None
    return render(request, "workspace/search.html", {"search_query": query, "results": results, "nav": "search"})


@member_required
@require_GET
def organizations_menu(request):
    """The organisation switcher's list (htmx, when it is first opened): the user's
    active organisations, this one marked. Kept out of every page's shell, where it was
    the one statement the shell added."""
    return render(request, "workspace/organizations_menu.html")


COMING = {
    "reports": _("Reports"),
    "members": _("Members"),
    "roles": _("Roles"),
    "settings": _("Organisation settings"),
}


@member_required
def coming_soon(request, page: str):
    """Organisation pages built in part 2 of the web application: said plainly, with the
    API that does the same today."""
    if page not in COMING:
        raise Http404
    return render(request, "workspace/coming_soon.html", {"title": COMING[page], "page": page, "nav": page})


def language_set(request):
    """POST language=<code>: the interface language, kept on the account (so emails
    follow it too) and in the session for this visit."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    language = request.POST.get("language", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=language)
    response = redirect(target)
    if language in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response
