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


@register.simple_tag(takes_context=True)
def board_card(context, card: dict) -> str:
    """One board card (tasks/board.html#card). Rendered here rather than in template
    language: a board shows up to 500 cards, and the template engine's ~100 lookups per
    card were most of the board's time (docs/benchmarks.md, "Web pages"). Every value
    goes through `html.escape` (what Django's escape does) before it is joined."""
    import html

    from django.utils.dateformat import format as date_format

    def e(value) -> str:
        return html.escape(str(value))

    key = e(card["key"])
    url = f"/tasks/{key}/"
    can_move = context.get("can_move")
    draggable = ' draggable="true"' if can_move else ""
    parts = [
        f'<li class="card" data-nav-item data-number="{int(card["number"])}" data-key="{key}"'
        f' data-version="{int(card["version"])}"{draggable}>'
        f'<div class="card-top"><span class="key">{key}</span>'
    ]
    if card.get("priority_value"):
        parts.append(
            f'<span class="priority priority-{int(card["priority_value"])}"'
            f' title="{e(context.get("priority_heading", ""))}">{e(card["priority_label"])}</span>'
        )
    if can_move:
        parts.append(
            f'<details class="menu card-menu" data-menu data-card-menu="{int(card["number"])}">'
            f'<summary aria-label="{e(context.get("move_label", ""))} {key}">⋯</summary>'
            f'<div class="menu-panel"><a href="{url}">{e(context.get("status_heading", ""))}…</a></div></details>'
        )
    parts.append(
        f'</div><a class="card-title" href="{url}" data-nav-link hx-get="{url}" hx-target="#panel-host">'
        f'{e(card["title"])}</a><div class="card-meta">'
    )
    if card.get("labels"):
        chips = "".join(
            f'<span class="label-chip" data-color="{e(label["color"])}">{e(label["name"])}</span>'
            for label in card["labels"]
        )
        parts.append(f'<span class="labels">{chips}</span>')
    if card.get("due"):
        overdue = card.get("overdue")
        label = context.get("overdue_label" if overdue else "due_label", "")
        parts.append(
            f'<span class="due{" overdue" if overdue else ""}"><span class="visually-hidden">{e(label)} </span>'
            f"{e(date_format(card['due'], 'j M'))}</span>"
        )
    if card.get("assignees"):
        names = ", ".join(person_name(person) for person in card["assignees"])
        avatars = "".join(
            f'<span class="avatar" title="{e(person_name(person))}" aria-hidden="true">{e(initials(person))}</span>'
            for person in card["assignees"][:3]
        )
        parts.append(
            f'<span class="avatars" role="img" aria-label="{e(context.get("assignees_label", ""))}: {e(names)}">'
            f"{avatars}</span>"
        )
    parts.append("</div></li>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
