"""Server-rendered SVG charts: valid, escaped, bars to scale, gaps for undefined rates."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from callcenter.reports.charts import BOTTOM, HEIGHT, TOP, Series, bar_chart

NS = "{http://www.w3.org/2000/svg}"


def test_bars_to_scale_and_rate_with_gaps() -> None:
    svg = bar_chart("Calls <& day>", ["a", "b", "c"],
                    [Series("answered", [3, 0, 5]), Series("abandoned", [1, 2, 0])],
                    Series("service level", [0.5, None, 1.0]))
    root = ET.fromstring(svg)                                  # well-formed, title escaped
    assert root.find(f"{NS}text").text == "Calls <& day>"
    bars = {r.find(f"{NS}title").text: float(r.get("height")) for r in root.iter(f"{NS}rect")
            if r.find(f"{NS}title") is not None}
    plot_h = HEIGHT - TOP - BOTTOM
    # the highest stack is 5: the axis goes to 8 (four whole steps of 2)
    assert bars["a answered: 3"] == round(plot_h * 3 / 8, 1)
    assert bars["c answered: 5"] == round(plot_h * 5 / 8, 1)
    assert "b answered: 0" not in bars                          # no empty bars
    points = [c.find(f"{NS}title").text for c in root.iter(f"{NS}circle")]
    assert points == ["a service level: 50.0%", "c service level: 100.0%"]


def test_empty_chart() -> None:
    root = ET.fromstring(bar_chart("nothing", [], [Series("answered", [])]))
    assert not [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
