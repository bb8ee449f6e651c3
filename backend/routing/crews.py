"""Two-person visits (R9) in the day's route problem: agents paired into crews.

A visit needs two agents when its jurisdiction or its case's risk says so
(`visits.services.required_agents`). The engine knows nothing of pairs: a crew is one vehicle
of the problem, travelling together —

- its ref is the lead's ("a<lead id>"), it starts and ends where the lead does;
- its shift is the intersection of the two shifts, its cap the smaller of the two caps left,
  its skills the union of both agents' skills plus the pseudo-skill `crew`;
- a two-person visit requires the skill `crew`, so only a crew may take it; a single visit
  requires nothing new, so everyone (crews included) may take it;
- the partner is no vehicle of its own: its pins, continuity preference and warm-start route
  go to its crew.

How many crews: as few as cover the two-person visits with the crews' caps (a crew of caps 6
and 8 takes at most 6), never more than the agents allow. Which agents: two of the same branch,
the pairs whose starting points are closest first (geodesic distance; then the lower ids); the
lead is the agent of the lower id. When no pair can be formed (a branch with one agent on shift,
or shifts that do not overlap), every two-person visit is excluded with the reason `route_no_pair`.
"""

from __future__ import annotations

from geopy.distance import geodesic

from ..cases.models import Address, Case
from ..extensions import db
from ..feed import record_change
from ..org.models import Agent
from ..visits.models import Visit
from ..visits.services import outcome_history, required_agents

CREW_SKILL = "crew"


def mark_required_agents(problem_visits: list[dict], info: dict) -> list[str]:
    """Each problem visit's `required_agents` (kept in the plan's meta); the two-person ones
    require the skill `crew`. Returns their refs."""
    history = outcome_history({info[v["id"]]["case_id"] for v in problem_visits})
    two = []
    for visit in problem_visits:
        meta = info[visit["id"]]
        case = db.session.get_one(Case, meta["case_id"])
        address = db.session.get(Address, meta["address_id"])
        need = required_agents(case, address, visit_id=meta["visit_id"], history=history[meta["case_id"]])
        meta["required_agents"] = need
        if need >= 2:
            visit["skills"] = sorted({*visit["skills"], CREW_SKILL})
            two.append(visit["id"])
    return two


def _pairs(problem_agents: list[dict], meta_agents: dict, locations: list) -> list[tuple[float, dict, dict]]:
    """Every pair of agents of one branch with overlapping shifts and visits left, closest starts first."""
    ready = [a for a in problem_agents if a["max_visits"] > 0 and a["shift"][0] < a["shift"][1]]
    pairs = []
    for i, a in enumerate(ready):
        for b in ready[i + 1 :]:
            if meta_agents[a["id"]]["branch_id"] != meta_agents[b["id"]]["branch_id"]:
                continue
            if max(a["shift"][0], b["shift"][0]) >= min(a["shift"][1], b["shift"][1]):
                continue
            apart = geodesic(locations[a["start"]], locations[b["start"]]).meters
            pairs.append((apart, a, b))
    pairs.sort(key=lambda p: (p[0], meta_agents[p[1]["id"]]["agent_id"], meta_agents[p[2]["id"]]["agent_id"]))
    return pairs


