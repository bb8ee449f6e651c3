"""Recommended approach for a case: the seed playbook's eight strategies (信用卡八大策略).

Interface (stable):
    recommend(case, locale="zh-CN") -> dict
        # {"placeholder": False, "locale", "profile": {...},
        #  "strategies": [{"key", "label", "score", "reason", "reasons", "scripts": [{"key", "version", "text", "legal_wording"}]}]}
    approved_scripts(locale="zh-CN") -> dict   # the whole approved set, for the day packet's top-level `strategies`
    case_profile(case) -> dict                 # what the recommendation is built from
    script_strategy(key) -> str | None         # the strategy of a script that was ever approved

The engine scores each strategy from the case profile (days past due, amounts, broken promises,
hardship signals, contact history, past outcomes, flags, stage, open plan) and returns them in
order with the reason. Legal deterrence appears only at a legal_wording_stages stage (R7); a
case with a blocking flag gets care only, never collection wording.

What works (payments.what_works) only orders: among the strategies the scorer chose, those with
a track record (enough visits, a judged promise) are put in the order of the lower bound of
their kept-promise interval, in the places they held; the others keep their place. It never
adds a strategy the scorer left out nor brings back one a rule excludes.
"""

import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cases.models import Note
from ..common import utcnow
from ..extensions import db
from ..payments.models import PromiseTrack
from ..payments.what_works import kept_lower_bounds
from ..plans.models import OPEN_STATUSES, RepaymentPlan
from ..visits.models import Outcome
from .models import ScriptTemplate
from .rules import jurisdiction_for, legal_wording_allowed
from .settings import effective_settings

DATA = Path(__file__).parent / "data"
LOCALES = ("zh-CN", "en")
MAX_STRATEGIES = 4
MIN_SCORE = 30
TRACK_RECORD_DAYS = 365  # the visits whose kept promises order the recommendation


