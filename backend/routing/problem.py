"""route-problem v1: parsing and validation into typed dataclasses.

The exchange format is described in ``docs/routing.md`` (and the shared README):
``{"version": 1, "locations": [[lat, lon], …], "durations": [[s, …], …] (optional),
"agents": [...], "visits": [...]}``. Anything invalid raises :class:`ProblemError`
with a message that names the offending field, e.g. ``visits[3].windows[1]: start
after end``.

Pure Python + numpy; no Flask, no database.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUPPORTED_VERSION = 1
CONTINUITY_WEIGHT = 1800  # seconds of extra travel a kept debtor is worth, by default
MAX_TIME = 10**10  # seconds; generous (TSPLIB problems use a 1e9 s shift)


class ProblemError(ValueError):
    """The route problem is malformed or inconsistent."""


@dataclass(frozen=True)
class Agent:
    id: str
    start: int  # location index
    end: int  # location index
    shift: tuple[int, int]  # leave start no earlier than shift[0], back at end by shift[1]
    max_visits: int | None = None
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Visit:
    id: str
    location: int  # location index
    service: int  # seconds at the door
    windows: tuple[tuple[int, int], ...]  # service must START inside one of them
    priority: int = 1  # 1..100
    skills: frozenset[str] = frozenset()
    agent: str | None = None  # pinned agent id
    preferred_agent: str | None = None  # who last met the debtor (continuity)
    continuity_weight: int = 0  # seconds of extra travel worth spending to keep it with them
    # the chance of finding someone home: (start, end, p) slots, sorted, not overlapping; a
    # start in [start, end) meets someone with probability p, a start outside every slot
    # with 0. None: p = 1 at every hour (the plain problem)
    contact: tuple[tuple[int, int, float], ...] | None = None

    def merged_windows(self) -> tuple[tuple[int, int], ...]:
        """Windows sorted, overlapping/touching ones merged (what solvers want)."""
        out: list[list[int]] = []
        for a, b in sorted(self.windows):
            if out and a <= out[-1][1]:
                out[-1][1] = max(out[-1][1], b)
            else:
                out.append([a, b])
        return tuple((a, b) for a, b in out)


BALANCE_BY = ("stops", "duration")


@dataclass(frozen=True)
class Balance:
    """Balanced work: among plans within ``max_loss`` (a share) of the best priority
    served, the one with the smallest spread of ``by`` (stops, or working time: travel
    plus time at the door) between the agents on shift."""

    by: str = "stops"
    max_loss: float = 0.01


@dataclass
class Problem:
    locations: np.ndarray  # float64 (n, 2): lat, lon
    agents: list[Agent]
    visits: list[Visit]
    durations: np.ndarray | None = None  # int64 (n, n), row = from; None → travel model
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, kept
    balance: Balance | None = None
    travel_cost: float | None = None  # priority points per hour driven; None: travel only breaks ties

    @property
    def has_contact(self) -> bool:
        """Some visit carries the chance of contact by hour: the plan then maximises the
        expected priority met (priority x p at the planned start)."""
        return any(v.contact is not None for v in self.visits)

    @property
    def n_locations(self) -> int:
        return len(self.locations)

    def agent_ids(self) -> list[str]:
        return [a.id for a in self.agents]

    def to_dict(self, durations: np.ndarray | None = None) -> dict:
        """Back to a route-problem v1 dict (``durations`` overrides the stored matrix)."""
        d = durations if durations is not None else self.durations
        out: dict[str, Any] = {"version": SUPPORTED_VERSION}
        if self.name is not None:
            out["name"] = self.name
        out["locations"] = [[float(a), float(b)] for a, b in self.locations]
        if d is not None:
            out["durations"] = np.asarray(d).astype(np.int64).tolist()
        out["agents"] = [
            {"id": a.id, "start": a.start, "end": a.end, "shift": list(a.shift), "max_visits": a.max_visits, "skills": sorted(a.skills)}
            for a in self.agents
        ]
        out["visits"] = [
            {
                "id": v.id,
                "location": v.location,
                "service": v.service,
                "windows": [list(w) for w in v.windows],
                "priority": v.priority,
                "skills": sorted(v.skills),
                "agent": v.agent,
                **(
                    {"preferred_agent": v.preferred_agent, "continuity_weight": v.continuity_weight}
                    if v.preferred_agent is not None
                    else {}
                ),
                **({"contact": [{"start": a, "end": b, "p": p} for a, b, p in v.contact]} if v.contact is not None else {}),
            }
            for v in self.visits
        ]
        if self.balance is not None:
            out["balance"] = {"by": self.balance.by, "max_loss": self.balance.max_loss}
        if self.travel_cost is not None:
            out["travel_cost"] = self.travel_cost
        return out


# ---------------------------------------------------------------------------------------
# primitive checks


def _fail(where: str, msg: str) -> ProblemError:
    return ProblemError(f"{where}: {msg}" if where else msg)


def _int(x: Any, where: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _fail(where, f"expected an integer, got {type(x).__name__} {x!r}"[:200])
    if isinstance(x, float):
        if not math.isfinite(x) or x != int(x):
            raise _fail(where, f"expected an integer, got {x!r}")
        x = int(x)
    if lo is not None and x < lo:
        raise _fail(where, f"must be >= {lo}, got {x}")
    if hi is not None and x > hi:
        raise _fail(where, f"must be <= {hi}, got {x}")
    return x


def _num(x: Any, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise _fail(where, f"expected a finite number, got {x!r}"[:200])
    return float(x)


def _str(x: Any, where: str) -> str:
    if not isinstance(x, str) or not x.strip():
        raise _fail(where, f"expected a non-empty string, got {x!r}"[:200])
    return x


def _list(x: Any, where: str) -> list:
    if not isinstance(x, (list, tuple)):
        raise _fail(where, f"expected a list, got {type(x).__name__}")
    return list(x)


def _obj(x: Any, where: str) -> Mapping:
    if not isinstance(x, Mapping):
        raise _fail(where, f"expected an object, got {type(x).__name__}")
    return x


def _skills(x: Any, where: str) -> frozenset[str]:
    if x is None:
        return frozenset()
    return frozenset(_str(s, f"{where}[{i}]") for i, s in enumerate(_list(x, where)))


def _window(x: Any, where: str) -> tuple[int, int]:
    w = _list(x, where)
    if len(w) != 2:
        raise _fail(where, f"expected [start, end], got {len(w)} values")
    a = _int(w[0], f"{where}[0]", 0, MAX_TIME)
    b = _int(w[1], f"{where}[1]", 0, MAX_TIME)
    if a > b:
        raise _fail(where, f"start {a} after end {b}")
    return a, b


def _balance(x: Any) -> Balance | None:
    if x is None:
        return None
    b = _obj(x, "balance")
    unknown = sorted(set(b) - {"by", "max_loss"})
    if unknown:
        raise _fail("balance", f"unknown field {unknown[0]!r} (expected 'by', 'max_loss')")
    by = b.get("by", "stops")
    if by not in BALANCE_BY:
        raise _fail("balance.by", f"expected 'stops' or 'duration', got {by!r}"[:200])
    loss = _num(b.get("max_loss", 0.01), "balance.max_loss")
    if not 0.0 <= loss <= 1.0:
        raise _fail("balance.max_loss", f"must be a share between 0 and 1, got {loss}")
    return Balance(by, loss)


def _travel_cost(x: Any) -> float | None:
    if x is None:
        return None
    cost = _num(x, "travel_cost")
    if cost < 0:
        raise _fail("travel_cost", f"must be >= 0 points per hour, got {cost}")
    return cost


def _contact(x: Any, where: str) -> tuple[tuple[int, int, float], ...] | None:
    """[{"start": s, "end": e, "p": 0.7}, …] → sorted (start, end, p) slots."""
    if x is None:
        return None
    out = []
    for j, slot in enumerate(_list(x, where)):
        w = f"{where}[{j}]"
        slot = _obj(slot, w)
        unknown = sorted(set(slot) - {"start", "end", "p"})
        if unknown:
            raise _fail(w, f"unknown field {unknown[0]!r} (expected 'start', 'end', 'p')")
        for key in ("start", "end", "p"):
            if key not in slot:
                raise _fail(w, f"missing {key!r}")
        a = _int(slot["start"], w + ".start", 0, MAX_TIME)
        b = _int(slot["end"], w + ".end", 0, MAX_TIME)
        if a >= b:
            raise _fail(w, f"start {a} not before end {b}")
        p = _num(slot["p"], w + ".p")
        if not 0.0 <= p <= 1.0:
            raise _fail(w + ".p", f"must be a probability between 0 and 1, got {p}")
        out.append((a, b, p))
    out.sort()
    for (a0, b0, _), (a1, _, _) in zip(out, out[1:], strict=False):
        if a1 < b0:
            raise _fail(where, f"slots overlap ({a0}-{b0} and one starting at {a1})")
    return tuple(out)


def _durations(x: Any, n: int) -> np.ndarray:
    if isinstance(x, np.ndarray):
        m = x
        if m.ndim != 2 or m.shape != (n, n):
            raise ProblemError(f"durations: must be a square {n} x {n} matrix (one row per location), got shape {m.shape}")
    else:
        rows = _list(x, "durations")
        if len(rows) != n:
            raise ProblemError(f"durations: must be a square {n} x {n} matrix (one row per location), got {len(rows)} rows")
        for i, r in enumerate(rows):
            if not isinstance(r, (list, tuple)):
                raise ProblemError(f"durations[{i}]: expected a list")
            if len(r) != n:
                raise ProblemError(f"durations[{i}]: must have {n} values (square matrix), got {len(r)}")
        try:
            m = np.array(rows)
        except (TypeError, ValueError):
            m = np.array(rows, dtype=object)
    if m.dtype.kind not in "iuf":
        items = rows if not isinstance(x, np.ndarray) else m.tolist()
        for i, r in enumerate(items):
            for j, v in enumerate(r):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ProblemError(f"durations[{i}][{j}]: expected a number, got {v!r}"[:200])
        m = np.array(items, dtype=np.float64)
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        i, j = np.argwhere(~np.isfinite(m))[0]
        raise ProblemError(f"durations[{i}][{j}]: not a finite number")
    if (m < 0).any():
        i, j = np.argwhere(m < 0)[0]
        raise ProblemError(f"durations[{i}][{j}]: negative travel time {m[i, j]}")
    if (m > MAX_TIME).any():
        i, j = np.argwhere(m > MAX_TIME)[0]
        raise ProblemError(f"durations[{i}][{j}]: travel time {m[i, j]} too large")
    if m.dtype.kind == "f":
        # fractional seconds are rounded up, so a plan feasible for us stays feasible
        m = np.ceil(m)
    return np.ascontiguousarray(m, dtype=np.int64)


# ---------------------------------------------------------------------------------------


def parse_problem(data: Any, *, allow_unknown_pins: bool = False) -> Problem:
    """Validate a route-problem v1 document (already JSON-decoded) → :class:`Problem`.

    A visit pinned to an agent id that is not in the problem is an error, unless
    ``allow_unknown_pins`` (a dispatcher re-plan where that agent is off today): then
    the visit stays in the problem and the solver reports it unassigned.
    """
    top = _obj(data, "problem")
    if "version" not in top:
        raise ProblemError("version: missing (expected 1)")
    if isinstance(top["version"], bool) or top["version"] != SUPPORTED_VERSION:
        raise ProblemError(f"version: unsupported {top['version']!r} (expected 1)")
    for key in ("locations", "agents", "visits"):
        if key not in top:
            raise ProblemError(f"{key}: missing")

    locs = _list(top["locations"], "locations")
    if not locs:
        raise ProblemError("locations: must not be empty")
    pts = np.empty((len(locs), 2), dtype=np.float64)
    for i, loc in enumerate(locs):
        w = f"locations[{i}]"
        pair = _list(loc, w)
        if len(pair) != 2:
            raise _fail(w, f"expected [latitude, longitude], got {len(pair)} values")
        lat, lon = _num(pair[0], w + "[0]"), _num(pair[1], w + "[1]")
        if not -90.0 <= lat <= 90.0:
            raise _fail(w, f"latitude {lat} out of range [-90, 90]")
        if not -180.0 <= lon <= 180.0:
            raise _fail(w, f"longitude {lon} out of range [-180, 180]")
        pts[i] = lat, lon
    n = len(locs)

    durations = None
    if top.get("durations") is not None:
        durations = _durations(top["durations"], n)

    agents: list[Agent] = []
    seen: set[str] = set()
    for i, a in enumerate(_list(top["agents"], "agents")):
        w = f"agents[{i}]"
        a = _obj(a, w)
        for key in ("id", "start", "end", "shift"):
            if key not in a:
                raise _fail(w, f"missing {key!r}")
        aid = _str(a["id"], w + ".id")
        if aid in seen:
            raise _fail(w + ".id", f"duplicate agent id {aid!r}")
        seen.add(aid)
        w = f"agents[{i}] ({aid})"
        start = _int(a["start"], w + ".start", 0)
        end = _int(a["end"], w + ".end", 0)
        for k, v in (("start", start), ("end", end)):
            if v >= n:
                raise _fail(f"{w}.{k}", f"location index {v} out of range (0..{n - 1})")
        shift = _window(a["shift"], w + ".shift")
        mv = a.get("max_visits")
        mv = None if mv is None else _int(mv, w + ".max_visits", 0)
        agents.append(Agent(aid, start, end, shift, mv, _skills(a.get("skills"), w + ".skills")))

    visits: list[Visit] = []
    vseen: set[str] = set()
    for i, v in enumerate(_list(top["visits"], "visits")):
        w = f"visits[{i}]"
        v = _obj(v, w)
        for key in ("id", "location", "windows"):
            if key not in v:
                raise _fail(w, f"missing {key!r}")
        vid = _str(v["id"], w + ".id")
        if vid in vseen:
            raise _fail(w + ".id", f"duplicate visit id {vid!r}")
        vseen.add(vid)
        w = f"visits[{i}] ({vid})"
        loc = _int(v["location"], w + ".location", 0)
        if loc >= n:
            raise _fail(w + ".location", f"location index {loc} out of range (0..{n - 1})")
        service = _int(v.get("service", 0), w + ".service", 0, MAX_TIME)
        wins = _list(v["windows"], w + ".windows")
        if not wins:
            raise _fail(w + ".windows", "must list at least one [start, end] window")
        windows = tuple(_window(x, f"{w}.windows[{j}]") for j, x in enumerate(wins))
        prio = _int(v.get("priority", 1), w + ".priority", 1, 100)
        pin = v.get("agent")
        if pin is not None:
            pin = _str(pin, w + ".agent")
            if pin not in seen and not allow_unknown_pins:
                raise _fail(w + ".agent", f"pinned to unknown agent {pin!r}")
        pref = v.get("preferred_agent")
        weight = 0
        if pref is not None:
            pref = _str(pref, w + ".preferred_agent")  # may be off today: then nothing to keep
            weight = _int(v.get("continuity_weight", CONTINUITY_WEIGHT), w + ".continuity_weight", 0, MAX_TIME)
        elif v.get("continuity_weight") is not None:
            raise _fail(w + ".continuity_weight", "needs preferred_agent")
        contact = _contact(v.get("contact"), w + ".contact")
        visits.append(Visit(vid, loc, service, windows, prio, _skills(v.get("skills"), w + ".skills"), pin, pref, weight, contact))

    name = top.get("name")
    extra = {
        k: v for k, v in top.items() if k not in ("version", "name", "locations", "durations", "agents", "visits", "balance", "travel_cost")
    }
    return Problem(
        pts,
        agents,
        visits,
        durations,
        name if isinstance(name, str) else None,
        extra,
        _balance(top.get("balance")),
        _travel_cost(top.get("travel_cost")),
    )


def load_problem(path: str, **kw: Any) -> Problem:
    """Read and validate a route-problem JSON file; I/O and JSON errors → ProblemError.

    The duration matrix (millions of numbers on a big day) is read straight into numpy
    when it is a plain numeric matrix — about 3x faster and a third of the memory of
    Python lists; anything unusual falls back to the standard parser.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ProblemError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProblemError(f"{path}: is a directory") from None
    except PermissionError:
        raise ProblemError(f"{path}: permission denied") from None
    except OSError as e:
        raise ProblemError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ProblemError(f"{path}: not UTF-8 text ({e})") from None
    data = _fast_json(text, raw)
    del raw
    if data is None:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ProblemError(f"{path}: not valid JSON ({e})") from None
    del text
    return parse_problem(data, **kw)


