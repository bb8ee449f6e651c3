"""The chance of finding someone home, from past outcomes.

Each past attempt at a debtor's door is an :class:`Attempt`: the local hour it was made,
whether the day was a weekend, and whether someone was met (an outcome of the "met"
family) or nobody was home (``not_home``). :func:`fit` turns the attempts into an
:class:`AtHomeModel`:

* **at-home profiles** learned from the whole history — a latent-class (mixture of
  binomials) model fitted by EM: a few typical daily curves of the chance of contact by
  hour and type of day (people home by day, in the evening, rarely …), each smoothed over
  neighbouring hours and shrunk to the history's overall rate at that hour;
* **an area prior** on which profile a debtor follows: the profile shares of the
  debtor's area (a district, a grid cell — any key the caller gives), themselves shrunk
  to the shares of the whole history (beta-binomial / Dirichlet shrinkage);
* **each debtor's posterior** over the profiles, from the area prior and the debtor's own
  attempts (met and not home at which hours); the profiles' chances weighted by that
  posterior are the prior of a last beta-binomial step on the debtor's own attempts
  around each hour (a debtor unlike every profile still gets its own hours). A debtor
  never tried gets the area's shape; an area never tried the whole history's.

:meth:`AtHomeModel.slots` gives a debtor's probabilities as the ``contact`` slots of the
route-problem format (docs/routing.md).

Pure Python + numpy: no Flask, no database (the route builder reads the history).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

HOURS = 24
# weight of an attempt for the hours around it (0, ±1) when a profile is estimated,
# and for the other type of day
HOUR_KERNEL = (1.0, 0.5)
OTHER_DAY_TYPE = 0.25
# prior strength (pseudo-attempts): of the overall rate in the history's hourly rate, of
# that hourly rate in each profile, of the history's profile shares in an area's, of a
# debtor's profile mix against its own attempts at an hour
GLOBAL_STRENGTH = 20.0
PROFILE_STRENGTH = 10.0
AREA_STRENGTH = 4.0
DEBTOR_STRENGTH = 4.0
# the profiles' starting shapes (multiples of the history's hourly rate): as often home at
# every hour, by day, in the evening, rarely. EM moves them to what the history shows.
START_SHAPES = (
    {range(0, 24): 1.0},
    {range(0, 9): 0.8, range(9, 17): 1.4, range(17, 24): 0.8},
    {range(0, 9): 0.8, range(9, 17): 0.5, range(17, 24): 1.5},
    {range(0, 24): 0.3},
)
EM_ROUNDS = 50
# rate of the whole history when there is no history at all
NO_HISTORY_RATE = 0.5


@dataclass(frozen=True)
class Attempt:
    """One past visit attempt: who, where, the local hour (0-23), the type of day, and
    whether someone was met."""

    debtor: Hashable
    area: Hashable | None
    hour: int
    weekend: bool
    met: bool


def _kernel() -> np.ndarray:
    """(24, 24) weights: how much an attempt at hour h counts for hour g."""
    k = np.zeros((HOURS, HOURS))
    for h in range(HOURS):
        for d, w in enumerate(HOUR_KERNEL):
            for g in {h - d, h + d}:
                if 0 <= g < HOURS:
                    k[h, g] = w
    return k


def _smooth(counts: np.ndarray) -> np.ndarray:
    """(..., 2, 24) counts spread over neighbouring hours and to the other type of day."""
    by_hour = counts @ _kernel()
    return by_hour + OTHER_DAY_TYPE * by_hour[..., ::-1, :]


@dataclass
class AtHomeModel:
    """Fitted rates, (2, 24) arrays of the chance of contact by type of day (weekday,
    weekend) and hour: the whole history's, each area's and each debtor's; and the
    profiles (k, 2, 24) they mix."""

    overall: np.ndarray
    areas: dict[Hashable, np.ndarray]
    debtors: dict[Hashable, np.ndarray]
    profiles: np.ndarray
    attempts: int

    def hourly(self, debtor: Hashable, area: Hashable | None = None, weekend: bool = False) -> np.ndarray:
        """The debtor's chance of contact at each hour (24 values) on that type of day;
        a debtor without history gets the area's, an unknown area the whole history's."""
        rates = self.debtors.get(debtor)
        if rates is None:
            rates = self.areas.get(area, self.overall) if area is not None else self.overall
        return rates[int(weekend)]

    def slots(self, debtor: Hashable, area: Hashable | None = None, weekend: bool = False, offset_s: int = 0) -> list[dict]:
        """The ``contact`` slots of a route problem: one per hour, ``{"start", "end", "p"}``
        in seconds since the plan clock's midnight (``offset_s``: the plan clock's time at
        the debtor's local midnight)."""
        p = self.hourly(debtor, area, weekend)
        return [{"start": offset_s + h * 3600, "end": offset_s + (h + 1) * 3600, "p": round(float(p[h]), 3)} for h in range(HOURS)]


