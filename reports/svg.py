"""The report's figures, drawn as inline SVG by hand: a few kilobytes each, no script, no font
or file fetched, and they print exactly at the width they are drawn.

Every figure is ``WIDTH`` user units wide and scales to its box (at most 170 mm, the content
width of A4 and US Letter portrait with 20 mm margins). Labels sit above their bars, so no
label is ever cut at the chart's edge. Text is escaped; colours are the Okabe-Ito palette the
dashboard uses (colour-blind safe, and each mark also has a shape or a label).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 640
BLUE, ORANGE, GREY, LIGHT = "#0072B2", "#E69F00", "#555555", "#E6E6E6"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
LEFT, RIGHT = 16, 16  # margins inside the figure


def _svg(height: float, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'width="100%" role="img" aria-label="{escape(title)}" style="{FONT}">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, size: int = 13, anchor: str = "start",
          weight: str = "normal", fill: str = "#111") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}">{escape(text)}</text>')


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (the 1-2-5 steps)."""
    span = high - low or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= m * step)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _axis_range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min([0.0, *values]), max([0.0, *values])
    pad = (high - low) * 0.08 or 0.5
    return low - pad, high + pad


def interval_chart(rows: Sequence[dict], title: str, axis_title: str) -> str:
    """A forest of estimates with their intervals: one row per entry of ``rows`` (``label``,
    ``estimate``, ``low``, ``high``; an entry whose estimate is None is drawn as "not
    shown"), the label above each bar, zero marked."""
    shown = [r for r in rows if r["estimate"] is not None]
    values = [v for r in shown for v in (r["low"], r["high"], r["estimate"]) if v is not None]
    low, high = _axis_range(values or [1.0])
    plot = WIDTH - LEFT - RIGHT

    def x(v: float) -> float:
        return LEFT + (v - low) / (high - low) * plot

    row_h, top = 44, 8
    body = []
    height = top + row_h * len(rows) + 46
    ticks = _ticks(low, high)
    for tick in ticks:
        body.append(_text(x(tick), height - 24, f"{tick:g}", 11, "middle", fill=GREY))
    for i, r in enumerate(rows):
        y = top + i * row_h
        body.append(_text(LEFT, y + 14, r["label"], 13, weight="600"))
        mid = y + 30
        # the grid and the zero line run only through the bar's band, never through a label
        for tick in ticks:
            body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{mid - 11}" '
                        f'y2="{mid + 11}" stroke="{LIGHT}"/>')
        body.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{mid - 11}" y2="{mid + 11}" '
                    f'stroke="{GREY}" stroke-width="1.5"/>')
        if r["estimate"] is None:
            body.append(_text(x(0) + 6, mid + 4, "not shown", 12, fill=GREY))
            continue
        if r["low"] is not None and r["high"] is not None:
            body.append(f'<line x1="{x(r["low"]):.1f}" x2="{x(r["high"]):.1f}" y1="{mid}" '
                        f'y2="{mid}" stroke="{BLUE}" stroke-width="3"/>')
            for end in (r["low"], r["high"]):
                body.append(f'<line x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{mid - 6}" '
                            f'y2="{mid + 6}" stroke="{BLUE}" stroke-width="2"/>')
        body.append(f'<circle cx="{x(r["estimate"]):.1f}" cy="{mid}" r="6" fill="{BLUE}"/>')
        if r.get("text"):
            right = x(r["high"] if r["high"] is not None else r["estimate"])
            anchor, at = ("start", right + 8) if right < WIDTH - 150 else \
                ("end", x(r["low"] if r["low"] is not None else r["estimate"]) - 8)
            body.append(_text(at, mid + 4, r["text"], 11, anchor, fill=GREY))
    body.append(_text(WIDTH / 2, height - 6, axis_title, 12, "middle", fill=GREY))
    return _svg(height, body, title)


def flow_bars(steps: Sequence[dict], title: str) -> str:
    """The participant flow: one bar per step (``label``, ``n``; None is "not shown"), as a
    share of the first step, with the count beside it."""
    first = next((s["n"] for s in steps if s["n"]), None) or 1
    row_h, top, label_w = 30, 6, 170
    plot = WIDTH - LEFT - RIGHT - label_w - 70
    body = []
    for i, s in enumerate(steps):
        y = top + i * row_h
        body.append(_text(LEFT, y + 18, s["label"], 13))
        if s["n"] is None:
            body.append(_text(LEFT + label_w, y + 18, "not shown", 12, fill=GREY))
            continue
        w = max(plot * s["n"] / first, 1.0)
        body.append(f'<rect x="{LEFT + label_w}" y="{y + 5}" width="{w:.1f}" height="18" '
                    f'fill="{BLUE if i else GREY}"/>')
        body.append(_text(LEFT + label_w + w + 6, y + 18, f"{s['n']:,}", 12))
    return _svg(top + row_h * len(steps) + 6, body, title)


def followup_chart(points: Sequence[dict], title: str, axis_title: str) -> str:
    """Change from before training at each later wave (``label``, ``estimate``, ``low``,
    ``high``, optional ``completers``: the completers-only change, drawn hollow) with the
    zero line: is the change still there months later?"""
    values = [v for p in points for v in (p["low"], p["high"], p["estimate"],
                                          p.get("completers")) if v is not None]
    low, high = _axis_range(values or [1.0])
    top, bottom, height = 10, 56, 230
    plot_h = height - top - bottom
    left = LEFT + 44
    step = (WIDTH - left - RIGHT) / max(len(points), 1)

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * plot_h

    body = []
    for tick in _ticks(low, high, 4):
        body.append(f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                    f'y2="{y(tick):.1f}" stroke="{LIGHT}"/>')
        body.append(_text(left - 6, y(tick) + 4, f"{tick:g}", 11, "end", fill=GREY))
    body.append(f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                f'stroke="{GREY}" stroke-width="1.5"/>')
    for i, p in enumerate(points):
        cx = left + step * (i + 0.5)
        body.append(_text(cx, height - bottom + 18, p["label"], 12, "middle"))
        if p["estimate"] is None:
            body.append(_text(cx, y(0) - 8, "not shown", 11, "middle", fill=GREY))
            continue
        if p["low"] is not None and p["high"] is not None:
            body.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(p["low"]):.1f}" '
                        f'y2="{y(p["high"]):.1f}" stroke="{BLUE}" stroke-width="3"/>')
        body.append(f'<circle cx="{cx:.1f}" cy="{y(p["estimate"]):.1f}" r="6" fill="{BLUE}"/>')
        if p.get("completers") is not None:
            body.append(f'<circle cx="{cx + 16:.1f}" cy="{y(p["completers"]):.1f}" r="5" '
                        f'fill="white" stroke="{ORANGE}" stroke-width="2"/>')
    legend_y = height - 14
    body.append(f'<circle cx="{left + 6}" cy="{legend_y - 4}" r="5" fill="{BLUE}"/>')
    body.append(_text(left + 16, legend_y, "everyone (model using every wave), with its "
                      "likely range", 11, fill=GREY))
    body.append(f'<circle cx="{left + 366}" cy="{legend_y - 4}" r="4" fill="white" '
                f'stroke="{ORANGE}" stroke-width="2"/>')
    body.append(_text(left + 376, legend_y, "those who answered that survey", 11, fill=GREY))
    body.append(_text(12, top + plot_h / 2, axis_title, 11, "middle", fill=GREY)
                .replace("<text ", f'<text transform="rotate(-90 12 {top + plot_h / 2:.0f})" '))
    return _svg(height, body, title)
