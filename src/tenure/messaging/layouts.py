"""Resolve `{% extends %}`, `{% block %}` and `{% include %}` into one template source.

A message template is compiled once per version (MJML, CSS inlining, text part) and only its
variables are rendered per contact, so layouts and partials are joined at compile time from
the stored rows a version is pinned to (`fetch`), with Jinja's meaning: a child's blocks
replace its layout's, `{{ super() }}` keeps the layout's content, text outside blocks of a
child is ignored, an include inserts the partial.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tenure.errors import InputError

Fetch = Callable[[str], str]
MAX_DEPTH = 8
_TAG = re.compile(r"\{%-?\s*(extends|include|block|endblock)\b(.*?)-?%\}", re.S)
_NAME = re.compile(r"""\s*["']([^"']+)["']""")
_SUPER = re.compile(r"\{\{-?\s*super\(\)\s*-?\}\}")


class LayoutError(InputError):
    """Layouts or partials cannot be joined (missing, cyclic, unbalanced blocks)."""


def quoted_name(argument: str) -> str:
    """Return the quoted template name an extends/include tag argument starts with."""
    match = _NAME.match(argument)
    if match is None:
        raise LayoutError(f"extends/include must name a stored template in quotes: {argument!r}")
    return match.group(1)


def references(source: str) -> list[tuple[str, int]]:
    """Return (name, line) of every template a source extends or includes, in order."""
    return [
        (quoted_name(m.group(2)), source.count("\n", 0, m.start()) + 1)
        for m in _TAG.finditer(source)
        if m.group(1) in ("extends", "include")
    ]


def _includes(source: str, fetch: Fetch, depth: int) -> str:
    def insert(match: re.Match[str]) -> str:
        if match.group(1) != "include":
            return match.group(0)
        return flatten(fetch(quoted_name(match.group(2))), fetch, depth + 1)

    return _TAG.sub(insert, source)


def _block_end(source: str, start: int) -> tuple[int, int]:
    """Return (start, end) of the endblock that closes the block opened before start."""
    depth = 1
    for match in _TAG.finditer(source, start):
        kind = match.group(1)
        depth += 1 if kind == "block" else -1 if kind == "endblock" else 0
        if depth == 0:
            return match.start(), match.end()
    raise LayoutError("a {% block %} has no {% endblock %}")


def _blocks(source: str) -> dict[str, str]:
    """Return every block (nested ones too) of a source: name -> its content."""
    found: dict[str, str] = {}
    for match in _TAG.finditer(source):
        if match.group(1) == "block":
            inner_end, _ = _block_end(source, match.end())
            found.setdefault(match.group(2).split()[0], source[match.end() : inner_end])
    return found


def _fill(source: str, chains: dict[str, list[str]]) -> str:
    """Replace each top-level block of source by its most derived content (super() expanded)."""
    out, position = [], 0
    for match in _TAG.finditer(source):
        if match.start() < position or match.group(1) != "block":
            continue
        inner_end, end = _block_end(source, match.end())
        name = match.group(2).split()[0]
        chain = [*chains.get(name, []), source[match.end() : inner_end]]
        out += [source[position : match.start()], _expand(chain, 0, chains)]
        position = end
    return "".join([*out, source[position:]])


def _expand(chain: list[str], index: int, chains: dict[str, list[str]]) -> str:
    body = _fill(chain[index], chains)
    if index + 1 < len(chain):
        parent = _expand(chain, index + 1, chains)
        return _SUPER.sub(lambda _m: parent, body)
    return _SUPER.sub("", body)


def _extends(source: str) -> str | None:
    for match in _TAG.finditer(source):
        if match.group(1) == "extends":
            return quoted_name(match.group(2))
    return None


def flatten(source: str, fetch: Fetch, depth: int = 0) -> str:
    """Return source with its layout chain and includes joined into one template."""
    chains: dict[str, list[str]] = {}
    while True:
        if depth > MAX_DEPTH:
            raise LayoutError(f"layouts and partials nest deeper than {MAX_DEPTH} (a cycle?)")
        source = _includes(source, fetch, depth)
        parent = _extends(source)
        if parent is None:
            return _fill(source, chains)
        for name, content in _blocks(source).items():
            chains.setdefault(name, []).append(content)
        source, depth = fetch(parent), depth + 1
