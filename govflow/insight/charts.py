"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched.

Labels are escaped text in the page's own fonts (the CJK fonts first, so
Chinese labels render with a Chinese face rather than a fallback), sized
by a width estimate that counts a CJK character as one em. Every chart has
a title and a description for screen readers, and the table beside it
holds the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = (
    "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', "
    "'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif"
)
PALETTE = ("#1f5fa8", "#2e8540", "#c0392b", "#8e6c00", "#6b3fa0", "#00838f")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3")
FONT_SIZE = 12


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated rendered width: wide (CJK, full-width) characters one em, others about 0.6 em."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return (wide + 0.6 * (len(text) - wide)) * size


def nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return top
    return 10 ** (exponent + 1)


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _open(width: float, height: float, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}" font-family="{FONT}" font-size="{FONT_SIZE}" '
        f'preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>",
    ]


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        dash = DASHES[index % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 18:.1f}" y2="{y - 4:.1f}" stroke="{color}" '
            f'stroke-width="3"{dash_attr}/>'
            f'<text x="{x + 22:.1f}" y="{y:.1f}" fill="#222">{escape(name)}</text>'
        )
        x += 22 + text_width(name) + 16
    return parts


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str = "",
    width: int = 720,
    height: int = 260,
) -> SafeString:
    """Lines over categorical x values (weeks, months); a gap where a value is None."""
    left, right, top, bottom = 48, 16, 34, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    top_value = nice_max(max(values, default=0))
    parts = _open(width, height, title, description)
    parts += _legend([s.name for s in series], left, 16)
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{_number(value)}</text>'
        )
    count = len(categories)
    if count:
        step = plot_w / max(count - 1, 1)
        label_w = max((text_width(c) for c in categories), default=0) + 8
        every = max(1, math.ceil(label_w / step)) if count > 1 else 1
        for index, label in enumerate(categories):
            if index % every:
                continue
            x = left + step * index if count > 1 else left + plot_w / 2
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#555">'
                f"{escape(label)}</text>"
            )
        for number, item in enumerate(series):
            color = PALETTE[number % len(PALETTE)]
            dash = DASHES[number % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            run: list[str] = []
            runs: list[list[str]] = []
            for index, value in enumerate(item.values):
                if value is None:
                    if run:
                        runs.append(run)
                    run = []
                    continue
                x = left + step * index if count > 1 else left + plot_w / 2
                y = top + plot_h - plot_h * (value / top_value)
                run.append(f"{x:.1f},{y:.1f}")
            if run:
                runs.append(run)
            for points in runs:
                if len(points) == 1:
                    cx, cy = points[0].split(",")
                    parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
                else:
                    parts.append(
                        f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash_attr} '
                        f'points="{" ".join(points)}"/>'
                    )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#888"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str = "",
    width: int = 720,
    percent: bool = False,
    marker: float | None = None,
) -> SafeString:
    """Horizontal grouped bars, one group per label (long Chinese names read
    best on the left). `marker` draws a vertical reference line (a target)."""
    bar, gap = 12, 10
    label_w = min(max((text_width(label) for label in labels), default=40) + 12, width * 0.4)
    left, right, top = label_w, 56, 30
    group_h = bar * len(series) + gap
    height = top + group_h * len(labels) + 26
    plot_w = width - left - right
    values = [v for s in series for v in s.values if v is not None]
    top_value = 1.0 if percent else nice_max(max([*values, marker or 0], default=0))
    parts = _open(width, height, title, description)
    parts += _legend([s.name for s in series], left, 16)
    for tick in range(5):
        x = left + plot_w * tick / 4
        value = top_value * tick / 4
        text = f"{value * 100:.0f}%" if percent else _number(value)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 22}" stroke="#e3e3e3"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="#555">{text}</text>'
        )
    for row, label in enumerate(labels):
        y0 = top + row * group_h
        parts.append(
            f'<text x="{left - 8:.1f}" y="{y0 + group_h / 2 + 1:.1f}" text-anchor="end" fill="#222">'
            f"{escape(label)}</text>"
        )
        for number, item in enumerate(series):
            value = item.values[row]
            if value is None:
                continue
            color = PALETTE[number % len(PALETTE)]
            y = y0 + number * bar
            length = plot_w * min(value / top_value, 1.0)
            text = f"{value * 100:.0f}%" if percent else _number(value)
            parts.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{length:.1f}" height="{bar - 2}" fill="{color}"/>'
                f'<text x="{left + length + 4:.1f}" y="{y + bar - 3:.1f}" fill="#333" font-size="11">'
                f"{text}</text>"
            )
    if marker is not None and 0 <= marker <= top_value:
        x = left + plot_w * marker / top_value
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 22}" stroke="#c0392b" '
            f'stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
