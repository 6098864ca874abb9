"""BG/NBD and Gamma-Gamma fits reproduce the published CDNOW results to 2 %."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.reports.cdnow import cdnow_dir, cdnow_transactions_csv

from tenure.cli.main import app
from tenure.reports.clv.files import read_summary
from tenure.reports.clv.value import fit_clv

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", CDNOW 1/10 sample, 2,357
# customers, 39-week calibration, weeks: r, α, a, b and the log-likelihood.
BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "log_likelihood": -9582.4}
# Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": 946 repeat customers.
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _close(result: dict, published: dict) -> None:
    for key, value in published.items():
        assert result[key] == pytest.approx(value, rel=0.02), key


def test_summary_file_matches_published_bg_nbd() -> None:
    summary = read_summary(cdnow_dir() / "cdnow_customers_summary.csv")
    fitted = fit_clv(summary).purchases
    assert summary.customers == 2357
    _close(vars(fitted), BG_NBD)
    assert fitted.converged


def test_transactions_cli_matches_published_fits(cli, tmp_path) -> None:
    source = cdnow_transactions_csv(tmp_path / "cdnow.csv")
    args = ["clv", "fit", "--transactions", str(source), "--customer", "customer"]
    args += ["--date", "date", "--amount", "amount", "--calibration-end", "1997-09-30"]
    result = cli.invoke(app, [*args, "--json", "--predict-days", "273"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["customers"] == 2357
    _close(out, BG_NBD | GAMMA_GAMMA)
    # FHL 2005: customer 4, their ID 1 (x=2, t_x=30.43, T=38.86) expects 1.226 purchases in the next 39 weeks.
    assert out["expected_purchases"]["00004"] == pytest.approx(1.226, rel=0.01)
    assert set(out["clv"]) == set(out["expected_purchases"])


def test_summary_monetary_value_and_published_spend() -> None:
    rows = np.genfromtxt(
        cdnow_dir() / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )
    from tenure.reports.clv import gamma_gamma

    fitted = gamma_gamma.fit(rows["x"], rows["zbar"])
    _close(vars(fitted), GAMMA_GAMMA)
