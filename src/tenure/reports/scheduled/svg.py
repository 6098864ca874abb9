"""Charts as inline SVG drawn on the server: the PDF and email reports carry no script.

Pure functions: values in, an SVG element (Markup) out. Months are categories along x, values
share one linear y axis with 4–6 round ticks; text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from tenure.rendering.charts import COLOURS, INK, MUTED

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 24, 28
GRID = "#e5e7eb"
BAND = "#2563eb"


def short(value: float) -> str:
    """Return a number as axis text: 950, 12k, 1.2M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(math.ceil((high - first) / step) + 1)]


class Frame:
    """The plot area: maps category index and value to SVG coordinates."""

    def __init__(self, count: int, low: float, high: float) -> None:
        """Fit COUNT categories and the value range (extended to round ticks)."""
        self.count = max(count, 1)
        self.ticks = nice_ticks(low, high)
        self.low, self.high = self.ticks[0], self.ticks[-1]

    def x(self, index: float) -> float:
        """Return the x of a category's centre."""
        step = (WIDTH - LEFT - RIGHT) / self.count
        return LEFT + step * (index + 0.5)

    def y(self, value: float) -> float:
        """Return the y of a value."""
        share = (value - self.low) / (self.high - self.low)
        return TOP + (1 - share) * (HEIGHT - TOP - BOTTOM)

    def axes(self, labels: Sequence[str]) -> list[str]:
        """Return the grid lines, y tick labels and every few x labels."""
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
            parts.append(_text(LEFT - 6, y + 4, short(tick), anchor="end"))
        every = max(1, math.ceil(len(labels) / 8))
        for i, label in enumerate(labels):
            if i % every == 0 or i == len(labels) - 1:
                parts.append(_text(self.x(i), HEIGHT - 8, label, anchor="middle"))
        return parts


def _text(x: float, y: float, text: str, *, anchor: str = "start", colour: str = MUTED) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" fill="{colour}" '
            f'text-anchor="{anchor}">{escape(text)}</text>')  # fmt: skip


def _svg(parts: list[str], title: str, height: float = HEIGHT) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}" font-family="sans-serif">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], LEFT
    for name, colour in items:
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, 15, name, colour=INK))
        x += 24 + 6 * len(name)
    return parts


def _polyline(
    frame: Frame, points: Sequence[tuple[int, float]], colour: str, dash: str = ""
) -> str:
    coords = " ".join(f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in points)
    style = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{style}/>'


def _area(
    frame: Frame, start: int, low: Sequence[float], high: Sequence[float], alpha: float
) -> str:
    top = [f"{frame.x(start + i):.1f},{frame.y(v):.1f}" for i, v in enumerate(high)]
    bottom = [f"{frame.x(start + i):.1f},{frame.y(v):.1f}" for i, v in enumerate(low)][::-1]
    return f'<polygon points="{" ".join(top + bottom)}" fill="{BAND}" fill-opacity="{alpha}"/>'


def band_chart(
    actual: Sequence[tuple[str, float]],
    ahead: Sequence[tuple[str, dict[str, float]]],
    *,
    title: str,
    colour: str = INK,
) -> Markup:
    """Return actuals, then the point forecast inside its 95 % and 80 % bands."""
    labels = [m for m, _ in actual] + [m for m, _ in ahead]
    values = [v for _, v in actual] + [c[k] for _, c in ahead for k in ("lo95", "hi95")]
    frame = Frame(len(labels), min(0.0, *values), max(values))
    start = len(actual)
    cells = [c for _, c in ahead]
    parts = frame.axes(labels)
    if cells:
        parts.append(
            _area(frame, start, [c["lo95"] for c in cells], [c["hi95"] for c in cells], 0.12)
        )
        parts.append(
            _area(frame, start, [c["lo80"] for c in cells], [c["hi80"] for c in cells], 0.25)
        )
        joined = [(start - 1, actual[-1][1])] if actual else []
        points = joined + [(start + i, c["point"]) for i, c in enumerate(cells)]
        parts.append(_polyline(frame, points, colour, dash="5,3"))
    parts.append(_polyline(frame, [(i, v) for i, (_, v) in enumerate(actual)], colour))
    legend = [("actual", colour), ("80 % interval", "#9db8f3"), ("95 % interval", "#d3e0fb")]
    return _svg(parts + _legend(legend), title)


def movement_bars(months: Sequence[dict], *, title: str = "MRR movements") -> Markup:
    """Return each month's MRR movements as stacked bars: gains above zero, losses below."""
    gains, losses = ("new", "expansion", "reactivation"), ("contraction", "churn")
    labels = [m["month"] for m in months]
    up = [sum(m.get(k) or 0 for k in gains) for m in months]
    down = [-sum(m.get(k) or 0 for k in losses) for m in months]
    frame = Frame(len(labels), min(0.0, *down), max(1.0, *up))
    width = 0.6 * (WIDTH - LEFT - RIGHT) / frame.count
    parts = frame.axes(labels)
    for i, month in enumerate(months):
        for keys, sign in ((gains, 1), (losses, -1)):
            base = 0.0
            for key in keys:
                value = sign * (month.get(key) or 0)
                y0, y1 = frame.y(base), frame.y(base + value)
                parts.append(f'<rect x="{frame.x(i) - width / 2:.1f}" y="{min(y0, y1):.1f}" '
                             f'width="{width:.1f}" height="{abs(y1 - y0):.1f}" fill="{COLOURS[key]}"/>')  # fmt: skip
                base += value
    return _svg(parts + _legend([(k, COLOURS[k]) for k in (*gains, *losses)]), title)


def rate_lines(
    months: Sequence[dict], series: Sequence[tuple[str, str, str]], *, title: str
) -> Markup:
    """Return one line per (key, name, colour) of fractions over the months (e.g. NRR, GRR)."""
    labels = [m["month"] for m in months]
    values = [m[k] for m in months for k, _, _ in series if m.get(k) is not None]
    if not values:
        values = [0.0, 1.0]
    frame = Frame(len(labels), min(values), max(values))
    parts = frame.axes(labels)
    for key, _name, colour in series:
        points = [(i, m[key]) for i, m in enumerate(months) if m.get(key) is not None]
        parts.append(_polyline(frame, points, colour))
    return _svg(parts + _legend([(name, colour) for _, name, colour in series]), title)


def tier_bars(counts: Sequence[tuple[str, int, str]], *, title: str) -> Markup:
    """Return one horizontal bar per (tier, accounts, colour) with its count."""
    total = max([n for _, n, _ in counts] + [1])
    row = 30.0
    parts = []
    for i, (tier, n, colour) in enumerate(counts):
        y = 8 + i * row
        length = (WIDTH - LEFT - RIGHT - 60) * n / total
        parts.append(_text(LEFT + 40, y + row * 0.6, tier, anchor="end", colour=INK))
        parts.append(f'<rect x="{LEFT + 46}" y="{y + 4:.1f}" width="{length:.1f}" '
                     f'height="{row - 8:.1f}" fill="{colour}"/>')  # fmt: skip
        parts.append(_text(LEFT + 52 + length, y + row * 0.6, f"{n:,}", colour=INK))
    return _svg(parts, title, height=16 + row * len(counts))
