"""The ladder's letter rung: a letter to the debtor rendered from an approved letter template
(policy: a script template of kind `letter`, zh-CN or en) to a PDF in the house style.

The case's fields and the organisation's fill the template's placeholders; what the letter would
say is scanned as an approval is (R7), values included, so nothing unapproved reaches paper. The
PDF is stored content-addressed (the attachments' Blob store) and the letter is recorded as a
`contact.letter` event carrying its SHA-256 and the template's id and version: the letter rung's
work on the record.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from fpdf.enums import XPos, YPos
from sqlalchemy import select

from ..cases.models import Case, TimelineEvent
from ..cases.services import record_contact
from ..common import utcnow
from ..errors import abort, field_codes
from ..extensions import db
from ..plans.models import Blob
from ..plans.services import store_blob
from ..policy.services import fill_letter, get_letter_template, letter_problems
from .agreements import Document, find_cjk_font

# the letter's own fixed words, per locale (the body is the approved template)
WORDS = {
    "zh-CN": {"to": "致", "address": "地址", "date": "日期", "case": "案件编号", "footer": "信函"},
    "en": {"to": "To", "address": "Address", "date": "Date", "case": "Case reference", "footer": "letter"},
}


def _today(case: Case) -> datetime:
    tz = case.branch.timezone if case.branch is not None and case.branch.timezone else current_app.config["DEFAULT_TIMEZONE"]
    return datetime.now(ZoneInfo(tz))


def _written_date(day: datetime, locale: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if locale == "zh-CN" else f"{day.day} {day:%B} {day.year}"


def letter_values(case: Case, locale: str) -> dict[str, str]:
    """What fills a letter's placeholders (policy.services.LETTER_PLACEHOLDERS) for this case."""
    account = case.account
    config = current_app.config
    return {
        "debtor_name": account.debtor.name,
        "card_masked": account.card_masked,
        "overdue_amount": f"{account.overdue_amount:,.2f}",
        "currency": account.currency,
        "organisation": config["ORG_NAME"],
        "complaint_phone": config["ORG_COMPLAINT_PHONE"],
        "date": _written_date(_today(case), locale),
    }


def render_letter(*, case: Case, text: str, values: dict[str, str], locale: str, reference: str) -> bytes:
    words = WORDS[locale]
    debtor = case.account.debtor
    pdf = Document(find_cjk_font(), f"{values['organisation']} · {words['footer']} · {reference}")
    pdf.set_title(f"{values['organisation']} · {words['footer']}")
    pdf.set_author(values["organisation"])
    pdf.set_creation_date(utcnow().replace(tzinfo=UTC))
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.use(16, (16, 40, 80))
    pdf.cell(0, 10, pdf.t(values["organisation"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    rows = [(words["to"], debtor.name)]
    if debtor.addresses:
        rows.append((words["address"], debtor.addresses[0].line))
    rows += [(words["date"], values["date"]), (words["case"], f"#{case.id}")]
    pdf.pairs(rows)
    pdf.ln(6)
    pdf.use(11)
    for paragraph in text.split("\n"):
        pdf.multi_cell(0, 6.5, pdf.t(paragraph), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    return bytes(pdf.output())


def preview_letter(*, case: Case, template_id: int, locale: str) -> dict:
    """What the letter would say, filled with the case's fields, and what R7 finds in it (the
    same checks as sending; nothing is stored or recorded)."""
    template = get_letter_template(template_id=template_id, locale=locale)
    values = letter_values(case, locale)
    problems = letter_problems(template=template, values=values)
    return {
        "template_id": template.id,
        "template_key": template.key,
        "template_version": template.version,
        "locale": locale,
        "text": fill_letter(template.text, values),
        "problems": problems,
        "field_codes": field_codes(problems),
    }


def issue_letter(*, case: Case, template_id: int, locale: str, actor_id: int) -> tuple[bytes, TimelineEvent]:
    """Render the letter, refuse it on R7 (422 naming the placeholder or `text`), store the PDF and
    record it on the case's timeline; returns the PDF and the event."""
    template = get_letter_template(template_id=template_id, locale=locale)
    values = letter_values(case, locale)
    errors = letter_problems(template=template, values=values)
    if errors:
        abort(422, "This letter would carry wording that may not be sent (R7).", errors=errors)
    reference = f"{template.key} v{template.version}"
    pdf = render_letter(case=case, text=fill_letter(template.text, values), values=values, locale=locale, reference=reference)
    digest = store_blob(data=pdf, content_type="application/pdf")
    event = record_contact(
        case=case,
        channel="letter",
        at=None,
        result="issued",
        note=reference,
        actor_id=actor_id,
        document={
            "pdf_sha256": digest,
            "template_id": template.id,
            "template_key": template.key,
            "template_version": template.version,
            "locale": locale,
        },
    )
    return pdf, event


def get_letter(*, case: Case, sha256: str) -> Blob:
    """A letter's PDF, if a `contact.letter` event of this case records it (404 otherwise)."""
    sha256 = sha256.lower()
    documents = db.session.scalars(
        select(TimelineEvent.data).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "contact.letter")
    ).all()
    blob = db.session.get(Blob, sha256) if any(((d or {}).get("document") or {}).get("pdf_sha256") == sha256 for d in documents) else None
    if blob is None:
        abort(404, "No such letter on this case.")
    return blob
