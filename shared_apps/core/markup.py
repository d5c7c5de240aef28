"""Markdown to safe HTML for descriptions and comments.

The text is stored as the user wrote it; HTML is produced when it is shown: CommonMark
(plus tables, strikethrough, and line breaks kept as in a comment box) by markdown-it-py,
then an allowlist sanitizer (nh3, the Ammonia library) keeps only the tags and
attributes below. Raw HTML in the Markdown is allowed through the renderer and then
sanitized, so harmless markup (`<kbd>`, `<details>`) survives while scripts, frames,
event handlers, styles and `javascript:` links never do.

Rendering on read (not storing HTML) means a change to this policy applies to every
text at once. The cost (~0.5 ms per short text) is paid once: results are cached per
tenant, keyed by a hash of the text and POLICY_VERSION (bump it when the policy
changes).
"""

import hashlib
import re
from collections.abc import Sequence

import nh3
from django.core.cache import cache
from markdown_it import MarkdownIt

POLICY_VERSION = 1
_TTL_SECONDS = 24 * 3600

_TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code"),
    *("strong", "em", "b", "i", "s", "del", "ins", "mark", "kbd", "sub", "sup"),
    *("ul", "ol", "li", "a", "img", "details", "summary"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
}
_LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]{1,40}")

_renderer = MarkdownIt("commonmark", {"html": True, "breaks": True}).enable(["table", "strikethrough"])


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    # Only a fenced block's language class (for syntax highlighting) keeps a class.
    if attribute == "class":
        return value if element == "code" and _LANGUAGE_CLASS.fullmatch(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    # Table alignment is the only style markdown-it writes.
    filter_style_properties={"text-align"},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
)


def _render(text: str) -> str:
    return _cleaner.clean(_renderer.render(text)).strip()


def _key(text: str) -> str:
    return f"markup:{POLICY_VERSION}:{hashlib.sha256(text.encode()).hexdigest()}"


def markdown_html_many(texts: Sequence[str]) -> list[str]:
    """Sanitized HTML for each of `texts`, with one cache round trip for all of them."""
    keys = {text: _key(text) for text in texts if text}
    cached = cache.get_many(list(set(keys.values()))) if keys else {}
    rendered: dict[str, str] = {}
    for text, key in keys.items():
        if key not in cached and text not in rendered:
            rendered[text] = _render(text)
    if rendered:
        cache.set_many({keys[text]: html for text, html in rendered.items()}, _TTL_SECONDS)
    return [(cached.get(keys[text]) or rendered.get(text, "")) if text else "" for text in texts]


def markdown_html(text: str) -> str:
    """Sanitized HTML for one Markdown text ("" for "")."""
    return markdown_html_many([text])[0]
