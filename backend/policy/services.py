"""Policy services: script templates (versioned, approved before they ship) and plan checks for the API."""

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


def list_script_versions(*, key: str | None = None, locale: str | None = None, status: str | None = None) -> list[dict]:
    """Every version: the built-in version 1 of each script, then the admins' versions."""
    out = []
    for item in builtin_scripts():
        for loc in LOCALES:
            if (key and item["key"] != key) or (locale and loc != locale) or (status and status != "approved"):
                continue
            out.append(
                {
                    "id": None,
                    "key": item["key"],
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
    for row in db.session.scalars(stmt):
        out.append(
            {
                "id": row.id,
                "key": row.key,
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
    *, key: str, locale: str, text: str, actor_id: int, strategy: str | None = None, legal_wording: bool | None = None, note: str = ""
) -> ScriptTemplate:
    """An admin's edit: a new draft version (the approved one keeps shipping until this is approved)."""
    builtin = next((item for item in builtin_scripts() if item["key"] == key), None)
    previous = db.session.scalar(select(ScriptTemplate).where(ScriptTemplate.key == key).order_by(ScriptTemplate.id.desc()).limit(1))
    strategy = strategy or (previous.strategy if previous else builtin["strategy"] if builtin else key.split(".")[0])
    if strategy not in playbook()["strategies"]:
        abort(422, "Name one of the eight strategies for a new script.", errors={"strategy": ["unknown strategy"]})
    if legal_wording is None:
        legal_wording = previous.legal_wording if previous else bool(builtin and builtin["legal_wording"])
    if legal_wording and strategy != "legal_deterrence":
        abort(422, "Legal wording belongs to the legal-deterrence strategy only (R7).", errors={"legal_wording": ["legal_deterrence only"]})
    latest = db.session.scalar(select(func.max(ScriptTemplate.version)).where(ScriptTemplate.key == key, ScriptTemplate.locale == locale))
    version = max(latest or 0, 1 if builtin else 0) + 1
    row = ScriptTemplate(
        key=key,
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


def decide_script(*, template_id: int, decision: str, actor_id: int, note: str = "") -> ScriptTemplate:
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
