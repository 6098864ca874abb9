"""Scheduled reports, pure parts: SVG charts, due periods, the PDF attachment's MIME."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from tenure.alerts.mime import email_bytes
from tenure.reports.scheduled import svg
from tenure.reports.scheduled.models import ReportSchedule
from tenure.reports.scheduled.schedule import due_moment, due_period, period_of


def _schedule(**values) -> ReportSchedule:
    base = {"name": "weekly", "cadence": "weekly", "weekday": 0, "day": 1, "hour": 7}
    return ReportSchedule(**(base | {"recipients": ["a@x.io"], "enabled": True} | values))


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert svg.nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert svg.nice_ticks(-2300, 7800)[0] <= -2300 and svg.nice_ticks(-2300, 7800)[-1] >= 7800
    assert svg.short(54_707) == "54.7k" and svg.short(1_250_000) == "1.25M"


def test_band_chart_draws_two_bands_a_dashed_forecast_and_escapes_text() -> None:
    cell = {"point": 12.0, "lo80": 11.0, "hi80": 13.0, "lo95": 10.0, "hi95": 14.0}
    chart = str(svg.band_chart([("2026-01", 9.0), ("2026-02", 10.0)], [("<b>", cell)], title="t"))
    assert chart.startswith("<svg") and chart.count("<polygon") == 2
    assert 'stroke-dasharray="5,3"' in chart and "<b>" not in chart and "&lt;b&gt;" in chart


def test_weekly_period_is_the_iso_week_of_the_last_send_moment() -> None:
    schedule = _schedule(weekday=0, hour=7)  # Mondays 07:00 UTC
    monday_early = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    assert due_moment(schedule, monday_early) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert period_of(schedule, due_moment(schedule, monday_early)) == "2026-W49"
    assert due_period(schedule, datetime(2026, 12, 7, 7, 0, tzinfo=UTC)) == "2026-W50"
    schedule.last_period = "2026-W50"
    assert due_period(schedule, datetime(2026, 12, 9, 12, 0, tzinfo=UTC)) is None


def test_monthly_period_is_the_month_before_and_missed_ones_catch_up_once() -> None:
    schedule = _schedule(cadence="monthly", day=2, hour=6)
    assert due_period(schedule, datetime(2026, 12, 1, 23, 0, tzinfo=UTC)) == "2026-10"
    assert due_period(schedule, datetime(2026, 12, 2, 6, 0, tzinfo=UTC)) == "2026-11"
    schedule.last_period = "2026-09"  # down for two months: only the latest period is sent
    assert due_period(schedule, datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == "2026-11"
    assert due_period(_schedule(recipients=[]), datetime(2027, 1, 1, tzinfo=UTC)) is None


def test_attachment_travels_as_base64_inside_multipart_mixed() -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 4
    attachment = {"filename": "tenure-board-2026-11.pdf", "content_type": "application/pdf",
                  "data": base64.b64encode(pdf).decode("ascii")}  # fmt: skip
    raw = email_bytes(
        [("To", "a@x.io"), ("Subject", "Board")], "See the PDF.", None, "k", [attachment]
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content().strip() == "See the PDF."
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "tenure-board-2026-11.pdf"
    assert part.get_content() == pdf
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize("html", [None, "<p>hi</p>"])
def test_without_attachments_the_email_is_unchanged(html) -> None:
    raw = email_bytes([("To", "a@x.io")], "text", html, "k")
    assert b"multipart/mixed" not in raw
