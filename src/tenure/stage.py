"""What a pipeline stage is: a function of one as-of day that declares the tables it touches.

Domain packages define their daily stage with `@stage(...)`; `tenure.pipeline` lists them in
order and runs them. This module sits below both, so a domain never imports the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from tenure.config import Settings
from tenure.warehouse.catalog import Dataset

StageSummary = dict[str, Any]


@dataclass(frozen=True)
class StageContext:
    """What a stage gets: settings, the migrated app-DB engine and the as-of day."""

    settings: Settings
    engine: Engine
    as_of: date


StageFunction = Callable[[StageContext], StageSummary]


@dataclass(frozen=True)
class Stage:
    """A daily stage: its CLI key, its function and the catalog datasets it reads and writes.

    `reads_earlier_runs` lists what it reads as left by earlier days' runs of a stage that runs
    after it (health scores use the latest segment memberships on or before the day).
    """

    key: str
    function: StageFunction
    reads: tuple[Dataset, ...]
    writes: tuple[Dataset, ...]
    reads_earlier_runs: tuple[Dataset, ...] = ()

    @property
    def name(self) -> str:
        """Return the function's name: what the stage produces."""
        return self.function.__name__

    def __call__(self, context: StageContext) -> StageSummary:
        """Run the stage for context.as_of; return its summary (printed and logged)."""
        return self.function(context)


def stage(
    key: str,
    *,
    reads: tuple[Dataset, ...],
    writes: tuple[Dataset, ...],
    reads_earlier_runs: tuple[Dataset, ...] = (),
) -> Callable[[StageFunction], Stage]:
    """Declare a function as the pipeline stage `key` (the name `--only/--skip` take)."""

    def declare(function: StageFunction) -> Stage:
        return Stage(key, function, reads, writes, reads_earlier_runs)

    return declare
