"""Continuity: a debtor stays with the agent who last met them when that costs little."""
import pytest

from backend.routing.engine import solve
from backend.routing.problem import ProblemError, parse_problem

pytestmark = pytest.mark.no_db


def day(weight=None, preferred="A"):
    """Agent A's depot in the west, B's in the east; the debtor's door a little nearer B
    (≈ 0.5 km: about 150 s more travel for A)."""
    visit = {"id": "V", "location": 2, "service": 900, "windows": [[28800, 72000]], "priority": 40}
    if preferred is not None:
        visit["preferred_agent"] = preferred
    if weight is not None:
        visit["continuity_weight"] = weight
    return {
        "version": 1, "locations": [[31.23, 121.40], [31.23, 121.50], [31.23, 121.4525]],
        "agents": [{"id": "A", "start": 0, "end": 0, "shift": [28800, 72000]},
                   {"id": "B", "start": 1, "end": 1, "shift": [28800, 72000]}],
        "visits": [visit],
    }


def agent_of(sol, visit="V"):
    return next(r.agent for r in sol.routes if any(s.visit == visit for s in r.stops))


def test_fields_are_parsed_and_checked():
    v = parse_problem(day()).visits[0]
    assert (v.preferred_agent, v.continuity_weight) == ("A", 1800)  # the default weight
    assert parse_problem(parse_problem(day(60)).to_dict()).visits[0].continuity_weight == 60
    assert parse_problem(day(preferred="Z")).visits[0].preferred_agent == "Z"  # off today: allowed
    with pytest.raises(ProblemError, match=r"continuity_weight: needs preferred_agent"):
        parse_problem(day(60, preferred=None))
    with pytest.raises(ProblemError, match=r"continuity_weight: must be >= 0"):
        parse_problem(day(-5))


def test_the_debtor_stays_with_the_agent_who_knows_them_when_it_costs_little():
    plain = solve(day(preferred=None), seconds=0.8, workers=1)
    assert agent_of(plain) == "B" and plain.continuity is None
    kept = solve(day(1800), seconds=0.8, workers=1)
    assert agent_of(kept) == "A"
    assert kept.continuity == {"preferred": 1, "kept": 1, "share": 1.0}
    assert kept.to_dict()["continuity"] == kept.continuity
    assert kept.priority_served == plain.priority_served
    # a weight below the extra travel: the nearer agent goes
    cheap = solve(day(30), seconds=0.8, workers=1)
    assert agent_of(cheap) == "B"
    assert cheap.continuity == {"preferred": 1, "kept": 0, "share": 0.0}


def test_a_preferred_agent_off_today_is_not_counted():
    sol = solve(day(preferred="Z"), seconds=0.8, workers=1)
    assert sol.continuity == {"preferred": 0, "kept": 0, "share": None}


def test_the_pass_moves_a_served_visit_to_its_preferred_agent():
    import time

    from backend.routing.engine import prepare
    from backend.routing.engine.continuity import keep_continuity
    from backend.routing.travel import travel_matrix

    for weight, moved in ((1800, 1), (30, 0)):
        p = parse_problem(day(weight))
        prep = prepare(p, travel_matrix(p.locations))
        routes = {0: [], 1: [0]}  # the engines put V with B
        assert keep_continuity(prep, routes, time.perf_counter() + 5) == moved
        assert routes == ({0: [0], 1: []} if moved else {0: [], 1: [0]})