@lru_cache(maxsize=1)
def playbook() -> dict:
    return json.loads((DATA / "strategies.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def builtin_scripts() -> list[dict]:
    return json.loads((DATA / "scripts.json").read_text(encoding="utf-8"))["scripts"]


def _locale(locale: str | None) -> str:
    return locale if locale in LOCALES else ("en" if (locale or "").startswith("en") else "zh-CN")


# --- scripts ----------------------------------------------------------------------------------


def approved_script_rows(locale: str) -> dict[str, dict]:
    """key -> the newest approved version in `locale` (built-in version 1 unless an admin's is newer).

    A key whose newest decided version was retired ships nothing; letter templates never ship.
    """
    locale = _locale(locale)
    out: dict[str, dict] = {
        item["key"]: {
            "key": item["key"],
            "strategy": item["strategy"],
            "version": 1,
            "text": item["text"][locale],
            "legal_wording": item["legal_wording"],
        }
        for item in builtin_scripts()
    }
    newest = (
        select(ScriptTemplate.key, func.max(ScriptTemplate.version).label("version"))
        .where(ScriptTemplate.kind == "script", ScriptTemplate.locale == locale, ScriptTemplate.status.in_(("approved", "retired")))
        .group_by(ScriptTemplate.key)
        .subquery()
    )
    rows = db.session.scalars(
        select(ScriptTemplate)
        .join(
            newest,
            (newest.c.key == ScriptTemplate.key) & (newest.c.version == ScriptTemplate.version),
        )
        .where(ScriptTemplate.kind == "script", ScriptTemplate.locale == locale)
    ).all()
    for row in rows:
        if row.status == "retired":
            out.pop(row.key, None)
        else:
            out[row.key] = {
                "key": row.key,
                "strategy": row.strategy,
                "version": row.version,
                "text": row.text,
                "legal_wording": row.legal_wording,
            }
    return out


def script_strategy(key: str) -> str | None:
    """The strategy of a script key that is built in or was ever approved (a script retired since
    the agent opened it offline still names what was used at the door); None for any other key."""
    for item in builtin_scripts():
        if item["key"] == key:
            return item["strategy"]
    return db.session.scalar(
        select(ScriptTemplate.strategy)
        .where(ScriptTemplate.key == key, ScriptTemplate.kind == "script", ScriptTemplate.status.in_(("approved", "retired")))
        .limit(1)
    )


def approved_scripts(locale: str = "zh-CN", *, rows: dict | None = None) -> dict:
    """The full approved script set for the day packet's top-level `strategies`.

    Legal-wording scripts are included but marked; the device shows them only for a case whose
    recommendation lists legal_deterrence (a legal-stage case, R7). `rows`: approved_script_rows(locale),
    when the caller already has them.
    """
    locale = _locale(locale)
    if rows is None:
        rows = approved_script_rows(locale)
    by_strategy: dict[str, list] = defaultdict(list)
    for row in rows.values():
        by_strategy[row["strategy"]].append({k: row[k] for k in ("key", "version", "text", "legal_wording")})
    book = playbook()
    return {
        "locale": locale,
        "strategies": [
            {"key": key, "label": book["strategies"][key]["label"][locale], "scripts": by_strategy.get(key, [])} for key in book["order"]
        ],
    }


# --- the case profile -------------------------------------------------------------------------


def track_record() -> dict[str, float]:
    """strategy -> lower bound of its kept-promise interval over the last TRACK_RECORD_DAYS."""
    today = utcnow().date()
    return kept_lower_bounds(since=today - timedelta(days=TRACK_RECORD_DAYS), until=today)


def case_facts(case_ids: list[int]) -> dict[int, dict]:
    """What the profile reads per case — outcomes (by id), note texts, the newest open plan and
    its promise-track state — for many cases in four queries (the day packet: one per relation,
    not one per visit), and the strategies' track record (one reading shared by all)."""
    if not case_ids:
        return {}
    record = track_record()
    facts = {case_id: {"outcomes": [], "notes": [], "open_plan": None, "plan_state": None, "track_record": record} for case_id in case_ids}
    for outcome in db.session.scalars(select(Outcome).where(Outcome.case_id.in_(case_ids)).order_by(Outcome.id)):
        facts[outcome.case_id]["outcomes"].append(outcome)
    for case_id, text in db.session.execute(select(Note.case_id, Note.text).where(Note.case_id.in_(case_ids)).order_by(Note.id)):
        facts[case_id]["notes"].append(text)
    plans = db.session.scalars(
        select(RepaymentPlan)
        .where(RepaymentPlan.case_id.in_(case_ids), RepaymentPlan.status.in_(OPEN_STATUSES))
        .order_by(RepaymentPlan.id.desc())
        .options(selectinload(RepaymentPlan.installments))
    ).all()
    for plan in plans:
        if facts[plan.case_id]["open_plan"] is None:
            facts[plan.case_id]["open_plan"] = plan
            facts[plan.case_id]["plan_state"] = plan.status
    newest = {f["open_plan"].id: f for f in facts.values() if f["open_plan"] is not None}
    if newest:
        for track in db.session.scalars(select(PromiseTrack).where(PromiseTrack.plan_id.in_(list(newest)))):
            newest[track.plan_id]["plan_state"] = track.state
    return facts


HARDSHIP_OUTCOME = "hardship_outcome"  # a signal from a recorded outcome, not from words


def hardship_signals(case, *, facts: dict | None = None) -> list[str]:
    """Hardship seen in outcomes (the hardship code or a hardship field: `HARDSHIP_OUTCOME`, said
    in the reader's language when a reason names it) and in notes' wording (the words as written)."""
    facts = facts if facts is not None else case_facts([case.id])[case.id]
    signals = []
    outcomes = facts["outcomes"]
    if any(o.code == "hardship" or (o.data or {}).get("hardship") for o in outcomes):
        signals.append(HARDSHIP_OUTCOME)
    keywords = playbook()["hardship_keywords"]
    texts = list(facts["notes"])
    texts += [str((o.data or {}).get("reason", "")) + " " + str((o.data or {}).get("note", "")) for o in outcomes]
    seen = set()
    for text in texts:
        lowered = text.lower()
        for word in keywords["en"] + keywords["zh-CN"]:
            if word in seen:
                continue
            if (word.isascii() and f" {word} " in f" {lowered} ") or (not word.isascii() and word in text):
                seen.add(word)
                signals.append(word)
    return signals


def case_profile(case, *, facts: dict | None = None) -> dict:
    """`facts`: case_facts()[case.id], when the caller has them for many cases at once."""
    facts = facts if facts is not None else case_facts([case.id])[case.id]
    outcomes = facts["outcomes"]  # every outcome belongs to a visit (visit_id is required)
    codes = [o.code for o in outcomes]
    blocking = set(effective_settings(jurisdiction_for(case))["blocking_flags"])
    open_plan, plan_state = facts["open_plan"], facts["plan_state"]
    account = case.account
    return {
        "stage": case.stage,
        "days_past_due": account.days_past_due,
        "overdue_amount": str(account.overdue_amount),
        "balance": str(account.balance),
        "currency": account.currency,
        "broken_promises": case.broken_promises,
        "hardship": hardship_signals(case, facts=facts),
        "visits": len(outcomes),
        "right_party_contacts": sum(1 for o in outcomes if o.met == "debtor"),
        "not_home": codes.count("not_home"),
        "refusals": codes.count("refused"),
        "promises": codes.count("promise_to_pay") + codes.count("plan_agreed"),
        "last_outcome": codes[-1] if codes else None,
        "last_contact_at": case.last_contact_at.isoformat() if case.last_contact_at else None,
        "flags": sorted({f.flag for f in case.active_flags() if f.flag in blocking}),
        "open_plan": {"id": open_plan.id, "kind": open_plan.kind, "state": plan_state} if open_plan else None,
        "legal_wording_allowed": legal_wording_allowed(case),
    }


# --- the engine -------------------------------------------------------------------------------


def _score(p: dict) -> dict[str, list[tuple[int, str, dict]]]:
    """strategy -> [(points, reason code, reason values)]; the sum orders the strategies."""
    points: dict[str, list] = defaultdict(list)

    def add(strategy, score, reason, **values):
        points[strategy].append((score, reason, values))

    if p["flags"]:
        add("customer_care", 100, "blocked", flags=", ".join(p["flags"]))
        add("empathy", 40, "blocked", flags=", ".join(p["flags"]))
        return points
    hardship = p["hardship"]
    dpd = p["days_past_due"]
    overdue = Decimal(p["overdue_amount"])
    balance = Decimal(p["balance"]) or Decimal(1)
    broken = p["broken_promises"]
    if p["legal_wording_allowed"]:
        # at the legal stage the hand-off's factual position leads, whatever else happened
        add("legal_deterrence", 100 + 25 * min(broken, 3) + 10 * min(p["refusals"], 3), "legal_stage")
    if hardship:
        signals = hardship[:3]
        add("installment_plan", 90, "hardship", signals=signals)
        add("empathy", 60, "hardship", signals=signals)
        add("customer_care", 50, "hardship_care", signals=signals)
    if p["open_plan"] and p["open_plan"]["state"] in ("active", "open", "grace", "pending_approval", "proposed"):
        add("customer_care", 85, "plan_in_place", state=p["open_plan"]["state"])
        add("sms_reminder", 35, "plan_in_place", state=p["open_plan"]["state"])
    if broken >= 2 and not hardship:
        add("firm", 90 + 5 * min(broken - 2, 4), "broken_many", n=broken)
        add("installment_plan", 45, "broken_restructure", n=broken)
    elif broken == 1:
        add("sms_reminder", 55, "broken_one")
        add("firm", 45, "broken_many", n=broken)
        add("installment_plan", 35, "broken_restructure", n=broken)
    if p["refusals"] and not hardship:
        add("firm", 60 + 10 * min(p["refusals"], 3), "refused", n=p["refusals"])
    if p["not_home"] >= 2:
        add("sms_reminder", 80, "not_home", n=p["not_home"])
        add("home_visit", 30, "not_home", n=p["not_home"])
    if p["right_party_contacts"] == 0 and p["not_home"] < 2 and broken == 0:
        if dpd > 120:
            add("home_visit", 75, "no_contact_long", dpd=dpd)
            add("empathy", 40, "no_contact_recent")
        else:
            add("empathy", 70, "no_contact_recent")
            add("home_visit", 45, "no_contact_long", dpd=dpd)
    if dpd <= 60:
        add("early_repayment_incentive", 75, "early_bucket", dpd=dpd)
        add("sms_reminder", 45, "early_bucket", dpd=dpd)
    elif overdue <= balance * Decimal("0.25") or overdue <= 3000:
        add("early_repayment_incentive", 50, "within_reach", amount=f"{overdue} {p['currency']}")
    add("home_visit", 15, "field_default")
    add("empathy", 15, "field_default")
    return points


def order_by_record(chosen: list, record: dict[str, float]) -> list:
    """The chosen strategies with those that have a track record reordered by it (highest lower
    bound first, ties in the scorer's order) in the places they held; the rest stay put."""
    places = [n for n, (key, _) in enumerate(chosen) if key in record]
    ordered = sorted((chosen[n] for n in places), key=lambda item: -record[item[0]])
    out = list(chosen)
    for n, item in zip(places, ordered, strict=True):
        out[n] = item
    return out


def _said(values: dict, locale: str) -> dict:
    """A reason's values in the reader's language: a list of signals joined, the outcome marker
    worded from the playbook."""
    labels = playbook()["signal_labels"]
    return {
        k: ", ".join(labels[v][locale] if v in labels else v for v in value) if isinstance(value, list) else value
        for k, value in values.items()
    }


def recommend(case, locale: str = "zh-CN", *, scripts: dict | None = None, facts: dict | None = None) -> dict:
    """Ordered strategies for this case, each with its reason and its approved scripts in `locale`
    (`scripts`: approved_script_rows(locale), `facts`: case_facts()[case.id], when the caller
    already has them for many cases)."""
    locale = _locale(locale)
    facts = facts if facts is not None else case_facts([case.id])[case.id]
    profile = case_profile(case, facts=facts)
    book = playbook()
    scored = _score(profile)
    ranked = sorted(scored.items(), key=lambda kv: (-sum(s for s, _, _ in kv[1]), book["order"].index(kv[0])))
    chosen = [(k, v) for k, v in ranked if sum(s for s, _, _ in v) >= MIN_SCORE][:MAX_STRATEGIES] or ranked[:1]
    chosen = order_by_record(chosen, facts["track_record"])
    if scripts is None:
        scripts = approved_script_rows(locale)
    out = []
    for key, parts in chosen:
        if key == "legal_deterrence" and not profile["legal_wording_allowed"]:
            continue  # R7: belt and braces, the scorer never adds it then
        parts = sorted(parts, key=lambda part: -part[0])
        reasons = [book["reasons"][code][locale].format(**_said(values, locale)) for _, code, values in parts]
        out.append(
            {
                "key": key,
                "label": book["strategies"][key]["label"][locale],
                "score": sum(s for s, _, _ in parts),
                "reason": reasons[0],
                "reasons": list(dict.fromkeys(reasons)),
                "scripts": [
                    {k: row[k] for k in ("key", "version", "text", "legal_wording")}
                    for row in scripts.values()
                    if row["strategy"] == key and (profile["legal_wording_allowed"] or not row["legal_wording"])
                ],
            }
        )
    return {"placeholder": False, "locale": locale, "profile": profile, "strategies": out}
