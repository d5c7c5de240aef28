import pytest

from shared_apps.core import markup
from shared_apps.core.markup import markdown_html, markdown_html_many


@pytest.mark.parametrize(
    ("text", "dangerous"),
    [
        ("hi <script>alert(1)</script>", ["<script", "alert(1)"]),
        ("<script src=//evil.example/x.js></script>", ["<script", "evil"]),
        ("<iframe src=https://evil.example></iframe>", ["<iframe", "evil"]),
        ("[click](javascript:alert(1))", ["href", "<a "]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "JaVaScRiPt"]),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', ["data:"]),
        ("<img src=x onerror=alert(1)>", ["onerror", "alert"]),
        ("<b onclick='steal()' onmouseover=x>b</b>", ["onclick", "onmouseover", "steal"]),
        ('<p style="background:url(javascript:alert(1))">p</p>', ["style", "javascript"]),
        ("<svg onload=alert(1)><circle/></svg>", ["<svg", "onload"]),
        ("<style>body{display:none}</style>x", ["<style", "display"]),
        ("<form action=//evil><input name=q></form>", ["<form", "<input"]),
        ("<object data=x.swf></object><embed src=x>", ["<object", "<embed"]),
        ("<code class='x language-py'>c</code>", ["class="]),
    ],
)
def test_dangerous_markup_is_stripped(text, dangerous):
    html = markup._render(text)
    for fragment in dangerous:
        assert fragment not in html, (text, html)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**bold** and _em_ and ~~gone~~", "<p><strong>bold</strong> and <em>em</em> and <s>gone</s></p>"),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("```python\nprint(1)\n```", '<pre><code class="language-python">print(1)\n</code></pre>'),
        (
            "[docs](https://example.com/a?b=1)",
            '<p><a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow">docs</a></p>',
        ),
        (
            "[task](/projects/WEB/tasks/3/)",
            '<p><a href="/projects/WEB/tasks/3/" rel="noopener noreferrer nofollow">task</a></p>',
        ),
        ("| a |\n|--:|\n| 1 |", '<th style="text-align:right">a</th>'),
        ("<kbd>Ctrl</kbd> <details><summary>more</summary>hidden</details>", "<kbd>Ctrl</kbd>"),
        ("1 < 2 & 3 > 2", "<p>1 &lt; 2 &amp; 3 &gt; 2</p>"),
    ],
)
def test_markdown_renders_to_the_expected_safe_html(text, html):
    assert html in markup._render(text)


@pytest.mark.django_db
def test_rendering_is_cached_by_text_and_policy_version(monkeypatch):
    calls = []
    real = markup._render
    monkeypatch.setattr(markup, "_render", lambda text: calls.append(text) or real(text))

    assert markdown_html_many(["**a**", "", "**a**", "b"]) == [
        "<p><strong>a</strong></p>",
        "",
        "<p><strong>a</strong></p>",
        "<p>b</p>",
    ]
    assert calls == ["**a**", "b"]  # each distinct text once; "" costs nothing
    assert markdown_html("**a**") == "<p><strong>a</strong></p>"
    assert calls == ["**a**", "b"]  # served from the cache

    monkeypatch.setattr(markup, "POLICY_VERSION", markup.POLICY_VERSION + 1)
    markdown_html("**a**")
    assert calls == ["**a**", "b", "**a**"]  # a new policy renders again
