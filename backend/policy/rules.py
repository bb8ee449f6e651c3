"""Compliance rules (COMPLIANCE.md R1–R8, R11–R13, R16), one module, four enforcement points.

ASSIGN   check_visit / eligibility_for_day — POST /api/visits answers 409 naming the rule and flag
ROUTE    eligibility_for_day (exclusions) and windows_for (R1 hours ∩ R2 availability) for the planner
DEVICE   rules_snapshot — shipped in the day packet under `rules`, applied offline by the PWA
SYNC     sync_findings (quarantine, never drop); review_flag_for on notes (cases.add_note) and
         overlong_visit_findings at check-out (kept, flagged for review)

Every number is a named setting of a jurisdiction profile (settings.py): defaults in code,
changes in the database with who and when.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..cases.models import RUNG_WORK, Account, Case, TimelineEvent
from ..common import canonical_json, sha256_hex, to_utc_naive, utcnow
from ..escalations.models import KINDS as ESCALATION_KINDS
from ..extensions import db
from ..payments.models import FollowUp
from ..visits.models import OUTCOMES, Outcome, Visit
from .settings import effective_settings, settings_version

DATA = Path(__file__).parent / "data"

# flags another rule raises; they block as R4 flags (COMPLIANCE.md R11, R12, R16) and name their source
FLAG_RULES = {"asked_not_to_return": "R11", "vulnerable": "R12", "escalated": "R16"}
# visits happen at these ladder stages (legal: the hand-off may still need a visit, R7 governs wording)
VISIT_STAGES = ("field", "legal")


@dataclass
class Finding:
    rule: str
    message: str
    flag: str | None = None
    extra: dict = field(default_factory=dict)
    # what the finding says, for the reader's own language: a stable code and the values it names
    code: str | None = None
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"rule": self.rule, "message": self.message}
        if self.flag:
            out["flag"] = self.flag
        out.update(self.extra)
        if self.code:
            out["code"] = self.code
            out["params"] = dict(self.params)
        return out


# --- R1 visiting hours ------------------------------------------------------------------------


def _local_span(day: date, span: list[str], zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.fromisoformat(span[0]), zone)
    end = datetime.combine(day, time.fromisoformat(span[1]), zone)
    return to_utc_naive(start), to_utc_naive(end)


def visiting_window(*, jurisdiction: str, tz: str, day: date) -> tuple[datetime, datetime] | None:
    """R1: the legal window on `day` in the debtor's timezone, as naive UTC (None: no visits that day)."""
    settings = effective_settings(jurisdiction)
    if day.isoformat() in settings["holidays"]:
        return None
    span = settings["visiting_hours"].get(str(day.weekday()))
    if span is None:
        return None
    return _local_span(day, span, ZoneInfo(tz))


# --- R2 debtor's declared times and places ----------------------------------------------------


def _seconds(text: str) -> int:
    t = time.fromisoformat(text)
    return t.hour * 3600 + t.minute * 60


