"""Schedules of routes, with the same arithmetic as the shared verify.py: the forward
schedule of a route, whether it is feasible, a plan's figures and its rank, and the
repair of a route by dropping stops.

With contact data a stop may be planned later than its earliest start — the agent waits
for the hour the debtor is likely home — as long as the rest of the route still fits
(``planned_times``); a plan is then worth its expected priority, priority x the chance
of contact at each planned start."""

from __future__ import annotations

from collections.abc import Sequence

from .model import Prepared, Routes


def route_times(prep: Prepared, k: int, seq: Sequence[int]):
    """Forward schedule from the shift start: ([(arrival, start, end)], travel, back) or None."""
    D = prep.D
    t = int(prep.a_shift[k, 0])
    here = int(prep.a_start[k])
    travel = 0
    out = []
    for i in seq:
        loc = int(prep.loc_v[i])
        d = int(D[here, loc])
        travel += d
        t += d
        arr = t
        st = None
        for w0, w1 in prep.windows[i]:
            if t <= w1:
                st = max(t, w0)
                break
        if st is None:
            return None
        t = st + int(prep.service[i])
        out.append((arr, st, t))
        here = loc
    d = int(D[here, prep.a_end[k]])
    travel += d
    t += d
    if t > prep.a_shift[k, 1]:
        return None
    return out, travel, t


def latest_arrivals(prep: Prepared, k: int, seq: Sequence[int]) -> list[int]:
    """Latest arrival at each stop (and at the end) keeping the rest of the route feasible.

    With waiting allowed, the feasible arrival times at a stop form a down-set, so one
    number per stop suffices: L_end = shift end; L_i = latest window-compatible start.
    """
    D = prep.D
    L = [int(prep.a_shift[k, 1])]
    nxt = int(prep.a_end[k])
    for i in reversed(seq):
        loc = int(prep.loc_v[i])
        cap = L[-1] - int(D[loc, nxt]) - int(prep.service[i])
        best = -(1 << 62)
        for w0, w1 in prep.windows[i]:
            hi = min(w1, cap)
            if w0 <= hi:
                best = max(best, hi)
        L.append(best)
        nxt = loc
    L.reverse()
    return L  # len(seq) + 1


def planned_times(prep: Prepared, k: int, seq: Sequence[int]):
    """The schedule to publish: ``route_times``, except that with contact data each stop
    starts at the moment of its best chance of contact still reachable (waiting at the
    door) without making a later stop or the return late — the earliest of equals; the
    plain earliest schedule stands when it is worth more. Same shape as ``route_times``."""
    first = route_times(prep, k, seq)
    if first is None or not prep.has_contact:
        return first
    D = prep.D
    L = latest_arrivals(prep, k, seq)
    t = int(prep.a_shift[k, 0])
    here = int(prep.a_start[k])
    out = []
    for j, i in enumerate(seq):
        loc = int(prep.loc_v[i])
        t += int(D[here, loc])
        arr = t
        st = next(max(t, w0) for w0, w1 in prep.windows[i] if t <= w1)
        c = prep.contact[i]
        if c is not None:
            best = float(c.at(st))
            for b in [int(x) for x in c.breaks] + [w0 for w0, _ in prep.windows[i]]:
                if st < b <= L[j] and any(w0 <= b <= w1 for w0, w1 in prep.windows[i]):
                    q = float(c.at(b))
                    if q > best + 1e-9 or (abs(q - best) <= 1e-9 and b < st):
                        best, st = q, b
        t = st + int(prep.service[i])
        out.append((arr, st, t))
        here = loc
    back = t + int(D[here, prep.a_end[k]])
    waited = (out, first[1], back)
    return waited if route_value(prep, seq, out) > route_value(prep, seq, first[0]) + 1e-9 else first


def route_value(prep: Prepared, seq: Sequence[int], times) -> float:
    """Expected priority of a route's stops at their starts (plain: the priority)."""
    if not prep.has_contact:
        return float(prep.prio[list(seq)].sum())
    return sum(float(prep.prio[i]) * prep.p_at(i, st) for i, (_, st, _) in zip(seq, times, strict=True))


