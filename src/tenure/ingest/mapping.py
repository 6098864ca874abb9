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
    absent or blank; ``csv`` passes reader options (delimiter, quote); ``ignore`` lists the
    file's columns to drop; ``create_accounts`` lets an events import create the accounts it
    meets, with ``account_attributes`` (attribute name → the file's column) filled from events.
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    csv: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    ignore: tuple[str, ...] = ()
    create_accounts: bool = False
    account_attributes: dict[str, str] = field(default_factory=dict)


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
    unknown = set(data) - {"columns", "values", "defaults", "csv", "source", "ignore", "accounts"}
    if unknown:
        raise InputError(
            f"mapping file {path}: unknown section(s) {sorted(unknown)}; "
            "expected columns, values, defaults, csv, source, ignore, accounts"
        )
    try:
        accounts = _accounts_section(path, data.get("accounts", {}))
        return Mapping(
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            values={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in data.get("values", {}).items()
            },
            defaults={str(k): str(v) for k, v in data.get("defaults", {}).items()},
            csv={str(k): str(v) for k, v in data.get("csv", {}).items()},
            source=data.get("source"),
            ignore=_column_list(path, data.get("ignore", [])),
            create_accounts=accounts["create"],
            account_attributes=accounts["attributes"],
        )
    except AttributeError as exc:
        raise InputError(f"mapping file {path}: each section must be a table ({exc})") from exc


def _column_list(path: Path, value: object) -> tuple[str, ...]:
    """Return the `ignore` list of column names, or raise when it is not a list of names."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"mapping file {path}: ignore must be a list of column names")
    return tuple(value)


def _accounts_section(path: Path, section: dict) -> dict:
    """Return the [accounts] options: create (bool) and attributes (name → column)."""
    unknown = set(section) - {"create", "attributes"}
    if unknown:
        raise InputError(
            f"mapping file {path}: unknown key(s) {sorted(unknown)} in [accounts]; "
            "expected create, attributes"
        )
    create = section.get("create", False)
    if not isinstance(create, bool):
        raise InputError(f"mapping file {path}: [accounts] create must be true or false")
    attributes = {str(k): str(v) for k, v in section.get("attributes", {}).items()}
    return {"create": create, "attributes": attributes}
