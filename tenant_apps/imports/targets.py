"""What a CSV column can fill, how a header suggests it, and how a cell becomes a value.

Built-in targets: title, description, state (today the task's status), priority,
assignees (emails), labels (names, created as needed) and due date. Other apps add
targets without this app knowing them: `TESSERA_IMPORT_TARGET_PROVIDERS` names callables
`provider(project) -> list[Target]` (custom fields will be one). A provided target
parses a cell with `parse(text)` (raising ValidationError with a message for the user)
and stores the parsed values of a batch with `save(pairs)`, `pairs` being
`[(task, value), ...]` of tasks just inserted, inside the import's transaction."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, WorkflowState, state_label
from tenant_apps.projects.selectors import project_assignable_members
from tenant_apps.tasks.models import Label, TaskPriority, TaskStatus

TITLE_MAX = 255
LABEL_MAX = 50
# Several emails or labels in one cell: separated by commas, semicolons or new lines.
_SPLIT = re.compile(r"[,;\n]+")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DOTTED_DATE = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}")


@dataclass(frozen=True)
class Target:
    key: str
    label: Any  # lazily translated
    # Headers (normalised, see header_normalise) that suggest this target, English and Russian.
    aliases: tuple[str, ...] = ()
    # Permission codes needed to fill it (besides task.create), as task_create asks.
    codes: frozenset[str] = frozenset()
    required: bool = False
    # Provided targets only: cell text -> value (ValidationError for the user), and the
    # writer of a batch's values.
    parse: Callable[[str], Any] | None = None
    save: Callable[[list[tuple[Any, Any]]], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


BUILTIN_TARGETS: tuple[Target, ...] = (
    Target(
        "title",
        gettext_lazy("Title"),
        ("title", "name", "summary", "subject", "task", "название", "заголовок", "задача", "тема", "имя"),
        required=True,
    ),
    Target("description", gettext_lazy("Description"), ("description", "details", "body", "text", "описание", "текст")),
    Target(
        "state",
        gettext_lazy("State"),
        ("state", "status", "column", "статус", "состояние", "этап"),
        codes=frozenset({"task.change_status"}),
    ),
    Target("priority", gettext_lazy("Priority"), ("priority", "приоритет", "важность")),
    Target(
        "assignees",
        gettext_lazy("Assignees (emails)"),
        (
            "assignee",
            "assignees",
            "assigned to",
            "owner",
            "email",
            "assignee email",
            "исполнитель",
            "исполнители",
            "ответственный",
            "назначено",
        ),
        codes=frozenset({"task.assign"}),
    ),
    Target("labels", gettext_lazy("Labels"), ("label", "labels", "tag", "tags", "метка", "метки", "тег", "теги")),
    Target(
        "due_date",
        gettext_lazy("Due date"),
        (
            "due",
            "due date",
            "deadline",
            "due on",
            "срок",
            "крайний срок",
            "дедлайн",
            "дата выполнения",
            "срок выполнения",
        ),
    ),
)


def header_normalise(text: str) -> str:
    """Lower case, "ё" as the plain "e" letter of Russian, punctuation and runs of
    spaces as one space."""
    return _NOT_WORD.sub(" ", text.casefold().replace("ё", "\u0435")).replace("_", " ").strip()


def targets_for(project: Project) -> list[Target]:
    """Every target a column of an import into `project` may fill: the built-ins, then
    those of TESSERA_IMPORT_TARGET_PROVIDERS."""
    targets = list(BUILTIN_TARGETS)
    taken = {target.key for target in targets}
    for path in settings.TESSERA_IMPORT_TARGET_PROVIDERS:
        for target in import_string(path)(project):
            if target.key not in taken and target.parse is not None and target.save is not None:
                targets.append(target)
                taken.add(target.key)
    return targets


def mapping_suggest(headers: list[str], targets: Iterable[Target]) -> dict[str, str | None]:
    """{column index: target key} for headers that name a target (each target once, the
    first column wins); None for a header that names nothing we know."""
    by_alias: dict[str, str] = {}
    for target in targets:
        for alias in (target.key, str(target.label), *target.aliases):
            by_alias.setdefault(header_normalise(alias), target.key)
        with translation.override("ru"):
            by_alias.setdefault(header_normalise(str(target.label)), target.key)
    used: set[str] = set()
    mapping: dict[str, str | None] = {}
    for index, header in enumerate(headers):
        key = by_alias.get(header_normalise(header))
        if key is not None and key not in used:
            used.add(key)
            mapping[str(index)] = key
        else:
            mapping[str(index)] = None
    return mapping


def state_lookup(project: Project) -> dict[str, str]:
    """Names a "state" cell may use -> the value stored: the project's own workflow
    states by name (as stored and as shown in English and Russian) -> "#<state id>",
    then the categories (value and label) -> the category, which the import puts in
    the project's first state of that category (state_resolve)."""
    names: dict[str, str] = {}
    for state in WorkflowState.objects.filter(project=project).order_by("position", "pk"):
        names.setdefault(header_normalise(state.name), f"#{state.pk}")
        for language in ("en", "ru"):
            with translation.override(language):
                names.setdefault(header_normalise(state_label(state.name)), f"#{state.pk}")
    for value, label in TaskStatus.choices:
        names.setdefault(header_normalise(value), value)
        for language in ("en", "ru"):
            with translation.override(language):
                names.setdefault(header_normalise(str(label)), value)
    return names


