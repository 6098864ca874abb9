"""Tenure errors reach the user verbatim, with their exit code."""

from __future__ import annotations

from tenure.cli.main import app
from tenure.errors import InputError


def test_error_text_with_brackets_is_printed_verbatim(cli, monkeypatch, tmp_path):
    def refuse(*_args, **_kwargs):
        raise InputError("add CHF to the [fx_rates] table")

    monkeypatch.setattr("tenure.cli.init.open_warehouse", refuse)
    result = cli.invoke(app, ["--data-dir", str(tmp_path / "data"), "init"])
    assert result.exit_code == 2
    assert "error: add CHF to the [fx_rates] table" in result.stderr
