"""Posts as HTML that cannot run anything.

Markdown is CommonMark with raw HTML off (what looks like a tag is shown as text),
then an allow-list sanitizer (nh3, the Rust ``ammonia``) as a second wall: only
formatting tags survive, links keep http(s)/mailto targets and get
``rel="nofollow noopener ugc"``. Images are not allowed: they would load from
anywhere on a phone's data plan and can track who reads. Plain text is escaped,
its blank lines make paragraphs and its line breaks stay.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3
from markdown_it import MarkdownIt

TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1",
        "h2", "h3", "h4", "h5", "h6", "hr"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def _clean(fragment: str) -> str:
    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="nofollow noopener ugc", strip_comments=True,
                     clean_content_tags={"script", "style"})


def render(body: str, fmt: str) -> str:
    """The post's HTML (``fmt`` "markdown" or "plain")."""
    if fmt == "markdown":
        return _clean(_md.render(body))
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    return _clean("".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>"
                          for p in paragraphs))


def text_of(html_fragment: str) -> str:
    """What a reader sees of rendered HTML, as plain text on one line."""
    return html.unescape(re.sub(r"\s+", " ", nh3.clean(html_fragment, tags=set()))).strip()


def excerpt_of(plain: str, length: int = 240) -> str:
    return plain if len(plain) <= length else plain[:length - 1].rstrip() + "…"


def excerpt(body: str, fmt: str, length: int = 240) -> str:
    """The start of a post as plain text, for lists and search results."""
    return excerpt_of(text_of(render(body, fmt)), length)


def rendered(body: str, fmt: str) -> dict[str, str]:
    """A post's stored ``html`` and ``excerpt``, rendered once."""
    out = render(body, fmt)
    return {"html": out, "excerpt": excerpt_of(text_of(out))}


# Format, space and combining characters: a text made only of them shows nothing.
_INVISIBLE = {"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"}


def shows_nothing(body: str, fmt: str = "plain") -> bool:
    """Whether a reader would see no letter, digit or symbol at all (zero-width spaces,
    a Markdown link definition, only combining marks)."""
    shown = text_of(render(body, fmt)) if fmt == "markdown" else body
    return all(unicodedata.category(ch) in _INVISIBLE for ch in shown)
