"""R8 retention per jurisdiction: a closed case keeps its records for `retention_years` after
its last activity (CN 2, US 3 by default; an oral plan holds them until it is paid), then its
personal data are blanked.

What is blanked: the debtor's name, phone, identity digits, availability; the addresses; the
full account number; note texts; visit GPS fixes; outcome details; signature strokes, signer
names and images; device op payloads; the timeline events' data but for codes, ids and amounts
(cases.services.REDACTION_KEEPS). What stays: amounts, dates, codes and the hash-chained
timeline, which still verifies (it commits to each event's data digest), with a `data.purged`
event appended saying what was blanked and why. A debtor with another case not yet due keeps
the name and addresses until that one is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, exists, func, select, update

from ..auth.services import audit
from ..cases.models import Account, Address, Case, Debtor, Note, TimelineEvent
from ..cases.services import append_event, redact_timeline
from ..common import utcnow
from ..extensions import db
from ..plans.models import Blob, RepaymentPlan, Signature
from ..policy.rules import jurisdiction_for, retention_until
from ..policy.settings import effective_settings
from ..presence.services import prune_badge_hits, purge_photos
from ..sync.models import SyncOp
from ..sync.packet import prune_packet_stale
from ..visits.models import Outcome, Visit

PURGED_EVENT = "data.purged"
PURGED_NAME = "(purged)"
# an oral agreement (no signature) in these states is not paid yet: R8 keeps it until it is
ORAL_PLAN_UNPAID = ("active", "partially_kept", "broken")


@dataclass
class Verdict:
    case_id: int
    jurisdiction: str
    last_activity: datetime
    retain_until: date
    due: bool
    reason: str

    def as_dict(self) -> dict:
        return {
            "case_id": self.case_id,
            "jurisdiction": self.jurisdiction,
            "last_activity": self.last_activity.isoformat(),
            "retain_until": self.retain_until.isoformat(),
            "due": self.due,
            "reason": self.reason,
        }


def _already_purged():
    return exists().where(TimelineEvent.case_id == Case.id, TimelineEvent.kind == PURGED_EVENT)


def last_activity_at(case: Case) -> datetime:
    """The latest of the timeline, the last contact and the case's creation."""
    latest_event = db.session.scalar(select(func.max(TimelineEvent.at)).where(TimelineEvent.case_id == case.id))
    return max(t for t in (latest_event, case.last_contact_at, case.created_at) if t is not None)


def _oral_plan_unpaid(case_id: int) -> bool:
    signed = exists().where(Signature.plan_id == RepaymentPlan.id, Signature.refused.is_(False))
    return bool(
        db.session.scalar(
            select(func.count(RepaymentPlan.id)).where(
                RepaymentPlan.case_id == case_id, RepaymentPlan.status.in_(ORAL_PLAN_UNPAID), ~signed
            )
        )
    )


def judge_case(case: Case, *, today: date) -> Verdict:
    jurisdiction = jurisdiction_for(case)
    last = last_activity_at(case)
    until = retention_until(case, last)
    years = effective_settings(jurisdiction)["retention_years"]
    if today < until:
        return Verdict(case.id, jurisdiction, last, until, False, f"kept {years} years after the last activity")
    if _oral_plan_unpaid(case.id):
        return Verdict(case.id, jurisdiction, last, until, False, "an oral plan is not paid yet")
    return Verdict(case.id, jurisdiction, last, until, True, f"{years} years after the last activity have passed")


def closed_cases_to_judge() -> list[Case]:
    return db.session.scalars(select(Case).where(Case.stage == "closed", ~_already_purged()).order_by(Case.id)).all()


def run_retention(*, today: date | None = None, dry_run: bool = False, actor_id: int | None = None) -> dict:
    """Judge every closed case not yet purged; purge the due ones unless `dry_run`. Commits."""
    today = today or utcnow().date()
    verdicts = [judge_case(case, today=today) for case in closed_cases_to_judge()]
    due = [v for v in verdicts if v.due]
    purged = []
    if not dry_run:
        due_ids = {v.case_id for v in due}
        for verdict in due:
            purged.append(
                purge_case(case=db.session.get(Case, verdict.case_id), verdict=verdict, purgeable_case_ids=due_ids, actor_id=actor_id)
            )
        if due:
            audit(actor=None, action="retention.run", target="cases", purged=len(due), as_of=today.isoformat())
        db.session.commit()
    # the feed's packet invalidation entries live only as long as a kept packet may consult them
    stale_pruned = 0 if dry_run else prune_packet_stale()
    # the badge page's request log keeps client addresses only as long as its rate limit needs them
    hits_pruned = 0 if dry_run else prune_badge_hits()
    return {
        "as_of": today.isoformat(),
        "dry_run": dry_run,
        "judged": len(verdicts),
        "due": len(due),
        "purged": purged,
        "cases": [v.as_dict() for v in verdicts],
        "packet_stale_pruned": stale_pruned,
        "badge_hits_pruned": hits_pruned,
    }


