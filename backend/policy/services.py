"""Policy services: script and letter templates (versioned, approved before they ship or are
sent) and plan checks for the API."""

import re

from sqlalchemy import func, select

from ..common import utcnow
from ..errors import abort
from ..extensions import db
from .models import ScriptTemplate
from .rules import legal_terms_in, prohibited_phrases_in
from .strategies import LOCALES, builtin_scripts, playbook


def script_problems(*, text: str, legal_wording: bool) -> list[str]:
    """R7: why a script may not be approved (prohibited phrases; legal wording outside a legal script)."""
    problems = [f"prohibited wording ({h['category']}): {h['phrase']}" for h in prohibited_phrases_in(text)]
    if not legal_wording:
        problems += [f"legal-consequence wording only in a legal script: {term}" for term in legal_terms_in(text)]
    return problems


# what a letter template may name in {braces}: the case's fields and the organisation's, filled
# on the server when the letter is rendered (consoles/letters.py)
LETTER_PLACEHOLDERS = ("debtor_name", "card_masked", "overdue_amount", "currency", "organisation", "complaint_phone", "date")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def letter_placeholder_problems(text: str) -> list[str]:
    """The {braces} of a letter template that name nothing the server fills."""
    return [
        f"unknown placeholder {{{name}}}; a letter fills {', '.join(LETTER_PLACEHOLDERS)}"
        for name in dict.fromkeys(PLACEHOLDER.findall(text))
        if name not in LETTER_PLACEHOLDERS
    ]


