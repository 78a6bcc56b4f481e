"""Small inline SVG pictures, drawn on the server: no chart library, nothing to download.

Every number is formatted here and every text escaped by ``format_html``; the SVGs scale with
their container (``viewBox``), so they read at phone and laptop width alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 600
BAR_HEIGHT = 150


def _svg(height: int, label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        WIDTH,
        height,
        label,
        body,
    )


def accuracy_interval(accuracy: float, low: float, high: float) -> SafeString:
    """A 0-100% axis with the 95% interval as a band and the accuracy as a mark."""
    left, right, y = 20, WIDTH - 20, 30

    def x(value: float) -> float:
        return round(left + (right - left) * min(1.0, max(0.0, value)), 1)

    ticks = format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" class="tick"/>'
        '<text x="{0}" y="{3}" class="axis" text-anchor="middle">{4}%</text>',
        ((x(t / 100), y + 12, y + 18, y + 32, t) for t in range(0, 101, 25)),
    )
    body = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis-line"/>{}'
        '<rect x="{}" y="{}" width="{}" height="16" class="band"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="mark"/>'
        '<text x="{}" y="{}" class="value" text-anchor="middle">{}</text>',
        left, y + 12, right, y + 12, ticks,
        x(low), y + 4, round(x(high) - x(low), 1),
        x(accuracy), y, x(accuracy), y + 24,
        WIDTH / 2, y - 8, f"{accuracy * 100:.2f}% (95%: {low * 100:.2f} to {high * 100:.2f})",
    )  # fmt: skip
    return _svg(72, "Accuracy with its 95% Wilson interval", body)


def class_bars(classes: Sequence[dict[str, Any]]) -> SafeString:
    """Per-class accuracy, one bar per class from 0 to 100%."""
    if not classes:
        return SafeString("")
    slot = (WIDTH - 40) / len(classes)
    bars = []
    for index, entry in enumerate(classes):
        total = int(entry["total"])
        fraction = int(entry["correct"]) / total if total else 0.0
        height = round(BAR_HEIGHT * fraction, 1)
        x = round(30 + index * slot + slot * 0.15, 1)
        bars.append(
            (
                x, 10 + BAR_HEIGHT - height, round(slot * 0.7, 1), height,
                round(x + slot * 0.35, 1), BAR_HEIGHT + 24, entry["label"],
                round(x + slot * 0.35, 1), 6 + BAR_HEIGHT - height, f"{fraction * 100:.0f}",
                entry["label"], entry["correct"], total,
            )
        )  # fmt: skip
    body = format_html_join(
        "",
        '<rect x="{0}" y="{1}" width="{2}" height="{3}" class="bar">'
        "<title>class {10}: {11} of {12}</title></rect>"
        '<text x="{4}" y="{5}" class="axis" text-anchor="middle">{6}</text>'
        '<text x="{7}" y="{8}" class="value" text-anchor="middle">{9}%</text>',
        bars,
    )
    axis = format_html(
        '<line x1="28" y1="{0}" x2="{1}" y2="{0}" class="axis-line"/>', 10 + BAR_HEIGHT, WIDTH - 8
    )
    return _svg(BAR_HEIGHT + 32, "Accuracy per class", format_html("{}{}", axis, body))


def history(points: Sequence[tuple[str, float]], unit: str, label: str) -> SafeString:
    """A line of values in order (oldest first), e.g. proving seconds per job."""
    if not points:
        return SafeString("")
    top = max(value for _, value in points) or 1.0
    height, left, right = 120, 40, WIDTH - 10
    step = (right - left) / max(1, len(points) - 1)
    coords = [
        (round(left + index * step, 1), round(10 + (height - 20) * (1 - value / top), 1))
        for index, (_, value) in enumerate(points)
    ]
    line = " ".join(f"{x},{y}" for x, y in coords)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" class="dot"><title>{}: {} {}</title></circle>',
        (
            (x, y, name, f"{value:.3g}", unit)
            for (x, y), (name, value) in zip(coords, points, strict=True)
        ),
    )
    body = format_html(
        '<text x="2" y="14" class="axis">{} {}</text>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis-line"/>'
        '<polyline points="{}" class="line"/>{}',
        f"{top:.3g}", unit, left, height - 10, right, height - 10, line, dots,
    )  # fmt: skip
    return _svg(height, label, body)


def timeline(events: Sequence[tuple[str, datetime | None]]) -> SafeString:
    """A job's moments (created, started, finished) on one time axis, with the gaps between."""
    known = [(name, moment) for name, moment in events if moment is not None]
    if not known:
        return SafeString("")
    start, end = known[0][1], known[-1][1]
    span = max((end - start).total_seconds(), 1e-6)
    left, right = 20, WIDTH - 20
    marks = []
    for index, (name, moment) in enumerate(known):
        offset = (moment - start).total_seconds()
        x = round(left + (right - left) * offset / span, 1) if len(known) > 1 else left
        # The first and last labels grow inwards so the picture's edges never cut them.
        anchor = "start" if index == 0 else "end" if index == len(known) - 1 else "middle"
        marks.append((x, x, 14 + 16 * (index % 2), anchor, name, f"{offset:.1f}"))
    body = format_html_join(
        "",
        '<circle cx="{}" cy="50" r="5" class="dot"/>'
        '<text x="{}" y="{}" class="axis" text-anchor="{}">{} +{}s</text>',
        marks,
    )
    axis = format_html('<line x1="{}" y1="50" x2="{}" y2="50" class="axis-line"/>', left, right)
    return _svg(64, "Job timeline", format_html("{}{}", axis, body))
