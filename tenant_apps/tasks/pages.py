"""Task pages: the board, the list, the task page (also a side panel), the new-task
dialog. Each view parses the request, goes through the same doors (access_*), selectors
and services as the API, and renders; htmx requests get the named fragment of the same
template. Core writes are plain form POSTs that work without JavaScript."""

import hashlib
import json
import re
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.core.markup import markdown_html, markdown_html_many
from shared_apps.core.pagination import positive_number
from tenant_apps.fields.display import filter_inputs, rows_dress
from tenant_apps.fields.filters import field_filters_parse, field_params_split, is_field_param, project_fields
from tenant_apps.fields.pages import task_fields_context, task_fields_save
from tenant_apps.notifications.models import Watcher
from tenant_apps.notifications.services import watcher_add, watcher_remove
from tenant_apps.projects.models import Project, WorkflowState, state_label
from tenant_apps.projects.permissions import access_project, member_for_request, project_permissions
from tenant_apps.projects.selectors import project_assignable_members, projects_where_member_may
from tenant_apps.savedviews.pages import view_apply
from tenant_apps.savedviews.services import BUILTIN_COLUMNS
from tenant_apps.tasks.attachments import SizeLimitUploadHandler
from tenant_apps.tasks.filters import PRIORITY_BY_NAME, PRIORITY_NAMES, TaskFilter
from tenant_apps.tasks.forms import CommentForm, SubtaskForm, TaskForm, TimeEntryForm
from tenant_apps.tasks.live import live_scope_project, live_scope_task, live_token, live_version
from tenant_apps.tasks.models import (
    Activity,
    Attachment,
    Comment,
    Label,
    Task,
    TaskNumberRedirect,
    TaskPriority,
    TaskStatus,
)
from tenant_apps.tasks.permissions import access_attachment, access_comment, access_task, task_reference_resolve
from tenant_apps.tasks.selectors import (
    BOARD_COLUMN_SIZE,
    CLOSED_STATUSES,
    TASK_COUNT_CAP,
    board_cards,
    board_counts,
    project_filter_choices,
    project_filter_choices_keys,
    task_count_upto,
)
from tenant_apps.tasks.selectors import task_page as task_rows
from tenant_apps.tasks.services import (
    OpenChildren,
    StaleVersion,
    attachment_add,
    attachment_remove,
    comment_create,
    comment_delete,
    comment_update,
    state_for_category,
    task_create,
    task_delete,
    task_move,
    task_place,
    task_update,
)
from tenant_apps.timetracking.permissions import access_time_entry
from tenant_apps.timetracking.selectors import minutes_display, time_entries_of, time_totals
from tenant_apps.timetracking.services import time_entry_create, time_entry_delete, time_entry_update
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required

# The board's filter bar and the list's share these parameters (the API's names).
BOARD_FILTERS = ("assignee", "label", "priority", "search")
# What the board filters by: every filter of the list (a saved view's dates, states,
# parents... and the bar's), but not its ordering: a board is in rank order.
BOARD_APPLIES = tuple(name for name in TaskFilter.base_filters if name not in ("ordering", "project"))
STATUS_LABELS = dict(TaskStatus.choices)
PRIORITY_LABELS = {name: label for (value, label), name in zip(TaskPriority.choices, PRIORITY_BY_NAME, strict=True)}


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def task_filtered(request, tasks, *, allowed: tuple[str, ...] | None = None, fields: dict | None = None):
    """`tasks` narrowed by the request's filters (TaskFilter: the API's parameters and
    validation; with a project's custom `fields`, their `field_<id>` parameters too).
    Answers (queryset, filterset, errors): invalid filters are reported to the page and
    leave the tasks unfiltered, never a 500."""
    params = request.GET.copy()
    for name in list(params):
        # An empty field of the filter form ("Any priority") means no filter at all, as
        # when the parameter is absent; the API's filterset would refuse the empty value.
        values = [value for value in params.getlist(name) if value != ""]
        custom = fields is not None and is_field_param(name)
        if (allowed is not None and name not in allowed and not custom) or not values:
            params.pop(name)
        else:
            params.setlist(name, values)
    params, field_params = field_params_split(params) if fields is not None else (params, None)
    request.tessera_member = member_for_request(request)
    filterset = TaskFilter(params, queryset=tasks, request=request)
    if not filterset.is_valid():
        return tasks, filterset, filterset.errors
    try:
        filtered = filterset.qs
    except ValidationError as exc:
        return tasks, filterset, exc.message_dict
    if field_params:
        member = request.tessera_member
        custom_filters = field_filters_parse(field_params, fields=fields, member_id=member.pk if member else None)
        if custom_filters.errors:
            return tasks, filterset, custom_filters.errors
        filtered = custom_filters.apply(filtered)
    return filtered, filterset, {}


def _labels_now() -> tuple[dict, dict]:
    """The status and priority names in the active language, translated once a page."""
    return (
        {value: str(label) for value, label in STATUS_LABELS.items()},
        {name: str(label) for name, label in PRIORITY_LABELS.items()},
    )


def _dress(card: dict, today: date, labels: tuple[dict, dict] | None = None) -> dict:
    """Display details of a selector card (its JSON shape)."""
    statuses, priorities = labels or (STATUS_LABELS, PRIORITY_LABELS)
    # The state's own name (its colour class is the category's: card["status"]).
    state = card.get("state")
    card["status_label"] = state_label(state["name"]) if state else statuses.get(card["status"], card["status"])
    card["priority_label"] = priorities.get(card["priority"], card["priority"])
    card["priority_value"] = PRIORITY_BY_NAME.get(card["priority"], 0)
    due = card.get("due_date")
    card["due"] = date.fromisoformat(due) if due else None
    card["overdue"] = bool(card["due"] and card["due"] < today and card["status"] not in ("done", "cancelled"))
    return card


def filter_options(project: Project | None) -> dict:
    """What the filter bar offers: people, labels (one project's, cached), priorities."""
    people, labels = project_filter_choices(project) if project else ([], [])
    return {
        "people": people,
        "labels": labels,
        "priorities": [(name, PRIORITY_LABELS[name]) for name in PRIORITY_BY_NAME],
    }


FILTER_BAR_TTL_SECONDS = 600


