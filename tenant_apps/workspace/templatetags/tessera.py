"""Small presentation helpers shared by the pages: initials, highlighted search words,
due-date state."""

import re

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()
_WORD = re.compile(r"\w+", re.UNICODE)


@register.filter
def initials(person) -> str:
    """ "AL" for Ada Lovelace (or ada@…); "?" for nobody."""
    if person is None:
        return "?"
    if isinstance(person, dict):
        name = person.get("display_name") or person.get("email") or ""
    else:
        name = getattr(person, "display_name", "") or getattr(person, "email", "") or str(person)
    parts = [part for part in re.split(r"[\s@._-]+", name) if part]
    return "".join(part[0] for part in parts[:2]).upper() or "?"


@register.filter
def person_name(person) -> str:
    if person is None:
        return ""
    if isinstance(person, dict):
        return person.get("display_name") or person.get("email") or ""
    return getattr(person, "display_name", "") or getattr(person, "email", "")


def _matches(word: str, query_word: str) -> bool:
    """A prefix match, or the same stem: all but the last two letters of a longer query
    word in common ("задача" marks "задачи", "design" marks "designs")."""
    if word.startswith(query_word):
        return True
    stem = max(4, len(query_word) - 2)
    return len(query_word) >= 5 and word[:stem] == query_word[:stem]


@register.filter
def highlight(text, query) -> str:
    """`text` escaped, with every word that starts with one of the words of `query`
    wrapped in <mark> (prefix matching, like the search itself; case-insensitive)."""
    text = str(text or "")
    words = [word.casefold() for word in _WORD.findall(str(query or ""))[:8] if len(word) > 1]
    if not words:
        return escape(text)
    out = []
    last = 0
    for match in _WORD.finditer(text):
        folded = match.group(0).casefold()
        if any(_matches(folded, word) for word in words):
            out.append(escape(text[last : match.start()]))
            out.append(f"<mark>{escape(match.group(0))}</mark>")
            last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece is escaped above


