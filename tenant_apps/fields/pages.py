"""The custom fields settings page of a project (/projects/<KEY>/settings/fields/) and
the task page's Fields form. Thin: the same doors and services as the API."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tenant_apps.fields.display import task_inputs
from tenant_apps.fields.filters import project_fields
from tenant_apps.fields.forms import FieldCreateForm, FieldUpdateForm, option_lines
from tenant_apps.fields.models import SELECT_KINDS, CustomField
from tenant_apps.fields.permissions import access_field
from tenant_apps.fields.services import field_create, field_delete, field_update, id_valid, task_values_set
from tenant_apps.projects.permissions import access_project, member_for_request
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required


def _options_from_lines(field: CustomField | None, text: str) -> list[dict]:
    """Option lines -> the services' option list, keeping the ids of names that stay."""
    existing = {option.name.lower(): option.pk for option in field.options.all()} if field else {}
    options = []
    for name in option_lines(text):
        option = {"name": name}
        if name.lower() in existing:
            option["id"] = existing[name.lower()]
        options.append(option)
    return options


@member_required
def fields_settings(request, key: str):
    """GET: the project's fields with a form each, and a form to add one. POST
    action=create|update|delete (project.manage)."""
    member = member_for_request(request)
    project = access_project(member=member, key=key, code="project.manage", fresh=request.method == "POST")
    create_form = FieldCreateForm(request.POST if request.POST.get("action") == "create" else None)
    update_forms: dict[int, FieldUpdateForm] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create" and create_form.is_valid():
            data = create_form.cleaned_data
            with errors_into(create_form):
                field_create(
                    project=project,
                    actor=member,
                    name=data["name"],
                    kind=data["kind"],
                    options=[{"name": name} for name in option_lines(data["options"])],
                    on_cards=data["on_cards"],
                )
                messages.success(request, _("Field “%(name)s” added.") % {"name": data["name"]})
                return redirect("project-fields", key=project.key)
        elif action in ("update", "delete"):
            field_id = request.POST.get("field", "")
            field = access_field(
                member=member,
                project=project,
                field_id=int(field_id) if id_valid(field_id) else 0,
                code="project.manage",
            )
            if action == "delete":
                field_delete(field=field, actor=member)
                messages.success(request, _("Field “%(name)s” deleted.") % {"name": field.name})
                return redirect("project-fields", key=project.key)
            form = update_forms[field.pk] = FieldUpdateForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                with errors_into(form):
                    field_update(
                        field=field,
                        actor=member,
                        name=data["name"],
                        on_cards=data["on_cards"],
                        options=_options_from_lines(field, data["options"]) if field.kind in SELECT_KINDS else None,
                    )
                    messages.success(request, _("Field “%(name)s” saved.") % {"name": data["name"]})
                    return redirect("project-fields", key=project.key)
        status = 400
    fields = list(project_fields(project.pk).values())
    rows = []
    for field in fields:
        form = update_forms.get(field.pk) or FieldUpdateForm(
            initial={
                "name": field.name,
                "on_cards": field.on_cards,
                "options": "\n".join(option.name for option in field.options.all()),
            }
        )
        rows.append({"field": field, "form": form, "has_options": field.kind in SELECT_KINDS})
    context = {
        "project": project,
        "current_project": project,
        "nav": "projects",
        "rows": rows,
        "create_form": create_form,
    }
    return render(request, "fields/settings.html", context, status=status)


def task_fields_context(task, *, errors: dict | None = None) -> dict:
    """The task page's Fields form (two statements: the fields and their options)."""
    from tenant_apps.tasks.models import Task
    from tenant_apps.tasks.selectors import task_detail

    fields = list(project_fields(task.project_id).values())
    if not fields:
        return {"custom_inputs": []}
    found = task_detail(Task.objects.all(), pk=task.pk)
    values = found[1]["custom_fields"] if found else {}
    return {"custom_inputs": task_inputs(values, fields, errors or {})}


def task_fields_save(request, task) -> dict[str, list[str]]:
    """Set the values the task page's Fields form posted (one field_<id> per field,
    a list for a multi select); answers the errors, if any (nothing saved then)."""
    fields = project_fields(task.project_id)
    values = {}
    for field in fields.values():
        name = f"field_{field.pk}"
        if name not in request.POST and f"{name}_present" not in request.POST:
            continue
        if field.kind == "multi_select":
            values[field] = request.POST.getlist(name)
        elif field.kind == "checkbox":
            values[field] = request.POST.get(name) == "on"
        else:
            values[field] = request.POST.get(name, "")
    try:
        task_values_set(task=task, actor=member_for_request(request), values=values)
    except ValidationError as exc:
        return exc.message_dict
    return {}
