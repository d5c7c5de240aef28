"""The organisation pages for owners and admins: Members (people, invitations, roles,
removal), Roles (built-in and custom project roles) and the Audit log. Thin: the same
doors (`access_member`, `access_invitation`, `access_role`), services (memberships,
role_*) and selectors (audit_entries) as the API; anyone else gets the 403 page before
anything is read or written."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shared_apps.audit.apis import audit_csv_response
from shared_apps.audit.models import AuditEntry
from shared_apps.audit.selectors import audit_entries
from shared_apps.billing.limits import PlanLimitExceeded
from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.core.pages import form_errors_from
from shared_apps.tenants.memberships import (
    invitation_create,
    invitation_revoke,
    invitation_url,
    membership_remove,
    membership_role_change,
)
from shared_apps.tenants.models import Invitation, Membership, OrgRole
from shared_apps.tenants.permissions import membership_for_request
from tenant_apps.members.forms import (
    AREA_LABELS,
    AuditFilterForm,
    InviteForm,
    MemberRoleForm,
    RoleDeleteForm,
    RoleForm,
    permission_areas,
)
from tenant_apps.members.models import Member
from tenant_apps.members.permissions import INVITATION_MANAGERS, access_invitation, access_member
from tenant_apps.projects.models import ProjectMember, Role
from tenant_apps.projects.permissions import access_role, member_for_request, org_manager_require
from tenant_apps.projects.services import role_create, role_delete, role_update
from tenant_apps.tasks.models import Activity
from tenant_apps.workspace.views import member_required

AUDIT_PAGE_SIZE = 50
ROLE_MANAGERS = gettext_lazy("Only organisation owners and admins manage roles.")
AUDIT_READERS = gettext_lazy("Only owners and admins see the audit log.")
MEMBER_MANAGERS = gettext_lazy("Only owners and admins can manage members.")


def _managers_only(request, message) -> Member:
    """The acting Member, if an owner or admin here (PermissionDenied: the 403 page)."""
    member = member_for_request(request)
    org_manager_require(member=member, message=message)
    return member


# --- Members ------------------------------------------------------------------------------


def _member_rows(*, actor: Membership) -> list[dict]:
    """Everyone active, with their projects and last activity, and what `actor` may do
    to each row (the services' rules, shown before the click): four queries whatever the
    number of people."""
    members = list(Member.objects.filter(is_active=True).order_by("display_name", "email", "pk"))
    projects: dict[int, list[ProjectMember]] = {}
    for project_member in (
        ProjectMember.objects.filter(member__is_active=True).select_related("project", "role").order_by("project__key")
    ):
        projects.setdefault(project_member.member_id, []).append(project_member)
    last_activity = dict(
        Activity.objects.filter(actor__is_active=True).values_list("actor_id").annotate(last=Max("created_at"))
    )
    owners = sum(1 for member in members if member.role == OrgRole.OWNER)
    actor_is_owner = actor.role == OrgRole.OWNER
    rows = []
    for member in members:
        is_owner = member.role == OrgRole.OWNER
        last_owner = is_owner and owners <= 1
        rows.append(
            {
                "member": member,
                "projects": projects.get(member.pk, []),
                "last_activity": last_activity.get(member.pk),
                "is_me": member.user_id == actor.user_id,
                "last_owner": last_owner,
                # Admins never touch owners; nobody demotes or removes the last owner.
                "owner_locked": is_owner and not actor_is_owner,
                "may_change": not last_owner and (actor_is_owner or not is_owner),
            }
        )
    return rows


def _role_choices(actor: Membership) -> list[tuple[str, str]]:
    return [c for c in OrgRole.choices if actor.role == OrgRole.OWNER or c[0] != OrgRole.OWNER]


def _members_context(request, *, actor: Membership, invite_form: InviteForm, **extra) -> dict:
    invitations = list(
        Invitation.objects.select_related("invited_by")
        .filter(organization_id=request.tenant.pk, accepted_at=None, revoked_at=None)
        .order_by("-created_at", "-pk")
    )
    return {
        "nav": "members",
        "rows": _member_rows(actor=actor),
        "invitations": invitations,
        "invite_form": invite_form,
        "role_choices": _role_choices(actor),
        "actor_is_owner": actor.role == OrgRole.OWNER,
        "billing_url": reverse("billing"),
        "now": timezone.now(),
        **extra,
    }


@member_required
def members_page(request):
    """GET: members and pending invitations. POST: invite the addresses given, all or
    none (one bad address, an existing member or the plan's limit invites nobody)."""
    _managers_only(request, INVITATION_MANAGERS)
    actor = membership_for_request(request)
    form = InviteForm(request.POST or None, may_grant_owner=actor.role == OrgRole.OWNER)
    plan_limit = None
    sent: list[dict] = []
    if request.method == "POST" and form.is_valid():
        try:
            with form_errors_from(form), transaction.atomic():
                for email in form.cleaned_data["emails"]:
                    invitation, token = invitation_create(
                        organization=request.tenant, email=email, role=form.cleaned_data["role"], actor=actor
                    )
                    sent.append({"email": invitation.email, "url": invitation_url(invitation, token)})
        except PlanLimitExceeded as refusal:
            plan_limit, sent = refusal, []
        except ServiceRefusal as refusal:
            form.add_error(None, refusal.message)
            sent = []
        if sent and not form.errors:
            messages.success(
                request,
                _("Invitation sent to %(emails)s.") % {"emails": ", ".join(item["email"] for item in sent)},
            )
        else:
            sent = []
    status = 200
    if request.method == "POST" and not sent:
        status = 402 if plan_limit is not None else 400
    context = _members_context(
        request,
        actor=actor,
        invite_form=form if not sent else InviteForm(may_grant_owner=actor.role == OrgRole.OWNER),
        plan_limit=plan_limit,
        new_links=sent,
    )
    return render(request, "members/members.html", context, status=status)


def _member_page_error(request, *, actor: Membership, message: str, status: int = 400, **extra):
    form = InviteForm(may_grant_owner=actor.role == OrgRole.OWNER)
    context = _members_context(request, actor=actor, invite_form=form, page_error=message, **extra)
    return render(request, "members/members.html", context, status=status)


@member_required
@require_POST
def member_role(request, member_id: int):
    """POST role=<org role>: change someone's organisation role."""
    member = _managers_only(request, MEMBER_MANAGERS)
    actor = membership_for_request(request)
    target, membership = access_member(member=member, member_id=member_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _member_page_error(request, actor=actor, message=_("Choose one of the roles offered."))
    try:
        membership_role_change(membership=membership, role=form.cleaned_data["role"], actor=actor)
    except ValidationError as exc:  # the last owner, someone gone meanwhile
        return _member_page_error(request, actor=actor, message=" ".join(exc.messages))
    messages.success(
        request,
        _("%(name)s is now %(role)s.")
        % {"name": target.display_name or target.email, "role": OrgRole(form.cleaned_data["role"]).label},
    )
    return redirect("members")


@member_required
@require_POST
def member_remove(request, member_id: int):
    """POST: remove someone from the organisation. Their access ends with this request:
    every request checks the membership, whatever session or token it carries, and the
    cached answer is invalidated when the removal commits."""
    member = _managers_only(request, MEMBER_MANAGERS)
    actor = membership_for_request(request)
    target, membership = access_member(member=member, member_id=member_id)
    try:
        membership_remove(membership=membership, actor=actor)
    except ValidationError as exc:
        return _member_page_error(request, actor=actor, message=" ".join(exc.messages))
    messages.success(request, _("%(name)s was removed.") % {"name": target.display_name or target.email})
    if membership.user_id == actor.user_id:
        return redirect("organization-home")
    return redirect("members")


@member_required
@require_POST
def invitation_action(request, invitation_id: int, action: str):
    """POST to …/resend/ (a new link by email), …/link/ (a new link shown here to copy,
    no email) or …/withdraw/. Links are stored only as digests: a link can be shown only
    when it is made, so copying makes a new one and the old one stops working."""
    if action not in ("resend", "link", "withdraw"):
        raise Http404()
    invitation = access_invitation(member=member_for_request(request), invitation_id=invitation_id)
    actor = membership_for_request(request)
    if action == "withdraw":
        invitation_revoke(invitation=invitation, actor=actor)
        messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
        return redirect("members")
    try:
        renewed, token = invitation_create(
            organization=request.tenant,
            email=invitation.email,
            role=invitation.role,
            actor=actor,
            send_email=action == "resend",
        )
    except PlanLimitExceeded as refusal:
        return _member_page_error(request, actor=actor, message="", status=402, plan_limit=refusal)
    except ServiceRefusal as refusal:
        return _member_page_error(request, actor=actor, message=refusal.message, status=refusal.status_code)
    if action == "resend":
        messages.success(request, _("A new invitation was sent to %(email)s.") % {"email": renewed.email})
        return redirect("members")
    context = _members_context(
        request,
        actor=actor,
        invite_form=InviteForm(may_grant_owner=actor.role == OrgRole.OWNER),
        new_links=[{"email": renewed.email, "url": invitation_url(renewed, token)}],
    )
    return render(request, "members/members.html", context)


# --- Roles --------------------------------------------------------------------------------


def _role_usage() -> dict[int, list[dict]]:
    """Per role: the projects it is held in and by how many people (one query)."""
    usage: dict[int, list[dict]] = {}
    rows = (
        ProjectMember.objects.values("role_id", "project__key", "project__name")
        .annotate(people=Count("pk"))
        .order_by("project__key")
    )
    for row in rows:
        usage.setdefault(row["role_id"], []).append(
            {"key": row["project__key"], "name": row["project__name"], "people": row["people"]}
        )
    return usage


def _areas(selected) -> list[dict]:
    chosen = set(selected or [])
    return [
        {
            "area": area,
            "label": AREA_LABELS.get(area, area),
            "codes": [{"code": code, "description": text, "checked": code in chosen} for code, text in codes],
        }
        for area, codes in permission_areas()
    ]


@member_required
def roles_page(request):
    """Built-in and custom project roles, their codes, and where they are in use."""
    _managers_only(request, ROLE_MANAGERS)
    usage = _role_usage()
    roles = [
        {
            "role": role,
            "usage": usage.get(role.pk, []),
            "people": sum(item["people"] for item in usage.get(role.pk, [])),
        }
        for role in Role.objects.order_by("-is_builtin", "name")
    ]
    descriptions = dict(code for _area, codes in permission_areas() for code in codes)
    return render(request, "members/roles.html", {"nav": "roles", "roles": roles, "descriptions": descriptions})


@member_required
def role_edit_page(request, role_id: int | None = None):
    """GET: the form (codes grouped by area). POST: create (no id) or change a custom role."""
    actor = _managers_only(request, ROLE_MANAGERS)
    role = access_role(member=actor, role_id=role_id) if role_id is not None else None
    initial = {"name": role.name, "permissions": role.permissions} if role else None
    form = RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with form_errors_from(form):
            if role is None:
                saved = role_create(name=data["name"], permissions=data["permissions"], actor=actor)
                messages.success(request, _("Role %(name)s created.") % {"name": saved.name})
            else:
                saved = role_update(role=role, name=data["name"], permissions=data["permissions"], actor=actor)
                messages.success(request, _("Role %(name)s saved.") % {"name": saved.name})
            return redirect("roles")
    selected = form.data.getlist("permissions") if form.is_bound else (role.permissions if role else [])
    context = {"nav": "roles", "role": role, "form": form, "areas": _areas(selected)}
    return render(request, "members/role_edit.html", context, status=400 if request.method == "POST" else 200)


@member_required
def role_delete_page(request, role_id: int):
    """GET: who holds the role and where; a choice of the role they move to. POST: delete."""
    actor = _managers_only(request, ROLE_MANAGERS)
    role = access_role(member=actor, role_id=role_id)
    form = RoleDeleteForm(request.POST or None, role=role)
    if request.method == "POST" and form.is_valid():
        with form_errors_from(form):
            role_delete(role=role, reassign_to=form.cleaned_data["reassign_to"], actor=actor)
            messages.success(request, _("Role %(name)s deleted.") % {"name": role.name})
            return redirect("roles")
    usage = _role_usage().get(role.pk, [])
    context = {"nav": "roles", "role": role, "form": form, "usage": usage, "people": sum(u["people"] for u in usage)}
    return render(request, "members/role_delete.html", context, status=400 if request.method == "POST" else 200)


# --- Audit log ----------------------------------------------------------------------------


def _audit_form(request) -> AuditFilterForm:
    people = [
        (member.user_id, member.display_name or member.email)
        for member in Member.objects.order_by("display_name", "email", "pk")
    ]
    return AuditFilterForm(request.GET or None, people=people)


def _changes(entry: AuditEntry) -> list[dict]:
    """The entry's changed fields as (field, before, after), in a stable order."""
    before, after = entry.before or {}, entry.after or {}
    return [
        {"field": name, "before": before.get(name), "after": after.get(name), "had": name in before}
        for name in sorted(set(before) | set(after))
    ]


@member_required
def audit_page(request):
    """The organisation's audit entries, newest first, filtered by who, action and date
    range (whole days in the organisation's time zone), 50 a page, with a CSV export of
    the same filters."""
    _managers_only(request, AUDIT_READERS)
    zone = ZoneInfo(request.tenant.time_zone)
    form = _audit_form(request)
    if form.is_bound and not form.is_valid():
        entries = AuditEntry.objects.none()
        status = 400
    else:
        entries = audit_entries(filters=form.filters(zone) if form.is_bound else {})
        status = 200
    paginator = Paginator(entries, AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [{"entry": entry, "changes": _changes(entry)} for entry in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "audit",
        "form": form,
        "page": page,
        "rows": rows,
        "zone": zone,
        "query": query.urlencode(),
    }
    return render(request, "members/audit.html", context, status=status)


@member_required
def audit_export(request):
    """The entries the page's filters select, as CSV (the API export's columns)."""
    _managers_only(request, AUDIT_READERS)
    form = _audit_form(request)
    if form.is_bound and not form.is_valid():
        return render(
            request, "400.html", {"messages_list": [e for errs in form.errors.values() for e in errs]}, status=400
        )
    filters = form.filters(ZoneInfo(request.tenant.time_zone)) if form.is_bound else {}
    return audit_csv_response(audit_entries(filters=filters))
