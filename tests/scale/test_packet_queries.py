"""The day packet's queries do not grow with the day's visits: the first bottleneck of
bench/load.py (13 queries per visit, 111 for a day of eight) removed — docs/load.md."""
from datetime import date, timedelta

from sqlalchemy import event

from backend.org.models import Agent
from backend.plans.models import RepaymentPlan
from backend.sync.packet import build_packet


def _packet_queries(db, agent_id: int, day: date) -> int:
    db.session.expunge_all()  # nothing already loaded: every row the packet needs is read
    agent = db.session.get(Agent, agent_id)
    user = agent.user
    seen = []

    def count(*args, **kwargs):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        packet = build_packet(user=user, agent=agent, day=day)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert packet["visits"] and all(v["history"]["open_plan"] for v in packet["visits"])
    return len(seen)


def test_packet_queries_are_constant_in_the_number_of_visits(db, make_agent, make_case, make_visit):
    day = date.today() + timedelta(days=1)
    small, large = make_agent(), make_agent()
    for agent, n in ((small, 2), (large, 8)):
        for i in range(n):
            case = make_case(branch=agent.branch, lat=31.23 + 0.001 * i)
            make_visit(case=case, agent=agent, day=day)
            # history the brief summarises: an open plan on every case
            db.session.add(RepaymentPlan(case_id=case.id, kind="promise", status="active", total_amount=100,
                                         terms={}, terms_hash="0" * 64))
        db.session.commit()
    small_id, large_id = small.id, large.id
    _packet_queries(db, small_id, day)  # warm the settings caches

    assert _packet_queries(db, large_id, day) == _packet_queries(db, small_id, day)