def filter_bar_html(request, context: dict, *, action: str, htmx_target: str, params: tuple[str, ...]) -> str:
    """The filter bar (tasks/filter_bar.html), rendered once per project, language and
    filter values and then served from the cache: it is the same for everyone looking at
    the same filters (no CSRF token: it is a GET form), and its key carries the versions
    of the people and labels it lists (project_filter_choices_keys), so a change to either
    renders it anew. With filter errors it is rendered every time."""
    from django.template.loader import render_to_string
    from django.utils.translation import get_language

    project = context["project"]
    key = None
    if project is not None and not context["filter_errors"]:
        values = [(name, value) for name in params for value in request.GET.getlist(name)]
        # Custom fields (tenant_apps/fields): their definitions and the request's values.
        custom = [(c["name"], c["field"].name, c["options"], c["person"], c["value"])
                  for c in context.get("field_choices", ())]  # fmt: skip
        custom += [(r["name"], r["field"].name, r["type"], r["min"], r["max"]) for r in context.get("field_ranges", ())]
        identity = repr((project_filter_choices_keys(project), get_language(), action, htmx_target, values,
                         bool(context["filtered"]), custom))  # fmt: skip
        key = "filter-bar:" + hashlib.sha256(identity.encode()).hexdigest()
        html = cache.get(key)
        if html is not None:
            return mark_safe(html)  # noqa: S308 - rendered (autoescaped) by the template below
    if "people" not in context:
        context.update(filter_options(project))
    html = render_to_string(
        "tasks/filter_bar.html", {**context, "action": action, "htmx_target": htmx_target}, request=request
    )
    if key is not None:
        cache.set(key, str(html), FILTER_BAR_TTL_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered (autoescaped) by the template


def _card_labels() -> dict:
    """Texts every card repeats, translated once per page rather than once per card."""
    return {
        "move_label": _("Move"),
        "status_heading": _("Status"),
        "order_heading": _("Order"),
        "up_label": _("Move up"),
        "down_label": _("Move down"),
        "overdue_label": _("Overdue:"),
        "due_label": _("Due:"),
        "priority_heading": _("Priority"),
        "assignees_label": _("Assignees"),
        "subtasks_label": _("Sub-tasks closed"),
        "blocked_label": _("Blocked by"),
    }


def project_states(project: Project) -> list[WorkflowState]:
    """The project's workflow states in board order (one statement)."""
    return list(WorkflowState.objects.filter(project=project).order_by("position", "pk"))


def _board_context(request, project: Project) -> dict:
    from django.utils import timezone

    member = member_for_request(request)
    codes = project_permissions(member=member, project=project)
    saved_view = view_apply(request, project)
    fields = project_fields(project.pk)
    tasks, _filterset, errors = task_filtered(
        request, Task.objects.filter(project=project), allowed=BOARD_APPLIES, fields=fields
    )
    states = project_states(project)
    cards = board_cards(tasks, states=[state.pk for state in states])
    counts = board_counts(tasks)
    today = timezone.localdate()
    labels = _labels_now()
    scope = live_scope_project(project.pk)
    options = filter_options(project)
    card_fields = [field for field in fields.values() if field.on_cards]
    if card_fields:
        people = {person.pk: person.display_name or person.email for person in options["people"]}
        rows_dress([card for state in states for card in cards[state.pk][0]], card_fields, people)
    columns = [
        {
            "state": state.pk,
            "category": state.category,
            "colour": state.colour,
            "label": state.label,
            "cards": [_dress(card, today, labels) for card in cards[state.pk][0]],
            "more": cards[state.pk][1],
            "count": counts.get(state.pk, 0),
        }
        for state in states
    ]
    return {
        "saved_view": saved_view,
        "current_view_id": saved_view.pk if saved_view else None,
        **filter_inputs(fields, request.GET),
        "project": project,
        "current_project": project,
        "columns": columns,
        "codes": codes,
        "can_move": "task.change_status" in codes,
        "can_create": "task.create" in codes and not project.archived,
        "filters": request.GET,
        "column_query": _column_query(request),
        "filter_errors": errors,
        "filtered": any(request.GET.get(name) for name in BOARD_APPLIES)
        or any(is_field_param(name) and request.GET.get(name) for name in request.GET),
        "statuses": [(state.pk, state.label) for state in states],
        "live_token": live_token(scope=scope, user_id=request.user.pk),
        "live_version": live_version(scope),
        "nav": "projects",
        "view": "board",
        "priorities": [(name, PRIORITY_LABELS[name]) for name in PRIORITY_BY_NAME],
        **_card_labels(),
        **options,
    }


def _column_query(request) -> str:
    """The board's parameters (every value of each, the view's merged in) for a column's
    "load more" request, without its offset."""
    query = request.GET.copy()
    query.pop("offset", None)
    return query.urlencode()


@member_required
def board(request, key: str):
    """A project's board: a column per workflow state, cards in rank order, the filter bar.
    htmx: the columns alone (after a filter change or a live update)."""
    project = access_project(member=member_for_request(request), key=key)
    context = _board_context(request, project)
    if request.htmx and request.htmx.target == "board-columns":
        return render(request, "tasks/board.html#columns", context)
    context["filter_bar"] = filter_bar_html(
        request, context, action=reverse("board", args=[project.key]), htmx_target="board-columns", params=BOARD_FILTERS
    )
    return render(request, "tasks/board.html", context)


@member_required
def board_column(request, key: str, state_id: int):
    """htmx: the next cards of one column (it loads more on scroll past 100)."""
    from django.utils import timezone

    project = access_project(member=member_for_request(request), key=key)
    states = project_states(project)
    state = next((item for item in states if item.pk == state_id), None)
    if state is None:
        raise Http404
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    view_apply(request, project)  # the board's saved view (?view=), as when it was opened
    tasks, _filterset, _errors = task_filtered(
        request, Task.objects.filter(project=project), allowed=BOARD_APPLIES, fields=project_fields(project.pk)
    )
    cards, more = board_cards(tasks, states=[state.pk], offset=offset)[state.pk]
    codes = project_permissions(member=member_for_request(request), project=project)
    today = timezone.localdate()
    labels = _labels_now()
    return render(
        request,
        "tasks/board.html#column-cards",
        {
            "project": project,
            "column": {"state": state.pk, "cards": [_dress(card, today, labels) for card in cards], "more": more},
            "offset": offset + BOARD_COLUMN_SIZE,
            "can_move": "task.change_status" in codes,
            "statuses": [(item.pk, item.label) for item in states],
            "filters": request.GET,
            "column_query": _column_query(request),
            **_card_labels(),
        },
    )


def _neighbour(project: Project, value: str | None) -> Task | None:
    if not value or not value.isdigit():
        return None
    return Task.objects.filter(project=project, number=int(value)).first()


@member_required
@require_POST
def board_move(request, key: str):
    """Move a card: POST number, and state (a workflow state id) and/or after / before
    (neighbours' numbers),
    or direction=up|down (the keyboard way). Through task_place, which checks the
    permission (task.change_status) like the API's PATCH. Answers JSON to the drag
    script, the board's columns to htmx, a redirect to a plain form."""
    member = member_for_request(request)
    project = access_project(member=member, key=key, fresh=True)
    number = request.POST.get("number", "")
    state_id = request.POST.get("state") or None
    direction = request.POST.get("direction")
    if "move" in request.POST:  # a card menu's button: "<number>:<state id|up|down>"
        number, _colon, choice = request.POST["move"].partition(":")
        state_id, direction = (None, choice) if choice in ("up", "down") else (choice or None, None)
    if not number.isdigit():
        return _move_refused(request, project, _("Which task? Send its number."), 400)
    task = access_task(member=member, project=project, number=int(number))
    # A state id; or a category (`status`, or a menu choice naming one: plain forms and
    # older clients), meaning the project's first state of it.
    status = request.POST.get("status") or None
    if state_id is not None and not state_id.isdigit():
        state_id, status = None, state_id
    state = None
    if state_id is not None:
        state = WorkflowState.objects.filter(project=project, pk=int(state_id)).first() if len(state_id) < 13 else None
        if state is None:
            return _move_refused(request, project, _("Unknown state."), 400)
    elif status is not None:
        if status not in TaskStatus.values:
            return _move_refused(request, project, _("Unknown status."), 400)
        try:
            state = state_for_category(project, status)
        except ValidationError as exc:
            return _move_refused(request, project, "; ".join(exc.messages), 400)
    after = _neighbour(project, request.POST.get("after"))
    before = _neighbour(project, request.POST.get("before"))
    if direction in ("up", "down"):
        after, before = _step(task, direction)
        if after is None and before is None:
            return _move_done(request, project, task, _("%(key)s is already there.") % {"key": task.key})
    force = request.POST.get("force") in ("1", "on", "true")
    try:
        moved = task_place(task=task, actor=member, state=state, after=after, before=before, force_close=force)
    except OpenChildren as exc:  # asked first: the drag script and the card menu confirm and resend with force
        choice = request.POST.get("move") or f"{task.number}:{state.pk if state else ''}"
        return _move_refused(request, project, exc.message, 409, confirm={"move": choice, "code": exc.code})
    except PermissionDenied as exc:
        return _move_refused(request, project, str(exc) or _("Your role may not move tasks."), 403)
    except (ValidationError, StaleVersion) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else _("The task changed meanwhile.")
        return _move_refused(request, project, message, 400)
    if state is not None and state.pk != task.state_id:
        message = _("%(key)s moved to “%(status)s”.") % {"key": moved.key, "status": state.label}
    else:
        message = _("%(key)s reordered.") % {"key": moved.key}
    return _move_done(request, project, moved, message)


def _step(task: Task, direction: str) -> tuple[Task | None, Task | None]:
    """The neighbours that put `task` one place up or down in its column: (after, before)."""
    column = Task.objects.filter(state_id=task.state_id).exclude(pk=task.pk)
    if direction == "up":
        above = column.filter(rank__lt=task.rank).order_by("-rank", "-number").first()
        return (None, above) if above is not None else (None, None)
    below = column.filter(rank__gt=task.rank).order_by("rank", "number").first()
    return (below, None) if below is not None else (None, None)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _move_done(request, project: Project, task: Task, message: str):
    if _wants_json(request):
        return JsonResponse(
            {
                "key": task.key,
                "status": task.status,
                "state": task.state_id,
                "rank": task.rank,
                "version": task.version,
                "message": message,
            }
        )
    if request.htmx:
        response = render(request, "tasks/board.html#columns", _board_context(request, project))
        response["HX-Trigger"] = json.dumps({"tessera:toast": str(message)})
        return response
    from django.contrib import messages

    messages.success(request, message)
    return redirect(_safe_next(request, reverse("board", args=[project.key])))


def _move_refused(request, project: Project, message: str, status: int, confirm: dict | None = None):
    """A move not made: why, to the drag script (JSON), htmx (a toast) or a plain form.
    With `confirm` (closing a task whose sub-tasks are open) the script and the card menu
    ask, then send the move again with `force`; htmx gets a 200 so it swaps the columns back."""
    if _wants_json(request):
        return JsonResponse({"detail": message, **(confirm or {})}, status=status)
    if request.htmx:
        response = render(request, "tasks/board.html#columns", _board_context(request, project))
        if confirm:
            trigger = {"tessera:board-confirm": {"message": str(message), **confirm}}
        else:
            trigger = {"tessera:toast-error": str(message)}
        response["HX-Trigger"] = json.dumps(trigger)
        return response
    from django.contrib import messages

    messages.error(request, message)
    return redirect(_safe_next(request, reverse("board", args=[project.key])))


def live_check(request):
    """The live-update poll; LiveCheckMiddleware answers it before authentication (see
    tenant_apps/tasks/live.py). Routed too, so it has a name and works without it."""
    from tenant_apps.tasks.live import live_check_answer

    return live_check_answer(request)


# --- The task page ---------------------------------------------------------------------

_REFERENCE = re.compile(r"^(?P<key>[A-Z][A-Z0-9]{1,9})-(?P<number>[1-9][0-9]{0,9})$")


def _task_for_page(request, reference: str, code: str = "project.view") -> Task:
    """The task `KEY-n` through access_task (404 when unknown or not visible, 403 when
    visible without `code`). A moved task's old number redirects (Http404 subclass
    carries nowhere: the caller checks `task.moved_to`)."""
    match = _REFERENCE.match(reference.upper())
    if match is None:
        raise Http404
    member = member_for_request(request)
    key, number = match["key"], int(match["number"])
    try:
        return access_task(
            member=member,
            project=key,
            number=number,
            code=code,
            queryset=Task.objects.select_related("reporter", "state", "parent__project").prefetch_related(
                "assignees", "labels"
            ),
        )
    except Http404:
        redirect_row = (
            TaskNumberRedirect.objects.select_related("task__project").filter(project__key=key, number=number).first()
        )
        if redirect_row is None:
            raise
        moved = redirect_row.task
        access_task(member=member, project=moved.project.key, number=moved.number)  # visible there?
        raise _Moved(moved.key) from None


class _Moved(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _timeline(task: Task) -> list[dict]:
    """Comments and recorded changes, oldest first, in one list (two statements)."""
    comments = list(Comment.objects.filter(task=task).select_related("author").order_by("created_at", "pk"))
    rendered = markdown_html_many([comment.body for comment in comments])
    items = [
        {"kind": "comment", "at": c.created_at, "comment": c, "html": h}
        for c, h in zip(comments, rendered, strict=True)
    ]
    for activity in Activity.objects.filter(task=task).select_related("actor").order_by("created_at", "pk"):
        if activity.kind in (Activity.Kind.COMMENTED, Activity.Kind.COMMENT_EDITED):
            continue  # the comment itself is on the timeline
        items.append({"kind": "activity", "at": activity.created_at, "activity": activity})
    items.sort(key=lambda item: item["at"])
    return items


def _subtasks(member, task: Task) -> list[dict]:
    """The direct sub-tasks `member` can see (any project), as list rows: one statement."""
    from tenant_apps.workspace.selectors import tasks_visible_to

    children = tasks_visible_to(member).filter(parent=task).order_by("project__key", "number")
    rows, _total = task_rows(children, offset=0, limit=200, counted=False)
    from django.utils import timezone

    today = timezone.localdate()
    return [_dress(row, today) for row in rows]


def _time_context(task: Task, codes, *, time_form: TimeEntryForm | None = None) -> dict:
    totals = time_totals(task)
    entries = list(time_entries_of(task)[:100])
    for entry in entries:
        entry.display = minutes_display(entry.minutes)
    return {
        "can_log": "time.log" in codes,
        "time_spent": minutes_display(totals["spent"]),
        "time_total": minutes_display(totals["total"]),
        "time_rolled_up": totals["total"] != totals["spent"],
        "time_entries": entries,
        "time_form": time_form,
        "estimate_unit_label": _("points") if task.project.estimate_unit == "points" else _("hours"),
    }


def task_context(
    request,
    task: Task,
    *,
    form: TaskForm | None = None,
    conflict: dict | None = None,
    close_confirm: dict | None = None,
    subtask_form: SubtaskForm | None = None,
    time_form: TimeEntryForm | None = None,
    field_errors=None,
    relation_errors: list[str] | None = None,
) -> dict:
    from tenant_apps.tasks.api.relations import visible_project_ids
    from tenant_apps.tasks.relations import KINDS, relations_of

    member = member_for_request(request)
    project = task.project
    codes = project_permissions(member=member, project=project)
    people = project_assignable_members(project)
    labels = list(Label.objects.filter(project=project).order_by("name", "pk"))
    scope = live_scope_task(task.pk)
    assignee_ids = {person.pk for person in task.assignees.all()}
    label_ids = {label.pk for label in task.labels.all()}
    subtasks = _subtasks(member, task)
    parent = task.parent
    return {
        # A parent in a project this person cannot see is neither shown nor editable here.
        "parent_visible": parent is not None
        and "project.view" in project_permissions(member=member, project=parent.project),
        **_time_context(task, codes, time_form=time_form),
        "subtasks": subtasks,
        "subtasks_closed": sum(1 for row in subtasks if row["status"] in CLOSED_STATUSES),
        "subtask_form": subtask_form or SubtaskForm(),
        "can_create": "task.create" in codes,
        "close_confirm": close_confirm,
        "task": task,
        "project": project,
        "current_project": project,
        "codes": codes,
        "can_edit": "task.edit" in codes,
        "can_status": "task.change_status" in codes,
        "can_assign": "task.assign" in codes,
        "can_comment": "comment.create" in codes,
        "can_moderate": "comment.moderate" in codes,
        "can_upload": "attachment.upload" in codes,
        "can_delete": "task.delete" in codes,
        "description_html": markdown_html(task.description),
        "timeline": _timeline(task),
        "attachments": list(
            Attachment.objects.filter(task=task).select_related("uploaded_by").order_by("created_at", "pk")
        ),
        "watching": Watcher.objects.filter(task=task, member=member).exists(),
        "people": people,
        "mention_people": [{"name": p.display_name or p.email, "email": p.email} for p in people],
        "labels": labels,
        "assignee_ids": assignee_ids,
        "label_ids": label_ids,
        "priorities": [(name, PRIORITY_LABELS[name]) for name in PRIORITY_BY_NAME],
        "priority_name": PRIORITY_NAMES.get(task.priority, "none"),
        "statuses": [(state.pk, state.label) for state in project_states(project)],
        "move_targets": [
            p
            for p in projects_where_member_may(member, "task.create").filter(archived=False).order_by("key")
            if p.pk != project.pk
        ]
        if "task.delete" in codes
        else [],
        "form": form,
        "conflict": conflict,
        "relations": (relations := relations_of(task, visible_project_ids=visible_project_ids(member))),
        "blockers": [item for item in relations if item["kind"] == "blocked_by" and item["open"]],
        "relation_kinds": [(value, str(label)) for value, label in KINDS.items()],
        "relation_errors": relation_errors or [],
        "comment_form": CommentForm(),
        "max_bytes": settings.TESSERA_ATTACHMENT_MAX_BYTES,
        "live_token": live_token(scope=scope, user_id=request.user.pk),
        "live_version": live_version(scope),
        "nav": "projects",
        "panel": bool(request.htmx and request.htmx.target == "panel-host"),
        **task_fields_context(task, errors=field_errors),
    }


def _render_task(request, task: Task, status: int = 200, **extra):
    context = task_context(request, task, **extra)
    if request.htmx and request.htmx.target == "panel-host":
        return render(request, "tasks/task_page.html#panel", context, status=status)
    if request.htmx and request.htmx.target == "task-body":
        return render(request, "tasks/task_page.html#task-body", context, status=status)
    return render(request, "tasks/task_page.html", context, status=status)


@member_required
def task_page(request, reference: str):
    """A task's own page (`/tasks/WEB-42/`, where notifications link); from the board
    or list it opens as a side panel (htmx, target #panel-host)."""
    try:
        task = _task_for_page(request, reference)
    except _Moved as moved:
        return redirect("task-page", reference=moved.key)
    return _render_task(request, task)


def _last_editor(task: Task) -> str:
    activity = Activity.objects.filter(task=task).select_related("actor").order_by("-created_at", "-pk").first()
    if activity is None or activity.actor is None:
        return _("someone")
    return activity.actor.display_name or activity.actor.email


@csrf_exempt  # CSRF is checked below: the middleware would read an upload's body first
def task_action(request, reference: str, action: str):
    """The task page's writes, each a plain form POST (htmx swaps the answer in)."""
    handler = _ACTIONS.get(action)
    if handler is None:
        raise Http404
    if action == "upload":
        # Its own CSRF check, after the size limit: the upload handlers must be in place
        # before anything reads the body (CsrfViewMiddleware reads request.POST).
        return _upload(request, reference)
    return csrf_protect(member_required(require_POST(handler)))(request, reference)


def _task_redirect(request, task: Task):
    if request.htmx:
        return _render_task(
            request, Task.objects.select_related("project", "reporter", "state", "parent__project").get(pk=task.pk)
        )
    return redirect(_safe_next(request, reverse("task-page", args=[task.key])))


def _edit(request, reference: str):
    """Change some fields (those listed in `fields`). The version the form was loaded
    at is checked: if someone changed the task since, nothing is saved and the page says
    who, with the choice to reload or overwrite (never a silent overwrite)."""
    task = _task_for_page(request, reference)
    editing = request.POST.getlist("fields") or ["title"]
    form = TaskForm(
        request.POST,
        people=project_assignable_members(task.project),
        label_choices=list(Label.objects.filter(project=task.project)),
        states=project_states(task.project),
        editing=editing,
    )
    if not form.is_valid():
        return _render_task(request, task, status=400, form=form)
    member = member_for_request(request)
    expected = form.cleaned_data.get("version")
    try:
        with errors_into(form):
            data = form.service_data()
            if "parent" in data and data["parent"] == (task.parent.key if task.parent else None):
                data.pop("parent")  # unchanged (the side form always sends it)
            if data.get("parent"):
                data["parent"] = task_reference_resolve(member=member, reference=data["parent"])
            try:
                updated = task_update(
                    task=task,
                    actor=member,
                    data=data,
                    expected_version=expected,
                    force_close=form.cleaned_data.get("force") or False,
                )
            except OpenChildren as refusal:
                # Asked first: the same change again, confirmed, or nothing.
                confirm = {"message": refusal.message, "values": request.POST, "fields": editing}
                return _render_task(request, task, status=409, close_confirm=confirm)
            return _task_redirect(request, updated)
    except StaleVersion:
        current = Task.objects.select_related("project", "reporter", "state").get(pk=task.pk)
        conflict = {"by": _last_editor(current), "version": current.version, "values": request.POST, "fields": editing}
        return _render_task(request, current, status=409, conflict=conflict, form=form)
    except Task.DoesNotExist as exc:
        raise Http404 from exc
    return _render_task(request, task, status=400, form=form)


def _preview(request, reference: str):
    """The description as it will show: the server's Markdown sanitiser."""
    _task_for_page(request, reference)
    text = request.POST.get("description", "")[: TaskForm.base_fields["description"].limit]
    return HttpResponse(markdown_html(text) or f'<p class="muted">{escape(_("Nothing to preview."))}</p>')


def _comment(request, reference: str):
    task = _task_for_page(request, reference, "comment.create")
    form = CommentForm(request.POST)
    if form.is_valid():
        comment_create(task=task, actor=member_for_request(request), body=form.cleaned_data["body"])
        return _task_redirect(request, task)
    context = {**task_context(request, task), "comment_form": form}
    template = "tasks/task_page.html#task-body" if request.htmx else "tasks/task_page.html"
    return render(request, template, context, status=400)


def _comment_edit(request, reference: str):
    task = _task_for_page(request, reference)
    member = member_for_request(request)
    comment = access_comment(
        member=member,
        project=task.project,
        number=task.number,
        comment_id=_int(request.POST.get("comment")),
        code="comment.create",
    )
    form = CommentForm(request.POST)
    if form.is_valid():
        comment_update(comment=comment, actor=member, body=form.cleaned_data["body"])
        return _task_redirect(request, task)
    return render(
        request,
        "tasks/task_page.html",
        {**task_context(request, task), "comment_form": form, "comment_error_for": comment.pk},
        status=400,
    )


def _comment_delete(request, reference: str):
    task = _task_for_page(request, reference)
    member = member_for_request(request)
    comment = access_comment(
        member=member, project=task.project, number=task.number, comment_id=_int(request.POST.get("comment"))
    )
    may_moderate = "comment.moderate" in project_permissions(member=member, project=task.project)
    comment_delete(comment=comment, actor=member, may_moderate=may_moderate)
    return _task_redirect(request, task)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


def _upload(request, reference: str):
    """Upload a file (field `file`): the size limit is enforced before the body is read
    (Content-Length) and while it streams in, as in the API; then the CSRF check."""
    from django.middleware.csrf import CsrfViewMiddleware

    if request.method != "POST":
        return HttpResponse(status=405)
    if not request.user.is_authenticated or member_for_request(request) is None:
        raise Http404
    limit = settings.TESSERA_ATTACHMENT_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    too_large = _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(limit)}
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        return _upload_refused(request, too_large, 413)
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request, limit))
    refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    if refused is not None:
        return refused
    task = _task_for_page(request, reference, "attachment.upload")
    upload = request.FILES.get("file")
    if getattr(request, "upload_too_large", False):
        return _upload_refused(request, too_large, 413)
    if upload is None:
        return _upload_refused(request, _("Choose a file to upload."), 400)
    try:
        attachment_add(task=task, actor=member_for_request(request), upload=upload)
    except ServiceRefusal as refusal:
        return _upload_refused(request, refusal.message, refusal.status_code)
    except Task.DoesNotExist as exc:
        raise Http404 from exc
    if request.htmx:
        return render(request, "tasks/task_page.html#attachments", task_context(request, task))
    return redirect("task-page", reference=task.key)


