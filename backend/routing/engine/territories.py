"""Territories for decomposing a big day: groups of agents by start site (k-means over
sites when there are many), each visit to the territory of its nearest eligible agent
(balanced by agent time; a big single-site branch cut into angular sectors), and the
neighbouring pairs worth re-solving together."""

from __future__ import annotations

import math

import numpy as np

from .model import Prepared


def _plane_km(latlon: np.ndarray) -> np.ndarray:
    lat0 = float(np.mean(latlon[:, 0])) if len(latlon) else 0.0
    return np.c_[latlon[:, 1] * 111.32 * math.cos(math.radians(lat0)), latlon[:, 0] * 110.57]


def _kmeans(X: np.ndarray, k: int, w: np.ndarray | None = None, seed: int = 0, iters: int = 50):
    """Weighted Lloyd's k-means with k-means++ seeding (small inputs)."""
    rng = np.random.default_rng(seed)
    n = len(X)
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    C = [X[rng.choice(n, p=w / w.sum())]]
    for _ in range(1, k):
        d2 = np.min(((X[:, None, :] - np.array(C)[None]) ** 2).sum(-1), axis=1) * w
        C.append(X[rng.choice(n, p=d2 / d2.sum())] if d2.sum() > 0 else X[rng.integers(n)])
    C = np.array(C, dtype=float)
    lab = np.zeros(n, dtype=int)
    for _ in range(iters):
        lab = ((X[:, None, :] - C[None]) ** 2).sum(-1).argmin(1)
        newC = C.copy()
        for j in range(k):
            m = lab == j
            if m.any():
                newC[j] = (X[m] * w[m, None]).sum(0) / w[m].sum()
        if np.allclose(newC, C):
            break
        C = newC
    return lab


def territories(prep: Prepared, target_agents: int = 10, seed: int = 0) -> list[list[int]]:
    """Groups of agents (by start site) of about ``target_agents`` each."""
    nA = prep.n_agents
    k = max(1, round(nA / target_agents))
    if k <= 1:
        return [list(range(nA))] if nA else []
    sites, site_of = np.unique(prep.a_start, return_inverse=True)
    counts = np.bincount(site_of, minlength=len(sites))
    X = _plane_km(prep.problem.locations[sites])
    if len(sites) > k:
        lab = _kmeans(X, k, counts, seed)
        groups = [list(np.flatnonzero(lab[site_of] == j)) for j in range(k)]
    else:
        groups = [list(np.flatnonzero(site_of == s)) for s in range(len(sites))]
    out: list[list[int]] = []
    for g in groups:
        if not g:
            continue
        parts = max(1, round(len(g) / target_agents))
        if parts == 1:
            out.append([int(x) for x in g])
            continue
        # a big branch: cut into parts, each with a mix of shifts (sectors come from visits)
        g = sorted(g, key=lambda a: (int(prep.a_shift[a, 0]), int(prep.a_shift[a, 1]), a))
        for p in range(parts):
            out.append([int(x) for x in g[p::parts]])
    return out


def assign_visits(prep: Prepared, terrs: list[list[int]]) -> np.ndarray:
    """Territory of each visit (-1 when nobody can serve it).

    Preference: the territory with the eligible agent whose start→visit→end round trip is
    shortest; territories cut from one big branch split its visits into angular sectors.
    Visits are placed highest priority first, and a territory whose agents' time is
    already spoken for (x1.15) passes the visit to the next-nearest territory, if that
    one is not much farther — so valuable visits are not left behind in a crowded
    territory while the neighbour has room.
    """
    nV = prep.n_visits
    D = prep.D
    lv = prep.loc_v
    out = np.full(nV, -1, dtype=np.int64)
    if not terrs or nV == 0:
        return out
    cost_a = D[np.ix_(prep.a_start, lv)].T + D[np.ix_(lv, prep.a_end)]  # (nV, nA)
    big = np.iinfo(np.int64).max // 4
    cost_a = np.where(prep.elig, cost_a, big)
    cost_t = np.stack([cost_a[:, g].min(1) for g in terrs], 1)  # (nV, T)
    ok = cost_t.min(1) < big
    pref = cost_t.argmin(1)
    # territories sharing one start site tie: split their visits into angular sectors
    site_of_t = [tuple(sorted(set(int(prep.a_start[a]) for a in g))) for g in terrs]
    by_site: dict[tuple, list[int]] = {}
    for t, s in enumerate(site_of_t):
        by_site.setdefault(s, []).append(t)
    for s, ts in by_site.items():
        if len(ts) < 2:
            continue
        mine = np.flatnonzero(ok & np.isin(pref, ts))
        if not len(mine):
            continue
        center = _plane_km(prep.problem.locations[[s[0]]])[0]
        pts = _plane_km(prep.problem.locations[lv[mine]]) - center
        ang = np.arctan2(pts[:, 1], pts[:, 0])
        order = np.argsort(ang)
        a_sorted = ang[order]
        gaps = np.diff(np.r_[a_sorted, a_sorted[0] + 2 * np.pi])
        startj = (int(np.argmax(gaps)) + 1) % len(order)  # cut at the widest empty gap
        order = np.r_[order[startj:], order[:startj]]
        for p, chunk in enumerate(np.array_split(order, len(ts))):
            sel = mine[chunk]
            good = cost_t[sel, ts[p]] < big
            pref[sel[good]] = ts[p]
    # capacity in agent-seconds; demand = service + a typical hop between visits
    cap = np.array([float((prep.a_shift[g, 1] - prep.a_shift[g, 0]).sum()) for g in terrs])
    sample = lv[:: max(1, nV // 400)]
    dd = D[np.ix_(sample, sample)].astype(float)
    np.fill_diagonal(dd, np.inf)
    hop = float(np.median(dd.min(1))) * 1.5 if len(sample) > 1 else 0.0
    demand = prep.service.astype(float) + hop
    load = np.zeros(len(terrs))
    key = cost_t.astype(float)
    key[np.arange(nV), pref] -= 0.5  # the preferred territory wins ties
    best = cost_t[np.arange(nV), pref].astype(float)
    for i in np.argsort(-prep.prio, kind="stable"):
        if not ok[i]:
            continue
        order = np.argsort(key[i])
        pick = int(pref[i])
        limit = best[i] * 1.5 + 1200.0
        for t in order:
            if key[i, t] >= big or key[i, t] > limit:
                break
            if load[t] + demand[i] <= 1.15 * cap[t]:
                pick = int(t)
                break
        out[i] = pick
        load[pick] += demand[i]
    return out


def neighbour_pairs(prep: Prepared, terrs: list[list[int]], per: int = 3) -> list[tuple[int, int]]:
    """Pairs of territories worth re-solving together, nearest first."""
    T = len(terrs)
    C = np.array([_plane_km(prep.problem.locations[prep.a_start[g]]).mean(0) for g in terrs])
    d = np.sqrt(((C[:, None] - C[None]) ** 2).sum(-1))
    pairs: set[tuple[int, int]] = set()
    for a in range(T):
        for b in np.argsort(d[a])[1 : per + 1]:
            pairs.add((min(a, int(b)), max(a, int(b))))
    return sorted(pairs, key=lambda p: d[p])
