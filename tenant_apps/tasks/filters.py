"""Task list filters, search and ordering (django-filter). Every parameter is validated:
a bad value or an unknown parameter is a 400 naming it, never a silently ignored filter."""

import re

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import F, Q
from django.utils.translation import gettext as _

from tenant_apps.tasks.models import Task, TaskPriority, TaskStatus

TASK_KEY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})\s*$")
_WORD_RE = re.compile(r"\w+", re.UNICODE)
PRIORITY_BY_NAME = {label.lower(): value for value, label in TaskPriority.choices}
PRIORITY_NAMES = {value: name for name, value in PRIORITY_BY_NAME.items()}
# Typo matches use pg_trgm's `%>` with its default word-similarity threshold (0.6).

# ordering name -> model fields (ties broken by pk so pages never overlap)
ORDERINGS = {
    "number": ("project__key", "number"),
    "created": ("created_at", "pk"),
    "updated": ("updated_at", "pk"),
    "due": ("due_date", "pk"),
    "priority": ("priority", "pk"),
    "relevance": ("relevance", "pk"),
}


def _prefix_query(text: str) -> SearchQuery | None:
    """Every word as a prefix, unstemmed (`desig` finds "design") and stemmed in both
    languages (`назначена` → `назнач:*` finds "назначенные", stored as `назначен`)."""
    words = _WORD_RE.findall(text)[:8]
    if not words:
        return None
    raw = " & ".join(f"{word}:*" for word in words)  # \w+ only: nothing for tsquery to parse
    return (
        SearchQuery(raw, config="simple", search_type="raw")
        | SearchQuery(raw, config="english", search_type="raw")
        | SearchQuery(raw, config="russian", search_type="raw")
    )


def task_search(queryset, text: str):
    """Full-text search (English and Russian stems, plus prefixes) in title and
    description, typo-tolerant trigram matching on titles, and task numbers (`WEB-42`).
    Adds a `relevance` annotation."""
    text = text.strip()
    if not text:
        return queryset
    words = SearchQuery(text, config="english", search_type="websearch") | SearchQuery(
        text, config="russian", search_type="websearch"
    )
    prefix = _prefix_query(text)
    query = words | prefix if prefix is not None else words
    matches = Q(search_vector=query) | Q(title__trigram_word_similar=text)
    relevance = SearchRank(F("search_vector"), query) + TrigramWordSimilarity(text, "title")
    key = TASK_KEY_RE.match(text)
    if key:
        matches |= Q(project__key=key.group(1).upper(), number=int(key.group(2)))
    return queryset.filter(matches).annotate(relevance=relevance)


class TaskFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    priority = django_filters.MultipleChoiceFilter(
        choices=[(name, name) for name in PRIORITY_BY_NAME], method="filter_priority"
    )
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        validators=[RegexValidator(r"^(me|none|\d{1,12})$", "Use a member id, “me” or “none”.")],
        help_text="A member id, `me` or `none`.",
    )
    project = django_filters.CharFilter(field_name="project__key", help_text="Project key (on /api/v1/tasks/).")
    label = django_filters.CharFilter(
        method="filter_label",
        validators=[RegexValidator(r"^\d{1,12}$", "Use a label id.")],
        help_text="Label id.",
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    completed_after = django_filters.IsoDateTimeFilter(field_name="completed_at", lookup_expr="gte")
    completed_before = django_filters.IsoDateTimeFilter(field_name="completed_at", lookup_expr="lt")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    ordering = django_filters.ChoiceFilter(
        choices=[(name, name) for name in ORDERINGS] + [(f"-{name}", f"-{name}") for name in ORDERINGS],
        method="filter_ordering",
    )

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return task_search(queryset, value)

    def filter_label(self, queryset, name, value):
        return queryset.filter(labels=int(value))

    def filter_priority(self, queryset, name, value):
        return queryset.filter(priority__in=[PRIORITY_BY_NAME[item] for item in value]) if value else queryset

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignees__isnull=True)
        if value == "me":
            member = getattr(self.request, "tessera_member", None)
            return queryset.filter(assignees=member) if member else queryset.none()
        return queryset.filter(assignees=int(value))

    def filter_ordering(self, queryset, name, value):
        # Applied last by `filter_queryset` below; recorded here.
        self._ordering = value
        return queryset

    def filter_queryset(self, queryset):
        self._ordering = None
        queryset = super().filter_queryset(queryset)
        searching = bool(self.form.cleaned_data.get("search"))
        ordering = self._ordering or ("relevance" if searching else "-updated")
        descending = ordering.startswith("-")
        key = ordering.lstrip("-")
        if key == "relevance" and not searching:
            raise ValidationError({"ordering": _("Order by relevance only together with search.")})
        if key == "relevance":
            descending = not descending  # most relevant first unless "-relevance"
        return queryset.order_by(
            *(
                F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
                for field in ORDERINGS[key]
            )
        )
