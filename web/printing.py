"""Printing: a packing slip (phiếu xuất kho) and a shipping label per order, one order a page,
as PDF (reportlab) for a batch of any size; the dashboard also has a print view in HTML.

Vietnamese needs a font with its letters: DejaVu Sans (Debian's fonts-dejavu-core, which
`deploy/dev` installs), or any TTF named by CHOTDON_PDF_FONT.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from orders.automation.messages import vnd
from web.auth import Principal, require
from web.errors import ApiError
from web.roles import Action
from web.services import services

Json = dict[str, Any]
Kind = Literal["slip", "label"]
MAX_BATCH = 500
VIETNAM = timezone(timedelta(hours=7))
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
)
router = APIRouter(tags=["printing"])


class FontMissing(RuntimeError):
    pass


@cache
def _fonts() -> tuple[str, str]:
    """Register the regular and bold fonts once; their names for reportlab."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    chosen = os.environ.get("CHOTDON_PDF_FONT") or next(
        (path for path in FONT_CANDIDATES if Path(path).exists()), None
    )
    if chosen is None or not Path(chosen).exists():
        raise FontMissing(
            "no font with Vietnamese letters for PDFs: install Debian's fonts-dejavu-core "
            "(apt-get install fonts-dejavu-core) or set CHOTDON_PDF_FONT to a .ttf file"
        )
    bold = chosen.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
    pdfmetrics.registerFont(TTFont("chotdon", chosen))
    pdfmetrics.registerFont(TTFont("chotdon-bold", bold if Path(bold).exists() else chosen))
    return "chotdon", "chotdon-bold"


def _local(stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def address_lines(customer: Json) -> list[str]:
    parts = [customer.get("address"), customer.get("ward"), customer.get("province")]
    return [", ".join(str(p) for p in parts if p)] if any(parts) else []


def line_label(line: Json) -> str:
    attributes = " ".join(str(v) for v in (line.get("attributes") or {}).values())
    code = line.get("code")
    return " ".join(part for part in (code, line.get("name"), attributes) if part)


def orders_pdf(orders: Sequence[Json], kind: Kind, shop_name: str) -> bytes:
    """One page per order: packing slips on A5, labels on 100 × 150 mm (thermal printers)."""
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    size = A5 if kind == "slip" else (100 * mm, 150 * mm)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, pageCompression=1)
    canvas.setTitle(f"{shop_name}: {'phiếu xuất kho' if kind == 'slip' else 'nhãn giao hàng'}")
    for order in orders:
        if kind == "slip":
            _slip(canvas, order, shop_name, size)
        else:
            _label(canvas, order, shop_name, size)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _barcode(canvas: Any, text: str, x: float, y: float, width: float) -> None:
    from reportlab.graphics.barcode import code128

    code = code128.Code128(text, barHeight=12 * 2.835, barWidth=0.9)
    scale = min(1.0, width / code.width)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(scale, 1)
    code.drawOn(canvas, 0, 0)
    canvas.restoreState()


def _slip(canvas: Any, order: Json, shop_name: str, size: tuple[float, float]) -> None:
    regular, bold = _fonts()
    width, height = size
    margin = 28.0
    y = height - margin
    canvas.setFont(bold, 14)
    canvas.drawString(margin, y, shop_name)
    canvas.setFont(regular, 9)
    canvas.drawRightString(width - margin, y, f"In lúc {_local(datetime.now(UTC).isoformat())}")
    y -= 22
    canvas.setFont(bold, 12)
    canvas.drawString(margin, y, f"PHIẾU XUẤT KHO · Đơn {order['order_id']}")
    y -= 16
    canvas.setFont(regular, 9)
    canvas.drawString(
        margin,
        y,
        f"Chốt lúc {_local(order.get('finalised_at'))} · "
        f"NV {(order.get('staff') or {}).get('finalised_by') or ''}",
    )
    y -= 20  # fmt: skip
    customer = order["customer"]
    canvas.setFont(bold, 10)
    canvas.drawString(margin, y, f"{customer.get('name') or ''} · {customer.get('phone') or ''}")
    canvas.setFont(regular, 9)
    for text in address_lines(customer):
        y -= 13
        canvas.drawString(margin, y, text[:95])
    y -= 22
    canvas.setFont(bold, 9)
    columns = (margin, width - margin - 170, width - margin - 110, width - margin)
    canvas.drawString(columns[0], y, "Hàng")
    canvas.drawRightString(columns[1] + 30, y, "SL")
    canvas.drawRightString(columns[2] + 40, y, "Đơn giá")
    canvas.drawRightString(columns[3], y, "Thành tiền")
    canvas.line(margin, y - 4, width - margin, y - 4)
    canvas.setFont(regular, 9)
    for line in order.get("lines", []):
        y -= 15
        if y < 90:
            canvas.drawString(margin, y, "…")
            break
        canvas.drawString(columns[0], y, line_label(line)[:48])
        canvas.drawRightString(columns[1] + 30, y, str(line.get("qty", "")))
        canvas.drawRightString(columns[2] + 40, y, vnd(int(line.get("unit_price") or 0)))
        canvas.drawRightString(columns[3], y, vnd(int(line.get("amount") or 0)))
    y -= 10
    canvas.line(margin, y, width - margin, y)
    y -= 16
    canvas.setFont(bold, 11)
    canvas.drawRightString(width - margin, y, f"Tổng cộng: {vnd(int(order.get('total') or 0))}")
    note = customer.get("note")
    if note:
        canvas.setFont(regular, 9)
        canvas.drawString(margin, y - 18, f"Ghi chú: {str(note)[:90]}")
    _barcode(canvas, order["order_id"], margin, 30, width - 2 * margin)


