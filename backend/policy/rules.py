"""Compliance rules (COMPLIANCE.md), one module, evaluated at ASSIGN, ROUTE, DEVICE and SYNC.

Jurisdiction profiles carry the defaults; each is a named setting.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..cases.models import Case
from ..common import to_utc_naive, utcnow
from ..extensions import db

# R1 visiting hours per jurisdiction: weekday (0=Mon) -> (start, end) local, None = no visits
PROFILES: dict[str, dict] = {
    "US": {"hours": {d: ("08:00", "21:00") for d in range(7)}},
    "IE": {"hours": {**{d: ("09:00", "21:00") for d in range(6)}, 6: None}},
    "UK": {"hours": {d: ("09:00", "20:00") for d in range(7)}},
    "CN": {"hours": {d: ("09:00", "20:00") for d in range(7)}},
}
# R3 frequency caps
CAP_7_DAYS = 1
CAP_30_DAYS = 4


@dataclass
class Finding:
    rule: str
    message: str
    flag: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"rule": self.rule, "message": self.message}
        if self.flag:
            out["flag"] = self.flag
        out.update(self.extra)
        return out


def visiting_window(*, jurisdiction: str, tz: str, day: date) -> tuple[datetime, datetime] | None:
    """R1: the legal window on `day` in the debtor's timezone, as naive UTC."""
    hours = PROFILES.get(jurisdiction, PROFILES["CN"])["hours"].get(day.weekday())
    if hours is None:
        return None
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.fromisoformat(hours[0]), zone)
    end = datetime.combine(day, time.fromisoformat(hours[1]), zone)
    return to_utc_naive(start), to_utc_naive(end)


def blocking_findings(case: Case, at: datetime | None = None) -> list[Finding]:
    """R4: every active visit-blocking flag."""
    return [
        Finding("R4", f"Case is blocked by the {f.flag} flag: {f.reason}".rstrip(": "), flag=f.flag)
        for f in case.active_flags(at)
    ]


def cap_findings(case: Case, day: date, exclude_visit_id: int | None = None) -> list[Finding]:
    """R3: at most CAP_7_DAYS attempted visits in 7 days and CAP_30_DAYS in 30, per debtor."""
    from ..cases.models import Account
    from ..visits.models import Visit

    debtor_id = case.account.debtor_id
    findings = []
    for days, cap in ((7, CAP_7_DAYS), (30, CAP_30_DAYS)):
        stmt = (
            select(func.count(Visit.id))
            .join(Case, Case.id == Visit.case_id)
            .join(Account, Account.id == Case.account_id)
            .where(
                Account.debtor_id == debtor_id,
                Visit.status != "cancelled",
                Visit.date > day - timedelta(days=days),
                Visit.date < day + timedelta(days=days),
            )
        )
        if exclude_visit_id:
            stmt = stmt.where(Visit.id != exclude_visit_id)
        count = db.session.scalar(stmt)
        if count >= cap:
            findings.append(
                Finding("R3", f"Debtor already has {count} visit(s) within {days} days (cap {cap}).", extra={"count": count})
            )
    return findings


def stage_findings(case: Case) -> list[Finding]:
    if case.stage != "field":
        return [Finding("ladder", f"Case is at the {case.stage} stage; only field-stage cases get visits.")]
    return []


def check_visit(case: Case, day: date, exclude_visit_id: int | None = None) -> list[Finding]:
    """ASSIGN: everything that forbids a visit to this case on this day."""
    return stage_findings(case) + blocking_findings(case, utcnow()) + cap_findings(case, day, exclude_visit_id)


COUNTRY_PROFILE = {"CN": "CN", "US": "US", "GB": "UK", "UK": "UK", "IE": "IE"}


def jurisdiction_for(case: Case, address=None) -> str:
    if case.branch is not None:
        return case.branch.jurisdiction
    country = address.country if address is not None else "CN"
    return COUNTRY_PROFILE.get(country, "CN")


def timezone_for(case: Case, address) -> str:
    from flask import current_app

    if address is not None and address.timezone:
        return address.timezone
    if case.branch is not None:
        return case.branch.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def rules_snapshot(jurisdiction: str) -> dict:
    """What the device applies offline (shipped in the day packet under `rules`)."""
    profile = PROFILES.get(jurisdiction, PROFILES["CN"])
    return {
        "jurisdiction": jurisdiction,
        "visiting_hours": {str(d): list(h) if h else None for d, h in profile["hours"].items()},
        "blocking_flags": True,
        "cap_7_days": CAP_7_DAYS,
        "cap_30_days": CAP_30_DAYS,
        "checkin_max_distance_m": 300,
        "disclosure_required": True,
    }


def sync_findings(*, case: Case, visit, op_type: str, device_at: datetime | None, payload: dict) -> list[Finding]:
    """SYNC: re-check a device record on arrival. Findings quarantine, never drop.

    R4: a blocking flag that took effect before the record was made.
    R1: a check-in or outcome outside the visit's legal window.
    R6: an outcome with the debtor met but no disclosure acknowledged.
    """
    at = device_at or utcnow()
    findings = blocking_findings(case, at) if op_type in ("visit.checkin", "visit.outcome", "plan.propose") else []
    if visit is not None and op_type in ("visit.checkin", "visit.outcome") and device_at is not None:
        if not (visit.window_start <= device_at <= visit.window_end):
            findings.append(Finding("R1", "Recorded outside the legal visiting hours in the debtor's timezone."))
    if op_type == "visit.outcome" and payload.get("met") == "debtor" and not payload.get("disclosure_at"):
        findings.append(Finding("R6", "No disclosure was acknowledged before the outcome."))
    return findings
