"""Load templates from TOML and files, validate them and save them as versions.

Saving an unchanged template (same fields, blocks and pinned layouts/partials) returns the
stored version instead of adding one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import TemplateSyntaxError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import InputError
from tenure.messaging import render
from tenure.messaging.blocks import parse_block_rule
from tenure.messaging.compiled import MjmlError, build, environment, is_mjml
from tenure.messaging.layouts import LayoutError, flatten, references
from tenure.messaging.models import MessageTemplate
from tenure.messaging.schemas import TemplateSpec
from tenure.messaging.template_models import TemplateBlock
from tenure.messaging.validation import TemplateInvalid, check_header, check_source
from tenure.segments.rule_syntax import RuleError

DEFAULTS = Path(__file__).parent / "defaults" / "templates.toml"
_ORDER = {"partial": 0, "layout": 1, "email": 2}


@dataclass(frozen=True)
class Saved:
    """The stored version a save resolved to, and whether the save added it."""

    template: MessageTemplate
    created: bool


def _read_part(entry: dict[str, Any], key: str, base: Path) -> None:
    file_key = f"{key}_file"
    if file_key in entry:
        path = base / str(entry.pop(file_key))
        try:
            entry[key] = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def _spec(entry: dict[str, Any], base: Path, where: str) -> TemplateSpec:
    entry = dict(entry)
    for key in ("body", "text"):
        _read_part(entry, key, base)
    try:
        return TemplateSpec.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = f"{where}: template {entry.get('name')!r}: {field}: {first['msg']}"
        raise InputError(message) from None


def read_toml(path: Path) -> list[TemplateSpec]:
    """Return the templates of a TOML file (`[[templates]]` entries, or the file is one)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read templates ({exc})") from None
    entries = data["templates"] if "templates" in data else [{"name": path.stem} | data]
    return [_spec(entry, path.parent, str(path)) for entry in entries]


def read_specs(path: Path) -> list[TemplateSpec]:
    """Return the templates of a TOML file or of every *.toml in a directory, layouts first."""
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise InputError(f"{path}: no *.toml template files in this directory")
        specs = [spec for file in files for spec in read_toml(file)]
    elif path.exists():
        specs = read_toml(path)
    else:
        raise InputError(f"{path}: no such file or directory")
    return sorted(specs, key=lambda s: _ORDER[s.kind])


def _check_references(session: Session, spec: TemplateSpec, body: str) -> None:
    for name, line in references(body):
        try:
            render.pinned(session, name, None)
        except LayoutError as exc:
            raise TemplateInvalid(spec.name, "body", line, str(exc)) from None


def _check_blocks(spec: TemplateSpec) -> None:
    names = [b.name for b in spec.blocks]
    for block in spec.blocks:
        if names.count(block.name) > 1:
            raise TemplateInvalid(spec.name, "blocks", 1, f"block {block.name!r} is repeated")
        try:
            parse_block_rule(block.when)
        except RuleError as exc:
            raise TemplateInvalid(spec.name, f"blocks.{block.name}", 1, str(exc)) from None


def validate(session: Session, spec: TemplateSpec) -> str:
    """Refuse a template that cannot be saved; return its joined source (layouts resolved)."""
    if spec.kind == "email" and not spec.subject:
        raise TemplateInvalid(spec.name, "subject", 1, "an email template needs a subject")
    check_header(spec.name, "subject", spec.subject)
    check_header(spec.name, "preheader", spec.preheader)
    _check_blocks(spec)
    blocks = tuple(b.name for b in spec.blocks) if spec.kind == "email" else None
    env = environment(True)
    for field, source in (("subject", spec.subject), ("preheader", spec.preheader)):
        check_source(env, spec.name, field, source or "", blocks)
    check_source(env, spec.name, "body", spec.body, blocks)
    check_source(env, spec.name, "text", spec.text or "", blocks)
    _check_references(session, spec, spec.body)
    if spec.layout:
        _check_references(session, spec, f'{{% extends "{spec.layout}" %}}')
    try:
        return flatten(
            render.email_source(spec.body, spec.layout), render.pinned_fetch(session, None)
        )
    except LayoutError as exc:
        raise TemplateInvalid(spec.name, "body", 1, str(exc)) from None


def joined_format(spec: TemplateSpec, joined: str) -> str:
    """Return the stored format of a template: as declared, else MJML when the joined source is."""
    return spec.format or ("mjml" if is_mjml(joined, None) else "html")


