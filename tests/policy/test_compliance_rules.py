"""Every rule, tried at each enforcement point it has on the server:
ASSIGN (POST /api/visits → 409 naming the rule and flag), ROUTE (eligibility_for_day, windows_for)
and SYNC (sync_findings; overlong_visit_findings at check-out). DEVICE is checked through what the snapshot ships."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.cases.services import set_flag
from backend.common import canonical_json, sha256_hex
from backend.policy.rules import (
    eligibility_for_day,
    overlong_visit_findings,
    review_flag_for,
    rules_snapshot,
    sync_findings,
    windows_for,
)
from backend.policy.settings import change_setting



def local(day: date, hh: int, mm: int = 0, tz: str = "Asia/Shanghai") -> datetime:
    """A wall-clock time in the debtor's zone as naive UTC (how times are stored)."""
    return datetime.combine(day, time(hh, mm), ZoneInfo(tz)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


SUNDAY_OFFSET = 6


def _rules(response):
    body = response.get_json()
    return {f["rule"] for f in body.get("findings", [])} | {body.get("rule")}


# --- R1 visiting hours in the debtor's local time -------------------------------------------


def test_r1_assign_refuses_a_day_without_visiting_hours(post_visit, make_case, make_branch, monday):
    case = make_case(branch=make_branch(jurisdiction="IE", timezone="Europe/Dublin"), tz="Europe/Dublin", country="IE")
    response = post_visit(case, monday + timedelta(days=SUNDAY_OFFSET))
    assert response.status_code == 409
    assert response.get_json()["rule"] == "R1"


def test_r1_assign_refuses_a_public_holiday(post_visit, make_case, make_branch):
    case = make_case(branch=make_branch(jurisdiction="IE", timezone="Europe/Dublin"), tz="Europe/Dublin", country="IE")
    response = post_visit(case, date(2026, 12, 25))
    assert response.status_code == 409 and response.get_json()["rule"] == "R1"


def test_r1_route_windows_are_in_the_debtors_timezone_not_the_branchs(db, make_case, make_branch, monday):
    # a Shanghai branch working a debtor who lives in New York: the US hours in New York time apply
    case = make_case(branch=make_branch(jurisdiction="US", timezone="Asia/Shanghai"), tz="America/New_York", country="US")
    address = case.account.debtor.addresses[0]
    [(start, end)] = windows_for(case, address, monday)
    assert start == local(monday, 8, tz="America/New_York")
    assert end == local(monday, 21, tz="America/New_York")


def test_r1_route_excludes_a_day_without_hours(db, make_case, make_branch, monday):
    case = make_case(branch=make_branch(jurisdiction="IE", timezone="Europe/Dublin"), tz="Europe/Dublin", country="IE")
    sunday = monday + timedelta(days=SUNDAY_OFFSET)
    allowed, findings = eligibility_for_day(case, sunday)
    assert not allowed and findings[0].rule == "R1"
    assert windows_for(case, case.account.debtor.addresses[0], sunday) == []


def test_r1_sync_flags_a_checkin_outside_the_hours(db, make_visit, monday):
    visit = make_visit(day=monday)
    late = local(monday, 21, 30)
    findings = sync_findings(case=visit.case, visit=visit, op_type="visit.checkin", device_at=late, payload={})
    assert [f.rule for f in findings] == ["R1"]
    inside = sync_findings(case=visit.case, visit=visit, op_type="visit.checkin", device_at=local(monday, 10), payload={})
    assert inside == []


def test_r1_a_changed_setting_moves_the_window_everywhere(db, make_case, make_user, monday):
    admin = make_user(role="admin")
    case = make_case()
    hours = {str(d): ["10:00", "18:00"] for d in range(7)}
    change_setting(jurisdiction="CN", key="visiting_hours", value=hours, reason="compliance review", actor_id=admin.id)
    [(start, end)] = windows_for(case, case.account.debtor.addresses[0], monday)
    assert (start, end) == (local(monday, 10), local(monday, 18))
    assert rules_snapshot("CN")["visiting_hours"]["0"] == ["10:00", "18:00"]


# --- R2 inconvenient times and places --------------------------------------------------------


def test_r2_assign_refuses_when_the_whole_window_is_inconvenient(db, post_visit, make_case, monday):
    case = make_case()
    case.account.debtor.inconvenient = [{"days": [0], "start": "08:00", "end": "21:00"}]
    db.session.commit()
    response = post_visit(case, monday)
    assert response.status_code == 409 and response.get_json()["rule"] == "R2"


def test_r2_assign_refuses_the_workplace_when_the_debtor_has_not_agreed(db, post_visit, make_case, monday):
    from backend.cases.models import Address

    case = make_case()
    debtor = case.account.debtor
    work = Address(debtor_id=debtor.id, kind="work", line="Office tower", lat=31.2, lon=121.4, timezone="Asia/Shanghai")
    db.session.add(work)
    db.session.commit()
    response = post_visit(case, monday, address_id=work.id)
    assert response.status_code == 409 and response.get_json()["rule"] == "R2"
    debtor.workplace_ban = False
    db.session.commit()
    assert post_visit(case, monday, address_id=work.id).status_code == 201


def test_r2_route_windows_honour_availability_and_inconvenient_times(db, make_case, monday):
    case = make_case()
    debtor = case.account.debtor
    # available Monday 09:00–12:00 and 17:00–22:00; 10:00–11:00 inconvenient (school run)
    debtor.availability = {"0": [[9 * 3600, 12 * 3600], [17 * 3600, 22 * 3600]]}
    debtor.inconvenient = [{"days": [0], "start": "10:00", "end": "11:00"}]
    db.session.commit()
    windows = windows_for(case, debtor.addresses[0], monday)
    assert windows == [
        (local(monday, 9), local(monday, 10)),
        (local(monday, 11), local(monday, 12)),
        (local(monday, 17), local(monday, 20)),  # the legal window (CN 09–20) still caps it
    ]
    tuesday = monday + timedelta(days=1)
    assert windows_for(case, debtor.addresses[0], tuesday) == [(local(tuesday, 9), local(tuesday, 20))]


def test_r2_an_unreadable_declaration_is_honoured_the_safe_way(db, make_case, monday):
    case = make_case()
    debtor = case.account.debtor
    debtor.inconvenient = [{"days": [0], "start": "evening"}]
    db.session.commit()
    assert windows_for(case, debtor.addresses[0], monday) == []
    assert windows_for(case, debtor.addresses[0], monday + timedelta(days=1))  # Tuesday is not covered by it


def test_r2_route_excludes_the_workplace(db, make_case, monday):
    from backend.cases.models import Address

    case = make_case()
    work = Address(debtor_id=case.account.debtor.id, kind="work", line="Office", lat=31.2, lon=121.4, timezone="Asia/Shanghai")
    db.session.add(work)
    db.session.commit()
    assert windows_for(case, work, monday) == []
    allowed, findings = eligibility_for_day(case, monday, address=work)
    assert not allowed and findings[0].rule == "R2"


# --- R3 frequency caps and cool-off -----------------------------------------------------------


def test_r3_assign_refuses_a_second_visit_within_seven_days(post_visit, make_case, monday):
    case = make_case()
    assert post_visit(case, monday).status_code == 201
    response = post_visit(case, monday + timedelta(days=3))
    assert response.status_code == 409 and response.get_json()["rule"] == "R3"


def test_r3_caps_count_every_case_of_the_same_debtor(db, post_visit, make_case, monday):
    from backend.cases.models import Account, Case

    first = make_case()
    account = Account(account_number="ACC-SECOND", card_masked="x", debtor_id=first.account.debtor_id,
                      balance=1000, overdue_amount=500, days_past_due=90)
    db.session.add(account)
    db.session.flush()
    second = Case(account_id=account.id, stage="field", branch_id=first.branch_id)
    db.session.add(second)
    db.session.commit()
    assert post_visit(first, monday).status_code == 201
    assert "R3" in _rules(post_visit(second, monday + timedelta(days=2)))


def test_r3_thirty_day_cap(db, make_case, make_user, post_visit, monday):
    admin = make_user(role="admin")
    change_setting(jurisdiction="CN", key="cap_30_days", value=2, reason="tighter policy", actor_id=admin.id)
    db.session.commit()
    case = make_case()
    assert post_visit(case, monday).status_code == 201
    assert post_visit(case, monday + timedelta(days=8)).status_code == 201
    response = post_visit(case, monday + timedelta(days=16))
    assert response.status_code == 409 and "30 days" in response.get_json()["message"]


def test_r3_cool_off_after_a_right_party_contact(db, make_case, make_outcome, post_visit, monday):
    case = make_case()
    make_outcome(case, monday - timedelta(days=10), "refused")
    response = post_visit(case, monday - timedelta(days=10) + timedelta(days=8))
    assert response.status_code == 201  # cool-off (7 days) has passed and 7-day cap is clear
    case2 = make_case()
    make_outcome(case2, monday - timedelta(days=9), "refused")
    allowed, findings = eligibility_for_day(case2, monday - timedelta(days=9) + timedelta(days=5))
    # the visit 5 days later breaks the 7-day cap and the cool-off
    assert not allowed and {f.rule for f in findings} == {"R3"}
    assert any("cool-off" in f.message for f in findings)


def test_r3_an_agreed_follow_up_lifts_the_cool_off(db, make_case, make_outcome, monday):
    from backend.policy.rules import cap_findings

    from backend.payments.models import FollowUp

    case = make_case()
    contact = monday - timedelta(days=8)
    make_outcome(case, contact, "promise_to_pay")
    db.session.add(FollowUp(case_id=case.id, kind="visit", due_on=contact + timedelta(days=4), reason="agreed"))
    db.session.commit()
    day = contact + timedelta(days=5)
    # the contact visit itself still counts towards the 7-day cap; the agreed follow-up lifts only the cool-off
    assert not any("cool-off" in f.message for f in cap_findings(case, day))
    case2 = make_case()
    make_outcome(case2, contact, "promise_to_pay")
    assert any("cool-off" in f.message for f in cap_findings(case2, day))


def test_r3_allowance_for_the_device(db, make_visit, monday):
    from backend.policy.rules import visit_allowance

    visit = make_visit(day=monday)
    assert visit_allowance(visit.case, monday, visit_id=visit.id) == {
        "visits_7_days": 0, "cap_7_days": 1, "visits_30_days": 0, "cap_30_days": 4, "cool_off_until": None}
    assert visit_allowance(visit.case, monday + timedelta(days=2))["visits_7_days"] == 1


def test_r3_route_exclusion(db, make_visit, monday):
    visit = make_visit(day=monday)
    allowed, findings = eligibility_for_day(visit.case, monday + timedelta(days=1))
    assert not allowed and findings[0].rule == "R3"
    # the planner re-checking the visit it is placing excludes it from the count
    allowed, _ = eligibility_for_day(visit.case, monday, exclude_visit_id=visit.id)
    assert allowed


# --- R4 visit-blocking flags (and R11, R12, R16 which raise their own) ------------------------

R4_FLAGS = ["dispute", "bankruptcy", "deceased", "cease_contact", "attorney", "complaint", "legal_hold", "fraud_claim", "plan_performing"]
OWN_RULE = {"asked_not_to_return": "R11", "vulnerable": "R12", "escalated": "R16"}
ALL_FLAGS = [(f, None) for f in R4_FLAGS] + list(OWN_RULE.items())


@pytest.mark.parametrize("flag,source", ALL_FLAGS)
def test_blocking_flag_at_assign(db, post_visit, make_case, monday, flag, source):
    case = make_case()
    set_flag(case=case, flag=flag, reason="test", actor_id=None)
    db.session.commit()
    response = post_visit(case, monday)
    assert response.status_code == 409
    body = response.get_json()
    assert body["rule"] == "R4" and body["flag"] == flag
    assert body["findings"][0].get("source_rule") == source


@pytest.mark.parametrize("flag,source", ALL_FLAGS)
def test_blocking_flag_at_route(db, make_case, monday, flag, source):
    case = make_case()
    set_flag(case=case, flag=flag, reason="test", actor_id=None)
    db.session.commit()
    allowed, findings = eligibility_for_day(case, monday)
    assert not allowed and (findings[0].rule, findings[0].flag) == ("R4", flag)
    assert findings[0].extra.get("source_rule") == source


@pytest.mark.parametrize("flag,source", ALL_FLAGS)
def test_blocking_flag_at_sync_only_after_it_took_effect(db, make_visit, monday, flag, source):
    from backend.common import utcnow

    visit = make_visit(day=monday)
    before = utcnow()
    set_flag(case=visit.case, flag=flag, reason="test", actor_id=None)
    db.session.commit()
    after = utcnow() + timedelta(seconds=1)
    payload = {"code": "refused", "met": "debtor", "disclosure_at": after.isoformat()}
    late = sync_findings(case=visit.case, visit=None, op_type="visit.outcome", device_at=after, payload=payload)
    assert (late[0].rule, late[0].flag, late[0].extra.get("source_rule")) == ("R4", flag, source)
    early = sync_findings(case=visit.case, visit=None, op_type="visit.outcome", device_at=before - timedelta(seconds=1),
                          payload={**payload, "disclosure_at": (before - timedelta(seconds=2)).isoformat()})
    assert early == []


def test_r4_flags_ship_to_the_device(db):
    snapshot = rules_snapshot("CN")
    assert set(R4_FLAGS) | set(OWN_RULE) <= set(snapshot["blocking_flags"])
    assert snapshot["flag_rules"] == OWN_RULE


# --- R5 right-party check ---------------------------------------------------------------------


def test_r5_sync_quarantines_a_promise_without_meeting_the_debtor(db, make_visit, monday):
    visit = make_visit(day=monday)
    at = local(monday, 10)
    findings = sync_findings(case=visit.case, visit=visit, op_type="visit.outcome", device_at=at,
                             payload={"code": "promise_to_pay", "met": "third_party"})
    assert [f.rule for f in findings] == ["R5"]
    ok = sync_findings(case=visit.case, visit=visit, op_type="visit.outcome", device_at=at,
                       payload={"code": "third_party_only", "met": "third_party"})
    assert ok == []


def test_r5_sync_quarantines_a_plan_on_a_third_party_visit(db, make_visit, monday):
    from backend.visits.models import Outcome

    visit = make_visit(day=monday)
    db.session.add(Outcome(visit_id=visit.id, case_id=visit.case_id, code="third_party_only", met="third_party", recorded_at=local(monday, 10)))
    db.session.commit()
    findings = sync_findings(case=visit.case, visit=visit, op_type="plan.propose", device_at=local(monday, 10, 5), payload={})
    assert [f.rule for f in findings] == ["R5"]


def test_r5_identity_rule_ships_to_the_device(db):
    snapshot = rules_snapshot("CN")
    assert snapshot["identity_factors"] == 1 and snapshot["third_party_locks"] == ["scripts", "plans", "promises"]


# --- R6 disclosure before an outcome ----------------------------------------------------------


def test_r6_sync_needs_a_disclosure_before_the_outcome(db, make_visit, monday):
    visit = make_visit(day=monday)
    at = local(monday, 10)
    missing = sync_findings(case=visit.case, visit=visit, op_type="visit.outcome", device_at=at, payload={"code": "refused", "met": "debtor"})
    assert [f.rule for f in missing] == ["R6"]
    after = sync_findings(case=visit.case, visit=visit, op_type="visit.outcome", device_at=at,
                          payload={"code": "refused", "met": "debtor", "disclosure_at": (at + timedelta(minutes=1)).isoformat() + "Z"})
    assert [f.rule for f in after] == ["R6"]
    before = sync_findings(case=visit.case, visit=visit, op_type="visit.outcome", device_at=at,
                           payload={"code": "refused", "met": "debtor", "disclosure_at": (at - timedelta(minutes=1)).isoformat() + "Z"})
    assert before == []


def test_r6_disclosure_script_per_jurisdiction_ships(db):
    for jurisdiction in ("CN", "US", "UK", "IE"):
        snapshot = rules_snapshot(jurisdiction)
        assert snapshot["disclosure_required"] is True
        assert snapshot["disclosure"]["zh-CN"] and snapshot["disclosure"]["en"]
    assert "debt collector" in rules_snapshot("US")["disclosure"]["en"]


# --- R7 approved wording; notes flagged -------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Told him the police will arrest him if he does not pay",
    "客户不还就报警，让公安来抓你",
    "This is your last chance, pay today or else",
    "恶意透支是犯罪，要坐牢的",
])
def test_r7_flags_notes_with_prohibited_wording(text):
    assert review_flag_for(text).startswith("R7")


