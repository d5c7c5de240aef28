"""Task list filters, search and ordering (django-filter). Every parameter is validated:
a bad value or an unknown parameter is a 400 naming it, never a silently ignored filter."""

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Expression, F, FloatField, Q, Value
from django.utils.translation import gettext as _

from tenant_apps.tasks.models import Task, TaskPriority, TaskStatus

TASK_KEY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})\s*$")
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits
PRIORITY_BY_NAME = {label.lower(): value for value, label in TaskPriority.choices}
PRIORITY_NAMES = {value: name for name, value in PRIORITY_BY_NAME.items()}

# ordering name -> model fields (ties broken by pk so pages never overlap)
ORDERINGS = {
    "number": ("project__key", "number"),
    "created": ("created_at", "pk"),
    "updated": ("updated_at", "pk"),
    "due": ("due_date", "pk"),
    "priority": ("priority", "pk"),
    "relevance": ("relevance", "pk"),
}
# Only these can be NULL: tasks without one sort last either way. Every other column is
# ordered plainly, so an index on it can serve the ORDER BY ... LIMIT.
_NULLABLE_ORDERINGS = {"due_date"}
_MAX_VALUES = 20


class _ManyValuesWidget(forms.Widget):
    """Reads every value of a repeated query parameter (`?assignee=3&assignee=me`)."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data


class _ManyValuesField(forms.Field):
    """A repeatable parameter; each value must match `pattern`. Values are deduplicated,
    order kept."""

    widget = _ManyValuesWidget

    def __init__(self, *, pattern: str, message: str, **kwargs) -> None:
        self.pattern = re.compile(pattern)
        self.message = message
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        if value in (None, "", []):
            return []
        values = [value] if isinstance(value, str) else list(value)
        return list(dict.fromkeys(item.strip() for item in values))

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        bad = [item for item in value if not self.pattern.fullmatch(item)]
        if bad:
            raise ValidationError(
                _("%(message)s Not valid: %(values)s.")
                % {"message": self.message, "values": ", ".join(repr(item) for item in bad[:5])}
            )
        if len(value) > _MAX_VALUES:
            raise ValidationError(_("At most %(count)d values.") % {"count": _MAX_VALUES})


class ManyValuesFilter(django_filters.Filter):
    field_class = _ManyValuesField


class _TaskSQL(Expression):
    """A fixed SQL fragment over the queried task table ({task}), with parameters.

    The search condition and its relevance are written in SQL rather than composed from
    SearchQuery/SearchRank/TrigramWordSimilarity objects: the same SQL, for a few
    hundredths of the ~2 ms per request that resolving and compiling those objects cost
    (docs/benchmarks.md, "Task list")."""

    def __init__(self, template: str, params: list, output_field) -> None:
        super().__init__(output_field=output_field)
        self.template, self.params = template, params

    def as_sql(self, compiler, connection):
        task = compiler.quote_name_unless_alias(compiler.query.base_table)
        return self.template.replace("{task}", task), self.params


# The to-many filters as fixed SQL (see `_TaskSQL`): EXISTS probes of the link tables'
# (task, ...) unique indexes. Composed from Exists(QuerySet), each was cloned with every
# clone of the list's queryset and compiled anew in the count and the page: ~0.8 ms of
# Python per request (docs/benchmarks.md, "The assignee filter").
_ASSIGNED = "EXISTS (SELECT 1 FROM tasks_task_assignees a WHERE a.task_id = {task}.id AND a.member_id {match})"
_UNASSIGNED = "NOT EXISTS (SELECT 1 FROM tasks_task_assignees a WHERE a.task_id = {task}.id)"
_LABELLED = "EXISTS (SELECT 1 FROM tasks_task_labels l WHERE l.task_id = {task}.id AND l.label_id {match})"


class _LinksExist(_TaskSQL):
    """`template`'s EXISTS for any of `ids`. One id is matched with `=`: PostgreSQL then
    knows each task appears once among the links and probes the tasks in the link index's
    order, where `= ANY(...)` first de-duplicates them in a hash (2.5 against 5.5 ms for
    2,000 assignments, EXPLAIN ANALYZE)."""

    def __init__(self, template: str, ids: list[int]) -> None:
        self.ids = ids
        if len(ids) == 1:
            super().__init__(template.replace("{match}", "= %s"), ids, BooleanField())
        else:
            super().__init__(template.replace("{match}", "= ANY(%s)"), [ids], BooleanField())


class AssignedTo(_LinksExist):
    """Tasks assigned to any of the members `ids`: a class of its own so that a list with
    no other condition can be counted from the assignments alone (`task_count_upto`)."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(_ASSIGNED, ids)

    def count_upto(self, limit: int) -> int:
        """How many tasks are assigned to any of these members, counting at most `limit`:
        a range of the assignments' (member, task) index; a task of two of them once."""
        with connection.cursor() as cursor:
            if len(self.ids) == 1:
                cursor.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM tasks_task_assignees WHERE member_id = %s LIMIT %s) s",
                    [self.ids[0], limit],
                )
            else:
                cursor.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT task_id FROM tasks_task_assignees "
                    "WHERE member_id = ANY(%s) LIMIT %s) s",
                    [self.ids, limit],
                )
            return cursor.fetchone()[0]