def _subtract(spans: list[tuple[int, int]], cut: tuple[int, int]) -> list[tuple[int, int]]:
    out = []
    for start, end in spans:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def _intersect(spans: list[tuple[int, int]], allowed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for start, end in spans:
        for a_start, a_end in allowed:
            lo, hi = max(start, a_start), min(end, a_end)
            if lo < hi:
                out.append((lo, hi))
    return sorted(out)


def _debtor_spans(debtor, day: date, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Local-day seconds left after the debtor's declared availability and inconvenient times.

    availability: {"0".."6": [[start_s, end_s], ...]} — a declared weekday limits visits to those
    spans; an undeclared weekday is not limited. inconvenient: [{"days": [0..6] (all if absent),
    "date": "YYYY-MM-DD" (optional), "start": "HH:MM", "end": "HH:MM" (whole day if absent)}].
    """
    weekday = day.weekday()
    declared = (debtor.availability or {}).get(str(weekday))
    if declared is not None:
        try:
            allowed = [(int(s), int(e)) for s, e in declared]
        except (TypeError, ValueError):
            allowed = []  # a declaration we cannot read is honoured the safe way: not available
        spans = _intersect(spans, allowed)
    for item in debtor.inconvenient or []:
        try:
            if item.get("date") and item["date"] != day.isoformat():
                continue
            if "days" in item and weekday not in item["days"]:
                continue
            cut = (_seconds(item["start"]), _seconds(item["end"])) if item.get("start") else (0, 86400)
        except (AttributeError, KeyError, TypeError, ValueError):
            cut = (0, 86400)  # unreadable: the whole day counts as inconvenient
        spans = _subtract(spans, cut)
    return spans


def windows_for(case: Case, address, day: date) -> list[tuple[datetime, datetime]]:
    """ROUTE: the solver's time windows for a visit on `day` — R1 legal hours in the debtor's
    timezone ∩ R2 declared availability, minus declared inconvenient times; [] when the place
    is barred (R2 workplace ban) or the day has no hours. Naive UTC pairs, earliest first."""
    if address is None or _workplace_barred(case, address):
        return []
    jurisdiction = jurisdiction_for(case, address)
    settings = effective_settings(jurisdiction)
    if day.isoformat() in settings["holidays"]:
        return []
    span = settings["visiting_hours"].get(str(day.weekday()))
    if span is None:
        return []
    zone = ZoneInfo(timezone_for(case, address))
    local = _debtor_spans(case.account.debtor, day, [(_seconds(span[0]), _seconds(span[1]))])
    midnight = datetime.combine(day, time(0), zone)
    return [(to_utc_naive(midnight + timedelta(seconds=s)), to_utc_naive(midnight + timedelta(seconds=e))) for s, e in local]


def _workplace_barred(case: Case, address) -> bool:
    return address.kind == "work" and bool(case.account.debtor.workplace_ban)


def place_findings(case: Case, address, day: date) -> list[Finding]:
    """R1 and R2 for one address on one day: is there any lawful, acceptable time left?"""
    if address is None:
        return []
    if _workplace_barred(case, address):
        return [Finding("R2", "The debtor has not agreed to visits at the workplace.", code="workplace_not_agreed")]
    jurisdiction = jurisdiction_for(case, address)
    if visiting_window(jurisdiction=jurisdiction, tz=timezone_for(case, address), day=day) is None:
        return [
            Finding(
                "R1",
                f"No visiting hours on {day.isoformat()} in the {jurisdiction} profile (day off or holiday).",
                code="no_visiting_hours",
                params={"day": day.isoformat(), "jurisdiction": jurisdiction},
            )
        ]
    if not windows_for(case, address, day):
        return [
            Finding(
                "R2", "The debtor declared the whole visiting window of that day inconvenient or unavailable.", code="window_unavailable"
            )
        ]
    return []


# --- R4 / R11 / R12 / R16 blocking flags ------------------------------------------------------


def blocking_findings(case: Case, at: datetime | None = None) -> list[Finding]:
    """R4: every active visit-blocking flag; one raised by R11, R12 or R16 says so in `source_rule`."""
    jurisdiction = jurisdiction_for(case)
    blocking = set(effective_settings(jurisdiction)["blocking_flags"])
    return [
        Finding(
            "R4",
            f"Case is blocked by the {f.flag} flag: {f.reason}".rstrip(": "),
            flag=f.flag,
            extra={"source_rule": FLAG_RULES[f.flag]} if f.flag in FLAG_RULES else {},
            code="case_blocked_flag",
            params={"flag": f.flag, "reason": f.reason or ""},
        )
        for f in case.active_flags(at)
        if f.flag in blocking
    ]


# --- R3 frequency caps and cool-off -----------------------------------------------------------


def _visit_count(case: Case, day: date, days: int, exclude_visit_id: int | None) -> int:
    stmt = (
        select(func.count(Visit.id))
        .join(Case, Case.id == Visit.case_id)
        .join(Account, Account.id == Case.account_id)
        .where(
            Account.debtor_id == case.account.debtor_id,
            Visit.status != "cancelled",
            Visit.date > day - timedelta(days=days),
            Visit.date < day + timedelta(days=days),
        )
    )
    if exclude_visit_id:
        stmt = stmt.where(Visit.id != exclude_visit_id)
    return db.session.scalar(stmt)


def cap_findings(case: Case, day: date, exclude_visit_id: int | None = None) -> list[Finding]:
    """R3: attempted visits per debtor within 7 and 30 days (any case of the same debtor), and the
    cool-off after a right-party contact unless a follow-up was agreed."""
    settings = effective_settings(jurisdiction_for(case))
    findings = []
    for days, cap in ((7, settings["cap_7_days"]), (30, settings["cap_30_days"])):
        count = _visit_count(case, day, days, exclude_visit_id)
        if count >= cap:
            findings.append(
                Finding(
                    "R3",
                    f"Debtor already has {count} visit(s) within {days} days (cap {cap}).",
                    extra={"count": count},
                    code="visit_cap",
                    params={"n": count, "days": days, "cap": cap},
                )
            )
    findings += _cool_off_findings(case, day, settings["cool_off_days"])
    return findings


def visit_allowance(case: Case, day: date, *, visit_id: int | None = None) -> dict:
    """R3 for the device's brief: how much of the caps this visit uses and any cool-off in force."""
    settings = effective_settings(jurisdiction_for(case))
    cool_off = _cool_off_findings(case, day, settings["cool_off_days"])
    return {
        "visits_7_days": _visit_count(case, day, 7, visit_id),
        "cap_7_days": settings["cap_7_days"],
        "visits_30_days": _visit_count(case, day, 30, visit_id),
        "cap_30_days": settings["cap_30_days"],
        "cool_off_until": cool_off[0].extra["cool_off_until"] if cool_off else None,
    }


def _cool_off_findings(case: Case, day: date, cool_off_days: int) -> list[Finding]:
    if cool_off_days <= 0:
        return []
    last = db.session.execute(
        select(Visit.date)
        .join(Outcome, Outcome.visit_id == Visit.id)
        .join(Case, Case.id == Visit.case_id)
        .join(Account, Account.id == Case.account_id)
        .where(Account.debtor_id == case.account.debtor_id, Outcome.met == "debtor", Visit.date < day)
        .order_by(Visit.date.desc())
        .limit(1)
    ).first()
    if last is None or (day - last.date).days >= cool_off_days:
        return []
    # an agreed return (an outcome's follow_up_date, or one the office set) is an open follow-up
    follow_up = db.session.scalar(
        select(func.count(FollowUp.id)).where(
            FollowUp.case_id == case.id, FollowUp.status == "open", FollowUp.kind == "visit", FollowUp.due_on <= day
        )
    )
    if follow_up:
        return []
    return [
        Finding(
            "R3",
            f"Right-party contact on {last.date.isoformat()}: {cool_off_days}-day cool-off unless a follow-up was agreed.",
            extra={"cool_off_until": (last.date + timedelta(days=cool_off_days)).isoformat()},
            code="cool_off",
            params={"date": last.date.isoformat(), "n": cool_off_days},
        )
    ]


# --- the ladder -------------------------------------------------------------------------------


def stage_findings(case: Case) -> list[Finding]:
    if case.stage not in VISIT_STAGES:
        return [
            Finding(
                "ladder",
                f"Case is at the {case.stage} stage; only field- and legal-stage cases get visits.",
                code="stage_no_visits",
                params={"stage": case.stage},
            )
        ]
    return contact_findings(case)


# the early rungs' work: a contact attempt recorded on the case (API or import)
_CONTACT_KINDS = tuple(f"contact.{channel}" for channels in RUNG_WORK.values() for channel in channels)


def contact_findings(case: Case) -> list[Finding]:
    """Where the profile says so (`visit_requires_contact`), a visit needs a phone call, SMS or
    letter on the case's record first: the door is not the first rung."""
    if not effective_settings(jurisdiction_for(case))["visit_requires_contact"]:
        return []
    contacted = db.session.scalar(
        select(func.count(TimelineEvent.id)).where(TimelineEvent.case_id == case.id, TimelineEvent.kind.in_(_CONTACT_KINDS))
    )
    if contacted:
        return []
    return [
        Finding(
            "ladder",
            "No phone call, SMS or letter is on the case's record; in this jurisdiction a visit "
            "comes after one (record it: POST /api/cases/<id>/contacts or the case import).",
            extra={"setting": "visit_requires_contact"},
            code="contact_first",
        )
    ]


# --- ASSIGN and ROUTE -------------------------------------------------------------------------


def check_visit(case: Case, day: date, exclude_visit_id: int | None = None, *, address=None) -> list[Finding]:
    """ASSIGN: everything that forbids a visit to this case on this day (at `address`, default the first)."""
    if address is None:
        addresses = case.account.debtor.addresses
        address = addresses[0] if addresses else None
    return (
        stage_findings(case)
        + blocking_findings(case, utcnow())
        + place_findings(case, address, day)
        + cap_findings(case, day, exclude_visit_id)
    )


def eligibility_for_day(case: Case, day: date, *, address=None, exclude_visit_id: int | None = None) -> tuple[bool, list[Finding]]:
    """ROUTE: may the planner put this case on `day`? (False with the findings = an exclusion.)"""
    findings = check_visit(case, day, exclude_visit_id, address=address)
    return (not findings, findings)


COUNTRY_PROFILE = {"CN": "CN", "US": "US", "GB": "UK", "UK": "UK", "IE": "IE"}


def jurisdiction_for(case: Case, address=None) -> str:
    if case.branch is not None:
        return case.branch.jurisdiction
    if address is None:
        addresses = case.account.debtor.addresses
        address = addresses[0] if addresses else None
    country = address.country if address is not None else "CN"
    return COUNTRY_PROFILE.get(country, "CN")


def timezone_for(case: Case, address) -> str:
    from flask import current_app

    if address is not None and address.timezone:
        return address.timezone
    if case.branch is not None:
        return case.branch.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


# --- R7 wording -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def phrase_lists() -> dict:
    return json.loads((DATA / "prohibited_phrases.json").read_text(encoding="utf-8"))


def _pattern(phrase: str) -> re.Pattern:
    if phrase.isascii():
        return re.compile(r"(?<![a-z])" + re.escape(phrase.lower()) + r"(?![a-z])")
    return re.compile(re.escape(phrase))


@lru_cache(maxsize=1)
def _compiled() -> tuple[list, list]:
    lists = phrase_lists()
    prohibited = [
        (category, phrase, _pattern(phrase))
        for category, by_locale in lists["categories"].items()
        for locale_phrases in by_locale.values()
        for phrase in locale_phrases
    ]
    legal = [(phrase, _pattern(phrase)) for key, items in lists["legal_terms"].items() if key != "_about" for phrase in items]
    return prohibited, legal


def prohibited_phrases_in(text: str) -> list[dict]:
    """Every prohibited phrase in `text` with its category (threat, arrest, police, crime, false_deadline)."""
    lowered = (text or "").lower()
    prohibited, _ = _compiled()
    return [{"category": c, "phrase": p} for c, p, pattern in prohibited if pattern.search(lowered)]


def legal_terms_in(text: str) -> list[str]:
    lowered = (text or "").lower()
    _, legal = _compiled()
    return [p for p, pattern in legal if pattern.search(lowered)]


def review_flag_for(text: str) -> str | None:
    """R7 for notes: the review reason when the text carries prohibited phrases, else None.

    A flagged note is still stored (nothing an agent records is dropped); it waits for review.
    """
    hits = prohibited_phrases_in(text)
    if not hits:
        return None
    listed = ", ".join(f"{h['phrase']} ({h['category']})" for h in hits[:5])
    return f"R7: prohibited wording: {listed}"[:255]


def legal_wording_allowed(case: Case) -> bool:
    return case.stage in effective_settings(jurisdiction_for(case))["legal_wording_stages"]


# --- R8 retention -----------------------------------------------------------------------------


def retention_until(case: Case, last_activity: datetime) -> date:
    years = effective_settings(jurisdiction_for(case))["retention_years"]
    day = last_activity.date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- DEVICE -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _disclosures() -> dict:
    data = json.loads((DATA / "scripts.json").read_text(encoding="utf-8"))["disclosures"]
    return {k: v for k, v in data.items() if k != "_about"}


def rules_snapshot(jurisdiction: str, *, day: date | None = None) -> dict:
    """What the device applies offline (shipped in the day packet under `rules`)."""
    s = effective_settings(jurisdiction)
    lists = phrase_lists()
    snapshot = {
        "jurisdiction": jurisdiction,
        "version": settings_version(jurisdiction, "rules"),
        "visiting_hours": s["visiting_hours"],  # R1, debtor's local time
        "holidays": s["holidays"],
        "blocking_flags": s["blocking_flags"],  # R4: refuse check-in on a case carrying one
        "flag_rules": FLAG_RULES,
        "cap_7_days": s["cap_7_days"],  # R3: the device shows the allowance
        "cap_30_days": s["cap_30_days"],
        "cool_off_days": s["cool_off_days"],
        "checkin_max_distance_m": s["checkin_max_distance_m"],
        "identity_factors": s["identity_factors"],  # R5: name + this many more before disclosure
        "third_party_locks": ["scripts", "plans", "promises"],  # R5
        "disclosure_required": s["disclosure_required"],  # R6
        "disclosure": _disclosures().get(jurisdiction, _disclosures()["CN"]),
        "legal_wording_stages": s["legal_wording_stages"],  # R7
        "prohibited_phrases": {category: by_locale for category, by_locale in lists["categories"].items()},
        "retention_years": s["retention_years"],  # R8
        "device_purge_days": s["device_purge_days"],  # R15: the device deletes records this long after acknowledgement
        "visit_warn_minutes": s["visit_warn_minutes"],  # R11
        "asked_to_leave_flag": "asked_not_to_return",  # R11
        "vulnerability_flag": "vulnerable",  # R12
        "plan_options_required": ["installments", "promise"],  # R13: never "pay all now" alone
        "escalation_kinds": list(ESCALATION_KINDS),
    }
    if day is not None:
        snapshot["valid_until"] = (datetime.combine(day + timedelta(days=1), time(0))).isoformat() + "Z"
    return snapshot


# --- SYNC -------------------------------------------------------------------------------------


def sync_findings(*, case: Case, visit, op_type: str, device_at: datetime | None, payload: dict) -> list[Finding]:
    """SYNC: re-check a device record on arrival. Findings quarantine, never drop.

    R4/R11/R12/R16: a blocking flag in force when the record was made.
    R1: a check-in or outcome outside the legal hours of that day in the debtor's timezone.
    R5: a right-party outcome (promise, plan, payment…) without meeting the debtor; a plan on a
        visit where only a third party was met.
    R6: an outcome with the debtor met but no disclosure acknowledged before it.
    R8: a plan whose terms do not match the hash it claims.
    """
    at = device_at or utcnow()
    findings = []
    if op_type in ("visit.checkin", "visit.outcome", "plan.propose", "signature.add"):
        findings += blocking_findings(case, at)
    if visit is not None and op_type in ("visit.checkin", "visit.outcome") and device_at is not None:
        findings += _hours_findings(case, visit, device_at)
    if op_type == "visit.outcome":
        code = payload.get("code")
        met = payload.get("met")
        if OUTCOMES.get(code, {}).get("contact") == "rpc" and met != "debtor":
            findings.append(
                Finding(
                    "R5",
                    f"A {code} outcome needs a right-party contact; met: {met or 'nobody'}.",
                    code="rpc_required",
                    params={"outcome": code, "met": met or ""},
                )
            )
        if met == "debtor" and effective_settings(jurisdiction_for(case))["disclosure_required"]:
            disclosed = _as_naive(payload.get("disclosure_at"))
            if disclosed is None:
                findings.append(Finding("R6", "No disclosure was acknowledged before the outcome.", code="no_disclosure"))
            elif device_at is not None and disclosed > device_at:
                findings.append(Finding("R6", "The disclosure was acknowledged after the outcome.", code="disclosure_late"))
    if op_type == "plan.propose":
        if visit is not None and visit.outcome is not None and visit.outcome.met != "debtor":
            findings.append(Finding("R5", "A plan cannot be agreed on a visit where the debtor was not met.", code="plan_without_debtor"))
        terms, claimed = payload.get("terms"), payload.get("terms_hash")
        if isinstance(terms, dict) and claimed and sha256_hex(canonical_json(terms)) != claimed:
            findings.append(
                Finding("R8", "The plan's terms do not match their SHA-256; the signed record would not hold.", code="terms_hash_mismatch")
            )
    return findings


def _as_naive(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return to_utc_naive(value) if value else None
    try:
        return to_utc_naive(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _hours_findings(case: Case, visit, device_at: datetime) -> list[Finding]:
    address = visit.address
    tz = timezone_for(case, address)
    local_day = device_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).date()
    window = visiting_window(jurisdiction=jurisdiction_for(case, address), tz=tz, day=local_day)
    if window is None or not (window[0] <= device_at <= window[1]):
        return [Finding("R1", "Recorded outside the legal visiting hours in the debtor's timezone.", code="outside_hours")]
    return []


def overlong_visit_findings(*, case: Case, visit, at: datetime | None) -> list[Finding]:
    """R11 at check-out: a visit that lasted longer than the warning time. Advisory: the
    check-out is applied and the finding kept on the visit for the case owner's review (the
    device warns at the same setting, `visit_warn_minutes`, shipped in its rules)."""
    if visit.checkin_at is None or at is None:
        return []
    limit = effective_settings(jurisdiction_for(case))["visit_warn_minutes"]
    minutes = (at - visit.checkin_at).total_seconds() / 60
    if minutes <= limit:
        return []
    return [
        Finding(
            "R11",
            f"The visit lasted {minutes:.0f} minutes (over {limit}).",
            extra={"minutes": round(minutes)},
            code="overlong_visit",
            params={"n": round(minutes), "limit": limit},
        )
    ]