def _upload_refused(request, message: str, status: int):
    if request.htmx:
        return JsonResponse({"detail": message}, status=status)
    from django.contrib import messages

    messages.error(request, message)
    return redirect(request.path.rsplit("/upload/", 1)[0] + "/")


def _attachment_delete(request, reference: str):
    task = _task_for_page(request, reference)
    attachment = access_attachment(
        member=member_for_request(request),
        project=task.project,
        number=task.number,
        attachment_id=_int(request.POST.get("attachment")),
        code="attachment.upload",
    )
    attachment_remove(attachment=attachment, actor=member_for_request(request))
    return _task_redirect(request, task)


def _watch(request, reference: str):
    task = _task_for_page(request, reference)
    member = member_for_request(request)
    if request.POST.get("watch") == "1":
        watcher_add(task=task, actor=member)
    else:
        watcher_remove(task=task, actor=member)
    return _task_redirect(request, task)


def _relation_add(request, reference: str):
    """Relate this task to another (task.edit here; the other must be visible): kind and
    the other task's key. A refusal shows above the form, with a 400, nothing stored."""
    from rest_framework.exceptions import ValidationError as ApiValidationError

    from tenant_apps.tasks.api.relations import related_task_find
    from tenant_apps.tasks.relations import relation_add

    task = _task_for_page(request, reference, "task.edit")
    member = member_for_request(request)
    try:
        other = related_task_find(member=member, reference=request.POST.get("task", "")[:30])
        relation_add(task=task, other=other, kind=request.POST.get("kind", ""), actor=member)
    except ApiValidationError as exc:
        return _render_task(request, task, status=400, relation_errors=[str(m) for m in exc.detail["task"]])
    except ValidationError as exc:
        return _render_task(request, task, status=400, relation_errors=exc.messages)
    except PermissionDenied as exc:
        return _render_task(request, task, status=403, relation_errors=[str(exc) or _("Your role may not do this.")])
    return _task_redirect(request, task)


