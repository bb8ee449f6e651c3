"""The signed repayment agreement as a PDF (R8), rendered server-side with fpdf2.

The document carries the terms, the schedule, the debtor's signature image, the SHA-256 of the
canonical terms with its fingerprint (the first 8 hex digits, as the debtor saw them on the
agent's phone) and a short verification code: the first 8 hex digits of an HMAC of that hash
under the app's secret, so a paper copy can be checked against the server without the terms.
"""

import hashlib
import hmac
import io
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from sqlalchemy import select

from ..auth.models import User
from ..cases.models import Case
from ..common import canonical_json, sha256_hex, utcnow
from ..errors import abort
from ..extensions import db
from ..plans.models import Blob, RepaymentPlan, Signature

# Debian's CJK fonts (Makefile: fonts-wqy-microhei); DOORSTEP_PDF_FONT names another file.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
KIND_LABELS = {
    "full": "一次性还款 Full payment",
    "installments": "分期还款 Installments",
    "settlement": "和解结清 Settlement",
    "promise": "承诺还款 Promise to pay",
}
TERM_LABELS = {
    "kind": "方式 Kind",
    "currency": "币种 Currency",
    "total": "欠款总额 Total owed",
    "discount_pct": "减免比例 Discount %",
    "payable": "应还金额 Amount payable",
    "down_payment": "首付 Down payment",
    "incentive": "提前还款优惠 Early-repayment incentive",
    "case_id": "案件 Case",
}


def verification_code(terms_hash: str) -> str:
    """8 hex digits of HMAC-SHA256(secret, terms hash), shown as XXXX-XXXX."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, terms_hash.lower().encode("ascii"), hashlib.sha256).hexdigest()[:8].upper()
    return f"{digest[:4]}-{digest[4:]}"


def terms_fingerprint(terms_hash: str) -> str:
    """The terms a debtor can compare by eye: the first 8 hex digits of their SHA-256, as
    "xxxx xxxx" — the same the phone shows under the terms before they sign."""
    head = terms_hash.lower()[:8]
    return f"{head[:4]} {head[4:]}"


def verify_agreement(*, code: str, terms_hash: str) -> dict:
    """A code is valid when it was made from this hash here and a plan carries the hash.

    Only a right code opens the record: a wrong one gets the same answer whether or not the
    hash was ever used, so the public check cannot be used to probe for signed terms."""
    terms_hash = terms_hash.lower()
    given = code.replace("-", "").upper()
    expected = verification_code(terms_hash).replace("-", "")
    if not hmac.compare_digest(given, expected):
        return {"valid": False, "terms_hash": terms_hash}
    plan_id = db.session.scalar(select(RepaymentPlan.id).where(RepaymentPlan.terms_hash == terms_hash).limit(1))
    if plan_id is None:
        return {"valid": False, "terms_hash": terms_hash}
    signed = (
        db.session.scalar(select(Signature.id).where(Signature.terms_hash == terms_hash, Signature.refused.is_(False)).limit(1)) is not None
    )
    return {"valid": True, "terms_hash": terms_hash, "signed": signed}


def find_cjk_font() -> str | None:
    configured = os.environ.get("DOORSTEP_PDF_FONT")
    for path in ((configured,) if configured else ()) + FONT_CANDIDATES:
        if path and Path(path).is_file():
            return path
    return None


def latin_only(text: str) -> str:
    """Without a CJK font: keep Latin-1 and write every other character as its code point,
    so nothing is silently lost (王伟 → [U+738B U+4F1F])."""
    out, run = [], []
    for ch in text:
        if ord(ch) < 256:
            if run:
                out.append("[" + " ".join(run) + "]")
                run = []
            out.append(ch)
        else:
            run.append(f"U+{ord(ch):04X}")
    if run:
        out.append("[" + " ".join(run) + "]")
    return "".join(out)


class Document(FPDF):
    """The house style of Doorstep's PDFs (agreement, receipt, letter): A4, the CJK font when
    there is one (else Latin with code points), headings, label/value pairs and a footer line."""

    def __init__(self, font_path: str | None, footer_text: str):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.cjk = font_path is not None
        if self.cjk:
            self.add_font("body", "", font_path)
            self.family = "body"
        else:
            self.family = "helvetica"
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def t(self, text) -> str:
        text = "" if text is None else str(text)
        return text if self.cjk else latin_only(text)

    def use(self, size: float, color=(20, 24, 31)) -> None:
        self.set_font(self.family, "", size)
        self.set_text_color(*color)

    def footer(self) -> None:
        self.set_y(-13)
        self.use(7.5, (110, 116, 126))
        self.cell(0, 5, self.t(self.footer_text), align="L")
        self.set_x(-40)
        self.cell(22, 5, f"{self.page_no()}/{{nb}}", align="R")

    def heading(self, text: str) -> None:
        self.ln(2.5)
        self.use(11.5, (16, 64, 120))
        self.cell(0, 7, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(200, 208, 220)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.use(9, (90, 98, 110))
            self.cell(50, 5.6, self.t(label))
            # a 64-hex hash stays on one line, so it can be read (and extracted) whole
            self.use(7.6 if _is_digest(value) else 10)
            self.multi_cell(0, 5.6, self.t(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def local_time(at: datetime | None, tz: str) -> str:
    if at is None:
        return "—"
    return at.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def _signature_for(plan: RepaymentPlan) -> Signature | None:
    """The signature on these very terms if there is one, else the latest attempt (maybe refused)."""
    signatures = sorted(plan.signatures, key=lambda s: (s.signed_at, s.id), reverse=True)
    matching = [s for s in signatures if s.terms_hash == plan.terms_hash and not s.refused]
    return (matching or signatures or [None])[0]


# a plan's status as the parties read it, in both languages of the document
STATUS_WORDS = {
    "proposed": "已提出 proposed",
    "pending_approval": "待审批 awaiting the bank's approval",
    "active": "生效 in force",
    "rejected": "已驳回 rejected by the bank",
    "kept": "已履行 kept",
    "partially_kept": "部分履行 partly kept",
    "broken": "未履行 broken",
    "superseded": "已被新协议取代 replaced by a later agreement",
    "cancelled": "已取消 cancelled",
}


def verify_url(*, code: str, terms_hash: str) -> str:
    """Where anyone holding the paper can check it: absolute, on the server's public origin."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/api/agreements/verify?code={code}&hash={terms_hash}"