def route_ok(prep: Prepared, k: int, seq: Sequence[int]) -> bool:
    return (not seq) or (len(seq) <= prep.a_cap[k] and bool(prep.elig[list(seq), k].all()) and route_times(prep, k, seq) is not None)


def evaluate(prep: Prepared, routes: Routes) -> tuple[float, int, bool]:
    """(priority served, travel seconds, feasible) of a plan; with contact data the
    priority is the expected priority met at the planned starts."""
    prio: float = 0
    travel = 0
    seen: set[int] = set()
    ok = True
    for k, seq in routes.items():
        if not seq:
            continue
        if len(seq) > prep.a_cap[k] or not prep.elig[list(seq), k].all() or seen.intersection(seq):
            ok = False
        seen.update(seq)
        r = planned_times(prep, k, seq)
        if r is None:
            ok = False
            continue
        travel += r[1]
        prio += route_value(prep, seq, r[0]) if prep.has_contact else int(prep.prio[list(seq)].sum())
    return prio, travel, ok


def expected(prep: Prepared, routes: Routes) -> dict:
    """With contact data: the plan's expected priority met and expected contacts (the sum
    of the chances of contact at the planned starts)."""
    prio = contacts = 0.0
    for k, seq in routes.items():
        r = planned_times(prep, k, seq) if seq else None
        if r is None:
            continue
        for i, (_, st, _) in zip(seq, r[0], strict=True):
            p = prep.p_at(i, st)
            contacts += p
            prio += float(prep.prio[i]) * p
    return {"expected_priority": round(prio, 2), "expected_contacts": round(contacts, 3)}


def continuity_missed(prep: Prepared, routes: Routes) -> int:
    """Continuity weights (seconds) of served visits not with their preferred agent."""
    if not prep.cont_w.any():
        return 0
    return int(sum(int(prep.cont_w[i]) for k, seq in routes.items() for i in seq if prep.pref[i] != k))


def plan_key(prep: Prepared, routes: Routes) -> tuple[float, int]:
    """Sort key, larger is better: (priority, -travel), or (value, -travel) when travel
    has a price (value = priority − price x hours); infeasible plans rank last. A visit
    away from its preferred agent counts its continuity weight as travel. With contact
    data the priority is the expected priority met."""
    p, t, ok = evaluate(prep, routes)
    cost = prep.problem.travel_cost
    if not ok:
        return (float("-inf") if cost else -1, 0)
    t += continuity_missed(prep, routes)
    return (p - cost * t / 3600 if cost else p, -t)


def make_feasible(prep: Prepared, k: int, seq: Sequence[int], taken: set[int] | None = None) -> list[int]:
    """Drop stops until the route is feasible for agent k (keeps order)."""
    out: list[int] = []
    seen = set(taken or ())
    for i in seq:
        if i in seen:
            continue
        seen.add(i)
        if not prep.elig[i, k] or len(out) >= prep.a_cap[k]:
            continue
        cand = out + [i]
        if _prefix_ok(prep, k, cand):
            out = cand
    while out and route_times(prep, k, out) is None:
        # back too late: drop the least valuable stop (the earliest of equals) until on time
        worst = min(range(len(out)), key=lambda j: (prep.prio[out[j]], j))
        out.pop(worst)
    return out


def _prefix_ok(prep: Prepared, k: int, seq: Sequence[int]) -> bool:
    """Every stop of seq can start within a window (return to the end not checked)."""
    D = prep.D
    t = int(prep.a_shift[k, 0])
    here = int(prep.a_start[k])
    for i in seq:
        loc = int(prep.loc_v[i])
        t += int(D[here, loc])
        for w0, w1 in prep.windows[i]:
            if t <= w1:
                t = max(t, w0) + int(prep.service[i])
                break
        else:
            return False
        here = loc
    return True
