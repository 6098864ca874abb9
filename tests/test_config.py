"""Settings come from tenure.toml and TENURE_* variables; the environment wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.config import Settings


@pytest.mark.sqlite_only
def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("TENURE_DATA_DIR", "TENURE_DATABASE_URL", "TENURE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.data_dir == Path(".tenure")
    assert settings.app_database_url == f"sqlite:///{(tmp_path / '.tenure' / 'tenure.db')}"
    assert settings.warehouse_path == Path(".tenure") / "warehouse.duckdb"


def test_toml_file_then_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENURE_CONFIG", raising=False)
    (tmp_path / "tenure.toml").write_text(
        'data_dir = "from-toml"\nreporting_currency = "eur"\nlog_format = "json"\n'
    )
    monkeypatch.delenv("TENURE_DATA_DIR", raising=False)
    assert Settings().data_dir == Path("from-toml")
    assert Settings().reporting_currency == "EUR"
    monkeypatch.setenv("TENURE_DATA_DIR", "from-env")
    assert Settings().data_dir == Path("from-env")
    assert Settings(data_dir=Path("from-flag")).data_dir == Path("from-flag")


def test_config_file_named_by_tenure_config(monkeypatch, tmp_path):
    config = tmp_path / "elsewhere.toml"
    config.write_text('database_url = "postgresql+psycopg://x@h/db"\n')
    monkeypatch.setenv("TENURE_CONFIG", str(config))
    monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    assert Settings().app_database_url == "postgresql+psycopg://x@h/db"


def test_invalid_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TENURE_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()


@pytest.mark.sqlite_only
def test_data_dir_flag_reaches_commands(cli, tmp_path):
    from tenure.cli.main import app

    result = cli.invoke(app, ["--data-dir", str(tmp_path / "d"), "init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "tenure.db").exists()
    assert (tmp_path / "d" / "warehouse.duckdb").exists()