def _typo_variants(word: str) -> tuple[list[str], list[str]]:
    """Every string one typo away from `word` (a deleted, substituted, inserted or
    swapped letter), as exact strings (deletions, swaps) and LIKE patterns with one `_`
    (substitutions, insertions). Words are letters and digits only: nothing to escape."""
    exact = {word[:i] + word[i + 1 :] for i in range(len(word))}
    exact |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    patterns = {word[:i] + "_" + word[i + 1 :] for i in range(len(word))}
    patterns |= {word[:i] + "_" + word[i:] for i in range(len(word) + 1)}
    exact.discard(word)
    return sorted(exact), sorted(patterns)


# One statement resolves a search's words into tsquery terms, before the task table is
# queried: for each word (after a stop word in either language is left out, as
# websearch_to_tsquery does), its prefix in both languages' stems and unstemmed, and every
# title word of the dictionary within its reach — word similarity >= pg_trgm's threshold
# (0.6: `logn` finds "login"), or, for words of five letters or more, one typo away
# (`relaese` finds "release") — as that title word's stems. Three branches in a UNION,
# not one OR: each uses an index (the trigram GIN serves `%>` and the LIKE patterns, the
# primary key the exact strings); with OR PostgreSQL scans the whole dictionary (~5 ms
# for 2,800 words instead of ~0.2). The task statement then gets the finished tsquery as
# a constant: planned in a fraction of a millisecond, with the planner's estimate of how
# many tasks match (what chooses between the full-text index and the list's order
# index), where the same lookups as subqueries cost 2-47 ms of planning at 1M tasks and
# hid the query from the estimate (docs/benchmarks.md, "Search at a million tasks").
_RESOLVE_WORD = """SELECT %s, k.kept,
    CASE WHEN k.kept THEN ARRAY[to_tsquery('simple', %s)::text, to_tsquery('english', %s)::text,
                                to_tsquery('russian', %s)::text] END,
    CASE WHEN k.kept THEN ARRAY(
        SELECT s.q FROM (
            SELECT word FROM (
                SELECT word FROM tasks_tasksearchword WHERE word %%> %s
                UNION SELECT word FROM tasks_tasksearchword WHERE word = ANY(%s::text[])
                UNION SELECT word FROM tasks_tasksearchword WHERE word LIKE ANY(%s::text[])) c
            ORDER BY word_similarity(%s, word) DESC LIMIT 32) d,
            LATERAL (VALUES (to_tsquery('english', d.word)::text), (to_tsquery('russian', d.word)::text)) s(q)
        WHERE ts_lexize('english_stem', d.word) <> '{}' AND ts_lexize('russian_stem', d.word) <> '{}') END,
    NULL::text[]
    FROM (SELECT ts_lexize('english_stem', %s) <> '{}' AND ts_lexize('russian_stem', %s) <> '{}' AS kept) k"""
_RESOLVE_EXCLUDED = """SELECT %s, k.kept, NULL::text[], NULL::text[],
    CASE WHEN k.kept THEN ARRAY[to_tsquery('english', %s)::text, to_tsquery('russian', %s)::text] END
    FROM (SELECT ts_lexize('english_stem', %s) <> '{}' AND ts_lexize('russian_stem', %s) <> '{}' AS kept) k"""
