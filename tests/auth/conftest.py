"""Auth test fixtures: a cheaper argon2 cost so many logins stay fast (still argon2id)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tenure.auth import service


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash with argon2id at minimal cost in tests; production keeps the library defaults."""
    monkeypatch.setattr(
        service, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
