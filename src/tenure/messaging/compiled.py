"""Compile a template version once: layouts joined, MJML to HTML, CSS inlined, text derived.

Per contact only the Jinja variables are rendered. To run MJML and the CSS inliner once, the
Jinja markup is set aside first: `{{ … }}` (and any tag inside an HTML tag) becomes an inert
word, a `{% … %}` statement between elements an HTML comment; both survive MJML and css-inline
in order, and are put back before Jinja compiles the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
import mjml
from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from tenure.errors import InputError
from tenure.messaging.htmltext import html_to_text

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TOKEN = re.compile(r"(?:<!--)?tnrj(\d+)x(?:-->)?")
_COMMENT_TOKEN = re.compile(r"tnrj\d+x")
# Elements whose content is text to an HTML parser: a comment there would be printed.
_TEXT_ONLY = re.compile(
    r"<(/?)(?:title|textarea|style|script|mj-title|mj-preview|mj-style)\b", re.I
)


class MjmlError(InputError):
    """MJML markup that does not compile."""


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


class MessageSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, reading a plain dict's keys first (variables are dicts of data)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Return obj.attribute: a key of a plain dict directly, anything else as the sandbox does."""
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@lru_cache(maxsize=2)
def environment(html: bool) -> SandboxedEnvironment:
    """Return the sandboxed environment (no mutation of variables) for HTML or text parts."""
    return MessageSandbox(
        undefined=StrictUndefined, autoescape=html, finalize=_blank_none, auto_reload=False
    )


def _protect(source: str) -> tuple[str, list[str]]:
    out: list[str] = []
    saved: list[str] = []
    position = 0
    for match in _JINJA.finditer(source):
        out.append(source[position : match.start()])
        position = match.end()
        text = match.group(0)
        if text.startswith("{#"):
            continue
        done = "".join(out)
        in_tag = done.rfind("<") > done.rfind(">")
        opened = [m.group(1) for m in _TEXT_ONLY.finditer(done)]
        in_text_only = bool(opened) and opened[-1] == ""
        token = f"tnrj{len(saved)}x"
        saved.append(text)
        word = in_tag or in_text_only or text.startswith("{{")
        out.append(token if word else f"<!--{token}-->")
    out.append(source[position:])
    return "".join(out), saved


def _restore(text: str, saved: list[str]) -> str:
    return _TOKEN.sub(lambda m: saved[int(m.group(1))], text)


def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def compile_sources(source: str, is_mjml: bool, text_source: str | None) -> tuple[str, str]:
    """Return the Jinja sources of the HTML part and the text part of a joined template."""
    protected, saved = _protect(source)
    if is_mjml:
        try:
            protected = mjml.mjml2html(protected)
        except (ValueError, RuntimeError) as exc:
            raise MjmlError(f"MJML does not compile: {exc}") from None
    html = _inliner().inline(protected)
    text = text_source
    if text is None:
        text = _restore(html_to_text(html, keep_comment=_COMMENT_TOKEN), saved)
    return _restore(html, saved), text


def is_mjml(source: str, declared: str | None) -> bool:
    """Tell whether a joined source is MJML (declared so, or it starts with <mjml>)."""
    return declared == "mjml" or source.lstrip().startswith("<mjml")


@dataclass(frozen=True)
class CompiledTemplate:
    """A template version ready to render per contact: Jinja templates of every part."""

    name: str
    version: int
    purpose: str
    topic: str | None
    subject: Template
    preheader: Template | None
    html: Template
    text: Template
    blocks: tuple[tuple[str, Any], ...]
    html_source: str = ""
    globals: tuple[tuple[str, Any], ...] = ()


def render_part(template: Template, variables: dict[str, Any]) -> str:
    """Render a compiled part with variables that already hold the environment's globals.

    `Template.render` copies the globals into a new dict on every call; a message renders
    four parts, so the caller merges them once (`CompiledTemplate.globals`) and shares it.
    """
    context = template.new_context(variables, shared=True)
    try:
        return template.environment.concat(template.root_render_func(context))  # type: ignore[attr-defined]
    except Exception:
        return template.environment.handle_exception()


def build(
    row: Any, joined: str, blocks: tuple[tuple[str, Any], ...], *, fmt: str | None = None
) -> CompiledTemplate:
    """Compile a stored row (its body already joined with layout and partials)."""
    html_source, text_source = compile_sources(
        joined, is_mjml(joined, fmt or row.format), row.text_body
    )
    html_env, text_env = environment(True), environment(False)
    return CompiledTemplate(
        name=row.name,
        version=row.version,
        purpose=row.purpose,
        topic=row.topic,
        subject=text_env.from_string(row.subject or ""),
        preheader=text_env.from_string(row.preheader) if row.preheader else None,
        html=html_env.from_string(html_source),
        text=text_env.from_string(text_source),
        blocks=blocks,
        html_source=html_source,
        globals=tuple(html_env.globals.items()),
    )