_RESOLVE_WHOLE = """SELECT -1, true, ARRAY[websearch_to_tsquery('english', %s)::text,
    websearch_to_tsquery('russian', %s)::text], NULL::text[], NULL::text[]"""
_MAX_WORDS = 8
_PREFIX_TERM = re.compile(r"^'((?:[^']|'')+)':\*$")  # a one-lexeme prefix query, as tsquery prints it
_TERM = re.compile(r"^'((?:[^']|'')+)'$")  # a one-lexeme query
# Quotes, OR or a -word: websearch_to_tsquery's syntax, which the word-by-word query alone
# does not express (for plain words it is implied: every word's stems are in its group).
_WEBSEARCH_SYNTAX = re.compile(r'"|(^|\s)-|(^|\s)or(\s|$)', re.IGNORECASE)


def _or(pieces: list[str]) -> str:
    """Tsquery text: any of `pieces` (each a tsquery's text), duplicates dropped."""
    unique = list(dict.fromkeys(piece for piece in pieces or () if piece))
    if len(unique) <= 1:
        return unique[0] if unique else ""
    return "( " + " | ".join(unique) + " )"


def _word_terms(prefixes: list[str], dictionary: list[str]) -> list[str]:
    """A word's group: its prefix terms, then the title-only (`:A`) terms of the
    dictionary words it reaches, minus those its own prefixes already match in any part
    of the task (`payment:*` finds every title with "payment" or "payments" already)."""
    stems = [m.group(1) for piece in prefixes if (m := _PREFIX_TERM.match(piece))]
    terms = list(prefixes)
    for piece in dictionary:
        term = _TERM.match(piece)
        if term is None:  # not one lexeme (not a dictionary word's shape): kept as it is
            terms.append(piece)
            continue
        lexeme = term.group(1)
        if not any(lexeme.startswith(stem) for stem in stems):
            terms.append(f"'{lexeme}':A")
    return terms


def task_search_queries(text: str) -> tuple[str, str]:
    """The tsquery texts for `text`, resolved in one statement: what a task must match,
    and what it is ranked by.

    Matching: every word on its own (AND across words, stop words left out, -words
    excluded) — by the full-text index (English and Russian stems, prefixes) or through
    the title-word dictionary by trigram word similarity or one typo (five letters or
    more) — OR, when the text uses quotes, OR or -words, websearch_to_tsquery of the
    whole text in English and Russian. Ranking: the same without the dictionary, so the
    words as typed rank above typo matches. An empty text (only stop words) gives ''."""
    selects: list[str] = [_RESOLVE_WHOLE]
    params: list = [text, text]
    for token in text.split()[: _MAX_WORDS * 2]:
        excluded = token.startswith("-")
        for word in _WORD_RE.findall(token.lower()):
            n = len(selects) - 1
            if n >= _MAX_WORDS or (word == "or" and not excluded):
                continue
            if excluded:
                selects.append(_RESOLVE_EXCLUDED)
                params += [n, word, word, word, word]
                continue
            exact, patterns = _typo_variants(word) if len(word) >= 5 else ([], [])
            prefix = f"{word}:*"
            selects.append(_RESOLVE_WORD)
            params += [n, prefix, prefix, prefix, word, exact, patterns, word, word, word]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"({select})" for select in selects) + " ORDER BY 1", params)
        rows = cursor.fetchall()
    whole = _or(rows[0][2])  # n = -1 sorts first
    matching, ranking = [], []
    for _n, kept, prefixes, dictionary, excluded in rows[1:]:
        if not kept:
            continue
        if excluded is not None:
            matching.append(f"!{_or(excluded)}")
            ranking.append(f"!{_or(excluded)}")
            continue
        matching.append(_or(_word_terms(prefixes, dictionary)))
        ranking.append(_or(prefixes))
    if not matching:
        return whole, whole
    match_query, rank_query = " & ".join(matching), " & ".join(ranking)
    if whole and _WEBSEARCH_SYNTAX.search(text):
        match_query, rank_query = f"( {whole} ) | ( {match_query} )", f"( {whole} ) | ( {rank_query} )"
    return match_query, rank_query