def _relation_remove(request, reference: str):
    from tenant_apps.tasks.models import TaskRelation
    from tenant_apps.tasks.relations import relation_remove

    task = _task_for_page(request, reference, "task.edit")
    relation_id = _int(request.POST.get("relation") or 0)
    relation = (
        TaskRelation.objects.select_related("source", "target")
        .filter(pk=relation_id)
        .filter(Q(source=task) | Q(target=task))
        .first()
    )
    if relation is None:
        raise Http404
    relation_remove(relation=relation, actor=member_for_request(request))
    return _task_redirect(request, task)


def _move(request, reference: str):
    """Move to another project: task.delete here (the door), task.create there."""
    task = _task_for_page(request, reference, "task.delete")
    member = member_for_request(request)
    target_key = (request.POST.get("project") or "").strip().upper()
    try:
        target = access_project(member=member, key=target_key, code="task.create", fresh=True)
    except Http404:
        from django.contrib import messages

        messages.error(request, _("No such project."))
        return redirect("task-page", reference=task.key)
    moved = task_move(task=task, target=target, actor=member)
    from django.contrib import messages

    messages.success(request, _("Moved to %(key)s.") % {"key": moved.key})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("task-page", args=[moved.key])
        return response
    return redirect("task-page", reference=moved.key)


