"""A model saved when the module was `tenure.churn.model` still loads after the rename."""

from __future__ import annotations

import pickle
import sys

import joblib
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tenure.churn import fitted_model, registry
from tenure.churn.fitted_model import ChurnModel


def test_a_model_pickled_under_the_old_module_name_loads(tmp_path, monkeypatch):
    model = ChurnModel("logistic", Pipeline([("scale", StandardScaler())]), ["mrr"], [])
    path = tmp_path / "model.joblib"
    monkeypatch.setattr(ChurnModel, "__module__", "tenure.churn.model")
    monkeypatch.setitem(sys.modules, "tenure.churn.model", fitted_model)
    joblib.dump(model, path)
    assert b"tenure.churn.model" in path.read_bytes()
    monkeypatch.undo()
    sys.modules.pop("tenure.churn.model", None)
    try:
        joblib.load(path)
    except (ModuleNotFoundError, pickle.UnpicklingError):
        pass
    else:
        raise AssertionError("the old module name should not import by itself")
    loaded = registry._load_model(path)
    assert isinstance(loaded, ChurnModel) and loaded.numeric == ["mrr"]
