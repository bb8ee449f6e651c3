"""Continuity: a debtor is best visited by the agent who last met them, when that costs
little. A visit's ``continuity_weight`` is the extra travel (seconds) worth spending on it;
plans are ranked with the weights of the visits away from their preferred agent counted as
travel (``plan_key``), the greedy insertion prefers that agent by the same measure, and
this pass moves a served visit to its preferred agent's route whenever the extra travel is
below its weight. Priority is never given up for it."""

from __future__ import annotations

import time

from .model import Prepared, Routes
from .schedule import evaluate, route_ok


def _saving(prep: Prepared, k: int, seq: list[int], j: int) -> int:
    D = prep.D
    nodes = [int(prep.a_start[k])] + [int(prep.loc_v[i]) for i in seq] + [int(prep.a_end[k])]
    return int(D[nodes[j], nodes[j + 1]] + D[nodes[j + 1], nodes[j + 2]] - D[nodes[j], nodes[j + 2]])


def _best_insertion(prep: Prepared, k: int, seq: list[int], i: int) -> tuple[int, int] | None:
    """(extra travel, position) of the cheapest feasible insertion of i into k's route."""
    D = prep.D
    nodes = [int(prep.a_start[k])] + [int(prep.loc_v[x]) for x in seq] + [int(prep.a_end[k])]
    u = int(prep.loc_v[i])
    best = None
    for p in sorted(range(len(seq) + 1), key=lambda p: int(D[nodes[p], u] + D[u, nodes[p + 1]] - D[nodes[p], nodes[p + 1]])):
        delta = int(D[nodes[p], u] + D[u, nodes[p + 1]] - D[nodes[p], nodes[p + 1]])
        if route_ok(prep, k, seq[:p] + [i] + seq[p:]):
            best = (delta, p)
            break
    return best


def keep_continuity(prep: Prepared, routes: Routes, deadline: float) -> int:
    """Move served visits to their preferred agent where the extra travel is below their
    weight (the heaviest weights first) and, with contact data, the expected priority
    does not fall; returns how many moved."""
    if not prep.cont_w.any():
        return 0
    moved = 0
    where = {i: k for k, seq in routes.items() for i in seq}
    for i in sorted(where, key=lambda i: -int(prep.cont_w[i])):
        if time.perf_counter() >= deadline:
            break
        k, a = int(prep.pref[i]), where[i]
        if k < 0 or k == a or not prep.cont_w[i] or not prep.elig[i, k]:
            continue
        seq_b = routes.setdefault(k, [])
        if len(seq_b) >= prep.a_cap[k]:
            continue
        seq_a = routes[a]
        j = seq_a.index(i)
        ins = _best_insertion(prep, k, seq_b, i)
        if ins is None:
            continue
        extra = ins[0] - _saving(prep, a, seq_a, j)
        if extra >= prep.cont_w[i]:
            continue
        new_a = seq_a[:j] + seq_a[j + 1 :]
        if not route_ok(prep, a, new_a):
            continue
        new_b = seq_b[: ins[1]] + [i] + seq_b[ins[1] :]
        if prep.has_contact and evaluate(prep, {a: new_a, k: new_b})[0] < evaluate(prep, {a: seq_a, k: seq_b})[0] - 1e-9:
            continue  # the move would meet fewer people
        routes[a], routes[k] = new_a, new_b
        where[i] = k
        moved += 1
    return moved


def continuity_share(prep: Prepared, routes: Routes) -> dict | None:
    """Of the served visits whose preferred agent is in the plan, how many stay with them."""
    if not any(v.preferred_agent for v in prep.problem.visits):
        return None
    served = [(i, k) for k, seq in routes.items() for i in seq if prep.pref[i] >= 0]
    kept = sum(1 for i, k in served if prep.pref[i] == k)
    return {"preferred": len(served), "kept": kept, "share": round(kept / len(served), 3) if served else None}