def _delete(request, reference: str):
    task = _task_for_page(request, reference, "task.delete")
    if request.POST.get("confirm") != task.key:
        from django.contrib import messages

        messages.error(request, _("Type %(key)s to confirm the deletion.") % {"key": task.key})
        return redirect("task-page", reference=task.key)
    project_key = task.project.key
    task_delete(task=task, actor=member_for_request(request))
    from django.contrib import messages

    messages.success(request, _("%(key)s deleted.") % {"key": reference.upper()})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("board", args=[project_key])
        return response
    return redirect("board", key=project_key)


def _fields(request, reference: str):
    """Set the task's custom field values (tenant_apps/fields): errors inline, 400,
    nothing saved."""
    task = _task_for_page(request, reference, "task.edit")
    errors = task_fields_save(request, task)
    if errors:
        return _render_task(request, task, status=400, field_errors=errors)
    return _task_redirect(request, task)


def _subtask(request, reference: str):
    """Add a sub-task: a new task of the same project (task.create there) under this one."""
    task = _task_for_page(request, reference, "task.create")
    form = SubtaskForm(request.POST)
    if form.is_valid():
        with errors_into(form):
            task_create(
                project=task.project, actor=member_for_request(request), title=form.cleaned_data["title"], parent=task
            )
            return _task_redirect(request, task)
    return _render_task(request, task, status=400, subtask_form=form)


