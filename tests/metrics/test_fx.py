"""Exchange rates come from settings (`[fx_rates]` in tenure.toml, TENURE_FX_RATES) and reach
the summary, the movements and the cohorts.

Book: one account paying 100.00 EUR a month since March 2025, reporting currency USD.
- default rate EUR = 1.0350 USD → 103.50 USD of MRR;
- tenure.toml `[fx_rates] EUR = 1.10` → 110.00; TENURE_FX_RATES='{"EUR": 1.2}' → 120.00
  (the environment wins over the file, as for every setting).
"""

from __future__ import annotations

import json

import pytest

from tenure.cli.main import app
from tenure.config import DEFAULT_FX_RATES, Settings
from tenure.metrics.currency import FX_RATES, settings_rates


def _csv(path, header, rows):
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


@pytest.fixture
def book(cli, tmp_path, frozen_clock, monkeypatch):
    """Import one EUR account (and, in 'chf.csv', a CHF one kept aside); return the data dir."""
    monkeypatch.delenv("TENURE_FX_RATES", raising=False)
    monkeypatch.setenv("TENURE_CONFIG", str(tmp_path / "absent.toml"))
    data = str(tmp_path / "data")
    accounts = _csv(
        tmp_path / "accounts.csv",
        ["account_id", "name", "created_at"],
        [["a1", "Acme", "2025-01-01"], ["a2", "Zurich", "2025-01-01"]],
    )
    subs = _csv(
        tmp_path / "subscriptions.csv",
        ["subscription_id", "account_id", "plan", "mrr", "currency", "started_at"],
        [["s1", "a1", "pro", "100", "EUR", "2025-03-01"]],
    )
    for kind, path in (("accounts", accounts), ("subscriptions", subs)):
        result = cli.invoke(app, ["--data-dir", data, "import", kind, str(path)])
        assert result.exit_code == 0, result.output
    return data


def _run(cli, data, *args, env=None):
    result = cli.invoke(app, ["--data-dir", data, *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def _mrr_end(cli, data, env=None):
    result = _run(cli, data, "metrics", "summary", "--month", "2025-05", "--json", env=env)
    return json.loads(result.stdout)["mrr_end"]


def test_default_rates_are_the_fixed_table():
    assert settings_rates(DEFAULT_FX_RATES) == dict(FX_RATES)


def test_toml_and_env_rates_change_the_summary(cli, book, tmp_path):
    assert _mrr_end(cli, book) == 103.5
    toml = tmp_path / "tenure.toml"
    toml.write_text("[fx_rates]\nEUR = 1.10\n")
    assert _mrr_end(cli, book, env={"TENURE_CONFIG": str(toml)}) == 110.0
    env = {"TENURE_CONFIG": str(toml), "TENURE_FX_RATES": '{"EUR": 1.2}'}
    assert _mrr_end(cli, book, env=env) == 120.0


def test_rates_reach_movements_and_cohorts(cli, book, tmp_path):
    env = {"TENURE_FX_RATES": '{"EUR": 1.10}'}
    target = tmp_path / "moves.csv"
    args = ["metrics", "movements", "--from", "2025-03", "--to", "2025-05", "--csv", str(target)]
    _run(cli, book, *args, env=env)
    assert "110.0" in target.read_text()
    args = ["analyze", "cohorts", "--from", "2025-03", "--to", "2025-05", "--json"]
    report = json.loads(_run(cli, book, *args, env=env).stdout)
    assert [c["mrr0"] for c in report["cohorts"]] == [110.0]


def test_a_currency_without_a_rate_names_it_and_the_fix(cli, book, tmp_path):
    subs = _csv(
        tmp_path / "chf.csv",
        ["subscription_id", "account_id", "plan", "mrr", "currency", "started_at"],
        [["s2", "a2", "pro", "50", "CHF", "2025-03-01"]],
    )
    _run(cli, book, "import", "subscriptions", str(subs))
    args = ["--data-dir", book, "metrics", "summary", "--month", "2025-05", "--json"]
    result = cli.invoke(app, args, env={"COLUMNS": "4000"})
    assert result.exit_code == 0, result.output  # the CHF row is left out, not a stop
    message = " ".join(result.stderr.split())
    assert "no exchange rate for CHF" in message and "tenure dq report" in message
    assert "fx_rates table of tenure.toml" in message and "TENURE_FX_RATES" in message
    assert json.loads(result.stdout)["mrr_end"] == 158.5 - 55.0
    assert _mrr_end(cli, book, env={"TENURE_FX_RATES": '{"CHF": 1.10}'}) == 158.5


def test_settings_merge_rates_over_the_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("TENURE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("TENURE_FX_RATES", '{"eur": 1.08, "CHF": 1.13}')
    assert Settings().fx_rates == {"USD": 1.0, "EUR": 1.08, "GBP": 1.247, "CHF": 1.13}


@pytest.mark.parametrize(
    ("rates", "message"), [('{"EURO": 1.1}', "ISO 4217"), ('{"EUR": 0}', "positive")]
)
def test_invalid_rates_are_refused(monkeypatch, tmp_path, rates, message):
    monkeypatch.setenv("TENURE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("TENURE_FX_RATES", rates)
    with pytest.raises(ValueError, match=message):
        Settings()


def test_gross_margin_must_be_a_fraction(monkeypatch, tmp_path):
    monkeypatch.setenv("TENURE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("TENURE_GROSS_MARGIN", "80")
    with pytest.raises(ValueError, match="gross_margin"):
        Settings()
