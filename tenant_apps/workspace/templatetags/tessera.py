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