def _time_entry(request, task: Task):
    return access_time_entry(
        member=member_for_request(request),
        project=task.project,
        number=task.number,
        entry_id=_int(request.POST.get("entry")),
        code="time.log",
    )


def _time_save(request, reference: str, *, edit: bool):
    """Log a time entry on the task (time.log there), or edit one's own (`entry`)."""
    task = _task_for_page(request, reference) if edit else _task_for_page(request, reference, "time.log")
    entry = _time_entry(request, task) if edit else None
    form = TimeEntryForm(request.POST)
    if form.is_valid():
        with errors_into(form):
            values = {
                "actor": member_for_request(request),
                "minutes": form.cleaned_data["duration"],
                "day": form.cleaned_data["date"],
                "note": form.cleaned_data["note"],
            }
            if entry is None:
                time_entry_create(task=task, **values)
            else:
                time_entry_update(entry=entry, **values)
            return _task_redirect(request, task)
    return _render_task(request, task, status=400, time_form=form)


def _time_log(request, reference: str):
    return _time_save(request, reference, edit=False)


def _time_edit(request, reference: str):
    return _time_save(request, reference, edit=True)


def _time_delete(request, reference: str):
    task = _task_for_page(request, reference)
    time_entry_delete(entry=_time_entry(request, task), actor=member_for_request(request))
    return _task_redirect(request, task)


