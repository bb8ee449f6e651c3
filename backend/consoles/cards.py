"""The leave-behind card (R14) as a printable PDF, rendered with fpdf2 and the agreement's CJK
font: the card's neutral lines (presence.services.leave_behind_card, the same the phone shows)
and a QR code of its check link (segno)."""

import io

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ..presence.services import leave_behind_card
from .agreements import find_cjk_font, latin_only

# a business card, landscape: 90 × 54 mm
CARD_MM = (90, 54)
QR_MM = 24


def render_card(visit) -> bytes:
    card = leave_behind_card(visit)
    font = find_cjk_font()
    pdf = FPDF(orientation="L", unit="mm", format=(CARD_MM[1], CARD_MM[0]))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(5, 5, 5)
    if font:
        pdf.add_font("body", "", font)
    family = "body" if font else "helvetica"

    def text(value: str) -> str:
        return value if font else latin_only(value)

    pdf.add_page()
    qr = io.BytesIO()
    segno.make(card["link"], error="m").save(qr, kind="png", scale=8, border=2)
    pdf.image(qr, x=CARD_MM[0] - 5 - QR_MM, y=5, w=QR_MM, h=QR_MM)
    pdf.set_font(family, "", 10.5)
    pdf.set_text_color(15, 76, 92)
    width = CARD_MM[0] - 10 - QR_MM - 2
    pdf.multi_cell(width, 5, text(card["title"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_text_color(23, 33, 43)
    for line in card["lines"]:
        is_link = line == card["link"]
        pdf.set_font(family, "", 5.4 if is_link else 7)
        pdf.set_x(5)
        pdf.multi_cell(width if pdf.get_y() < 5 + QR_MM else 0, 3.4, text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
