from django.db import connection
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from tenant_apps.members.models import Member
from tenant_apps.notifications.emails import unsubscribe_token_read
from tenant_apps.notifications.models import EventKind
from tenant_apps.notifications.services import email_unsubscribe


# The signed token is the credential; mail clients' one-click unsubscribe (RFC 8058)
# POSTs without a session or CSRF token. GET only shows the confirmation, so link
# scanners that fetch every URL in a message unsubscribe nobody.
@csrf_exempt
def unsubscribe_page(request, token: str):
    """Stop emails of one kind, from the link in a notification email."""
    found = unsubscribe_token_read(token)
    member = None
    if found is not None and found[0] == connection.schema_name and found[2] in EventKind.values:
        member = Member.objects.filter(pk=found[1], is_active=True).first()
    if member is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    kind = EventKind(found[2])
    done = False
    if request.method == "POST":
        email_unsubscribe(member=member, kind=kind)
        done = True
    elif request.method != "GET":
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=405)
    context = {"member": member, "kind_label": kind.label, "done": done, "organization": request.tenant}
    return render(request, "notifications/unsubscribe.html", context)