def purge_case(*, case: Case, verdict: Verdict, purgeable_case_ids: set[int], actor_id: int | None = None) -> dict:
    """Blank the case's personal data (and its debtor's, if no other case still needs them)."""
    account = case.account
    counts = {"account_number": False, "debtor": False, "addresses": 0}
    if not account.account_number.startswith("purged-"):
        account.account_number = f"purged-{account.id}"  # stays unique, says nothing
        account.card_masked = "****"
        counts["account_number"] = True
    counts["notes"] = db.session.execute(update(Note).where(Note.case_id == case.id).values(text="", review_flag=None)).rowcount
    counts["visits"] = db.session.execute(
        update(Visit)
        .where(Visit.case_id == case.id)
        .values(checkin_lat=None, checkin_lon=None, checkin_accuracy_m=None, checkout_lat=None, checkout_lon=None)
    ).rowcount
    counts["outcomes"] = db.session.execute(update(Outcome).where(Outcome.case_id == case.id).values(data={})).rowcount
    counts["signatures"] = _purge_signatures(case.id)
    counts["photos"] = purge_photos(case_id=case.id)
    counts["letters"] = _purge_letters(case.id)  # before the redaction drops the events' hashes
    counts["device_ops"] = db.session.execute(update(SyncOp).where(SyncOp.case_id == case.id).values(payload={}, result={})).rowcount
    counts["timeline_events"] = redact_timeline(case_id=case.id, reason="R8")

    debtor = account.debtor
    if _debtor_purgeable(debtor, purgeable_case_ids) and debtor.name != PURGED_NAME:
        debtor.name, debtor.phone, debtor.id_last4 = PURGED_NAME, "", ""
        debtor.availability, debtor.inconvenient = None, []
        counts["debtor"] = True
        counts["addresses"] = db.session.execute(
            update(Address)
            .where(Address.debtor_id == debtor.id)
            .values(line=PURGED_NAME, city="", postal_code="", lat=None, lon=None, geocode_status="purged")
        ).rowcount
    append_event(
        case=case,
        kind=PURGED_EVENT,
        actor_id=actor_id,
        data={
            "rule": "R8",
            "jurisdiction": verdict.jurisdiction,
            "last_activity": verdict.last_activity.isoformat(),
            "retain_until": verdict.retain_until.isoformat(),
            "blanked": counts,
        },
    )
    db.session.flush()
    return {"case_id": case.id, **counts}


def _debtor_purgeable(debtor: Debtor, purgeable_case_ids: set[int]) -> bool:
    """Every case of the debtor is being purged now or was purged before."""
    still_needed = (
        select(Case.id)
        .join(Account, Case.account_id == Account.id)
        .where(Account.debtor_id == debtor.id, Case.id.not_in(purgeable_case_ids), ~_already_purged())
        .limit(1)
    )
    return db.session.scalar(still_needed) is None


def _purge_letters(case_id: int) -> int:
    """The letter PDFs sent on the case (they carry the debtor's name); the `contact.letter`
    events keep their place in the chain, their document hash goes with the redaction."""
    events = db.session.scalars(
        select(TimelineEvent.data).where(
            TimelineEvent.case_id == case_id, TimelineEvent.kind == "contact.letter", TimelineEvent.redacted_at.is_(None)
        )
    ).all()
    hashes = {(data.get("document") or {}).get("pdf_sha256") for data in events} - {None}
    for sha in hashes:
        db.session.execute(delete(Blob).where(Blob.sha256 == sha))
    return len(hashes)


def _purge_signatures(case_id: int) -> int:
    images = set(
        db.session.scalars(select(Signature.blob_sha256).where(Signature.case_id == case_id, Signature.blob_sha256.is_not(None))).all()
    )
    count = db.session.execute(
        update(Signature).where(Signature.case_id == case_id).values(strokes=[], signer_name="", blob_sha256=None)
    ).rowcount
    for sha in images:  # an image another signature still points at stays
        if not db.session.scalar(select(func.count(Signature.id)).where(Signature.blob_sha256 == sha)):
            db.session.execute(delete(Blob).where(Blob.sha256 == sha))
    return count