def task_search(queryset, text: str):
    """Full-text search (English and Russian stems, plus prefixes) in title and
    description, typo-tolerant matching of title words, and task numbers (`WEB-42`),
    word by word: every word of `text` must match (see `task_search_queries`, which runs
    one statement now).

    Served by the GIN index on search_vector alone: typos are resolved against the small
    title-word dictionary (`TaskSearchWord`) first, never by trigram similarity over
    every title (docs/benchmarks.md, "Task list"). Adds a `relevance` annotation: the
    full-text rank of the query, in which exact matches come before typo matches."""
    text = text.strip()
    if not text:
        return queryset
    match_query, rank_query = task_search_queries(text)
    if match_query:
        matches = Q(_TaskSQL("({task}.search_vector @@ %s::tsquery)", [match_query], BooleanField()))
        relevance = _TaskSQL("ts_rank({task}.search_vector, %s::tsquery)", [rank_query], FloatField())
    else:  # nothing to match by words (only stop words): only a task key can match
        matches = Q(pk__in=[])
        relevance = Value(0.0, output_field=FloatField())
    key = TASK_KEY_RE.match(text)
    if key:
        matches |= Q(project__key=key.group(1).upper(), number=int(key.group(2)))
    return queryset.filter(matches).annotate(relevance=relevance)


class TaskFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    # Repeatable parameters match any of their values. None of them joins a to-many
    # relation (assignees and labels are EXISTS subqueries), so no DISTINCT is needed.
    # `status` is the category of the task's workflow state; `category` names the same.
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices, method="filter_status")
    category = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices, method="filter_status")
    state = ManyValuesFilter(
        method="filter_state",
        pattern=r"\d{1,12}",
        message="Use workflow state ids.",
        help_text="Workflow state id; repeat for any of several.",
    )
    priority = django_filters.MultipleChoiceFilter(
        choices=[(name, name) for name in PRIORITY_BY_NAME], method="filter_priority"
    )
    assignee = ManyValuesFilter(
        method="filter_assignee",
        pattern=r"me|none|\d{1,12}",
        message="Use member ids, “me” or “none”.",
        help_text="Member id, `me` or `none`; repeat for any of several.",
    )
    project = django_filters.CharFilter(field_name="project__key", help_text="Project key (on /api/v1/tasks/).")
    label = ManyValuesFilter(
        method="filter_label",
        pattern=r"\d{1,12}",
        message="Use label ids.",
        help_text="Label id; repeat for any of several.",
    )
    parent = django_filters.CharFilter(
        method="filter_parent",
        max_length=30,
        help_text="Sub-tasks of this task (its key, e.g. WEB-7), or `none` for top-level tasks.",
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

    def get_form_class(self):
        # The form's fields do not depend on the request: build the class once, not on
        # every request (django-filter builds it per instance).
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def filter_search(self, queryset, name, value):
        return task_search(queryset, value)

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=value) if value else queryset

    def filter_state(self, queryset, name, value):
        return queryset.filter(state_id__in=[int(item) for item in value]) if value else queryset

    def filter_label(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_LinksExist(_LABELLED, sorted({int(item) for item in value})))

    def filter_parent(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.lower() == "none":
            return queryset.filter(parent__isnull=True)
        key = TASK_KEY_RE.match(value)
        if key is None:
            raise ValidationError({"parent": _("Use a task key (WEB-7) or “none”.")})
        return queryset.filter(parent__project__key=key.group(1).upper(), parent__number=int(key.group(2)))

    def filter_priority(self, queryset, name, value):
        return queryset.filter(priority__in=[PRIORITY_BY_NAME[item] for item in value]) if value else queryset

    def filter_assignee(self, queryset, name, value):
        """Tasks assigned to any of the given people; `none` adds unassigned tasks."""
        if not value:
            return queryset
        ids = {int(item) for item in value if item.isdigit()}
        if "me" in value:
            member = getattr(self.request, "tessera_member", None)
            if member is not None:
                ids.add(member.pk)
        condition = Q(AssignedTo(sorted(ids))) if ids else Q(pk__in=[])
        if "none" in value:
            condition |= Q(_TaskSQL(_UNASSIGNED, [], BooleanField()))
        return queryset.filter(condition)

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
        return queryset.order_by(*(_order(field, descending) for field in ORDERINGS[key]))


def _order(field: str, descending: bool):
    if field in _NULLABLE_ORDERINGS:
        return F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return F(field).desc() if descending else F(field).asc()