@pytest.mark.parametrize("text", [
    "Debtor cooperative, will pay after payday. Policy explained.",  # "policy" is not "police"
    "客户态度配合，表示月底发工资后还款。",
    "Arrears explained; the debtor asked about installments.",
])
def test_r7_clean_notes_are_not_flagged(text):
    assert review_flag_for(text) is None


def test_r7_note_review_endpoint(client, auth, make_user):
    owner = make_user(role="owner")
    response = client.post("/api/policy/notes/review", json={"text": "我们会通知你单位"}, headers=auth(owner))
    assert response.status_code == 200
    assert response.get_json()["phrases"][0]["category"] == "threat"


# --- R8 records kept --------------------------------------------------------------------------


def test_r8_sync_quarantines_terms_that_do_not_match_their_hash(db, make_visit, monday):
    visit = make_visit(day=monday)
    terms = {"kind": "promise", "total": "500.00", "schedule": [{"due_date": monday.isoformat(), "amount": "500.00"}]}
    good = sync_findings(case=visit.case, visit=visit, op_type="plan.propose", device_at=local(monday, 10),
                         payload={"terms": terms, "terms_hash": sha256_hex(canonical_json(terms))})
    assert good == []
    tampered = sync_findings(case=visit.case, visit=visit, op_type="plan.propose", device_at=local(monday, 10),
                             payload={"terms": {**terms, "total": "50.00"}, "terms_hash": sha256_hex(canonical_json(terms))})
    assert [f.rule for f in tampered] == ["R8"]


