"""The soak's book: one data dir simulated, imported, trained and scored; cached if asked.

The set-up takes minutes (simulate, import, train, the first pipeline). With a cache dir, the
first run sets up in `<cache>/<key>/work` and keeps a pristine copy beside it; later runs with
the same key copy the pristine data dir back over `work` and soak there (the same absolute
path, which the model registry records). The key is a hash of the options that shape the book
and of every source file that shapes it (src/tenure and this file), so a code change sets up afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tenure.config import Settings
from tenure.db.session import get_engine, session_scope

TENURE = str(Path(sys.executable).parent / "tenure")
ROOT = Path(__file__).resolve().parents[1]
SETUP = (
    ("init",),
    ("import", "simulated", "{sim}"),
    ("warehouse", "sync"),
    ("model", "train"),
    ("model", "promote", "1"),  # the soak needs scores to look up, whatever the skill gate says
    ("messages", "templates", "load", "--defaults"),
    ("journeys", "load", "--defaults"),
    ("pipeline", "run"),
)


def tenure(data_dir: Path, env: dict[str, str], *args: str) -> None:
    """Run one tenure command; stop the soak with its output if it fails."""
    done = subprocess.run(
        [TENURE, "--data-dir", str(data_dir), *args], env=env, capture_output=True, text=True
    )
    if done.returncode not in (0, 3):  # 3: an import quarantined some rows
        raise SystemExit(
            f"tenure {' '.join(args)} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}"
        )


def set_up(data_dir: Path, accounts: int, months: int, env: dict[str, str]) -> dict[str, Any]:
    """Build the book and its scores; return the seconds each step took."""
    sim = data_dir.parent / "simulated"
    timings: dict[str, float] = {}
    started = time.perf_counter()
    subprocess.run(
        [TENURE, "simulate", "--accounts", str(accounts), "--months", str(months),
         "--seed", "7", "--out", str(sim)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    timings["simulate"] = round(time.perf_counter() - started, 1)
    for step in SETUP:
        started = time.perf_counter()
        tenure(data_dir, env, *(part.format(sim=sim) for part in step))
        timings[" ".join(step[:2])] = round(time.perf_counter() - started, 1)
    shutil.rmtree(sim, ignore_errors=True)
    return timings


def cache_key(accounts: int, months: int) -> str:
    """Return the key of a book: its options and a hash of every source file."""
    digest = hashlib.sha256(f"{accounts}/{months}/{sys.version}".encode())
    files = [*sorted((ROOT / "src" / "tenure").rglob("*.py")), ROOT / "bench" / "soak_setup.py"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return f"a{accounts}-m{months}-{digest.hexdigest()[:16]}"


@contextlib.contextmanager
def cached_book(
    cache: Path | None, data_dir: Path, accounts: int, months: int, env: dict[str, str]
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Yield the data dir to soak in and the set-up timings ({"cached": true} on a hit)."""
    if cache is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        yield (
            data_dir,
            set_up(data_dir, accounts, months, {**env, "TENURE_DATA_DIR": str(data_dir)}),
        )
        return
    home = cache / cache_key(accounts, months)
    home.mkdir(parents=True, exist_ok=True)
    work, pristine = home / "work" / "data", home / "pristine"
    with (home / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one soak at a time per book
        shutil.rmtree(work.parent, ignore_errors=True)
        if pristine.exists():
            started = time.perf_counter()
            shutil.copytree(pristine, work, symlinks=True)
            timings: dict[str, Any] = {
                "cached": True,
                "copy": round(time.perf_counter() - started, 1),
            }
        else:
            work.mkdir(parents=True)
            timings = set_up(work, accounts, months, {**env, "TENURE_DATA_DIR": str(work)})
            shutil.copytree(work, home / "pristine.tmp", symlinks=True)
            (home / "pristine.tmp").rename(pristine)
        try:
            yield work, timings
        finally:
            shutil.rmtree(work.parent, ignore_errors=True)


def credentials(settings: Settings) -> dict[str, Any]:
    """Create an analyst token and a write key; list the scored accounts (id, external id)."""
    from tenure.accounts.models import Account
    from tenure.auth import service
    from tenure.churn.models import ChurnScore

    engine = get_engine(settings)
    with session_scope(engine) as session:
        user = service.create_user(
            session, f"soak{time.time_ns()}@example.com", "soak password 1", "analyst"
        )
        token = service.issue_tokens(settings, session, service.user_principal(user))
        _, key = service.create_write_key(session, "soak")
        scored = sa.select(ChurnScore.account_id).distinct()
        rows = session.execute(
            sa.select(Account.id, Account.external_id).where(Account.id.in_(scored))
        ).all()
    engine.dispose()
    if not rows:
        raise SystemExit("the set-up scored no account")
    return {"token": token["access_token"], "key": key, "accounts": [tuple(r) for r in rows]}