_ACTIONS = {
    "fields": _fields,
    "subtask": _subtask,
    "time-log": _time_log,
    "time-edit": _time_edit,
    "time-delete": _time_delete,
    "edit": _edit,
    "preview": _preview,
    "comment": _comment,
    "comment-edit": _comment_edit,
    "comment-delete": _comment_delete,
    "upload": _upload,
    "attachment-delete": _attachment_delete,
    "watch": _watch,
    "relation-add": _relation_add,
    "relation-remove": _relation_remove,
    "move": _move,
    "delete": _delete,
}


# --- The list --------------------------------------------------------------------------

LIST_PAGE_SIZE = 50


class _CappedPage(Page):
    """A page of a list whose count stopped at its cap: there is a next page after the
    last one counted."""

    def has_next(self) -> bool:
        return super().has_next() or self.paginator.capped

    def next_page_number(self) -> int:
        return self.number + 1 if self.paginator.capped else super().next_page_number()


class CappedPaginator(Paginator):
    """The list page's pagination, counted as the API counts a list (`TASK_COUNT_CAP`, or
    the end of the requested page if further): `capped` then says the list goes on, and
    the page shows "over 10000 tasks". An exact count reads every task (34 ms of the
    page's 60 ms at a million tasks, docs/benchmarks.md). A search counts to the same cap
    (the API stops at 1,000 because it ranks only that many; this page ranks every match).
    A page number of more than nine digits, as in the API, counts no further than the cap:
    its LIMIT would leave PostgreSQL's bigint, and the page shown is the last one counted."""

    def __init__(self, tasks, per_page: int, *, requested: str | None, searching: bool) -> None:
        super().__init__(tasks, per_page)
        number = positive_number((requested or "").strip()) or 1
        self.limit = max(TASK_COUNT_CAP, number * per_page)
        self.searching = searching
        self.capped = False

    @cached_property
    def count(self) -> int:
        counted = task_count_upto(self.object_list, self.limit + 1, searching=self.searching)
        self.capped = counted > self.limit
        return min(counted, self.limit)

    def _get_page(self, *args, **kwargs) -> Page:
        return _CappedPage(*args, **kwargs)


# What the list's filter bar shows (the rest of its filters are under "More filters").
LIST_FILTER_BAR_PARAMS = BOARD_FILTERS
SORTABLE = {
    "number": "number",
    "title": "title",
    "status": "status",
    "priority": "priority",
    "due": "due",
    "updated": "updated",
}


@member_required
def task_list(request, key: str | None = None):
    """Tasks of one project (or of every project you can see) in a table: every filter
    of the API (its parameters, validated the same way), sortable columns, search with
    the matching words marked, pagination, bulk changes."""
    from django.utils import timezone

    from tenant_apps.reports.selectors import member_may_request_reports
    from tenant_apps.workspace.selectors import tasks_visible_to

    member = member_for_request(request)
    project = access_project(member=member, key=key) if key else None
    saved_view = view_apply(request, project) if project else None
    fields = project_fields(project.pk) if project else None
    base = Task.objects.filter(project=project) if project else tasks_visible_to(member)
    ordering = request.GET.get("ordering", "")
    sort_key = ordering.lstrip("-")
    tasks, filterset, errors = task_filtered(request, base, allowed=None, fields=fields)
    if sort_key == "title":  # the API has no title ordering: the list adds it
        tasks = tasks.order_by("-title" if ordering.startswith("-") else "title", "pk")
    elif sort_key == "status":
        tasks = tasks.order_by("-status" if ordering.startswith("-") else "status", "pk")
    searching = not errors and bool(filterset.form.cleaned_data.get("search"))
    paginator = CappedPaginator(tasks, LIST_PAGE_SIZE, requested=request.GET.get("page"), searching=searching)
    page = paginator.get_page(request.GET.get("page"))  # counts; the rows come below
    today = timezone.localdate()
    labels = _labels_now()
    rows, _total = task_rows(tasks, offset=page.start_index() - 1 if page.paginator.count else 0,
                             limit=LIST_PAGE_SIZE, counted=False)  # fmt: skip
    codes = project_permissions(member=member, project=project) if project else frozenset()
    options = filter_options(project)
    chosen = saved_view.columns if saved_view and saved_view.columns else None
    if fields:
        wanted = [column for column in chosen or () if column.startswith("field_")]
        column_fields = (
            [fields[int(column[6:])] for column in wanted if int(column[6:]) in fields]
            if chosen
            else [field for field in fields.values() if field.on_cards]
        )
        people = {person.pk: person.display_name or person.email for person in options["people"]}
        rows_dress(rows, column_fields, people)
    else:
        column_fields = []
    context = {
        "saved_view": saved_view,
        "current_view_id": saved_view.pk if saved_view else None,
        "custom_columns": [{"sort": f"field_{field.pk}", "name": field.name} for field in column_fields],
        "hidden_columns": set(BUILTIN_COLUMNS) - set(chosen) if chosen else set(),
        **(filter_inputs(fields, request.GET) if fields is not None else {}),
        "project": project,
        "current_project": project,
        "page": page,
        "tasks": [_dress(row, today, labels) for row in rows],
        "today": today,
        "filters": request.GET,
        "filter_errors": errors,
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "ordering", "view")),
        "ordering": ordering,
        "search": request.GET.get("search", ""),
        "status_selected": request.GET.getlist("status"),
        "select_label": _("Select"),
        "statuses": TaskStatus.choices,
        "can_bulk": bool(project) and bool({"task.change_status", "task.assign", "task.edit", "task.delete"} & codes),
        "codes": codes,
        # The Export button (a task_list report of these filters: tenant_apps/reports/export_pages.py).
        "can_export": member_may_request_reports(member),
        "nav": "projects" if project else "tasks",
        "view": "list",
        "list_url": reverse("task-list", args=[project.key]) if project else reverse("task-list-all"),
        **options,
    }
    if project:
        scope = live_scope_project(project.pk)
        context.update(live_token=live_token(scope=scope, user_id=request.user.pk), live_version=live_version(scope))
    if request.htmx and request.htmx.target == "task-table":
        return render(request, "tasks/task_list.html#table", context)
    context["filter_bar"] = filter_bar_html(
        request, context, action=context["list_url"], htmx_target="task-table", params=LIST_FILTER_BAR_PARAMS
    )
    return render(request, "tasks/task_list.html", context)


