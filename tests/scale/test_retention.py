"""R8 retention: closed cases past their jurisdiction's period lose their personal data,
the timeline still verifies and says so; recent, open and oral-plan-unpaid cases are kept."""
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.auth.models import AuditEvent
from backend.cases.models import Note, TimelineEvent
from backend.cases.services import append_event, verify_timeline
from backend.plans.models import RepaymentPlan
from backend.retention.services import PURGED_NAME, run_retention
from backend.visits.models import Visit

TODAY = date(2030, 6, 1)


@pytest.fixture
def aged_case(db, make_case, make_branch, monkeypatch):
    """make_case, with every timeline event written `years_ago` before TODAY."""

    def make(*, years_ago: float, jurisdiction="CN", stage="closed", **kw):
        then = datetime.combine(TODAY, datetime.min.time()) - timedelta(days=round(365.25 * years_ago))
        monkeypatch.setattr("backend.cases.services.utcnow", lambda: then)
        branch = make_branch(jurisdiction=jurisdiction,
                             timezone="America/New_York" if jurisdiction == "US" else "Asia/Shanghai")
        case = make_case(branch=branch, stage=stage, created_at=then, **kw)
        db.session.add(Note(case_id=case.id, text="Debtor's sister said he works nights at the port", created_at=then))
        db.session.commit()
        monkeypatch.undo()
        return case

    return make


def test_cn_closed_case_past_two_years_is_purged_and_timeline_still_verifies(db, aged_case, app):
    case = aged_case(years_ago=2.2)
    number = case.account.account_number
    append_event(case=case, kind="case.updated", actor_id=None, data={"source": "import", "changes": {"account_number": number}})
    append_event(case=case, kind="note.added", actor_id=None, data={"text": "works nights at the port", "visit_id": 5})
    at = datetime(2028, 3, 1, 2)
    visit = Visit(case_id=case.id, address_id=case.account.debtor.addresses[0].id, date=at.date(), status="done",
                  window_start=at, window_end=at + timedelta(hours=2), checkin_at=at, checkin_lat=31.2, checkin_lon=121.4)
    db.session.add(visit)
    db.session.commit()
    events_before = db.session.scalar(select(TimelineEvent.id).where(TimelineEvent.case_id == case.id).limit(1))

    report = run_retention(today=TODAY)

    assert report["due"] == 1 and report["purged"][0]["case_id"] == case.id
    db.session.expire_all()
    debtor = case.account.debtor
    assert (debtor.name, debtor.phone, debtor.id_last4) == (PURGED_NAME, "", "")
    assert all(a.line == PURGED_NAME and a.lat is None for a in debtor.addresses)
    assert case.account.account_number == f"purged-{case.account.id}"
    assert db.session.scalar(select(Note.text).where(Note.case_id == case.id)) == ""
    assert db.session.get(Visit, visit.id).checkin_lat is None
    # amounts stay for the books; the chain is whole and ends with what was done and why
    assert case.account.balance == Decimal("20000.00")
    check = verify_timeline(case_id=case.id)
    assert check["verified"], check
    # the timeline's own copies of personal data are gone too; codes and ids stay
    assert check["redacted"] == check["events"] - 1  # all but the data.purged event itself
    timeline = json.dumps([e.data for e in db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id))])
    assert number not in timeline and "port" not in timeline and '"visit_id": 5' in timeline
    last = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id)
                              .order_by(TimelineEvent.seq.desc())).first()
    assert last.kind == "data.purged" and last.data["jurisdiction"] == "CN" and last.data["blanked"]["debtor"]
    assert db.session.scalar(select(TimelineEvent.id).where(TimelineEvent.case_id == case.id).limit(1)) == events_before
    assert db.session.scalar(select(AuditEvent.action)) == "retention.run"