def _compile_check(spec: TemplateSpec, joined: str) -> None:
    row = MessageTemplate(name=spec.name, version=0, subject=spec.subject, preheader=None)
    row.text_body, row.purpose, row.topic, row.format = spec.text, spec.purpose, None, None
    try:
        build(row, joined, (), fmt=joined_format(spec, joined))
    except MjmlError as exc:
        raise TemplateInvalid(spec.name, "body", 1, str(exc)) from None
    except TemplateSyntaxError as exc:  # the parts parse alone but not joined with the layout
        reason = f"with its layout and partials: {exc.message}"
        raise TemplateInvalid(spec.name, "body", exc.lineno or 1, reason) from None


def newest(session: Session, name: str) -> MessageTemplate | None:
    """Return the newest stored version of a template, None when there is none."""
    query = sa.select(MessageTemplate).where(MessageTemplate.name == name)
    return session.scalars(query.order_by(MessageTemplate.version.desc()).limit(1)).first()


def _pins(session: Session, spec: TemplateSpec, before_id: int | None) -> list[int]:
    seen: list[int] = []
    flatten(
        render.email_source(spec.body, spec.layout), render.pinned_fetch(session, before_id, seen)
    )
    return seen


def _block_rows(session: Session, template_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        sa.select(TemplateBlock.name, TemplateBlock.rule)
        .where(TemplateBlock.template_id == template_id)
        .order_by(TemplateBlock.position)
    )
    return [tuple(row) for row in rows]


def unchanged(session: Session, row: MessageTemplate, spec: TemplateSpec, fmt: str) -> bool:
    """Tell whether saving spec would store exactly what row holds (pins included)."""
    fields = (
        row.kind == spec.kind
        and row.format == fmt
        and (row.subject, row.preheader, row.body, row.text_body, row.layout)
        == (spec.subject, spec.preheader, spec.body, spec.text, spec.layout)
        and (row.purpose, row.topic) == (spec.purpose, spec.topic)
    )
    if not fields:
        return False
    if _block_rows(session, row.id) != [(b.name, b.when) for b in spec.blocks]:
        return False
    return _pins(session, spec, row.id) == _pins(session, spec, None)


def save_template(session: Session, spec: TemplateSpec, *, actor: str | None = None) -> Saved:
    """Validate and store a template as a new version (or return the unchanged newest one)."""
    joined = validate(session, spec)
    if spec.kind == "email":
        _compile_check(spec, joined)
    fmt = joined_format(spec, joined)
    latest = newest(session, spec.name)
    if latest is not None and unchanged(session, latest, spec, fmt):
        return Saved(latest, False)
    row = MessageTemplate(
        name=spec.name,
        version=(latest.version + 1) if latest else 1,
        kind=spec.kind,
        format=fmt,
        subject=spec.subject,
        preheader=spec.preheader,
        body=spec.body,
        text_body=spec.text,
        layout=spec.layout,
        purpose=spec.purpose,
        topic=spec.topic,
        created_at=clock.now(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    for position, block in enumerate(spec.blocks):
        session.add(
            TemplateBlock(template_id=row.id, position=position, name=block.name, rule=block.when)
        )
    session.flush()
    return Saved(row, True)


def load_path(session: Session, path: Path, *, actor: str | None = None) -> list[Saved]:
    """Validate and save every template of a TOML file or directory (layouts first)."""
    return [save_template(session, spec, actor=actor) for spec in read_specs(path)]


def load_defaults(session: Session, *, actor: str | None = None) -> list[Saved]:
    """Save the packaged template set the demo journeys use."""
    return load_path(session, DEFAULTS, actor=actor)


def list_templates(session: Session) -> list[tuple[MessageTemplate, int]]:
    """Return the newest version of every template and its number of versions, by name."""
    counts = dict(
        session.execute(
            sa.select(MessageTemplate.name, sa.func.count()).group_by(MessageTemplate.name)
        ).all()
    )
    newest_ids = sa.select(sa.func.max(MessageTemplate.id)).group_by(MessageTemplate.name)
    rows = session.scalars(
        sa.select(MessageTemplate)
        .where(MessageTemplate.id.in_(newest_ids))
        .order_by(MessageTemplate.name)
    )
    return [(row, counts[row.name]) for row in rows]


def versions(session: Session, name: str) -> list[MessageTemplate]:
    """Return every stored version of a template, newest first (NotFound when none)."""
    rows = list(
        session.scalars(
            sa.select(MessageTemplate)
            .where(MessageTemplate.name == name)
            .order_by(MessageTemplate.version.desc())
        )
    )
    if not rows:
        raise render.TemplateNotFound(f"no message template {name!r}")
    return rows
