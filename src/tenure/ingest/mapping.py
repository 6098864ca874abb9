"""Mapping files (TOML) translate a user's column names and value spellings to ours."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tenure.errors import InputError


@dataclass(frozen=True)
class Mapping:
    """Column renames, value translations and defaults for one source's files.

    ``columns`` maps canonical name → the user's column; ``values`` maps canonical name →
    {user spelling: canonical value}; ``defaults`` fills a canonical column when it is
    absent or blank; ``csv`` passes reader options (delimiter, quote).
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    csv: dict[str, str] = field(default_factory=dict)
    source: str | None = None


def load_mapping(path: Path | None) -> Mapping:
    """Read a mapping TOML file; no path means the identity mapping."""
    if path is None:
        return Mapping()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"mapping file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"mapping file {path} is not valid TOML: {exc}") from exc
    unknown = set(data) - {"columns", "values", "defaults", "csv", "source"}
    if unknown:
        raise InputError(
            f"mapping file {path}: unknown section(s) {sorted(unknown)}; "
            "expected columns, values, defaults, csv, source"
        )
    try:
        return Mapping(
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            values={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in data.get("values", {}).items()
            },
            defaults={str(k): str(v) for k, v in data.get("defaults", {}).items()},
            csv={str(k): str(v) for k, v in data.get("csv", {}).items()},
            source=data.get("source"),
        )
    except AttributeError as exc:
        raise InputError(f"mapping file {path}: each section must be a table ({exc})") from exc