_WS = re.compile(r"\s*")
_MATRIX_END = re.compile(r"\]\s*\]")


def _fast_json(text: str, raw: bytes | None = None) -> dict | None:
    """Top-level object with a numeric ``durations`` matrix parsed by numpy; None when the
    document is anything else (the caller then uses json.loads and its error messages).
    ``raw``: the UTF-8 bytes ``text`` was decoded from (spares copying the matrix text)."""
    dec = json.JSONDecoder()
    if raw is None:
        raw = text.encode("utf-8")
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        i = _WS.match(text, 0).end()
        if text[i : i + 1] != "{":
            return None
        i += 1
        out: dict[str, Any] = {}
        while True:
            i = _WS.match(text, i).end()
            if text[i : i + 1] == "}":
                i += 1
                break
            key, i = dec.raw_decode(text, i)
            if not isinstance(key, str):
                return None
            i = _WS.match(text, i).end()
            if text[i : i + 1] != ":":
                return None
            i = _WS.match(text, i + 1).end()
            if key == "durations" and text.startswith("[[", i):
                m = _MATRIX_END.search(text, i)
                if m is None:
                    return None
                off = bom + len(text[:i].encode("utf-8"))
                value = _numeric_matrix(memoryview(raw)[off : off + m.end() - i], text, i, m.end())
                if value is None:
                    return None
                i = m.end()
            else:
                value, i = dec.raw_decode(text, i)
            out[key] = value
            i = _WS.match(text, i).end()
            if text[i : i + 1] == ",":
                i += 1
                continue
            if text[i : i + 1] == "}":
                i += 1
                break
            return None
        if text[_WS.match(text, i).end() :].strip():
            return None
        return out
    except (ValueError, IndexError):
        return None