def test_r8_retention_per_jurisdiction(db, make_case, make_branch):
    from backend.policy.rules import retention_until

    cn = make_case()
    us = make_case(branch=make_branch(jurisdiction="US", timezone="America/New_York"), tz="America/New_York", country="US")
    last = datetime(2026, 3, 1, 12)
    assert retention_until(cn, last) == date(2028, 3, 1)
    assert retention_until(us, last) == date(2029, 3, 1)
    assert rules_snapshot("US")["retention_years"] == 3


# --- R11 leave when asked; visits not overly long ---------------------------------------------


def test_r11_warns_on_an_overlong_visit(db, make_visit, monday):
    visit = make_visit(day=monday)
    visit.checkin_at = local(monday, 10)
    db.session.commit()
    long = overlong_visit_findings(case=visit.case, visit=visit, at=local(monday, 10, 45))
    assert [w.rule for w in long] == ["R11"] and long[0].extra["minutes"] == 45
    assert overlong_visit_findings(case=visit.case, visit=visit, at=local(monday, 10, 25)) == []
    assert rules_snapshot("CN")["visit_warn_minutes"] == 30


# --- R12 vulnerability → pause field work -----------------------------------------------------


def test_r12_vulnerability_pauses_assign_route_and_sync(db, post_visit, make_visit, monday):
    visit = make_visit(day=monday)
    set_flag(case=visit.case, flag="vulnerable", reason="capacity concern", actor_id=None)
    db.session.commit()
    assert post_visit(visit.case, monday + timedelta(days=10)).get_json()["findings"][0]["source_rule"] == "R12"
    assert eligibility_for_day(visit.case, monday + timedelta(days=10))[1][0].extra["source_rule"] == "R12"
    from backend.common import utcnow

    later = utcnow() + timedelta(minutes=1)
    found = sync_findings(case=visit.case, visit=visit, op_type="visit.checkin", device_at=later, payload={})
    assert "R12" in {f.extra.get("source_rule") for f in found}