@register.filter
def due_state(due) -> str:
    """ "overdue", "today", "soon" (within 3 days) or "" for a due date."""
    if not due:
        return ""
    if isinstance(due, str):
        from datetime import date

        try:
            due = date.fromisoformat(due)
        except ValueError:
            return ""
    today = timezone.localdate()
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    if (due - today).days <= 3:
        return "soon"
    return ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with `changes` applied (None removes a parameter), for
    links that keep the filters (sorting, pagination)."""
    params = context["request"].GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value not in (None, ""):
            params[name] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


class _CardTexts:
    """What the cards of one page repeat, escaped once a page rather than once a card:
    the translated headings, each person's name and initials, each label's chip, each
    due date (kept on the request's template context while the page renders)."""

    def __init__(self, context) -> None:
        import html

        self.e = e = html.escape
        self.move = e(str(context.get("move_label", "")))
        self.status = e(str(context.get("status_heading", "")))
        self.priority = e(str(context.get("priority_heading", "")))
        self.assignees = e(str(context.get("assignees_label", "")))
        self.overdue = e(str(context.get("overdue_label", "")))
        self.due = e(str(context.get("due_label", "")))
        self.blocked = e(str(context.get("blocked_label", "")))
        self.texts: dict = {}

    def once(self, kind: str, value, render) -> str:
        key = (kind, value)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = render(value)
        return text


def _card_html(card: dict, texts: _CardTexts, can_move: bool) -> str:
    from django.utils.dateformat import format as date_format

    e = texts.e
    key = e(card["key"])
    number = int(card["number"])
    url = f"/tasks/{key}/"
    draggable = ' draggable="true"' if can_move else ""
    parts = [
        f'<li class="card" data-nav-item data-number="{number}" data-key="{key}"'
        f' data-version="{int(card["version"])}"{draggable}>'
        f'<div class="card-top"><span class="key">{key}</span>'
    ]
    if card.get("priority_value"):
        parts.append(
            texts.once(
                "priority",
                (int(card["priority_value"]), str(card["priority_label"])),
                lambda v: f'<span class="priority priority-{v[0]}" title="{texts.priority}">{e(v[1])}</span>',
            )
        )
    if can_move:
        parts.append(
            f'<details class="menu card-menu" data-menu data-card-menu="{number}">'
            f'<summary aria-label="{texts.move} {key}">⋯</summary>'
            f'<div class="menu-panel"><a href="{url}">{texts.status}…</a></div></details>'
        )
    parts.append(
        f'</div><a class="card-title" href="{url}" data-nav-link hx-get="{url}" hx-target="#panel-host">'
        f'{e(card["title"])}</a><div class="card-meta">'
    )
    if card.get("labels"):
        chips = "".join(
            texts.once(
                "label",
                (label["color"], label["name"]),
                lambda v: f'<span class="label-chip" data-color="{e(v[0])}">{e(v[1])}</span>',
            )
            for label in card["labels"]
        )
        parts.append(f'<span class="labels">{chips}</span>')
    if card.get("blocked_by"):  # open blockers (issue 15 relations)
        parts.append(f'<span class="blocked">{texts.blocked} {e(", ".join(card["blocked_by"]))}</span>')
    if card.get("due"):
        overdue = bool(card.get("overdue"))
        parts.append(
            texts.once(
                "due",
                (card["due"], overdue),
                lambda v: (
                    f'<span class="due{" overdue" if v[1] else ""}"><span class="visually-hidden">'
                    f"{texts.overdue if v[1] else texts.due} </span>{e(date_format(v[0], 'j M'))}</span>"
                ),
            )
        )
    people = card.get("assignees")
    if people:
        triples = [(p["id"], p["display_name"], p["email"]) for p in people]
        names = ", ".join(person_name_text(person) for person in triples)
        avatars = "".join(
            texts.once(
                "avatar",
                person,
                lambda v: (
                    f'<span class="avatar" title="{e(person_name_text(v))}" aria-hidden="true">'
                    f"{e(initials({'display_name': v[1], 'email': v[2]}))}</span>"
                ),
            )
            for person in triples[:3]
        )
        parts.append(f'<span class="avatars" role="img" aria-label="{texts.assignees}: {e(names)}">{avatars}</span>')
    parts.append("</div></li>")
    return "".join(parts)


def person_name_text(person: tuple) -> str:
    """The name shown for an (id, display_name, email) triple."""
    return person[1] or person[2] or ""


@register.simple_tag(takes_context=True)
def board_cards(context, cards) -> str:
    """A column's cards (tasks/board.html), rendered here in one call per column rather
    than in template language or one tag per card: a board shows up to 500 cards, and
    the template engine's lookups per card were most of the board's time
    (docs/benchmarks.md, "Web pages"). Every value goes through `html.escape` (what
    Django's escape does) before it is joined; repeated texts are escaped once a page."""
    texts = context.render_context.get("tessera_card_texts")
    if texts is None:
        texts = context.render_context["tessera_card_texts"] = _CardTexts(context)
    can_move = bool(context.get("can_move"))
    return mark_safe("".join(_card_html(card, texts, can_move) for card in cards))  # noqa: S308 - escaped above


@register.simple_tag(takes_context=True)
def task_rows(context, tasks) -> str:
    """The list's rows (tasks/task_list.html#table), rendered here for the reason
    board_cards is: 50 rows of ~40 template lookups each were most of the list's time
    (docs/benchmarks.md, "Web pages"). Every value goes through `html.escape`; the
    title through `highlight` (which escapes)."""
    import html

    from django.utils.dateformat import format as date_format

    def e(value) -> str:
        return html.escape(str(value))

    memo: dict = {}

    def once(value) -> str:  # the few repeated texts (statuses, priorities, labels): escaped once a page
        text = memo.get(value)
        if text is None:
            text = memo[value] = e(value)
        return text

    can_bulk = context.get("can_bulk")
    select_label = e(context.get("select_label", ""))
    search = context.get("search", "")
    out = []
    for task in tasks:
        key = e(task["key"])
        url = f"/tasks/{key}/"
        out.append("<tr data-nav-item>")
        if can_bulk:
            out.append(
                f'<td><input id="select-{key}" type="checkbox" name="task" value="{key}"'
                f' aria-label="{select_label} {key}"></td>'
            )
        chips = "".join(
            f'<span class="label-chip" data-color="{once(label["color"])}">{once(label["name"])}</span>'
            for label in task.get("labels") or ()
        )
        out.append(
            f'<td class="key">{key}</td><td class="title"><a href="{url}" data-nav-link hx-get="{url}"'
            f' hx-target="#panel-host">{highlight(task["title"], search)}</a>{chips}</td>'
            f'<td><span class="status-pill status-{once(task["status"])}">{once(task["status_label"])}</span></td>'
            f'<td><span class="priority priority-{int(task["priority_value"])}">'
            f"{once(task['priority_label'])}</span></td><td>"
        )
        if task.get("assignees"):
            out.append(
                "".join(
                    f'<span class="avatar small" title="{e(person_name(person))}">{e(initials(person))}</span>'
                    for person in task["assignees"]
                )
            )
        else:
            out.append('<span class="muted">—</span>')
        out.append("</td><td>")
        if task.get("due"):
            overdue = " overdue" if task.get("overdue") else ""
            out.append(f'<span class="due{overdue}">{e(date_format(task["due"], "j M Y"))}</span>')
        updated = str(task.get("updated_at") or "")
        out.append(f'</td><td class="muted small"><time datetime="{e(updated)}">{e(updated[:10])}</time></td></tr>')
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


@register.simple_tag
def person_options(people, selected="") -> str:
    """`<option>`s of people (value: pk; text: name or email), `selected` (a pk as
    text) marked. For the filter bar and the bulk bar: 20 people were 300 template
    lookups a page."""
    import html

    selected = str(selected or "")
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(
            f'<option value="{person.pk}"{" selected" if str(person.pk) == selected else ""}>'
            f"{html.escape(person.display_name or person.email or '')}</option>"
            for person in people
        )
    )


@register.simple_tag
def label_options(labels, selected="") -> str:
    """`<option>`s of labels (value: pk; text: name), `selected` (a pk as text) marked."""
    import html

    selected = str(selected or "")
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(
            f'<option value="{label.pk}"{" selected" if str(label.pk) == selected else ""}>'
            f"{html.escape(label.name)}</option>"
            for label in labels
        )
    )


@register.simple_tag(takes_context=True)
def sort_head(context, name: str, label) -> str:
    """A sortable column's header: a link that sorts by `name` (descending when it is
    already the ascending order), aria-sort on the current one."""
    import html

    ordering = context.get("ordering", "")
    if ordering == name:
        sort, target = ' aria-sort="ascending"', f"-{name}"
    elif ordering == f"-{name}":
        sort, target = ' aria-sort="descending"', name
    else:
        sort, target = "", name
    href = html.escape(query_with(context, ordering=target, page=None))
    return mark_safe(f'<th scope="col"{sort}><a href="{href}">{html.escape(str(label))}</a></th>')  # noqa: S308
