"""The model registry: MLflow with an embedded SQLite store and file artifacts in the data dir.

Each `tenure model train` is one MLflow run (parameters, metrics, artifacts `model/`:
model.joblib, card.json, report.json) and one version of the registered model `churn`
(`churn_h30` for the 30-day horizon). The alias `champion` marks the version that scores.
MLflow never touches the network: the tracking and registry URIs are a local SQLite file and
telemetry is switched off before MLflow is imported.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from tenure.churn import fitted_model
from tenure.churn.fitted_model import ChurnModel
from tenure.config import Settings
from tenure.errors import NotFound

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from mlflow.exceptions import MlflowException  # after telemetry is switched off

CHAMPION = "champion"
EXPERIMENT = "churn"


def model_name(horizon: int) -> str:
    """Return the registered model name for a label horizon."""
    return "churn" if horizon == 90 else f"churn_h{horizon}"


def _client(settings: Settings) -> Any:
    """Return an MlflowClient on the data dir's SQLite store (telemetry off)."""
    import logging
    import warnings

    # MLflow's own store uses a SQLAlchemy loader option that SQLAlchemy 2.1 deprecates.
    warnings.filterwarnings("ignore", message=".*noload.*", module="mlflow")
    warnings.filterwarnings("ignore", message=".*``noload``.*")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from mlflow import MlflowClient

    settings.ensure_data_dir()
    uri = f"sqlite:///{(settings.data_dir / 'mlflow.db').resolve()}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment_id(client: Any, settings: Settings) -> str:
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    artifacts = (settings.data_dir / "mlruns").resolve().as_uri()
    return client.create_experiment(EXPERIMENT, artifact_location=artifacts)


@dataclass
class LoadedModel:
    """A registered model version with its card."""

    name: str
    version: str
    model: ChurnModel
    card: dict[str, Any]
    report: dict[str, Any]


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and v == v and abs(float(v)) != float("inf")
    }


def log_model(
    settings: Settings,
    *,
    name: str,
    model: ChurnModel,
    params: dict[str, Any],
    metrics: dict[str, Any],
    card: dict[str, Any],
    report: dict[str, Any],
) -> str:
    """Log a training run with its artifacts, register it as a new version; return the version."""
    client = _client(settings)
    run = client.create_run(
        _experiment_id(client, settings), run_name=f"{name}-{card['trained_at']}"
    )
    run_id = run.info.run_id
    for key, value in params.items():
        client.log_param(run_id, key, str(value)[:500])
    for key, value in _finite(metrics).items():
        client.log_metric(run_id, key, value)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        joblib.dump(model, folder / "model.joblib")
        (folder / "card.json").write_text(json.dumps(card, indent=2, default=str))
        (folder / "report.json").write_text(json.dumps(report, indent=2, default=str))
        client.log_artifacts(run_id, str(folder), "model")
    client.set_terminated(run_id)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    return str(version.version)


def champion_version(settings: Settings, name: str) -> str | None:
    """Return the champion's version number, or None when there is none."""
    if not (settings.data_dir / "mlflow.db").exists():
        return None  # nothing was ever trained here: do not create an MLflow store
    client = _client(settings)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        return None
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException as exc:
        if "alias" in str(exc).lower() or "not found" in str(exc).lower():
            return None
        raise


def latest_version(settings: Settings, name: str) -> str | None:
    """Return the newest registered version (champion or not), or None when none exists."""
    if not (settings.data_dir / "mlflow.db").exists():
        return None
    client = _client(settings)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        return None
    versions = [int(mv.version) for mv in client.search_model_versions(f"name = '{name}'")]
    return str(max(versions)) if versions else None


def load_version(settings: Settings, name: str, version: str | None = None) -> LoadedModel:
    """Return a registered version (default: the champion); raise NotFound when missing."""
    version = version or champion_version(settings, name)
    if version is None:
        raise NotFound(f"no champion churn model {name!r} yet: run `tenure model train` first")
    client = _client(settings)
    try:
        found = client.get_model_version(name, version)
    except MlflowException as exc:
        raise NotFound(f"model {name!r} has no version {version}") from exc
    cache = settings.data_dir / "models" / f"{name}-v{version}"
    if not (cache / "model" / "card.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        client.download_artifacts(found.run_id, "model", str(cache))
    folder = cache / "model"
    return LoadedModel(
        name=name,
        version=str(version),
        model=_load_model(folder / "model.joblib"),
        card=json.loads((folder / "card.json").read_text()),
        report=json.loads((folder / "report.json").read_text()),
    )


def _load_model(path: Path) -> ChurnModel:
    """Unpickle a saved model, also one saved when the module was `tenure.churn.model`."""
    sys.modules.setdefault("tenure.churn.model", fitted_model)  # renamed 2026-12: old pickles
    return joblib.load(path)


def promote(settings: Settings, name: str, version: str) -> None:
    """Make a version the champion; raise NotFound when it does not exist."""
    client = _client(settings)
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        raise NotFound(f"model {name!r} has no version {version}") from exc
    client.set_registered_model_alias(name, CHAMPION, version)


def list_versions(settings: Settings, name: str) -> list[dict[str, Any]]:
    """Return every version of a model, newest first, with its validation metrics."""
    client = _client(settings)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        return []
    champion = champion_version(settings, name)
    out = []
    for mv in client.search_model_versions(f"name = '{name}'"):
        run = client.get_run(mv.run_id)
        out.append(
            {
                "name": name,
                "version": str(mv.version),
                "champion": str(mv.version) == champion,
                "created": run.data.params.get("trained_at"),
                "validate_as_of": run.data.params.get("validate_as_of"),
                "auc": run.data.metrics.get("auc"),
                "pr_auc": run.data.metrics.get("pr_auc"),
                "brier": run.data.metrics.get("brier"),
                "promoted": run.data.params.get("promoted_on_training"),
            }
        )
    return sorted(out, key=lambda row: int(row["version"]), reverse=True)
