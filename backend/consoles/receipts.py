"""The receipt for money taken at the door, as a PDF (zh-CN/en, the agreement's CJK machinery),
and its public verification.

The receipt carries the receipt number, amount, method, agent, time, the case reference masked,
the collection's verification code and an absolute link to check it (PUBLIC_BASE_URL): whoever
holds the paper can ask the server whether it is genuine, and learns nothing beyond it.
"""

from datetime import UTC
from urllib.parse import quote

from flask import current_app
from fpdf.enums import XPos, YPos
from sqlalchemy import select

from ..auth.models import User
from ..cases.models import Case
from ..common import utcnow
from ..errors import abort
from ..extensions import db
from ..org.models import Branch
from ..payments.models import Collection
from .agreements import Document, find_cjk_font, local_time

METHOD_LABELS = {
    "cash": "现金 Cash",
    "card_terminal": "刷卡 Card terminal",
    "bank_transfer": "银行转账 Bank transfer",
    "payment_link": "支付链接 Payment link",
    "other": "其他 Other",
}
STATUS_LABELS = {
    "unreconciled": "待银行确认 Awaiting the bank's confirmation",
    "reconciled": "银行已确认 Confirmed by the bank",
    "disputed": "有争议 Disputed",
}


def verify_link(code: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/api/receipts/verify?code={quote(code)}"


def masked_reference(account_number: str) -> str:
    """The account shown on paper: its last four characters only."""
    return "*" * max(len(account_number) - 4, 4) + account_number[-4:]


def get_collection(collection_id: int, *, user: User) -> Collection:
    """Office roles read any receipt; an agent only those of money they took."""
    collection = db.session.get(Collection, collection_id)
    if collection is None or (user.role == "agent" and collection.collected_by_id != user.id):
        abort(404, f"No collection {collection_id}.")
    return collection


def render_receipt(collection: Collection) -> bytes:
    case = db.session.get(Case, collection.case_id)
    branch = db.session.get(Branch, collection.branch_id)
    agent = db.session.get(User, collection.collected_by_id)
    tz = branch.timezone
    pdf = Document(find_cjk_font(), f"Doorstep · receipt {collection.receipt_number} · code {collection.verify_code}")
    pdf.set_title(f"Receipt {collection.receipt_number}")
    pdf.set_author("Doorstep")
    pdf.set_creation_date(utcnow().replace(tzinfo=UTC))
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.use(18, (16, 40, 80))
    pdf.cell(0, 10, pdf.t("收款收据  Payment receipt"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use(9.5, (90, 98, 110))
    pdf.cell(0, 6, pdf.t(f"收据编号 Receipt no. {collection.receipt_number}  ·  {branch.name}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("收款 Payment")
    pdf.pairs(
        [
            ("金额 Amount", f"{collection.amount} {collection.currency}"),
            ("方式 Method", METHOD_LABELS.get(collection.method, collection.method)),
            ("参考号 Reference", collection.reference or "—"),
            ("收款人 Received by", agent.display_name or agent.username),
            ("收款时间 Received at", local_time(collection.collected_at, tz)),
            ("案件 Case", f"#{case.id} · {masked_reference(case.account.account_number)}"),
            ("状态 Status", STATUS_LABELS.get(collection.status, collection.status)),
        ]
    )
    pdf.heading("核验 Verification")
    pdf.pairs(
        [
            ("核验码 Verification code", collection.verify_code),
            ("核验 Verify at", verify_link(collection.verify_code)),
        ]
    )
    pdf.ln(1)
    pdf.use(9, (60, 66, 78))
    pdf.multi_cell(
        0,
        5,
        pdf.t("请妥善保管本收据。扫描或打开上面的链接可核验其真伪。Keep this receipt. Open the link above to check that it is genuine."),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


def verify_receipt(*, code: str) -> dict:
    """What a verification code proves: that receipt's number, amount, method, time and status,
    and nothing of the debtor."""
    code = code.strip().upper()
    if len(code) == 10 and "-" not in code:
        code = f"{code[:5]}-{code[5:]}"
    collection = db.session.scalar(select(Collection).where(Collection.verify_code == code))
    if collection is None:
        return {"valid": False}
    return {
        "valid": True,
        "receipt_number": collection.receipt_number,
        "amount": collection.amount,
        "currency": collection.currency,
        "method": collection.method,
        "collected_at": collection.collected_at,
        "status": collection.status,
    }