def _numeric_matrix(raw: memoryview, text: str, i: int, j: int) -> np.ndarray | None:
    """'[[1,2],[3,4]]' (``raw``: its bytes, ``text[i:j]``: the same as text) → 2-D array,
    checking that every row has the same length."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if len(b) != j - i or b[-1] != 93:
        return None  # non-ASCII inside: not a numeric matrix
    opens = np.flatnonzero(b == 91)
    closes = np.flatnonzero(b == 93)
    n = len(opens) - 1
    if n <= 0 or len(closes) != n + 1:
        return None
    opens, closes = opens[1:], closes[:-1]
    if not ((opens < closes).all() and (closes[:-1] < opens[1:]).all()):
        return None  # not a flat list of rows
    commas = np.flatnonzero(b == 44)  # values per row = commas inside the row + 1
    per_row = np.searchsorted(commas, closes) - np.searchsorted(commas, opens) + 1
    del commas
    cols = int(per_row[0])
    if (per_row != cols).any():
        return None
    flat = np.empty(n * cols, dtype=np.int64)
    for r0 in range(0, n, 128):
        r1 = min(n, r0 + 128)
        end = int(opens[r1]) if r1 < n else len(b)
        part = _parse_uints(b[int(opens[r0]) : end])
        if part is None or len(part) != (r1 - r0) * cols:
            break
        flat[r0 * cols : r1 * cols] = part
    else:
        return flat.reshape(n, cols)
    if not _FLOAT_CHARS[b].all():
        return None  # strings, null, true …: the standard path reports them precisely
    try:  # negative or fractional numbers: the standard parser
        m = np.asarray(json.loads(text[i:j]), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return m if m.shape == (n, cols) else None


_DIGIT_SEP = np.zeros(256, dtype=bool)
_DIGIT_SEP[[ord(c) for c in "0123456789,[] \t\r\n"]] = True
_FLOAT_CHARS = _DIGIT_SEP.copy()
_FLOAT_CHARS[[ord(c) for c in "eE+-."]] = True
_P10 = 10 ** np.arange(19, dtype=np.int64)


def _parse_uints(b: np.ndarray) -> np.ndarray | None:
    """Comma/bracket/space separated non-negative integers (uint8 text) → int64 array
    (numpy only); None if the text holds anything else."""
    if not _DIGIT_SEP[b].all():
        return None
    idx = np.flatnonzero((b - 48) < 10)  # uint8 arithmetic wraps: digits only
    if not len(idx):
        return np.zeros(0, dtype=np.int64)
    brk = np.flatnonzero(np.diff(idx) != 1) + 1
    first = np.r_[0, brk]
    stop = np.r_[brk, len(idx)]
    lens = stop - first
    if lens.max() > 18:
        return None
    exp = np.repeat(stop - 1, lens) - np.arange(len(idx))
    return np.add.reduceat((b[idx] - 48).astype(np.int64) * _P10[exp], first)


def as_problem(problem: Problem | Mapping[str, Any], **kw: Any) -> Problem:
    """Accept a Problem or a route-problem v1 dict."""
    if isinstance(problem, Problem):
        return problem
    return parse_problem(problem, **kw)


def make_problem(
    locations: Sequence[Sequence[float]],
    agents: Sequence[Agent],
    visits: Sequence[Visit],
    durations: Any = None,
    name: str | None = None,
    *,
    allow_unknown_pins: bool = False,
    balance: Balance | None = None,
    travel_cost: float | None = None,
) -> Problem:
    """Build a Problem from already-typed parts (for a builder that reads the database),
    checked exactly like a parsed document. ``durations`` may be a numpy array."""
    doc = Problem(
        np.asarray(locations, dtype=np.float64).reshape(-1, 2),
        list(agents),
        list(visits),
        None,
        name,
        balance=balance,
        travel_cost=travel_cost,
    ).to_dict()
    if durations is not None:
        doc["durations"] = np.asarray(durations)
    return parse_problem(doc, allow_unknown_pins=allow_unknown_pins)
