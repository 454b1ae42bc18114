"""What is drawn on a certificate besides its text: the department's red
seal and the QR code, both as inline SVG (nothing to fetch), and the amount
in Chinese capital numerals that a licence prints."""

from __future__ import annotations

import io
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import segno
from django.utils.html import escape

SEAL_RED = "#d7000f"


def _star(cx: float, cy: float, outer: float) -> str:
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = math.radians(-90 + i * 36)
        points.append(f"{cx + radius * math.cos(angle):.2f},{cy + radius * math.sin(angle):.2f}")
    return f'<polygon points="{" ".join(points)}" fill="{SEAL_RED}"/>'


def seal_svg(name: str, line: str, *, size_mm: float = 42.0) -> str:
    """A round official seal: a ring, `name` along the upper arc placed glyph
    by glyph (each rotated to face outwards), a five-pointed star in the
    middle and `line` (e.g. 行政许可专用章) straight across below it."""
    cx = cy = 100.0
    glyphs = [g for g in name if not g.isspace()] or ["?"]
    count = len(glyphs)
    span = min(250.0, max(120.0, 27.0 * count))
    font = min(27.0, 0.9 * math.radians(span) * 66.0 / count)
    baseline = 88.0 - 0.88 * font  # the glyphs' tops stay inside the ring
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seal" viewBox="0 0 200 200" '
        f'width="{size_mm}mm" height="{size_mm}mm" role="img" aria-label="{escape(name)}">',
        f'<g opacity="0.82"><circle cx="{cx}" cy="{cy}" r="94" fill="none" stroke="{SEAL_RED}" '
        f'stroke-width="6"/>',
    ]
    for i, glyph in enumerate(glyphs):
        angle = -span / 2 + span * (i + 0.5) / count
        rad = math.radians(angle)
        x = cx + baseline * math.sin(rad)
        y = cy - baseline * math.cos(rad)
        parts.append(
            f'<text x="{x:.2f}" y="{y:.2f}" transform="rotate({angle:.2f} {x:.2f} {y:.2f})" '
            f'text-anchor="middle" font-family="Noto Serif CJK SC" font-weight="bold" '
            f'font-size="{font:.1f}" fill="{SEAL_RED}">{escape(glyph)}</text>'
        )
    parts.append(_star(cx, cy + 2, 27))
    line_font = min(17.0, 130.0 / max(len(line), 1))
    parts.append(
        f'<text x="{cx}" y="{cy + 52:.2f}" text-anchor="middle" font-family="Noto Serif CJK SC" '
        f'font-weight="bold" font-size="{line_font:.1f}" fill="{SEAL_RED}">{escape(line)}</text>'
    )
    parts.append("</g></svg>")
    return "".join(parts)


def qr_svg(url: str, *, size_mm: float = 26.0) -> str:
    """The verification URL as a QR code (error correction M), inline SVG."""
    code = segno.make_qr(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=False, svgns=True, border=2, dark="#000", light="#fff", scale=4)
    svg = out.getvalue().decode()
    # Size it in millimetres; segno writes pixel width/height.
    head, rest = svg.split(">", 1)
    width = code.symbol_size(scale=4, border=2)[0]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {width} {width}" '
        f'width="{size_mm}mm" height="{size_mm}mm"'
    )
    return head + ">" + rest


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_GROUPS = ["", "万", "亿", "万亿"]


def _four(n: int) -> str:
    """0 < n < 10000 in capitals, with 零 for inner gaps."""
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = n // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _UNITS[position]
    return text


def rmb_capital(amount: Decimal | str | int | float) -> str:
    """An amount of yuan in Chinese capital numerals: 1050000 -> 壹佰零伍万元整."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(amount)
    if value < 0:
        return "负" + rmb_capital(-value)
    yuan = int(value)
    fen_total = int((value - yuan) * 100)
    jiao, fen = divmod(fen_total, 10)
    text = ""
    if yuan:
        groups = []
        rest = yuan
        while rest:
            groups.append(rest % 10000)
            rest //= 10000
        need_zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or group < 1000):
                text += "零"
            text += _four(group) + _GROUPS[index]
            need_zero = False
        text += "元"
    if not jiao and not fen:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return text
