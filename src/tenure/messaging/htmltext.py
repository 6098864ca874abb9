"""Turn an email's HTML into a readable plain-text part (links kept as "label (url)")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset(("head", "style", "script", "title", "template"))
_BLOCK = frozenset(
    [
        "p",
        "div",
        "tr",
        "table",
        "section",
        "article",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "header",
        "footer",
        "hr",
    ]
)
_VOID = frozenset(("br", "img", "hr", "meta", "link", "input", "col", "area", "base", "source"))
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextParser(HTMLParser):
    """Collect visible text with line breaks at block edges and link targets after labels."""

    def __init__(self, keep_comment: re.Pattern[str] | None) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden: list[str] = []  # open tags whose content is not shown
        self.links: list[tuple[str | None, int]] = []
        self.keep_comment = keep_comment

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag not in _VOID and (
            self.hidden or tag in _HIDDEN or "display:none" in (found.get("style") or "")
        ):
            self.hidden.append(tag)
            return
        if tag == "br" or tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "a":
            self.links.append((found.get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            if self.hidden[-1] == tag:
                self.hidden.pop()
            return
        if tag in _BLOCK:
            self.parts.append(
                "\n\n" if tag in ("p", "h1", "h2", "h3", "table", "ul", "ol") else "\n"
            )
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            if href and not href.startswith("#") and href != label:
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def handle_comment(self, data: str) -> None:
        # kept even where text is hidden: they are template statements ({% if %} … {% endif %})
        if self.keep_comment and self.keep_comment.fullmatch(data):
            self.parts.append(f"<!--{data}-->")


def html_to_text(html: str, keep_comment: re.Pattern[str] | None = None) -> str:
    """Return the text of an HTML email: paragraphs, list items, "label (url)" links."""
    parser = _TextParser(keep_comment)
    parser.feed(html)
    parser.close()
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