# --- R16 escalation blocks until cleared ------------------------------------------------------


def test_r16_escalation_blocks_until_the_ticket_is_resolved(db, post_visit, make_case, make_user, monday):
    from backend.escalations.services import raise_ticket, resolve_ticket

    owner = make_user(role="owner")
    case = make_case()
    ticket = raise_ticket(case=case, kind="lawyer_letter", reason="Lawyer letter received", actor_id=owner.id)
    db.session.commit()
    response = post_visit(case, monday)
    body = response.get_json()
    assert response.status_code == 409 and (body["rule"], body["flag"], body["findings"][0]["source_rule"]) == ("R4", "escalated", "R16")
    assert not eligibility_for_day(case, monday)[0]
    resolve_ticket(ticket=ticket, resolution="Handled by legal", clear=True, actor_id=owner.id)
    db.session.commit()
    assert eligibility_for_day(case, monday)[0]
    assert post_visit(case, monday).status_code == 201


# --- the ladder and R7's legal stage ----------------------------------------------------------


def test_ladder_phone_and_letter_stage_cases_get_no_visit(post_visit, make_case, monday):
    for stage in ("phone", "letter", "closed"):
        response = post_visit(make_case(stage=stage), monday)
        assert response.status_code == 409 and response.get_json()["rule"] == "ladder"


def test_legal_stage_cases_may_be_visited(post_visit, make_case, monday):
    assert post_visit(make_case(stage="legal"), monday).status_code == 201


# --- DEVICE: the snapshot carries what the device needs offline -------------------------------


def test_snapshot_is_versioned_and_bounded_in_time(db, make_user, monday):
    before = rules_snapshot("CN", day=monday)
    assert before["valid_until"] == (monday + timedelta(days=1)).isoformat() + "T00:00:00Z"
    assert set(before["prohibited_phrases"]) == {"threat", "arrest", "police", "crime", "false_deadline"}
    admin = make_user(role="admin")
    change_setting(jurisdiction="CN", key="cap_7_days", value=2, reason="pilot", actor_id=admin.id)
    after = rules_snapshot("CN", day=monday)
    assert after["cap_7_days"] == 2 and after["version"] != before["version"]
