"""Signing keys of tokens and session cookies: the newest signs, retired ones still verify.

Keys come from settings.signing_keys (newest first), else settings.secret_key, else the file
DATA_DIR/secret.key: its first line is the current key, each further line a retired key and
the time it was retired ("KEY ISO-TIME"); a retired key verifies for signing_key_grace_hours.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from tenure import clock
from tenure.config import Settings
from tenure.errors import ConfigError

MIN_KEY = 32


def _check(key: str, where: str) -> str:
    if len(key) < MIN_KEY:
        raise ConfigError(f"{where} must be at least {MIN_KEY} characters long")
    return key


def _create_key_file(key_file: Path) -> None:
    """Write a fresh key file (mode 0600) unless another process just did."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))


@lru_cache(maxsize=8)
def _parse_key_file(path: str, _mtime_ns: int) -> tuple[tuple[str, datetime | None], ...]:
    """Return (key, retired_at) per line of the key file (cached per modification time)."""
    entries = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        retired = datetime.fromisoformat(parts[1]) if len(parts) > 1 else None
        entries.append((_check(parts[0], path), retired))
    if not entries:
        raise ConfigError(f"the signing key file {path} is empty")
    return tuple(entries)


def key_file(settings: Settings) -> Path:
    """Return the file holding the generated signing keys."""
    return (settings.data_dir / "secret.key").resolve()


def _file_entries(settings: Settings) -> tuple[tuple[str, datetime | None], ...]:
    path = key_file(settings)
    if not path.exists():
        _create_key_file(path)
    return _parse_key_file(str(path), path.stat().st_mtime_ns)


def signing_keys(settings: Settings) -> list[str]:
    """Return every key that verifies tokens and cookies, the signing one first."""
    if settings.signing_keys:
        return [_check(key, "signing_keys") for key in settings.signing_keys]
    if settings.secret_key:
        return [_check(settings.secret_key, "secret_key")]
    oldest = clock.now() - timedelta(hours=settings.signing_key_grace_hours)
    entries = _file_entries(settings)
    return [entries[0][0]] + [key for key, at in entries[1:] if at is not None and at > oldest]


def signing_key(settings: Settings) -> str:
    """Return the key that signs new tokens and cookies."""
    return signing_keys(settings)[0]


def rotate_signing_key(settings: Settings) -> int:
    """Put a new signing key first in the key file, retiring the current one; return how many
    retired keys still verify.

    Keys given in the settings (signing_keys, secret_key) are rotated there instead: put the
    new key first in TENURE_SIGNING_KEYS and drop the old one after the grace period.
    """
    if settings.signing_keys or settings.secret_key:
        raise ConfigError(
            "the signing keys come from the settings: put a new key first in"
            " TENURE_SIGNING_KEYS and remove the old one after the grace period"
        )
    now = clock.now()
    oldest = now - timedelta(hours=settings.signing_key_grace_hours)
    entries = _file_entries(settings)
    kept = [(entries[0][0], now)] + [(k, at) for k, at in entries[1:] if at and at > oldest]
    lines = [secrets.token_urlsafe(48)] + [f"{key} {at.isoformat()}" for key, at in kept]
    path = key_file(settings)
    staging = path.with_suffix(".new")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(staging, path)
    return len(kept)
