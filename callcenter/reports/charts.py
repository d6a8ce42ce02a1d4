"""Charts as inline SVG rendered on the server (no script, no external service).

Stacked bars of counts with an optional line of a 0..1 rate on a right-hand
0–100 % axis; each bar and point carries a ``<title>`` (a hover tooltip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from callcenter.kpis import CallFigures
from callcenter.reports.build import Report

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 28, 46
COLOURS = ("#2b6cb0", "#dd6b20", "#c53030", "#718096", "#38a169")
LINE_COLOUR = "#2f855a"


@dataclass(frozen=True)
class Series:
    """One stacked series: a name and a value per label."""

    name: str
    values: Sequence[float | None]


def _nice_max(value: float) -> float:
    """The smallest whole "round" number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) ≥ ``value``."""
    step = 1.0
    while True:
        for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            if m * step >= value and (m * step).is_integer():
                return m * step
        step *= 10


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series],
              rate: Series | None = None) -> str:
    """An SVG of ``series`` stacked per label, and ``rate`` (0..1, None = gap) as a line."""
    n = max(len(labels), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max([sum(x or 0 for x in v)
                   for v in zip(*[s.values for s in series], strict=True)] or [0])
    top = 4 * _nice_max(highest / 4)                     # four whole-number grid steps
    slot = plot_w / n
    bar_w = max(slot * 0.7, 1.0)
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" aria-label="{escape(title)}" class="chart">'),
           f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e2e8f0"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" '
                   f'text-anchor="end">{top * i / 4:g}</text>')
        if rate is not None:
            out.append(f'<text x="{LEFT + plot_w + 4}" y="{y + 4:.1f}" font-size="10">'
                       f'{25 * i}%</text>')
    label_w = 6.5 * max([len(label) for label in labels] or [0]) + 6
    every = max(1, math.ceil(label_w / slot))              # labels that fit side by side
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = float(TOP + plot_h)
        for k, s in enumerate(series):
            value = s.values[i] or 0.0
            h = plot_h * value / top
            if h > 0:
                base -= h
                out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" '
                           f'height="{h:.1f}" fill="{COLOURS[k % len(COLOURS)]}">'
                           f'<title>{escape(label)} {escape(s.name)}: {value:g}</title>'
                           '</rect>')
        if i % every == 0:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                       f'text-anchor="middle">{escape(label)}</text>')
    if rate is not None:
        out.append(_line(labels, rate, slot, plot_h))
    out.append(_legend([s.name for s in series], rate.name if rate else None))
    out.append("</svg>")
    return "".join(out)


def _line(labels: Sequence[str], rate: Series, slot: float, plot_h: float) -> str:
    points = []
    parts = []
    for i, value in enumerate(rate.values):
        if value is None:
            continue
        x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * value
        points.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE_COLOUR}">'
                     f'<title>{escape(labels[i])} {escape(rate.name)}: {value * 100:.1f}%'
                     '</title></circle>')
    line = (f'<polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="2" '
            f'points="{" ".join(points)}"/>') if len(points) > 1 else ""
    return line + "".join(parts)


def _legend(names: Sequence[str], rate: str | None) -> str:
    out, x = [], LEFT
    y = HEIGHT - 12
    for k, name in enumerate(names):
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
                   f'fill="{COLOURS[k % len(COLOURS)]}"/>'
                   f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    if rate:
        out.append(f'<line x1="{x}" x2="{x + 14}" y1="{y - 4}" y2="{y - 4}" '
                   f'stroke="{LINE_COLOUR}" stroke-width="2"/>'
                   f'<text x="{x + 18}" y="{y}" font-size="11">{escape(rate)}</text>')
    return "".join(out)


def report_charts(report: Report, tr: dict[str, str] | None = None) -> dict[str, str]:
    """The report's charts as SVG: volume and service level by day and by hour, agents.

    ``tr`` translates the series names (English msgids) for the page's language.
    """
    t = (tr or {}).get

    def volume(title: str, labels: list[str], figs: list[CallFigures]) -> str:
        return bar_chart(t(title, title), labels, [
            Series(t("answered", "answered"), [f.answered for f in figs]),
            Series(t("abandoned", "abandoned"), [f.abandoned + f.short_abandoned for f in figs]),
            Series(t("queue timeouts", "queue timeouts"), [f.timeouts for f in figs]),
            Series(t("other", "other"), [f.offered - f.answered - f.abandoned
                                         - f.short_abandoned - f.timeouts for f in figs])],
            Series(t("service level", "service level"),
                   [f.service_level(report.ms.denominator) for f in figs]))

    days = list(report.by_day)
    hours = list(report.by_hour)
    agents = report.agents
    return {
        "by_day": volume("Calls and service level by day", [d.strftime("%m-%d") for d in days],
                         [report.by_day[d] for d in days]),
        "by_hour": volume("Calls and service level by hour of day",
                          [f"{h:02d}" for h in hours], [report.by_hour[h] for h in hours]),
        "agents": bar_chart(t("Agents: calls and three-ring rate",
                              "Agents: calls and three-ring rate"),
                            [a.agent for a in agents], [
            Series(t("answered", "answered"), [a.figures.answered for a in agents]),
            Series(t("outbound", "outbound"), [a.figures.outbound for a in agents])],
            Series(t("three-ring rate", "three-ring rate"),
                   [a.figures.three_ring_rate for a in agents])),
    }