def form_crews(problem: dict, meta: dict, excluded: list[dict], locations: list) -> list[dict]:
    """Pair agents for the day's two-person visits (rules above), in place: the problem's
    agents become crews where paired, the visits' pins and preferences follow the crew, and
    two-person visits no pair can serve are moved to `excluded` (code `route_no_pair`).
    Returns the crews [{lead, partner}] as agent refs (also meta["crews"])."""
    two = mark_required_agents(problem["visits"], meta["visits"])
    meta["crews"] = []
    if not two:
        return []
    agents = {a["id"]: a for a in problem["agents"]}
    crews: list[dict] = []
    capacity = 0
    used: set[str] = set()
    for _, a, b in _pairs(problem["agents"], meta["agents"], locations):
        if capacity >= len(two):
            break
        if a["id"] in used or b["id"] in used:
            continue
        lead, partner = sorted((a, b), key=lambda x: meta["agents"][x["id"]]["agent_id"])
        used |= {a["id"], b["id"]}
        cap = min(a["max_visits"], b["max_visits"])
        capacity += cap
        crews.append({"lead": lead["id"], "partner": partner["id"]})
        shift = [max(a["shift"][0], b["shift"][0]), min(a["shift"][1], b["shift"][1])]
        agents[lead["id"]] = {**lead, "shift": shift, "max_visits": cap, "skills": sorted({*a["skills"], *b["skills"], CREW_SKILL})}
        partner_meta = meta["agents"][partner["id"]]
        lead_meta = meta["agents"][lead["id"]]
        lead_meta["partner"] = {k: partner_meta[k] for k in ("agent_id", "user_id", "name")}
        lead_meta["daily_cap"] = min(lead_meta["daily_cap"], partner_meta["daily_cap"])
        lead_meta["shift_s"] = [
            max(lead_meta["shift_s"][0], partner_meta["shift_s"][0]),
            min(lead_meta["shift_s"][1], partner_meta["shift_s"][1]),
        ]
    partners = {c["partner"]: c["lead"] for c in crews}
    problem["agents"] = [agents[a["id"]] for a in problem["agents"] if a["id"] not in partners]
    meta["crews"] = crews
    for visit in problem["visits"]:
        for key in ("agent", "preferred_agent"):
            if visit.get(key) in partners:
                visit[key] = partners[visit[key]]
    if not crews:
        refs = set(two)
        for ref in two:
            info = meta["visits"].pop(ref)
            message = "Needs two agents (R9), and no two agents of one branch with overlapping shifts are in this plan."
            entry = {"case_id": info["case_id"], "reasons": [{"rule": "R9", "code": "route_no_pair", "params": {}, "message": message}]}
            if info["visit_id"] is not None:
                entry["visit_id"] = info["visit_id"]
            excluded.append(entry)
        problem["visits"] = [v for v in problem["visits"] if v["id"] not in refs]
        excluded.sort(key=lambda e: (e["case_id"], e.get("visit_id") or 0))
    return crews


def crew_warm_start(warm_start: dict | None, crews: list[dict]) -> dict | None:
    """The published routes as the engine's warm start, without the partners' own routes
    (they ride with their crew now)."""
    if warm_start is None or not crews:
        return warm_start
    partners = {c["partner"] for c in crews}
    routes = [r for r in warm_start["routes"] if r["agent"] not in partners]
    return {"routes": routes} if routes else None


def crew_view(meta_agent: dict) -> dict:
    """The route's partner, for the plan view (None for an agent working alone)."""
    partner = meta_agent.get("partner")
    return {"partner_id": partner["agent_id"] if partner else None, "partner_name": partner["name"] if partner else None}


# --- publish -----------------------------------------------------------------------------


def _active(agent: Agent | None) -> bool:
    return agent is not None and agent.active and agent.user.active


def inactive_agent_findings(route_ref: str, meta_agent: dict, agents: dict[int, Agent]) -> list[dict]:
    """At publishing, the route's lead and, for a crew, its partner must still be active agents
    of active users (either may have been disabled or removed since the plan was solved).
    `agents`: the plan's agents (leads and partners) by id, as they are now."""
    lead_id = meta_agent["agent_id"]
    findings = []
    if not _active(agents.get(lead_id)):
        message = "The agent is no longer active."
        findings.append(
            {"agent": route_ref, "rule": "agent", "code": "agent_inactive", "params": {"agent_id": lead_id}, "message": message}
        )
    partner = meta_agent.get("partner")
    if partner is not None and not _active(agents.get(partner["agent_id"])):
        findings.append(
            {
                "agent": route_ref,
                "rule": "agent",
                "code": "crew_partner_inactive",
                "params": {"lead_id": lead_id, "partner_id": partner["agent_id"]},
                "message": f"The crew's partner, {partner['name']}, is no longer active; plan the day again to form another crew.",
            }
        )
    return findings


def place_partner(visit: Visit, partner_id: int | None, *, touched: set[int]) -> bool:
    """Set the visit's partner as the published plan has it: a new partner's phone gets the
    visit, a partner dropped loses it. True when it changed."""
    if visit.partner_id == partner_id:
        return False
    old = db.session.get(Agent, visit.partner_id) if visit.partner_id is not None else None
    if old is not None and visit.status == "published":
        record_change(user_id=old.user_id, kind="visit.remove", ref_type="visit", ref_id=visit.id, data={"reason": "reassigned"})
        touched.add(old.user_id)
    visit.partner_id = partner_id
    return True


def announce_to_partner(visit: Visit, *, touched: set[int]) -> None:
    """The partner's phone gets the visit's new version (as the lead's does)."""
    partner = db.session.get(Agent, visit.partner_id) if visit.partner_id is not None else None
    if partner is not None:
        record_change(user_id=partner.user_id, kind="visit.upsert", ref_type="visit", ref_id=visit.id)
        touched.add(partner.user_id)
