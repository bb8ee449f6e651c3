"""The payment link: a per-case address on the bank's own pay page, built from the deployment's
PAYMENT_LINK_TEMPLATE and shown to the debtor as a QR on the agent's phone. The debtor pays on
the bank's page on their own phone; no card data ever reaches Doorstep. The money comes back
through the payment feed like any other payment."""

from decimal import Decimal
from urllib.parse import quote

from flask import current_app

from ..cases.models import Case

PLACEHOLDERS = ("{reference}", "{amount}", "{currency}")


def case_reference(case: Case) -> str:
    """What the pay page is told the payment is for: the case, never the account number the
    agent's device may not hold (R15)."""
    return f"DS-{case.id}"


def build_payment_link(case: Case) -> dict | None:
    """{url, reference, amount, currency} for the case, or None without a template. The amount is
    what is overdue, never above the balance; each placeholder's value is URL-encoded."""
    template = current_app.config.get("PAYMENT_LINK_TEMPLATE") or ""
    if not template:
        return None
    account = case.account
    amount = min(Decimal(account.overdue_amount), Decimal(account.balance)).quantize(Decimal("0.01"))
    if amount <= 0:
        return None
    values = {"{reference}": case_reference(case), "{amount}": str(amount), "{currency}": account.currency}
    url = template
    for placeholder in PLACEHOLDERS:
        url = url.replace(placeholder, quote(values[placeholder], safe=""))
    return {"url": url, "reference": values["{reference}"], "amount": str(amount), "currency": account.currency}
