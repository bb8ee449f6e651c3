"""A route plan's times and checks, computed here from the plan's own data and the travel
model — never taken on the engine's word: each route re-timed, what breaks a rule listed,
and the plan's statistics (workload spread, travel, priority).

A violation, like an unassigned visit's reason, has a stable `code` and `params` (its sentence
in the consoles' catalogue is `finding.<code>`) beside the English `message`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from . import engine
from .at_home import best_start, slot_p
from .builder import Clock, reason
from .models import RoutePlan
from .travel import TravelSettings, distance_km_matrix, travel_matrix

UNASSIGNED_BY_DISPATCHER = "unassigned by the dispatcher"


def clock_of(plan: RoutePlan) -> Clock:
    return Clock(plan.meta["timezone"], datetime.fromisoformat(plan.meta["midnight"]))


def plan_travel_settings(plan: RoutePlan) -> TravelSettings:
    """The travel model the plan was built with (re-timing uses the same)."""
    travel = plan.meta.get("travel") or {}
    return TravelSettings(circuity=travel.get("circuity", 1.3), speed_kmh=travel.get("speed_kmh", 25.0), osrm_url=travel.get("osrm_url"))


def hhmm(clock: Clock, seconds: int) -> str:
    return clock.at(seconds).replace(tzinfo=UTC).astimezone(ZoneInfo(clock.tz)).strftime("%H:%M")


class Legs:
    """Travel seconds and km between some of the problem's locations (one matrix request,
    so a road table service is asked once per route, not once per leg)."""

    def __init__(self, plan: RoutePlan, indices: list[int], settings: TravelSettings):
        self.at = {loc: n for n, loc in enumerate(dict.fromkeys(indices))}
        points = [plan.problem["locations"][loc] for loc in self.at]
        self.seconds = travel_matrix(points, settings)
        self.km = distance_km_matrix(points, settings)

    def __call__(self, a: int, b: int) -> tuple[int, float]:
        return int(self.seconds[self.at[a], self.at[b]]), float(self.km[self.at[a], self.at[b]])


def time_route(plan: RoutePlan, agent: dict, refs: list[str], settings: TravelSettings, legs: Legs | None = None) -> dict:
    """Forward schedule of one route, with every rule it breaks."""
    visits = {v["id"]: v for v in plan.problem["visits"]}
    clock = clock_of(plan)
    path = [agent["start"]] + [visits[r]["location"] for r in refs] + [agent["end"]]
    if refs and legs is None:
        legs = Legs(plan, path, settings)
    t, travel, distance = agent["shift"][0], 0, 0.0
    stops, violations = [], []
    latest = _latest_starts(visits, refs, path, legs, agent) if any("contact" in visits[r] for r in refs) else []
    for n, ref in enumerate(refs):
        visit = visits[ref]
        leg, leg_km = legs(path[n], path[n + 1])
        travel += leg
        distance += leg_km
        t += leg
        window = next(((w0, w1) for w0, w1 in sorted(visit["windows"]) if max(t, w0) <= w1), None)
        if n == 0 and window is not None and window[0] > t:
            t = window[0]  # leave as late as the first door allows: nobody waits on the step
        arrival = t
        if window is None:
            last = max(w1 for _, w1 in visit["windows"])
            late = reason(
                "R1",
                "route_late",
                f"Arrives {hhmm(clock, arrival)}, after the visit's last window ended at {hhmm(clock, last)} "
                f"({clock.tz}); visiting hours are the debtor's.",
                arrival=hhmm(clock, arrival),
                last=hhmm(clock, last),
                timezone=clock.tz,
            )
            violations.append({**late, "visit": ref})
            start = arrival
        else:
            start = max(arrival, window[0])
            if "contact" in visit:  # wait at the door for a better chance, when the rest still fits
                start = best_start(visit["contact"], visit["windows"], start, latest[n])
        t = start + visit["service"]
        stops.append({"visit": ref, "arrival": arrival, "start": start, "end": t, "window": list(window) if window else None})
        if "contact" in visit:  # the chance of finding someone home at the start
            stops[-1]["p"] = round(slot_p(visit["contact"], start), 3)
        missing = sorted(set(visit.get("skills") or []) - set(agent.get("skills") or []))
        if missing:
            lacks = reason("skills", "route_skills_missing", f"The agent lacks the skill(s) {', '.join(missing)}.", skills=missing)
            violations.append({**lacks, "visit": ref})
        if visit.get("agent") not in (None, agent["id"]):
            pinned = reason("pin", "route_pinned_elsewhere", f"Pinned to agent {visit['agent'][1:]}.", agent_id=int(visit["agent"][1:]))
            violations.append({**pinned, "visit": ref})
    if refs:
        leg, leg_km = legs(path[-2], path[-1])
        travel += leg
        distance += leg_km
        t += leg
        if t > agent["shift"][1]:
            back, end = hhmm(clock, t), hhmm(clock, agent["shift"][1])
            violations.append(reason("shift", "route_after_shift", f"Back at {back}, after the shift ends at {end}.", back=back, end=end))
    cap = agent.get("max_visits")
    if cap is not None and len(refs) > cap:
        message = f"{len(refs)} visits, more than the agent's {cap} left today."
        violations.append(reason("cap", "route_over_cap", message, n=len(refs), cap=cap))
    return {
        "agent": agent["id"],
        "stops": stops,
        "travel_s": travel,
        "km": round(distance, 2),
        "work_s": travel + sum(visits[r]["service"] for r in refs),
        "back_s": t if refs else None,
        "violations": violations,
    }


def _latest_starts(visits: dict, refs: list[str], path: list[int], legs, agent: dict) -> list[int]:
    """Latest start at each stop that keeps the later stops and the return in time."""
    out: list[int] = []
    latest = agent["shift"][1]
    for n in range(len(refs) - 1, -1, -1):
        visit = visits[refs[n]]
        cap = latest - legs(path[n + 1], path[n + 2])[0] - visit["service"]
        fits = [min(w1, cap) for w0, w1 in visit["windows"] if w0 <= min(w1, cap)]
        latest = max(fits) if fits else -(1 << 40)
        out.append(latest)
    return out[::-1]


def retime(plan: RoutePlan, solution: dict, settings: TravelSettings, only: set[str] | None = None) -> dict:
    agents = {a["id"]: a for a in plan.problem["agents"]}
    old = {r["agent"]: r for r in (plan.solution or {}).get("routes", [])}
    routes = []
    for route in solution["routes"]:
        refs = [s["visit"] if isinstance(s, dict) else s for s in route["stops"]]
        if only is not None and route["agent"] not in only and route["agent"] in old:
            routes.append(old[route["agent"]])
        else:
            routes.append(time_route(plan, agents[route["agent"]], refs, settings))
    return {"routes": routes, "unassigned": solution["unassigned"]}


# why the engine left a visit out (its sentences, engine/model.py) → the reason's code
UNASSIGNED_CODES = (
    (engine.REASON_NO_ROOM, "route_unassigned_no_room"),
    (engine.REASON_CAP, "route_unassigned_cap"),
    ("no agents in the problem", "route_unassigned_no_agents"),
    ("every eligible agent has max_visits 0", "route_unassigned_cap_zero"),
    ("window outside every shift", "route_unassigned_window_shift"),
    ("too far", "route_unassigned_too_far"),
    ("pinned agent", "route_unassigned_pinned"),
    ("no agent has", "route_unassigned_no_skill"),
    (UNASSIGNED_BY_DISPATCHER, "route_unassigned_by_dispatcher"),
)


def unassigned_reason(text: str, skills: list[str]) -> dict:
    """An unassigned visit's reason with its code; the skills are the visit's own (a pinned
    agent or every agent lacking some of them)."""
    code = next((code for start, code in UNASSIGNED_CODES if text.startswith(start)), "route_unassigned_not_served")
    return {"code": code, "params": {"skills": skills} if code in ("route_unassigned_pinned", "route_unassigned_no_skill") else {}}


def route_violations(solution: dict) -> list[dict]:
    return [{"agent": r["agent"], **v} for r in solution["routes"] for v in r["violations"]]


def workload_of(plan: RoutePlan) -> dict:
    """Spread of stops and working time (travel + time at the door) between the plan's
    agents, stops already done or under way included."""
    stops, work = [], []
    for route in plan.solution["routes"]:
        fixed = plan.meta["agents"][route["agent"]]["fixed"]
        done = sum(f["end_s"] - f["start_s"] for f in fixed if f["start_s"] is not None and f["end_s"] is not None)
        stops.append(len(fixed) + len(route["stops"]))
        work.append(route.get("work_s", route["travel_s"]) + done)
    return {"agents": len(stops), "stops": engine.spread(stops), "work_s": engine.spread(work)}


def plan_stats(plan: RoutePlan, *, solve_s: float | None = None, build_s: float | None = None) -> dict:
    visits = {v["id"]: v for v in plan.problem["visits"]}
    routes = plan.solution["routes"]
    served = [s["visit"] for r in routes for s in r["stops"]]
    stats = dict(plan.stats or {})
    stats.update(
        {
            "agents": len(routes),
            "visits": len(visits),
            "assigned": len(served),
            "unassigned": len(plan.solution["unassigned"]),
            "excluded": len(plan.excluded),
            "fixed": sum(len(a["fixed"]) for a in plan.meta["agents"].values()),
            "priority_total": sum(v["priority"] for v in visits.values()),
            "priority_served": sum(visits[r]["priority"] for r in served),
            "travel_s": sum(r["travel_s"] for r in routes),
            "km": round(sum(r["km"] for r in routes), 2),
            "workload": workload_of(plan),
        }
    )
    preferred = [(visits[s["visit"]].get("preferred_agent"), r["agent"]) for r in routes for s in r["stops"]]
    preferred = [(want, got) for want, got in preferred if want is not None and want in plan.meta["agents"]]
    if preferred:
        kept = sum(1 for want, got in preferred if want == got)
        stats["continuity"] = {"preferred": len(preferred), "kept": kept, "share": round(kept / len(preferred), 3)}
    chances = [(visits[s["visit"]]["priority"], s["p"]) for r in routes for s in r["stops"] if "p" in s]
    if chances:  # expected contacts: the sum of the chances of finding someone home
        stats["contact"] = {
            "expected_contacts": round(sum(p for _, p in chances), 2),
            "expected_priority": round(sum(w * p for w, p in chances), 1),
        }
    cost = plan.problem.get("travel_cost")
    if cost is not None:
        stats["value"] = engine.day_value(stats["priority_served"], stats["travel_s"], cost)
    if solve_s is not None:
        stats["solve_s"] = round(solve_s, 3)
    if build_s is not None:
        stats["build_s"] = round(build_s, 3)
    return stats