def _label(canvas: Any, order: Json, shop_name: str, size: tuple[float, float]) -> None:
    regular, bold = _fonts()
    width, height = size
    margin = 12.0
    y = height - margin - 10
    canvas.setFont(regular, 8)
    canvas.drawString(margin, y, f"Người gửi: {shop_name}")
    y -= 8
    canvas.line(margin, y, width - margin, y)
    customer = order["customer"]
    y -= 16
    canvas.setFont(regular, 8)
    canvas.drawString(margin, y, "Người nhận:")
    y -= 15
    canvas.setFont(bold, 13)
    canvas.drawString(margin, y, str(customer.get("name") or "")[:30])
    y -= 16
    canvas.setFont(bold, 12)
    canvas.drawString(margin, y, str(customer.get("phone") or ""))
    canvas.setFont(regular, 9)
    text = address_lines(customer)
    words = (text[0] if text else "").split()
    row = ""
    for word in words:  # wrap the address to the label's width
        if canvas.stringWidth(f"{row} {word}".strip(), regular, 9) > width - 2 * margin:
            y -= 12
            canvas.drawString(margin, y, row)
            row = word
        else:
            row = f"{row} {word}".strip()
    if row:
        y -= 12
        canvas.drawString(margin, y, row)
    y -= 14
    canvas.line(margin, y, width - margin, y)
    y -= 16
    canvas.setFont(bold, 11)
    canvas.drawString(margin, y, f"Thu hộ (COD): {vnd(int(order.get('total') or 0))}")
    y -= 14
    canvas.setFont(regular, 8)
    items = ", ".join(f"{line_label(line)} ×{line.get('qty')}" for line in order.get("lines", []))
    canvas.drawString(margin, y, items[:70] + ("…" if len(items) > 70 else ""))
    canvas.setFont(bold, 10)
    canvas.drawString(margin, 70, f"Đơn {order['order_id']}")
    _barcode(canvas, order["order_id"], margin, 20, width - 2 * margin)


async def load_orders(request: Request, who: Principal, ids: Sequence[str]) -> list[Json]:
    """The orders to print, in the order asked, each once; one that is not the shop's is a 404."""
    if not ids:
        raise ApiError.of(422, "invalid", "ids", message="name at least one order")
    if len(ids) > MAX_BATCH:
        raise ApiError.of(422, "invalid", "ids", message=f"at most {MAX_BATCH} orders a batch")
    shops = services(request).shops
    found = []
    for order_id in dict.fromkeys(ids):
        order = await shops.order(who.shop_id, order_id)
        if order is None:
            raise ApiError.of(404, "not_found", "ids", what=f"order {order_id}")
        found.append(order)
    return found


@router.get(
    "/print/orders.pdf",
    summary="packing slips or shipping labels, one order a page, as PDF",
    response_class=Response,
)
async def print_pdf(
    request: Request,
    ids: list[str] = Query(..., description="order ids; repeat for a batch"),
    kind: Kind = "slip",
    who: Principal = Depends(require(Action.READ)),
) -> Response:
    orders = await load_orders(request, who, ids)
    shop = await services(request).shop(who.shop_id)
    try:
        pdf = orders_pdf(orders, kind, shop.shop.name)
    except FontMissing as missing:
        raise ApiError.of(503, "invalid", message=str(missing)) from None
    name = f"{'phieu' if kind == 'slip' else 'nhan'}-{len(orders)}-don.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
