"""The designer laid out on a 1920×1080 screen and in a 1280×800 window
(Chromium, production CSP): the page does not scroll sideways, the chain's
canvas and the properties panel do not overlap, no card overlaps another
or the panel, the bar's buttons stand apart, and the panel's own content
(a card's properties, the form panel) fits its width. Screenshots in
test-artifacts/<test name>/."""

from __future__ import annotations

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.designer,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SCREENS = {"1920x1080": {"width": 1920, "height": 1080}, "1280x800": {"width": 1280, "height": 800}}
# a template with branch blocks side by side (construction permit) and the plain chain of the food licence
TEMPLATES = {"food_business_licence": "inspection", "construction_permit": None}

BOXES = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {id: el.id || el.className, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height};
  };
  const shown = (selector) => Array.from(document.querySelectorAll(selector)).filter(e => e.offsetParent);
  const canvas = document.querySelector('.designer-canvas');
  const panel = document.querySelector('.designer-panel');
  return {
    page: {scroll: document.documentElement.scrollWidth, inner: innerWidth},
    canvas: box(canvas), panel: box(panel),
    canvasScroll: {scroll: canvas.scrollWidth, client: canvas.clientWidth, left: canvas.scrollLeft},
    panelScroll: {scroll: panel.scrollWidth, client: panel.clientWidth},
    cards: Array.from(document.querySelectorAll('.card')).map(box),
    bar: shown('.designer-bar button, .designer-bar a, .designer-bar input').map(box),
  };
}"""


def _overlap(a: dict, b: dict) -> bool:
    """Whether two boxes overlap by more than a pixel each way."""
    return (
        min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > 1
        and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > 1
    )


def _check(layout: dict, where: str) -> None:
    assert layout["page"]["scroll"] <= layout["page"]["inner"], f"{where}: the page scrolls sideways"
    canvas, panel = layout["canvas"], layout["panel"]
    assert not _overlap(canvas, panel), f"{where}: canvas and panel overlap"
    assert panel["x"] + panel["w"] <= layout["page"]["inner"], f"{where}: the panel runs off the screen"
    cards = layout["cards"]
    assert cards, where
    for i, card in enumerate(cards):
        assert not _overlap(card, panel), f"{where}: {card['id']} lies under the panel"
        # every card inside the canvas's scrolled area
        assert card["x"] >= canvas["x"] - 1, f"{where}: {card['id']} left of the canvas"
        assert card["x"] + card["w"] <= canvas["x"] + max(canvas["w"], layout["canvasScroll"]["scroll"]) + 1
        for other in cards[i + 1 :]:
            assert not _overlap(card, other), f"{where}: {card['id']} overlaps {other['id']}"
    bar = layout["bar"]
    for i, item in enumerate(bar):
        for other in bar[i + 1 :]:
            assert not _overlap(item, other), f"{where}: {item['id']} overlaps {other['id']} in the bar"
    assert layout["panelScroll"]["scroll"] <= layout["panelScroll"]["client"] + 1, (
        f"{where}: the panel scrolls"
    )


@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("code", sorted(TEMPLATES))
def test_the_designer_fits_the_screen(process_admin, browser_for, shots, code, screen):
    page = browser_for(process_admin, viewport=SCREENS[screen])
    node = TEMPLATES[code]
    page.goto(f"/console/templates/{code}/designer/" + (f"?node={node}" if node else ""))
    page.wait_for_selector(".card")
    shots(page, f"{code}-{screen}", full_page=False)
    layout = page.evaluate(BOXES)
    _check(layout, f"{code} at {screen}")
    if screen == "1920x1080" and code == "food_business_licence":
        # a plain chain needs no sideways scrolling on a full HD screen
        assert layout["canvasScroll"]["scroll"] <= layout["canvasScroll"]["client"]
    # the form panel in the same place
    page.click("#open-form")
    page.wait_for_selector("#form-panel")
    page.locator("#form-fields-list button").first.click()
    page.wait_for_selector("#field-editor")
    shots(page, f"{code}-{screen}-form", full_page=False)
    _check(page.evaluate(BOXES), f"{code} form panel at {screen}")
    page.locator("#form-materials-list button").first.click()
    page.wait_for_selector("#material-editor")
    _check(page.evaluate(BOXES), f"{code} a material at {screen}")
    # and the widest block scrolled into view: its cards start inside the canvas
    widest = page.evaluate(
        "() => Array.from(document.querySelectorAll('.columns'))"
        ".sort((a, b) => b.scrollWidth - a.scrollWidth)[0]?.closest('.chain-block')?.dataset.block || ''"
    )
    if widest:
        page.locator(f"[data-block='{widest}']").scroll_into_view_if_needed()
        shots(page, f"{code}-{screen}-widest-block", full_page=False)
