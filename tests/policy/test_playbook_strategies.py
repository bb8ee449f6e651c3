"""The strategy engine: the case profile decides the order; legal deterrence only at the legal stage;
a demo case for every strategy puts that strategy first."""
import re
from datetime import date, timedelta

import pytest

from backend.cases.services import set_flag
from backend.policy.demo import PROFILES, seed_playbook_demo
from backend.policy.strategies import recommend


def _keys(case, locale="en"):
    return [s["key"] for s in recommend(case, locale)["strategies"]]


def test_a_recommendation_has_reasons_and_scripts_in_the_locale(db, make_case):
    result = recommend(make_case(days_past_due=90, overdue="8000.00", balance="20000.00"), "zh-CN")
    assert result["placeholder"] is False and result["locale"] == "zh-CN"
    top = result["strategies"][0]
    assert top["key"] == "empathy" and top["label"] == "情感沟通" and "信任" in top["reason"]
    assert top["scripts"] and all(s["version"] >= 1 for s in top["scripts"])
    english = recommend(make_case(days_past_due=90, overdue="8000.00", balance="20000.00"), "en")["strategies"][0]
    assert english["label"] == "Empathy" and english["scripts"][0]["text"].startswith("Hello")


@pytest.mark.parametrize("stage", ["field", "phone", "letter"])
def test_legal_deterrence_never_outside_the_legal_stage(db, make_case, make_outcome, stage):
    case = make_case(stage=stage, days_past_due=700, broken_promises=4)
    make_outcome(case, date.today() - timedelta(days=20), "refused")
    result = recommend(case, "en")
    assert "legal_deterrence" not in [s["key"] for s in result["strategies"]]
    assert not any(script["legal_wording"] for s in result["strategies"] for script in s["scripts"])


def test_legal_deterrence_leads_at_the_legal_stage(db, make_case):
    result = recommend(make_case(stage="legal", days_past_due=400), "en")
    top = result["strategies"][0]
    assert top["key"] == "legal_deterrence" and all(s["legal_wording"] for s in top["scripts"])


def test_a_broken_promise_shifts_the_recommendation(db, make_case):
    case = make_case(days_past_due=90, overdue="8000.00", balance="20000.00")
    before = _keys(case)
    case.broken_promises = 1
    once = _keys(case)
    case.broken_promises = 3
    many = _keys(case)
    assert before[0] == "empathy" and "firm" not in before
    assert "sms_reminder" in once and "firm" in once
    assert many[0] == "firm"


def test_hardship_signals_from_outcomes_and_notes(db, make_case, make_outcome):
    from backend.cases.models import Note

    by_outcome = make_case()
    make_outcome(by_outcome, date.today() - timedelta(days=20), "hardship")
    assert _keys(by_outcome)[0] == "installment_plan"
    # the outcome signal is said in the reader's language, never as the server's marker
    zh, en = recommend(by_outcome, "zh-CN")["strategies"][0], recommend(by_outcome, "en")["strategies"][0]
    assert "记录过经济困难结果" in zh["reason"] and not re.search(r"[A-Za-z]{3,}", zh["reason"]), zh["reason"]
    assert "a hardship outcome on record" in en["reason"]
    by_note = make_case()
    make_outcome(by_note, date.today() - timedelta(days=20), "refused")  # a refusal, but the note explains why
    db.session.add(Note(case_id=by_note.id, text="客户生病住院，收入中断"))
    db.session.commit()
    result = recommend(by_note, "en")
    assert result["strategies"][0]["key"] == "installment_plan" and "生病" in result["profile"]["hardship"]
    assert "firm" not in [s["key"] for s in result["strategies"]]  # hardship is not wilful default


def test_a_flagged_case_gets_care_not_collection(db, make_case):
    case = make_case(broken_promises=3)
    set_flag(case=case, flag="complaint", reason="complaint open", actor_id=None)
    db.session.commit()
    assert _keys(case) == ["customer_care", "empathy"]


def test_recommendation_endpoint_respects_agent_visibility(client, auth, make_visit, make_case, make_agent):
    visit = make_visit()
    mine = client.get(f"/api/cases/{visit.case_id}/strategies?locale=en", headers=auth(visit.agent.user))
    assert mine.status_code == 200 and mine.get_json()["strategies"]
    other = client.get(f"/api/cases/{make_case().id}/strategies", headers=auth(visit.agent.user))
    assert other.status_code == 404


def test_a_demo_case_for_each_strategy_puts_it_first(db, make_agent):
    agent = make_agent()
    day = date.today() + timedelta(days=1)
    summary = seed_playbook_demo(day=day, agent=agent)
    assert "8 strategy cases created, 8 visits published" in summary
    from sqlalchemy import select

    from backend.cases.models import Account, Case
    from backend.policy.demo import _account_number
    from backend.visits.models import Visit

    for strategy in PROFILES:
        case = db.session.scalar(select(Case).join(Account).where(Account.account_number == _account_number(strategy)))
        assert _keys(case, "zh-CN")[0] == strategy, (strategy, recommend(case, "en")["strategies"])
        visit = db.session.scalar(select(Visit).where(Visit.case_id == case.id, Visit.date == day))
        assert visit.status == "published" and visit.agent_id == agent.id
    # idempotent: a second run adds nothing
    assert "0 strategy cases created, 0 visits published" in seed_playbook_demo(day=day, agent=agent)


def test_the_agents_day_packet_carries_every_strategy_first_once(client, auth, db, make_agent):
    agent = make_agent()
    day = date.today() + timedelta(days=1)
    seed_playbook_demo(day=day, agent=agent)
    response = client.get(f"/api/sync/packet?date={day.isoformat()}", headers=auth(agent.user))
    assert response.status_code == 200
    visits = response.get_json()["visits"]
    firsts = sorted(v["recommended"]["strategies"][0]["key"] for v in visits)
    assert firsts == sorted(PROFILES)
    legal = next(v for v in visits if v["recommended"]["strategies"][0]["key"] == "legal_deterrence")
    assert all(s["legal_wording"] for s in legal["recommended"]["strategies"][0]["scripts"])
    others = [v for v in visits if v is not legal]
    assert not any(s["legal_wording"] for v in others for st in v["recommended"]["strategies"] for s in st["scripts"])