def fit(attempts: Iterable[Attempt]) -> AtHomeModel:
    """Fit the profiles, the areas' shares and the debtors' posteriors on past attempts."""
    debtor_ix: dict[Hashable, int] = {}
    area_ix: dict[Hashable, int] = {}
    rows: list[tuple[int, int, int, int]] = []
    area_of: dict[int, int] = {}
    for a in attempts:
        d = debtor_ix.setdefault(a.debtor, len(debtor_ix))
        if a.area is not None:
            area_of[d] = area_ix.setdefault(a.area, len(area_ix))  # the latest attempt's area
        rows.append((d, int(a.weekend), a.hour % HOURS, int(a.met)))
    nD, nA = len(debtor_ix), len(area_ix)
    met = np.zeros((nD, 2, HOURS))
    tried = np.zeros((nD, 2, HOURS))
    for d, t, h, m in rows:
        tried[d, t, h] += 1
        met[d, t, h] += m
    n, n_met = int(tried.sum()), int(met.sum())
    base = (n_met + 1.0) / (n + 2.0) if n else NO_HISTORY_RATE
    overall = (_smooth(met.sum(0)) + GLOBAL_STRENGTH * base) / (_smooth(tried.sum(0)) + GLOBAL_STRENGTH)
    if not nD:  # nothing to learn profiles from: one, the even chance
        return AtHomeModel(overall, {}, {}, overall[None], 0)
    profiles = np.stack([np.clip(overall * _shape(shape), 0.02, 0.98) for shape in START_SHAPES])
    K = len(profiles)
    shares = np.full(K, 1.0 / K)
    area_shares = np.tile(shares, (nA, 1))
    d_area = np.array([area_of.get(d, -1) for d in range(nD)], dtype=np.int64)
    s_met, s_tried = _smooth(met), _smooth(tried)
    post = np.tile(shares, (nD, 1))
    for _ in range(EM_ROUNDS):
        # E: each debtor's posterior over the profiles, from its area's shares
        lp, lq = np.log(profiles), np.log1p(-profiles)
        loglik = np.einsum("dth,kth->dk", met, lp) + np.einsum("dth,kth->dk", tried - met, lq)
        prior = np.where(d_area[:, None] >= 0, area_shares[np.maximum(d_area, 0)], shares[None, :])
        z = np.log(prior) + loglik
        z -= z.max(axis=1, keepdims=True)
        post = np.exp(z)
        post /= post.sum(axis=1, keepdims=True)
        # M: profiles from the smoothed counts their debtors bring, shares by area
        profiles = (np.einsum("dk,dth->kth", post, s_met) + PROFILE_STRENGTH * overall) / (
            np.einsum("dk,dth->kth", post, s_tried) + PROFILE_STRENGTH
        )
        profiles = np.clip(profiles, 1e-3, 1 - 1e-3)
        shares = (post.sum(0) + 1.0) / (nD + K)
        in_area = np.zeros((nA, K))
        np.add.at(in_area, d_area[d_area >= 0], post[d_area >= 0])
        count = np.bincount(d_area[d_area >= 0], minlength=nA)[:, None]
        area_shares = (in_area + AREA_STRENGTH * shares) / (count + AREA_STRENGTH)
    # each debtor's own attempts around each hour, with its profile mix as the prior
    mix = np.einsum("dk,kth->dth", post, profiles)
    own = (s_met + DEBTOR_STRENGTH * mix) / (s_tried + DEBTOR_STRENGTH)
    debtors = {key: own[d] for key, d in debtor_ix.items()}
    areas = {key: np.einsum("k,kth->th", area_shares[a], profiles) for key, a in area_ix.items()}
    return AtHomeModel(np.einsum("k,kth->th", shares, profiles), areas, debtors, profiles, n)


def _shape(shape: dict[range, float]) -> np.ndarray:
    out = np.ones(HOURS)
    for hours, x in shape.items():
        out[list(hours)] = x
    return out[None, :]


def slot_p(slots: list[dict], t: int) -> float:
    """The chance of contact at start time ``t`` from a visit's ``contact`` slots (0
    outside every slot)."""
    return next((float(s["p"]) for s in slots if s["start"] <= t < s["end"]), 0.0)


def best_start(slots: list[dict], windows: list[list[int]], earliest: int, latest: int) -> int:
    """When to knock: from ``earliest`` (the earliest start inside a window) up to
    ``latest`` (the latest start keeping the rest of the route in time), the start with
    the best chance of contact — a slot's start or a window's — the earliest of equals."""
    best, at = slot_p(slots, earliest), earliest
    for t in sorted({int(s["start"]) for s in slots} | {int(w[0]) for w in windows}):
        if earliest < t <= latest and any(w0 <= t <= w1 for w0, w1 in windows) and slot_p(slots, t) > best + 1e-9:
            best, at = slot_p(slots, t), t
    return at


def grid_area(lat: float, lon: float, km: float = 2.0) -> tuple[int, int]:
    """A debtor's area when the caller has no district: the cell of a grid about ``km``
    wide (a degree of latitude is ~111 km; cells narrow a little away from the equator,
    which does not matter for pooling neighbours)."""
    step = km / 111.0
    return (int(np.floor(lat / step)), int(np.floor(lon / step)))
