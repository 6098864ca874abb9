"""`tenure clv fit` reads files in SQL and names the file, line and column of a bad cell."""

from __future__ import annotations

import json
from datetime import date

from tenure.cli.main import app
from tenure.reports.clv.transactions import summarise_transactions

TX_HEADER = "who,when,paid\n"


def _fit(cli, *args: str):
    return cli.invoke(app, ["clv", "fit", *args])


def _tx(cli, path, *extra: str):
    cols = ["--customer", "who", "--date", "when", "--amount", "paid"]
    return _fit(cli, "--transactions", str(path), *cols, *extra)


def test_bad_date_names_file_line_and_column(cli, tmp_path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(TX_HEADER + "c1,2024-01-02,10\nc1,2024-13-40,5\n")
    result = _tx(cli, path)
    assert result.exit_code == 2
    assert "tx.csv: line 3, column 'when'" in result.output
    assert "2024-13-40" in result.output


def test_bad_amount_and_missing_column(cli, tmp_path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(TX_HEADER + "c1,2024-01-02,ten\n")
    assert "line 2, column 'paid'" in _tx(cli, path).output
    summary = tmp_path / "s.csv"
    summary.write_text("id,frequency,T\n1,0,3\n")
    result = _fit(cli, "--summary", str(summary))
    assert result.exit_code == 2 and "missing column(s) recency" in result.output


def test_summary_recency_beyond_t_is_rejected(cli, tmp_path) -> None:
    summary = tmp_path / "s.csv"
    summary.write_text("id,frequency,recency,T\n1,0,0,3\n2,2,5,4\n")
    result = _fit(cli, "--summary", str(summary))
    assert result.exit_code == 2 and "line 3: recency must lie between 0 and T" in result.output


def test_one_input_only(cli, tmp_path) -> None:
    result = _fit(cli, "--summary", "a.csv", "--transactions", "b.csv")
    assert result.exit_code == 2 and "exactly one of" in result.output


def test_transactions_summary_in_days_and_ids_carried(cli, tmp_path) -> None:
    rows = ["a,2024-01-01,10", "a,2024-01-01,5", "a,2024-01-11,20", "a,2024-01-21,40"]
    rows += ["b,2024-01-06,7", "c,2024-01-16,9", "c,2024-01-31,11", "d,2024-02-10,3"]
    path = tmp_path / "tx.csv"
    path.write_text(TX_HEADER + "\n".join(rows) + "\n")
    s = summarise_transactions(path, "who", "when", "paid", date(2024, 1, 31), unit="days")
    assert s.ids == ["a", "b", "c"]  # d bought after the calibration end
    assert s.frequency.tolist() == [2, 0, 1]  # two purchases on 1 January count once
    assert s.recency.tolist() == [20, 0, 15]
    assert s.T.tolist() == [30, 25, 15]
    assert s.monetary_value[0] == 30 and s.monetary_value[2] == 11
    result = _tx(cli, path, "--time-unit", "days", "--json", "--predict-days", "30")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["time_unit"] == "days" and out["customers"] == 4
    assert set(out["expected_purchases"]) == {"a", "b", "c", "d"}
