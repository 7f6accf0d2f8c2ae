#!/usr/bin/env python3
"""SVG line charts for the hub benchmark (bench/hub.py), drawn with the standard library only.

Issue 22 asks for a chart per scenario "drawn by the benchmark itself": a fresh clone must be able
to redraw docs/images/bench-hub-*.svg from one command, with no plotting package to install. The
charts are simple on purpose: log-log axes (rates span decades, and a server that saturates shows
as a line bending flat), one polyline per server, a legend, ticks labelled 10, 1k, 1M.

    python3 bench/chart.py --selftest    # draws a sample and checks that it is well-formed XML
"""
from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ElementTree
from html import escape

WIDTH, HEIGHT = 640, 400
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 36, 92
# Distinguishable in colour and, for readers who cannot tell the colours apart, in dash pattern.
STYLES = [("#1f77b4", ""), ("#d62728", "6,3"), ("#2ca02c", "2,3"), ("#ff7f0e", "8,3,2,3"),
          ("#9467bd", "4,4"), ("#8c564b", "1,2"), ("#17becf", "10,2"), ("#7f7f7f", "3,1")]


def si(value: float) -> str:
    """10 -> "10", 2000 -> "2k", 1500000 -> "1.5M": short enough for an axis tick."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def _log_range(values: list[float]) -> tuple[float, float]:
    """Decade-aligned bounds that hold every value (log axes need positive values)."""
    low, high = min(values), max(values)
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if hi == lo:
        hi += 1
    return lo, hi


def _ticks(lo: int, hi: int) -> list[float]:
    """Every decade, plus 2x and 5x when the axis spans few decades (else too sparse to read)."""
    steps = (1, 2, 5) if hi - lo <= 3 else (1,)
    return [m * 10 ** e for e in range(lo, hi + 1) for m in steps if m * 10 ** e <= 10 ** hi]


def line_chart(title: str, x_label: str, y_label: str,
               series: dict[str, list[tuple[float, float]]], note: str = "") -> str:
    """An SVG document: one line per series (name -> [(x, y)]), both axes logarithmic. Points
    with a non-positive or missing coordinate are left out (a failed run has no rate)."""
    clean = {name: [(x, y) for x, y in points if x and y and x > 0 and y > 0]
             for name, points in series.items()}
    xs = [x for points in clean.values() for x, _ in points] or [1.0, 10.0]
    ys = [y for points in clean.values() for _, y in points] or [1.0, 10.0]
    x_lo, x_hi = _log_range(xs)
    y_lo, y_hi = _log_range(ys)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(x: float) -> float:
        return MARGIN_LEFT + (math.log10(x) - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return MARGIN_TOP + plot_h - (math.log10(y) - y_lo) / (y_hi - y_lo) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14" '
           f'font-weight="bold">{escape(title)}</text>']
    for tick in _ticks(x_lo, x_hi):
        x = px(tick)
        out.append(f'<line x1="{x:.1f}" y1="{MARGIN_TOP}" x2="{x:.1f}" '
                   f'y2="{MARGIN_TOP + plot_h}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x:.1f}" y="{MARGIN_TOP + plot_h + 14}" '
                   f'text-anchor="middle">{si(tick)}</text>')
    for tick in _ticks(y_lo, y_hi):
        y = py(tick)
        out.append(f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{MARGIN_LEFT + plot_w}" '
                   f'y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{si(tick)}</text>')
    out.append(f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" '
               f'fill="none" stroke="#333"/>')
    out.append(f'<text x="{MARGIN_LEFT + plot_w / 2}" y="{MARGIN_TOP + plot_h + 32}" '
               f'text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text transform="translate(14,{MARGIN_TOP + plot_h / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    # The legend sits under the plot, so that no line is hidden behind it.
    legend_y = MARGIN_TOP + plot_h + 50
    column_w = plot_w / 3
    for index, (name, points) in enumerate(clean.items()):
        colour, dash = STYLES[index % len(STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if points:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(points))
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                       f'stroke-width="2"{dash_attr}/>')
            for x, y in points:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" '
                           f'fill="{colour}"/>')
        lx = MARGIN_LEFT + (index % 3) * column_w
        ly = legend_y + (index // 3) * 15
        out.append(f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 22:.1f}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{lx + 27:.1f}" y="{ly}">{escape(name)}'
                   f'{"" if points else " (no data)"}</text>')
    if note:
        out.append(f'<text x="{WIDTH - MARGIN_RIGHT}" y="{HEIGHT - 6}" text-anchor="end" '
                   f'fill="#666" font-size="10">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def selftest() -> int:
    sample = {
        "duplex": [(50, 50_000), (200, 200_000), (800, 790_000), (3000, 2_900_000)],
        "sockudo": [(50, 50_000), (200, 70_000)],
        "socketio <&> odd name": [(50, 49_000), (200, 66_000), (800, 0)],
        "nothing": [],
    }
    svg = line_chart("H1 sample: 1,000 subscribers", "publications/s offered", "deliveries/s",
                     sample, note="sample")
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg"), root.tag
    polylines = [e for e in root.iter() if e.tag.endswith("polyline")]
    assert len(polylines) == 3, len(polylines)  # "nothing" has no line, only a legend entry
    labels = {e.text for e in root.iter() if e.tag.endswith("text")}
    assert {"1M", "100", "1k"} <= labels, labels
    assert si(1_500_000) == "1.5M" and si(10_000) == "10k" and si(5) == "5"
    print("chart selftest: ok")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    print(__doc__.strip().split("\n\n")[0], file=sys.stderr)
    print(f"usage: python3 {sys.argv[0]} --selftest", file=sys.stderr)
    sys.exit(2)