def state_resolver(project: Project) -> Callable[[str | None], WorkflowState]:
    """What state_lookup's value means for `project`: "#<id>" its state, a category its
    first state of it (else the default state), nothing the default state."""
    states = list(WorkflowState.objects.filter(project=project).order_by("position", "pk"))
    by_id = {state.pk: state for state in states}
    by_category: dict[str, WorkflowState] = {}
    for state in states:
        by_category.setdefault(state.category, state)
    default = by_category.get(TaskStatus.TODO) or by_category.get(TaskStatus.BACKLOG) or states[0]

    def resolve(value: str | None) -> WorkflowState:
        if value and value.startswith("#"):
            return by_id.get(int(value[1:]), default)
        return by_category.get(value, default) if value else default

    return resolve


def priority_lookup() -> dict[str, int]:
    names: dict[str, int] = {}
    for value, label in TaskPriority.choices:
        names[str(value)] = value
        for language in ("en", "ru"):
            with translation.override(language):
                names.setdefault(header_normalise(str(label)), value)
    return names


def date_parse(text: str) -> date:
    """2026-12-31 (ISO) or 31.12.2026 (the Russian habit); nothing ambiguous like
    12/11/2026."""
    value = None
    try:
        if _ISO_DATE.fullmatch(text):
            value = date.fromisoformat(text)
        elif _DOTTED_DATE.fullmatch(text):
            day, month, year = text.split(".")
            value = date(int(year), int(month), int(day))
    except ValueError:  # well-formed but impossible, e.g. 2026-13-01
        value = None
    if value is not None and 1900 <= value.year < 2200:
        return value
    raise ValidationError(_("“%(value)s” is not a date: use 2026-12-31 or 31.12.2026.") % {"value": text[:40]})


@dataclass
class RowResult:
    values: dict[str, Any]
    # (column header, message)
    errors: list[tuple[str, str]]


class RowReader:
    """Turns the cells of one row into task values for `project` under `mapping`,
    collecting every problem with its column. Holds the project's people, labels and
    names once, so reading a row costs no query."""

    def __init__(self, *, project: Project, headers: list[str], mapping: dict[str, str], targets: list[Target]):
        self.project = project
        self.headers = headers
        by_key = {target.key: target for target in targets}
        self.columns: list[tuple[int, Target]] = sorted(
            (int(index), by_key[key]) for index, key in mapping.items() if key and key in by_key
        )
        self.states = state_lookup(project)
        self.priorities = priority_lookup()
        self.people: dict[str, Member] = {
            member.email.casefold(): member for member in project_assignable_members(project)
        }
        self.labels: dict[str, str] = {
            name.casefold(): name for name in Label.objects.filter(project=project).values_list("name", flat=True)
        }

    def read(self, cells: list[str]) -> RowResult:
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        if len(cells) > len(self.headers):
            errors.append(
                (
                    "",
                    _("The row has %(cells)d cells but the header has %(columns)d columns.")
                    % {"cells": len(cells), "columns": len(self.headers)},
                )
            )
        for index, target in self.columns:
            text = cells[index].strip() if index < len(cells) else ""
            try:
                value = self._value(target, text)
            except ValidationError as exc:
                errors.append((self.headers[index], " ".join(exc.messages)))
                continue
            if value is not None:
                values[target.key] = value
        title = next((self.headers[i] for i, target in self.columns if target.key == "title"), None)
        if "title" not in values and title is not None and not any(column == title for column, _msg in errors):
            errors.append((title, _("A task needs a title.")))
        return RowResult(values, errors)

    def _value(self, target: Target, text: str) -> Any:
        if not text:
            return None
        key = target.key
        if key == "title":
            if len(text) > TITLE_MAX:
                raise ValidationError(_("At most %(max)d characters.") % {"max": TITLE_MAX})
            return text
        if key == "description":
            return text
        if key == "state":
            value = self.states.get(header_normalise(text))
            if value is None:
                raise ValidationError(_("No state named “%(value)s”.") % {"value": text[:60]})
            return value
        if key == "priority":
            value = self.priorities.get(header_normalise(text))
            if value is None:
                raise ValidationError(_("No priority named “%(value)s”.") % {"value": text[:60]})
            return value
        if key == "assignees":
            people, unknown = [], []
            for email in (part.strip() for part in _SPLIT.split(text)):
                if not email:
                    continue
                member = self.people.get(email.casefold())
                if member is None:
                    unknown.append(email[:80])
                elif member not in people:
                    people.append(member)
            if unknown:
                raise ValidationError(
                    _("No one in this project has the email %(emails)s.") % {"emails": ", ".join(unknown)}
                )
            return people or None
        if key == "labels":
            names: list[str] = []
            for name in (part.strip() for part in _SPLIT.split(text)):
                if not name:
                    continue
                if len(name) > LABEL_MAX:
                    raise ValidationError(_("A label has at most %(max)d characters.") % {"max": LABEL_MAX})
                name = self.labels.get(name.casefold(), name)
                if name.casefold() not in {n.casefold() for n in names}:
                    names.append(name)
            return names or None
        if key == "due_date":
            return date_parse(text)
        return target.parse(text)