def render_agreement(plan: RepaymentPlan) -> bytes:
    case = db.session.get(Case, plan.case_id)
    account, debtor = case.account, case.account.debtor
    tz = (debtor.addresses[0].timezone if debtor.addresses and debtor.addresses[0].timezone else None) or (
        case.branch.timezone if case.branch else current_app.config["DEFAULT_TIMEZONE"]
    )
    recomputed = sha256_hex(canonical_json(plan.terms))
    code = verification_code(plan.terms_hash)
    signature = _signature_for(plan)
    agent = db.session.get(User, plan.created_by_id) if plan.created_by_id else None
    decider = db.session.get(User, plan.decided_by_id) if plan.decided_by_id else None

    pdf = Document(find_cjk_font(), f"Doorstep · plan #{plan.id} · code {code} · generated {local_time(utcnow(), tz)}")
    pdf.set_title(f"Repayment agreement #{plan.id}")
    pdf.set_author("Doorstep")
    pdf.set_creation_date(utcnow().replace(tzinfo=UTC))
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.use(18, (16, 40, 80))
    pdf.cell(0, 10, pdf.t("还款协议  Repayment agreement"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use(9.5, (90, 98, 110))
    status = STATUS_WORDS.get(plan.status, plan.status)
    pdf.cell(
        0,
        6,
        pdf.t(f"协议编号 Agreement no. {plan.id}  ·  状态 Status: {status}  ·  核验码 Verification code: {code}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    pdf.heading("当事人 Parties")
    pdf.pairs(
        [
            ("持卡人 Cardholder", debtor.name),
            ("卡号 Card", account.card_masked),
            ("案件 Case", f"#{case.id}"),
            ("经办 Agreed with", agent.display_name or agent.username if agent else "—"),
            ("达成时间 Agreed at", local_time(plan.created_at, tz)),
        ]
        + (
            [
                (
                    "审批 Decision",
                    f"{status} · {decider.display_name or decider.username} · {local_time(plan.decided_at, tz)}"
                    + (f" · {plan.decision_reason}" if plan.decision_reason else ""),
                )
            ]
            if decider
            else []
        )
    )

    pdf.heading("条款 Terms")
    terms = plan.terms or {}
    rows = []
    for key, value in terms.items():
        if key in ("schedule", "case_id") or isinstance(value, (dict, list)):
            continue
        label = TERM_LABELS.get(key, key)
        if key == "kind":
            value = KIND_LABELS.get(value, value)
        rows.append((label, str(value)))
    pdf.pairs(rows)
    pdf.ln(1)
    pdf.use(9, (60, 66, 78))
    pdf.multi_cell(
        0,
        5,
        pdf.t(
            f"持卡人同意按下列计划偿还应还金额 {terms.get('payable', plan.total_amount)} {terms.get('currency', plan.currency)}。"
            "The cardholder agrees to pay the amount payable on the schedule below. Any later change to these terms changes "
            "their SHA-256, which no longer matches the one printed here."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    schedule = terms.get("schedule") or []
    pdf.heading(f"还款计划 Schedule ({len(schedule)})")
    if schedule:
        pdf.use(9.5)
        with pdf.table(
            col_widths=(16, 42, 42),
            text_align=("CENTER", "LEFT", "RIGHT"),
            line_height=6,
            headings_style=FontFace(color=(90, 98, 110), fill_color=(238, 242, 247)),
            borders_layout="HORIZONTAL_LINES",
            first_row_as_headings=True,
        ) as table:
            head = table.row()
            for text in ("期 No.", "到期日 Due date", f"金额 Amount ({terms.get('currency', plan.currency)})"):
                head.cell(pdf.t(text))
            for item in schedule:
                row = table.row()
                row.cell(str(item.get("seq", "")))
                row.cell(str(item.get("due_date", "")))
                row.cell(str(item.get("amount", "")))
    else:
        pdf.pairs([("", "无分期 No installments")])

    pdf.heading("签名 Signature")
    if signature is None:
        pdf.pairs([("", "未签名 Not signed (oral agreement, or not signed yet)")])
    elif signature.refused:
        pdf.pairs([("拒签 Refused", signature.refused_reason or "—"), ("时间 At", local_time(signature.signed_at, tz))])
    else:
        blob = db.session.get(Blob, signature.blob_sha256) if signature.blob_sha256 else None
        if blob is not None:
            pdf.image(io.BytesIO(blob.data), x=pdf.l_margin + 50, w=60)
            pdf.ln(1)
        pdf.pairs(
            [
                ("签名人 Signed by", signature.signer_name or debtor.name),
                ("签名时间 Signed at", local_time(signature.signed_at, tz)),
                ("签名所签条款 Signs terms", signature.terms_hash),
                ("签名图像 Image SHA-256", signature.blob_sha256 or "—"),
            ]
        )
        if signature.terms_hash != plan.terms_hash:
            pdf.use(10, (170, 30, 30))
            pdf.multi_cell(
                0,
                6,
                pdf.t("注意：签名所签条款与本协议条款不一致 The signature signs different terms."),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )

    pdf.heading("完整性 Integrity")
    pdf.pairs(
        [
            ("条款哈希 Terms SHA-256", plan.terms_hash),
            ("条款指纹 Terms fingerprint", terms_fingerprint(plan.terms_hash)),
            ("重新计算 Recomputed", "一致 matches" if recomputed == plan.terms_hash else f"不一致 MISMATCH: {recomputed}"),
            ("核验码 Verification code", code),
            ("核验 Verify at", verify_url(code=code, terms_hash=plan.terms_hash)),
            ("政策版本 Policy", plan.policy_version or "—"),
        ]
    )
    return bytes(pdf.output())


def get_plan(plan_id: int) -> RepaymentPlan:
    plan = db.session.get(RepaymentPlan, plan_id)
    if plan is None:
        abort(404, f"No plan {plan_id}.")
    return plan