@member_required
@require_POST
def task_bulk(request):
    """Bulk change of the selected tasks (`task` = KEY-n, repeated): status, assignee,
    label, or delete; each through the same service and permission check as one change.
    A partial failure lists which tasks and why; the rest are done."""
    from django.contrib import messages

    member = member_for_request(request)
    action = request.POST.get("action", "")
    refs = request.POST.getlist("task")[:200]
    done, failed = [], []
    for reference in refs:
        try:
            task = _task_for_page(request, reference)
            if action == "status":
                value = request.POST.get("status", "")
                if value not in TaskStatus.values:
                    raise ValidationError(_("Unknown status."))
                task_update(task=task, actor=member, data={"status": value})
            elif action == "assignee":
                value = request.POST.get("assignee", "")
                people = {str(p.pk): p for p in project_assignable_members(task.project)}
                if value == "none":
                    task_update(task=task, actor=member, data={"assignees": []})
                elif value in people:
                    current = list(task.assignees.all())
                    if people[value] not in current:
                        task_update(task=task, actor=member, data={"assignees": [*current, people[value]]})
                else:
                    raise ValidationError(_("Not a member of this project."))
            elif action == "label":
                label = Label.objects.filter(project=task.project, pk=_int(request.POST.get("label") or 0)).first()
                if label is None:
                    raise ValidationError(_("No such label in this project."))
                current = list(task.labels.all())
                if label not in current:
                    task_update(task=task, actor=member, data={"labels": [*current, label]})
            elif action == "delete":
                access_task(member=member, project=task.project, number=task.number, code="task.delete")
                task_delete(task=task, actor=member)
            else:
                raise ValidationError(_("Choose what to do with the selected tasks."))
            done.append(reference)
        except (Http404, _Moved):
            failed.append((reference, _("not found")))
        except PermissionDenied as exc:
            failed.append((reference, str(exc) or _("not allowed")))
        except ValidationError as exc:
            failed.append((reference, "; ".join(exc.messages)))
    if done:
        messages.success(request, _("%(count)d tasks changed.") % {"count": len(done)})
    if failed:
        messages.error(
            request,
            _("Not changed: %(list)s") % {"list": "; ".join(f"{ref} ({why})" for ref, why in failed)},
        )
    if not refs:
        messages.error(request, _("Select tasks first."))
    return redirect(_safe_next(request, reverse("task-list-all")))


# --- New task --------------------------------------------------------------------------


@member_required
def task_new(request):
    """The New task dialog (`c`, from anywhere; as a page without JavaScript): project
    (the current one by default), title, description, status, priority, assignees,
    labels, due date; "create another" keeps it open."""
    from tenant_apps.projects.selectors import project_for_reading

    member = member_for_request(request)
    choices = list(projects_where_member_may(member, "task.create").filter(archived=False).order_by("key"))
    wanted = (request.POST.get("project") or request.GET.get("project") or "").upper()
    project = next((p for p in choices if p.key == wanted), None) or (choices[0] if choices else None)
    people = project_assignable_members(project) if project else []
    labels = list(Label.objects.filter(project=project)) if project else []
    states = project_states(project) if project else []
    editing = ["title", "description", "state", "priority", "due_date", "assignees", "labels"]
    form = TaskForm(request.POST or None, people=people, label_choices=labels, states=states, editing=editing)
    created = None
    # The page without JavaScript lists the people and labels of the project it was
    # rendered for (`shown`). "Switch project" re-renders for the selected one, keeping
    # what was typed; "Create" with another project selected creates there, unless people
    # or labels of the shown project were ticked: those are refused (never carried over).
    shown = (request.POST.get("shown_project") or "").upper()
    switched = request.method == "POST" and project is not None and bool(shown) and shown != project.key
    if (
        request.method == "POST"
        and project is not None
        and (
            "switch" in request.POST
            or (switched and (request.POST.getlist("assignees") or request.POST.getlist("labels")))
        )
    ):
        kept = {name: request.POST.get(name, "") for name in ("title", "description", "status", "priority", "due_date")}
        if "switch" in request.POST:
            form = TaskForm(None, initial=kept, people=people, label_choices=labels, editing=editing)
        else:
            form = TaskForm(kept, people=people, label_choices=labels, editing=editing)
            form.is_valid()
            form.add_error(
                None,
                _(
                    "The project changed to %(key)s, so its people and labels are shown now: "
                    "choose the assignees and labels again, then create the task."
                )
                % {"key": project.key},
            )
    elif request.method == "POST" and project is not None and form.is_valid():
        with errors_into(form):
            created = task_create(project=project, actor=member, **form.service_data())
            if request.POST.get("another") != "1":
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Trigger"] = json.dumps({"tessera:created": created.key, "tessera:changed": ""})
                    return response
                return redirect("task-page", reference=created.key)
            form = TaskForm(None, people=people, label_choices=labels, states=states, editing=editing)
    context = {
        "form": form,
        "projects": choices,
        "project": project,
        "current_project": project_for_reading(wanted) if wanted else None,
        "people": people,
        "labels": labels,
        "priorities": [(name, PRIORITY_LABELS[name]) for name in PRIORITY_BY_NAME],
        "states": states,
        "created": created,
        "another": request.POST.get("another") == "1",
        "dialog": bool(request.htmx),
        "codes": project_permissions(member=member, project=project) if project else frozenset(),
    }
    status = 400 if request.method == "POST" and form.errors else 200
    template = "tasks/task_new.html#dialog" if request.htmx else "tasks/task_new.html"
    response = render(request, template, context, status=status)
    if created is not None:
        response["HX-Trigger"] = json.dumps({"tessera:changed": ""})
    return response
