"""Bar charts of the stats page as inline SVG, drawn on the server: no chart library to load,
crisp at any zoom, and printable. Pure: rows in, markup out (escaped)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from orders.automation.messages import vnd

ROW_HEIGHT = 28
LABEL_WIDTH = 170
BAR_WIDTH = 420
VALUE_WIDTH = 230


def bar_chart(rows: Sequence[tuple[str, int, str, int]]) -> str:
    """One horizontal bar per row: (label, revenue, colour, sales). The bar is the revenue;
    a lighter bar behind it is the sales (doanh số), so what did not count shows."""
    if not rows:
        return '<p class="muted">—</p>'
    top = max(max(sales, revenue) for _label, revenue, _colour, sales in rows) or 1
    height = ROW_HEIGHT * len(rows) + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" xmlns="http://www.w3.org/2000/svg">']  # fmt: skip
    for index, (label, revenue, colour, sales) in enumerate(rows):
        y = index * ROW_HEIGHT + 4
        sales_width = round(BAR_WIDTH * sales / top)
        revenue_width = round(BAR_WIDTH * revenue / top)
        safe_colour = colour if _is_colour(colour) else "#9e9e9e"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{sales_width}" height="18" '
            f'fill="{safe_colour}" opacity="0.25"><title>{escape(vnd(sales))}</title></rect>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{revenue_width}" height="18" '
            f'fill="{safe_colour}"><title>{escape(vnd(revenue))}</title></rect>'
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 17}">{escape(vnd(revenue))} / '
            f"{escape(vnd(sales))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _is_colour(text: str) -> bool:
    return (
        len(text) == 7
        and text.startswith("#")
        and all(c in "0123456789abcdefABCDEF" for c in text[1:])
    )
