"""Scheduled reports end to end: the board pack's PDF pages, and a schedule sent by real SMTP."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from tests.alerts.conftest import SmtpSink, free_port
from tests.web.conftest import seed_book

from tenure import clock
from tenure.alerts.delivery import deliver_due
from tenure.alerts.models import AlertDelivery
from tenure.db.session import get_engine, session_scope
from tenure.reports.scheduled.schedule import render_report, set_schedule
from tenure.reports.scheduled.sending import run_due

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    """Return settings of a simulated book with 14 months of billing, scores and plays."""
    return seed_book(tmp_path_factory.mktemp("reports"), accounts=30, months=14)


@pytest.mark.slow  # seeds a book, forecasts it, prints a five-page PDF (~6 s unloaded)
@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) is not installed")
def test_board_pack_pdf_has_its_sections_on_pages(settings, tmp_path: Path) -> None:
    engine = get_engine(settings)
    with session_scope(engine) as session:
        rendered = render_report(session, settings, "board", clock.now().date())
    assert "<script" not in rendered.html and rendered.html.count("<svg") >= 5
    pdf = tmp_path / "board.pdf"
    pdf.write_bytes(rendered.pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    pages = text.split("\f")[:-1]
    assert len(pages) >= 3 and pages[0].lstrip().startswith("Monthly board pack")
    for heading in ("Headlines", "MRR movements", "Revenue retention and churn", "Forecast",
                    "Health tier mix", "Top risks", "Plays' measured effects"):  # fmt: skip
        assert heading in text, heading
    assert "ROI" in text and "scorecard" in text.lower()  # measured, or said to be unavailable
    assert f"page 1 of {len(pages)}" in pages[0]
    mrr = rendered.content["kpis"]["mrr_end"]["value"]
    assert f"{mrr:,.0f}" in pages[0]  # the headline MRR is the served month's
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)  # fmt: skip
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    colours = image.getcolors(maxcolors=100_000) or []
    coloured = sum(n for n, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 500  # the movement bars were drawn (coloured pixels, not just text)


def test_a_due_schedule_is_sent_once_with_the_pdf_attached(settings, monkeypatch) -> None:
    sink = SmtpSink(port=free_port())
    from aiosmtpd.controller import Controller

    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        local = settings.model_copy(update={"smtp_port": sink.port})
        engine = get_engine(local)
        now = datetime.combine(clock.now().date(), datetime.min.time(), UTC).replace(hour=12)
        with session_scope(engine) as session:
            set_schedule(session, "weekly", recipients=["ceo@example.com", "vp@example.com"],
                         weekday=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()],
                         hour=9)  # fmt: skip
            first = run_due(session, local, now)
        with session_scope(engine) as session:
            again = run_due(session, local, now)
        deliver_due(engine, local)
    finally:
        controller.stop()
    assert [item["queued"] for item in first] == [2] and again == []
    assert sorted(m["To"] for m in sink.messages) == ["ceo@example.com", "vp@example.com"]
    message = sink.messages[0]
    (attachment,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert attachment.get_payload(decode=True).startswith(b"%PDF-")
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(AlertDelivery).where(AlertDelivery.purpose == "report"))
        assert {r.status for r in rows} == {"sent"}