def test_periods_per_jurisdiction_open_cases_and_unpaid_oral_plans_are_kept(db, aged_case):
    cn_recent = aged_case(years_ago=1.5)
    us_mid = aged_case(years_ago=2.5, jurisdiction="US")  # past CN's 2 years, not US's 3
    us_old = aged_case(years_ago=3.2, jurisdiction="US")
    open_case = aged_case(years_ago=5, stage="field")
    oral = aged_case(years_ago=4)
    db.session.add(RepaymentPlan(case_id=oral.id, kind="promise", status="active", total_amount=Decimal("100"),
                                 terms={"amount": "100"}, terms_hash="0" * 64))
    db.session.commit()

    report = run_retention(today=TODAY)

    verdicts = {c["case_id"]: c for c in report["cases"]}
    assert [p["case_id"] for p in report["purged"]] == [us_old.id]
    assert not verdicts[cn_recent.id]["due"] and not verdicts[us_mid.id]["due"]
    assert verdicts[oral.id]["reason"] == "an oral plan is not paid yet"
    assert open_case.id not in verdicts
    db.session.expire_all()
    assert us_mid.account.debtor.name != PURGED_NAME and us_old.account.debtor.name == PURGED_NAME


def test_dry_run_changes_nothing_and_a_second_run_purges_nothing_again(db, aged_case, app):
    case = aged_case(years_ago=3)
    name = case.account.debtor.name

    dry = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run", "--as-of", TODAY.isoformat()])
    assert dry.exit_code == 0, dry.output
    assert f"case {case.id} (CN): due" in dry.output and "would purge 1" in dry.output
    db.session.expire_all()
    assert case.account.debtor.name == name

    first = app.test_cli_runner().invoke(args=["retention", "run", "--as-of", TODAY.isoformat()])
    assert "purged 1" in first.output, first.output
    again = run_retention(today=TODAY)
    assert again["judged"] == 0 and again["purged"] == []
    assert verify_timeline(case_id=case.id)["verified"]


def test_a_debtor_with_another_live_case_keeps_name_and_address(db, aged_case, make_case):
    old = aged_case(years_ago=3)
    from backend.cases.models import Account, Case

    debtor = old.account.debtor
    account = Account(account_number="LIVE-1", card_masked="**** 1111", debtor_id=debtor.id,
                      balance=Decimal("10"), overdue_amount=Decimal("10"), days_past_due=40)
    db.session.add(account)
    db.session.flush()
    live = Case(account_id=account.id, stage="field", branch_id=old.branch_id)
    db.session.add(live)
    db.session.commit()

    report = run_retention(today=TODAY)

    assert report["purged"][0]["debtor"] is False and report["purged"][0]["account_number"] is True
    db.session.expire_all()
    assert debtor.name != PURGED_NAME and old.account.account_number.startswith("purged-")

    # the other case closes and its time comes: now the debtor goes too (the first was purged before)
    live.stage = "closed"
    db.session.commit()
    report = run_retention(today=TODAY)
    assert [p["case_id"] for p in report["purged"]] == [live.id] and report["purged"][0]["debtor"] is True
    db.session.expire_all()
    assert debtor.name == PURGED_NAME


def test_letter_pdfs_go_with_the_case_data(db, aged_case):
    """A letter carries the debtor's name: the R8 purge deletes its PDF, the event keeps its place."""
    from backend.cases.services import record_contact
    from backend.plans.models import Blob
    from backend.plans.services import store_blob

    case = aged_case(years_ago=2.2)
    sha = store_blob(data=b"%PDF-1.4 letter to the debtor", content_type="application/pdf")
    record_contact(case=case, channel="letter", at=datetime(2028, 3, 1, 2), result="issued", note="", actor_id=None,
                   document={"pdf_sha256": sha, "template_key": "letter.first_notice"})
    db.session.commit()
    report = run_retention(today=TODAY)
    assert report["purged"][0]["letters"] == 1
    assert db.session.get(Blob, sha) is None
    assert verify_timeline(case_id=case.id)["verified"] is True