def fill_letter(text: str, values: dict[str, str]) -> str:
    """The template with each {placeholder} replaced by its value (plain substitution, no format language)."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def letter_problems(*, template: ScriptTemplate, values: dict[str, str]) -> dict[str, list[str]]:
    """R7 on what a letter would say: the scan approval runs, over each value the template names
    (a debtor's name or an imported field can carry wording too) and over the rendered text."""
    errors = {}
    for name in dict.fromkeys(PLACEHOLDER.findall(template.text)):
        problems = script_problems(text=values[name], legal_wording=template.legal_wording)
        if problems:
            errors[name] = problems
    problems = script_problems(text=fill_letter(template.text, values), legal_wording=template.legal_wording)
    if problems:
        errors["text"] = problems
    return errors


def get_letter_template(*, template_id: int, locale: str) -> ScriptTemplate:
    """The letter template to send: an approved letter version in `locale`, the newest approved
    of its key (only that one is sent, as only the newest approved script ships). 422 otherwise."""
    row = db.session.get(ScriptTemplate, template_id)
    if row is None or row.kind != "letter":
        abort(422, "No letter template with that id.", errors={"template_id": ["not a letter template"]})
    if row.status != "approved":
        abort(422, "Only an approved letter template is sent (R7).", errors={"template_id": [f"{row.status}, not approved"]})
    newest = db.session.scalar(
        select(func.max(ScriptTemplate.version)).where(
            ScriptTemplate.key == row.key, ScriptTemplate.locale == row.locale, ScriptTemplate.status.in_(("approved", "retired"))
        )
    )
    if newest != row.version:
        abort(422, "A newer version of this letter was approved.", errors={"template_id": [f"superseded by version {newest}"]})
    if row.locale != locale:
        abort(422, "The template is in another language.", errors={"locale": [f"template {row.id} is {row.locale}"]})
    return row


def list_script_versions(
    *, key: str | None = None, locale: str | None = None, status: str | None = None, kind: str | None = None
) -> list[dict]:
    """Every version: the built-in version 1 of each script, then the admins' versions (letter
    templates have no built-in version: each is a database row)."""
    out = []
    for item in builtin_scripts():
        for loc in LOCALES:
            if (key and item["key"] != key) or (locale and loc != locale) or (status and status != "approved") or kind == "letter":
                continue
            out.append(
                {
                    "id": None,
                    "key": item["key"],
                    "kind": "script",
                    "strategy": item["strategy"],
                    "locale": loc,
                    "version": 1,
                    "text": item["text"][loc],
                    "legal_wording": item["legal_wording"],
                    "status": "approved",
                    "source": "builtin",
                    "note": "",
                    "created_by_id": None,
                    "created_at": None,
                    "decided_by_id": None,
                    "decided_at": None,
                }
            )
    stmt = select(ScriptTemplate).order_by(ScriptTemplate.key, ScriptTemplate.locale, ScriptTemplate.version)
    if key:
        stmt = stmt.where(ScriptTemplate.key == key)
    if locale:
        stmt = stmt.where(ScriptTemplate.locale == locale)
    if status:
        stmt = stmt.where(ScriptTemplate.status == status)
    if kind:
        stmt = stmt.where(ScriptTemplate.kind == kind)
    for row in db.session.scalars(stmt):
        out.append(
            {
                "id": row.id,
                "key": row.key,
                "kind": row.kind,
                "strategy": row.strategy,
                "locale": row.locale,
                "version": row.version,
                "text": row.text,
                "legal_wording": row.legal_wording,
                "status": row.status,
                "source": "database",
                "note": row.note,
                "created_by_id": row.created_by_id,
                "created_at": row.created_at,
                "decided_by_id": row.decided_by_id,
                "decided_at": row.decided_at,
            }
        )
    return out


def propose_script(
    *,
    key: str,
    locale: str,
    text: str,
    actor_id: int | None,
    strategy: str | None = None,
    legal_wording: bool | None = None,
    note: str = "",
    kind: str = "script",
) -> ScriptTemplate:
    """An admin's edit: a new draft version (the approved one keeps shipping until this is approved).

    A letter template (kind `letter`) is keyed `letter.<name>`, belongs to the letter rung rather
    than a door strategy, and names only the placeholders the server fills."""
    builtin = next((item for item in builtin_scripts() if item["key"] == key), None)
    previous = db.session.scalar(select(ScriptTemplate).where(ScriptTemplate.key == key).order_by(ScriptTemplate.id.desc()).limit(1))
    if (key.split(".")[0] == "letter") != (kind == "letter"):
        abort(422, "Letter templates, and only they, are keyed letter.<name>.", errors={"key": ["letter.<name> is for kind letter"]})
    if kind == "letter":
        if strategy not in (None, "letter"):
            abort(422, "A letter template belongs to the letter rung, not a door strategy.", errors={"strategy": ["letter only"]})
        strategy = "letter"
        if placeholders := letter_placeholder_problems(text):
            abort(422, "The letter names a placeholder the server cannot fill.", errors={"text": placeholders})
    strategy = strategy or (previous.strategy if previous else builtin["strategy"] if builtin else key.split(".")[0])
    if kind == "script" and strategy not in playbook()["strategies"]:
        abort(422, "Name one of the eight strategies for a new script.", errors={"strategy": ["unknown strategy"]})
    if legal_wording is None:
        legal_wording = previous.legal_wording if previous else bool(builtin and builtin["legal_wording"])
    if legal_wording and strategy != "legal_deterrence":
        abort(422, "Legal wording belongs to the legal-deterrence strategy only (R7).", errors={"legal_wording": ["legal_deterrence only"]})
    latest = db.session.scalar(select(func.max(ScriptTemplate.version)).where(ScriptTemplate.key == key, ScriptTemplate.locale == locale))
    version = max(latest or 0, 1 if builtin else 0) + 1
    row = ScriptTemplate(
        key=key,
        kind=kind,
        strategy=strategy,
        locale=locale,
        version=version,
        text=text,
        legal_wording=legal_wording,
        status="draft",
        note=note,
        created_by_id=actor_id,
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def decide_script(*, template_id: int, decision: str, actor_id: int | None, note: str = "") -> ScriptTemplate:
    """approve | reject | retire. Approval re-runs the R7 scan: prohibited wording is never approved."""
    row = db.session.get(ScriptTemplate, template_id)
    if row is None:
        abort(404, f"No script version {template_id}.")
    allowed = {"approve": ("draft",), "reject": ("draft",), "retire": ("approved",)}[decision]
    if row.status not in allowed:
        abort(409, f"A {row.status} script version cannot be {decision}d.", code="bad_transition")
    if decision == "approve":
        problems = script_problems(text=row.text, legal_wording=row.legal_wording)
        if problems:
            abort(422, "This wording may not be approved (R7).", errors={"text": problems})
    row.status = {"approve": "approved", "reject": "rejected", "retire": "retired"}[decision]
    row.decided_by_id = actor_id
    row.decided_at = utcnow()
    if note:
        row.note = note
    return row
